/**
 * The watch-only wallet: payments and spends, balance and history with confirmations, coinbase
 * maturity, a reorganisation (unconfirmed again, coinbases dropped), a lost double spend, the
 * bounds, and the wallet file round trip.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  BITCOIN_REGTEST,
  hashToHex,
  merkleProof,
  PrivateKey,
  p2wpkhScript,
  scriptToAddress,
  type Transaction,
  txid,
} from '../../../src/bitcoin/index.js';
import {
  COINBASE_MATURITY,
  decodeWallet,
  encodeWallet,
  loadWallet,
  Wallet,
} from '../../../src/btc-node/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { BTC_MAX_WALLET_FILE_BYTES, BTC_MAX_WATCHED_SCRIPTS } from '../../../src/shared/limits.js';

const P = BITCOIN_REGTEST;
const KEY = PrivateKey.fromBytes(new Uint8Array(32).fill(0x21));
const MINE = p2wpkhScript(KEY.publicKeyHash);
const ADDRESS = scriptToAddress(MINE, P)!;
const OTHER = Uint8Array.of(0x51);

function coinbase(height: number, script: Uint8Array): Transaction {
  return {
    version: 2,
    inputs: [
      {
        prevout: { txid: new Uint8Array(32), index: 0xffffffff },
        scriptSig: Uint8Array.of(4, height & 255, height >> 8, 0, 0),
        sequence: 0xffffffff,
        witness: [],
      },
    ],
    outputs: [{ value: 5_000_000_000n, script }],
    lockTime: 0,
  };
}

function spend(
  from: Transaction,
  vout: number,
  outputs: { value: bigint; script: Uint8Array }[],
  salt = 0,
): Transaction {
  return {
    version: 2,
    inputs: [
      {
        prevout: { txid: txid(from), index: vout },
        scriptSig: new Uint8Array(0),
        sequence: salt,
        witness: [],
      },
    ],
    outputs,
    lockTime: 0,
  };
}

const at = (height: number, txs: Transaction[], index: number) => ({
  height,
  blockHash: `${height.toString(16).padStart(64, '0')}`,
  index,
  time: 1_700_000_000 + height,
  proof: merkleProof(txs.map(txid), index),
});

test('payments, spends, balance and history with confirmations; coinbase maturity', () => {
  const w = new Wallet(P);
  w.watch(ADDRESS, { rescanFrom: 0 });
  const cb = coinbase(10, MINE);
  assert.ok(w.addConfirmed(cb, at(10, [cb], 0), 1));
  assert.equal(w.addConfirmed(cb, at(10, [cb], 0), 1), undefined, 'the same block twice changes nothing');
  const b = w.balance(10);
  assert.equal(b.confirmed, 5_000_000_000n);
  assert.equal(b.immature, 5_000_000_000n);
  assert.equal(w.utxos(10)[0]!.spendable, false);
  assert.equal(w.utxos(10 + COINBASE_MATURITY - 1)[0]!.spendable, true);
  // Spend 1 coin to someone else, the change back to us.
  const s = spend(cb, 0, [
    { value: 100_000_000n, script: OTHER },
    { value: 4_899_990_000n, script: MINE },
  ]);
  assert.ok(w.isRelevant(s));
  assert.ok(w.addUnconfirmed(s, 2));
  let bal = w.balance(200);
  assert.equal(bal.confirmed, 5_000_000_000n);
  assert.equal(bal.unconfirmed, -100_010_000n);
  assert.ok(w.addConfirmed(s, at(201, [coinbase(201, OTHER), s], 1), 3));
  bal = w.balance(201);
  assert.equal(bal.confirmed, 4_899_990_000n);
  assert.equal(bal.unconfirmed, 0n);
  const h = w.history(205);
  assert.deepEqual(
    h.map((e) => [e.height, e.confirmations, e.delta]),
    [
      [201, 5, -100_010_000n],
      [10, 196, 5_000_000_000n],
    ],
  );
  // Someone else's transaction is not ours.
  assert.equal(w.addUnconfirmed(spend(coinbase(3, OTHER), 0, [{ value: 1n, script: OTHER }]), 4), undefined);
});

test('a reorganisation: transactions above the fork become unconfirmed, coinbases go, the scan comes back', () => {
  const w = new Wallet(P);
  w.watch(ADDRESS, { rescanFrom: 0 });
  const cb = coinbase(5, MINE);
  w.addConfirmed(cb, at(5, [cb], 0), 1);
  const cb2 = coinbase(300, MINE);
  w.addConfirmed(cb2, at(300, [cb2], 0), 1);
  const s = spend(cb, 0, [{ value: 4_000_000_000n, script: MINE }]);
  w.addConfirmed(s, at(301, [coinbase(301, OTHER), s], 1), 1);
  w.scannedHeight = 310;
  const changed = w.disconnectAbove(299);
  assert.deepEqual(changed.map((c) => c.txid).sort(), [hashToHex(txid(cb2)), hashToHex(txid(s))].sort());
  assert.equal(w.get(hashToHex(txid(cb2))), undefined, 'the coinbase left with its block');
  assert.equal(w.get(hashToHex(txid(s)))?.height, undefined);
  assert.equal(w.scannedHeight, 299);
  assert.equal(w.balance(299).confirmed, 5_000_000_000n);
  // The new branch confirms the spend again elsewhere.
  w.addConfirmed(s, at(302, [coinbase(302, OTHER), s], 1), 2);
  assert.equal(w.get(hashToHex(txid(s)))?.height, 302);
});

test('a confirmed spend drops a pending double spend of the same coin', () => {
  const w = new Wallet(P);
  w.watch(ADDRESS, { rescanFrom: 0 });
  const cb = coinbase(1, MINE);
  w.addConfirmed(cb, at(1, [cb], 0), 1);
  const a = spend(cb, 0, [{ value: 1_000n, script: MINE }], 1);
  const b = spend(cb, 0, [{ value: 2_000n, script: MINE }], 2);
  w.addUnconfirmed(a, 1);
  w.addConfirmed(b, at(2, [coinbase(2, OTHER), b], 1), 2);
  assert.equal(w.get(hashToHex(txid(a))), undefined);
  assert.equal(w.addUnconfirmed(a, 3), undefined, 'a late copy of the loser is refused');
});

test('watching: a rescan height moves the scan back; at most the bound of scripts', () => {
  const w = new Wallet(P);
  w.scannedHeight = 500;
  w.watch(ADDRESS, { rescanFrom: 600 });
  assert.equal(w.scannedHeight, 500);
  w.watch('raw(51)', { rescanFrom: 100 });
  assert.equal(w.scannedHeight, 99);
  assert.equal(w.watched().length, 2);
  const big = new Wallet(P);
  for (let i = 0; i < BTC_MAX_WATCHED_SCRIPTS; i++)
    big.watch(`raw(${i.toString(16).padStart(8, '0')})`, { rescanFrom: 0 });
  assert.throws(
    () => big.watch('raw(ffffffffff)', { rescanFrom: 0 }),
    (e) => isShoalError(e, ErrorCode.BtcLimit),
  );
});

test('the wallet file round trip, and files that do not check out', async () => {
  const w = new Wallet(P);
  w.watch(ADDRESS, { rescanFrom: 0, label: 'me' });
  const cb = coinbase(7, MINE);
  w.addConfirmed(cb, at(7, [cb], 0), 1);
  w.scannedHeight = 9;
  const back = decodeWallet(encodeWallet(w), P);
  assert.equal(back.scannedHeight, 9);
  assert.equal(back.watched()[0]!.label, 'me');
  assert.deepEqual(back.history(9), w.history(9));
  assert.deepEqual(back.get(hashToHex(txid(cb)))?.proof, w.get(hashToHex(txid(cb)))?.proof);
  for (const bad of [
    '',
    '{}',
    JSON.stringify({ format: 'shoal-btc-wallet', version: 1, network: 'bitcoin' }),
  ]) {
    assert.throws(
      () => decodeWallet(bad, P),
      (e) => isShoalError(e, ErrorCode.BtcBadState),
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'shoal-wallet-'));
  try {
    assert.equal((await loadWallet(join(dir, 'none.json'), P)).txCount, 0);
    const huge = join(dir, 'huge.json');
    // A sparse file one byte over the bound: refused from its size, before any byte is read.
    await writeFile(huge, '');
    await truncate(huge, BTC_MAX_WALLET_FILE_BYTES + 1);
    await assert.rejects(loadWallet(huge, P), (e) => isShoalError(e, ErrorCode.BtcBadState));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
