/**
 * The mempool's bounds (transactions, bytes, requests per peer) and the broadcaster's (pending
 * transactions; inv then tx on getdata, notfound for anything else).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type BtcMessage,
  bytesToHex,
  InvType,
  type Transaction,
  txid,
  wtxid,
} from '../../../src/bitcoin/index.js';
import { Broadcaster } from '../../../src/btc-node/broadcaster.js';
import { Mempool } from '../../../src/btc-node/index.js';
import type { BtcPeer } from '../../../src/btc-node/peer.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import {
  BTC_MAX_MEMPOOL_BYTES,
  BTC_MAX_MEMPOOL_TXS,
  BTC_MAX_PENDING_BROADCASTS,
  BTC_MAX_TX_REQUESTS_PER_PEER,
} from '../../../src/shared/limits.js';

type FakePeer = BtcPeer & { sent: BtcMessage[]; pongs: (() => void)[] };

function fakePeer(wtxidRelay = true): FakePeer {
  const sent: BtcMessage[] = [];
  const known = new Set<string>();
  const pongs: (() => void)[] = [];
  return {
    sent,
    pongs,
    endpoint: '127.0.0.9:1',
    isReady: true,
    features: { wtxidRelay },
    send: (m: BtcMessage) => sent.push(m),
    addKnownInv: (k: string) => known.add(k),
    roundTrip: () => new Promise<void>((resolve) => pongs.push(resolve)),
  } as unknown as FakePeer;
}

const tx = (n: number, scriptBytes = 1): Transaction => ({
  version: 2,
  inputs: [
    {
      prevout: { txid: new Uint8Array(32).fill(1), index: n },
      scriptSig: new Uint8Array(0),
      sequence: 0,
      witness: [],
    },
  ],
  outputs: [{ value: 1n, script: new Uint8Array(scriptBytes).fill(0x51) }],
  lockTime: 0,
});

test(`the mempool keeps at most ${BTC_MAX_MEMPOOL_TXS} transactions and ${BTC_MAX_MEMPOOL_BYTES} bytes, oldest out first`, () => {
  const m = new Mempool(() => 0);
  for (let i = 0; i <= BTC_MAX_MEMPOOL_TXS; i++) m.add(tx(i));
  assert.equal(m.size, BTC_MAX_MEMPOOL_TXS);
  assert.equal(m.has(bytesToHex(txid(tx(0)))), false);
  assert.equal(m.has(bytesToHex(txid(tx(BTC_MAX_MEMPOOL_TXS)))), true);
  const big = new Mempool(() => 0);
  const each = 100_000;
  for (let i = 0; i < BTC_MAX_MEMPOOL_BYTES / each + 5; i++) big.add(tx(i, each));
  assert.ok(big.bytes <= BTC_MAX_MEMPOOL_BYTES);
  big.removeMined([bytesToHex(txid(tx(Math.floor(BTC_MAX_MEMPOOL_BYTES / each))))]);
  assert.ok(big.size < BTC_MAX_MEMPOOL_BYTES / each);
});

test(`at most ${BTC_MAX_TX_REQUESTS_PER_PEER} transaction requests per peer; answers, notfound and time free them`, () => {
  let now = 0;
  const m = new Mempool(() => now);
  const p = fakePeer();
  const items = Array.from({ length: 500 }, (_, i) => ({ type: InvType.Wtx, hash: wtxid(tx(i)) }));
  m.onInv(p, items);
  const asked = p.sent.flatMap((s) => (s.type === 'getdata' ? s.items : []));
  assert.equal(asked.length, BTC_MAX_TX_REQUESTS_PER_PEER);
  assert.equal(m.requestsInFlight(p), BTC_MAX_TX_REQUESTS_PER_PEER);
  assert.equal(m.onTx(p, tx(0)), true);
  m.onNotFound([{ type: InvType.Wtx, hash: wtxid(tx(1)) }]);
  assert.equal(m.requestsInFlight(p), BTC_MAX_TX_REQUESTS_PER_PEER - 2);
  now = 61_000;
  m.tick();
  assert.equal(m.requestsInFlight(p), 0);
  assert.equal(m.get(bytesToHex(wtxid(tx(0))))?.version, 2);
});

test(`the broadcaster: inv by wtxid or txid, tx on getdata, notfound otherwise, at most ${BTC_MAX_PENDING_BROADCASTS} pending`, async () => {
  const b = new Broadcaster();
  const wtx = fakePeer(true);
  const old = fakePeer(false);
  const t = tx(1);
  const { txid: id, fetched } = b.add(t, [wtx, old]);
  const inv = (p: ReturnType<typeof fakePeer>) =>
    p.sent.find((m) => m.type === 'inv') as Extract<BtcMessage, { type: 'inv' }>;
  assert.equal(inv(wtx).items[0]!.type, InvType.Wtx);
  assert.deepEqual(inv(wtx).items[0]!.hash, wtxid(t));
  assert.equal(inv(old).items[0]!.type, InvType.Tx);
  b.onGetData(old, [
    { type: InvType.WitnessTx, hash: txid(t) },
    { type: InvType.WitnessBlock, hash: new Uint8Array(32) },
  ]);
  // Fetched only once the peer answered the ping sent after the transaction.
  let settled = false;
  void fetched.then(() => {
    settled = true;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'not fetched before the round trip');
  assert.equal(old.pongs.length, 1);
  old.pongs[0]!();
  assert.equal(await fetched, '127.0.0.9:1');
  assert.ok(old.sent.some((m) => m.type === 'tx'));
  assert.ok(old.sent.some((m) => m.type === 'notfound'));
  assert.deepEqual(b.pending(), [id]);
  b.confirmed([bytesToHex(txid(t))]);
  assert.deepEqual(b.pending(), []);
  for (let i = 0; i < BTC_MAX_PENDING_BROADCASTS; i++) b.add(tx(100 + i), []);
  assert.throws(
    () => b.add(tx(99), []),
    (e) => isShoalError(e, ErrorCode.BtcLimit),
  );
});
