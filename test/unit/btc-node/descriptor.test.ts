/** Watch items: BIP 380 checksums (the BIP's vectors), the supported descriptors, and refusals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BITCOIN_MAINNET,
  BITCOIN_REGTEST,
  base58CheckEncode,
  hash160,
  PrivateKey,
  p2pkhScript,
  p2shScript,
  p2wpkhScript,
  pushData,
  scriptToAddress,
} from '../../../src/bitcoin/index.js';
import { descriptorChecksum, parseWatchItem, parseWif } from '../../../src/btc-node/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';

const KEY = PrivateKey.fromBytes(new Uint8Array(32).fill(0x11));
const PUB = Buffer.from(KEY.publicKey).toString('hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('BIP 380 checksum vectors', () => {
  assert.equal(descriptorChecksum('raw(deadbeef)'), '89f8spxm');
  assert.deepEqual(
    parseWatchItem('raw(deadbeef)#89f8spxm', BITCOIN_REGTEST).descriptor,
    'raw(deadbeef)#89f8spxm',
  );
  for (const bad of [
    'raw(deedbeef)#89f8spxm',
    'raw(deadbeef)#',
    'raw(deadbeef)#89f8spxmx',
    'raw(deadbeef)#89f8spx',
  ]) {
    assert.throws(
      () => parseWatchItem(bad, BITCOIN_REGTEST),
      (e) => isShoalError(e, ErrorCode.BtcBadDescriptor),
      bad,
    );
  }
  assert.throws(
    () => descriptorChecksum('raw(Ü)'),
    (e) => isShoalError(e, ErrorCode.BtcBadDescriptor),
  );
});

test('single-key descriptors give the scripts of their key', () => {
  const h = hash160(KEY.publicKey);
  const one = (d: string) => hex(parseWatchItem(d, BITCOIN_REGTEST).scripts[0]!);
  assert.equal(one(`pkh(${PUB})`), hex(p2pkhScript(h)));
  assert.equal(one(`wpkh(${PUB})`), hex(p2wpkhScript(h)));
  assert.equal(one(`sh(wpkh(${PUB}))`), hex(p2shScript(hash160(p2wpkhScript(h)))));
  assert.equal(one(`pk(${PUB})`), `${hex(pushData(KEY.publicKey))}ac`);
  assert.equal(one(`wpkh([deadbeef/84h/1h/0h]${PUB})`), hex(p2wpkhScript(h)));
  const address = scriptToAddress(p2wpkhScript(h), BITCOIN_REGTEST)!;
  assert.equal(one(address), hex(p2wpkhScript(h)));
  assert.equal(one(`addr(${address})`), hex(p2wpkhScript(h)));
  assert.match(parseWatchItem(address, BITCOIN_REGTEST).descriptor, /^addr\(bcrt1.*\)#[a-z0-9]{8}$/);
  // A WIF private key stands for its public key.
  const wif = base58CheckEncode(Uint8Array.of(0xef, ...new Uint8Array(32).fill(0x11), 1));
  assert.equal(one(`wpkh(${wif})`), hex(p2wpkhScript(h)));
  assert.equal(hex(parseWif(wif, BITCOIN_REGTEST).publicKey), PUB);
  assert.equal(hex(parseWif('11'.repeat(32), BITCOIN_REGTEST).publicKey), PUB);
});

test('refused: other networks, extended keys, taproot, uncompressed segwit keys, junk', () => {
  const mainnetAddress = scriptToAddress(p2wpkhScript(hash160(KEY.publicKey)), BITCOIN_MAINNET)!;
  const refused = [
    mainnetAddress,
    'wpkh(xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL/0/*)',
    `tr(${PUB.slice(2)})`,
    `wpkh(04${'ab'.repeat(64)})`,
    'wpkh(zz)',
    'nonsense(00)',
    'raw(0g)',
  ];
  for (const r of refused) {
    assert.throws(
      () => parseWatchItem(r, BITCOIN_REGTEST),
      (e) => isShoalError(e, ErrorCode.BtcBadDescriptor) || isShoalError(e, ErrorCode.BtcBadAddress),
      r,
    );
  }
});
