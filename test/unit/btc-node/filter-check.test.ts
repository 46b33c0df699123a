/**
 * Settling filter disagreements with the block: spent scripts recovered from the common input
 * forms, filters rebuilt byte for byte when every spent script is known, and the subset check
 * when one is not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Block,
  buildBasicFilter,
  decodeHeader,
  hash160,
  merkleRoot,
  PrivateKey,
  p2pkhScript,
  p2shScript,
  p2wpkhScript,
  p2wshScript,
  pushData,
  sha256,
  type Transaction,
  type TxInput,
  txid,
} from '../../../src/bitcoin/index.js';
import { judgeFilter, rebuildBasicFilter, recoverSpentScript } from '../../../src/btc-node/index.js';
import { buildChain } from '../../helpers/btc-chain.js';

const KEY = PrivateKey.fromBytes(new Uint8Array(32).fill(0x44)).publicKey;
const SIG = new Uint8Array(71).fill(0x30);
const input = (scriptSig: Uint8Array, witness: Uint8Array[] = []): TxInput => ({
  prevout: { txid: new Uint8Array(32).fill(1), index: 0 },
  scriptSig,
  sequence: 0,
  witness,
});
const hex = (b: Uint8Array | undefined) => (b === undefined ? 'none' : Buffer.from(b).toString('hex'));

test('spent scripts recovered from P2WPKH, P2PKH, P2SH-P2WPKH and P2WSH inputs', () => {
  const h = hash160(KEY);
  assert.equal(hex(recoverSpentScript(input(new Uint8Array(0), [SIG, KEY]))), hex(p2wpkhScript(h)));
  assert.equal(
    hex(recoverSpentScript(input(Uint8Array.of(...pushData(SIG), ...pushData(KEY))))),
    hex(p2pkhScript(h)),
  );
  const redeem = p2wpkhScript(h);
  assert.equal(
    hex(recoverSpentScript(input(pushData(redeem), [SIG, KEY]))),
    hex(p2shScript(hash160(redeem))),
  );
  const ws = Uint8Array.of(0x51);
  assert.equal(
    hex(recoverSpentScript(input(new Uint8Array(0), [new Uint8Array(0), SIG, ws]))),
    hex(p2wshScript(sha256(ws))),
  );
  // A bare P2PK spend (a signature only) does not show its script.
  assert.equal(recoverSpentScript(input(pushData(SIG))), undefined);
});

function blockWith(spends: Transaction[]): Block {
  const base = buildChain(1, () => Uint8Array.of(0x51))[1]!.block;
  const txs = [base.txs[0]!, ...spends];
  const header = {
    ...decodeHeader(buildChain(1, () => Uint8Array.of(0x51))[1]!.header),
    merkleRoot: merkleRoot(txs.map(txid)).root,
  };
  return { header, txs };
}

const spendTx = (i: TxInput, out: Uint8Array): Transaction => ({
  version: 2,
  inputs: [i],
  outputs: [{ value: 1000n, script: out }],
  lockTime: 0,
});

test('a filter rebuilt byte for byte when every spent script is known: honest passes, forged fails', () => {
  const out = p2wpkhScript(new Uint8Array(20).fill(3));
  const block = blockWith([spendTx(input(new Uint8Array(0), [SIG, KEY]), out)]);
  const honest = buildBasicFilter(block, [p2wpkhScript(hash160(KEY))]);
  assert.equal(hex(rebuildBasicFilter(block)), hex(honest));
  assert.deepEqual(judgeFilter(honest, block), { ok: true, rebuilt: true });
  // Without the spent script: the filter a lying peer would serve.
  const forged = buildBasicFilter(block, []);
  const v = judgeFilter(forged, block);
  assert.equal(v.ok, false);
  assert.equal(v.rebuilt, true);
});

test('with an input whose script cannot be recovered: every recoverable item must be in the filter', () => {
  const out = p2wpkhScript(new Uint8Array(20).fill(4));
  const unknownPrev = Uint8Array.of(0x52);
  const block = blockWith([
    spendTx(input(pushData(SIG)), out), // P2PK: not recoverable
    spendTx(input(new Uint8Array(0), [SIG, KEY]), out),
  ]);
  assert.equal(rebuildBasicFilter(block), undefined);
  const honest = buildBasicFilter(block, [unknownPrev, p2wpkhScript(hash160(KEY))]);
  assert.deepEqual(judgeFilter(honest, block), { ok: true, rebuilt: false });
  const missingSpent = buildBasicFilter(block, [unknownPrev]);
  assert.equal(judgeFilter(missingSpent, block).ok, false);
  assert.equal(judgeFilter(Uint8Array.of(0xff), block).ok, false, 'an undecodable filter');
});
