/**
 * Interop: Shoal's Bitcoin-protocol light node (`BtcNode`, src/btc-node) against Litecoin Core 0.21
 * (`litecoind`, Bitcoin Core's networking with scrypt proof of work) in regtest on 127.0.0.1.
 *
 * One litecoind for the suite, a chain of 4,000+ blocks mined before the tests (SHOAL_LTC_BLOCKS;
 * `SHOAL_LTC_BLOCKS=20000` passes by hand — last on 2026-12-07, 442 s, most of it litecoind
 * mining; its mining slows as its chain grows — which the suite cannot afford; the
 * 20,000-header sync in the suite is bcoin's, btc-node-bcoin.test.ts): coinbases to
 * Shoal's key (heights 1 and 2) and to watched addresses at scattered heights. In order:
 * 1. headers-first sync of every header, ending at litecoind's best block hash, with the filter
 *    headers (cross-checked at litecoind's checkpoints) and a filter scan that finds every one of
 *    those coinbases (no false negatives; compared with litecoind's own view of the blocks);
 * 2. a P2PKH + P2WPKH spend built and signed by Shoal, announced with `inv`, fetched by litecoind
 *    into its mempool, mined; the block rebuilt from a compact block and Shoal's mempool; Shoal
 *    reports the transaction confirmed with a merkle inclusion proof checked against its headers;
 * 3. a payment from litecoind's own wallet to a watched address reaches Shoal unconfirmed (relay)
 *    and then confirmed;
 * 4. BIP 158: the filters of 2,000+ blocks (the ones with the transactions above included)
 *    rebuilt by Shoal byte-identical to `getblockfilter`, and Shoal's filter headers equal to
 *    litecoind's at every checkpoint and at the tip;
 * 5. a reorganisation: litecoind invalidates the block with the wallet payment and mines a longer
 *    branch without it; Shoal follows, the payment becomes unconfirmed, then confirmed again;
 * 6. a restart from the data folder resumes at the same tip without downloading headers again.
 * The teardown scans litecoind's `-debug=net` log: no line blames Shoal.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  bytesToHex,
  hashFromHex,
  hashToHex,
  LITECOIN_REGTEST,
  merkleRoot,
  PrivateKey,
  p2wpkhScript,
  scriptToAddress,
  txid,
  verifyMerkleProof,
} from '../../src/bitcoin/index.js';
import { BtcNode, rebuildBasicFilter, type TxEvent } from '../../src/btc-node/index.js';
import { Litecoind } from '../helpers/litecoind.js';

const P = LITECOIN_REGTEST;
const BLOCKS = Number(process.env.SHOAL_LTC_BLOCKS ?? 4_000);
/** A coinbase pays a watched address every PAY_EVERY blocks. */
const PAY_EVERY = Math.max(2, Math.floor(BLOCKS / 10));
const KEY = PrivateKey.fromBytes(new Uint8Array(32).fill(0x42));
const KEY_HEX = Buffer.from(new Uint8Array(32).fill(0x42)).toString('hex');
/** Watched addresses that coinbases pay at scattered heights. */
const WATCH_KEYS = [0x51, 0x52, 0x53, 0x54].map((b) => PrivateKey.fromBytes(new Uint8Array(32).fill(b)));
const WATCHED = WATCH_KEYS.map((k) => scriptToAddress(p2wpkhScript(k.publicKeyHash), P)!);
/** Where litecoind's wallet pays Shoal. */
const PAY_ME = scriptToAddress(
  p2wpkhScript(PrivateKey.fromBytes(new Uint8Array(32).fill(0x61)).publicKeyHash),
  P,
)!;
const WAIT_MS = 120_000;

/** Resolves with the first event `pick` accepts, or rejects after `ms`. */
function waitFor<T>(
  node: BtcNode,
  event: 'tx' | 'reorg' | 'block',
  pick: (e: T) => boolean,
  ms = WAIT_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.off(event, on as never);
      reject(new Error(`no matching ${event} event within ${ms} ms`));
    }, ms);
    const on = (e: T) => {
      if (!pick(e)) return;
      clearTimeout(timer);
      node.off(event, on as never);
      resolve(e);
    };
    node.on(event, on as never);
  });
}

describe('BtcNode against litecoind (regtest, scrypt): sync, filters, wallet, broadcast, reorg', {
  timeout: 45 * 60_000,
}, () => {
  const ltc = new Litecoind();
  let dir = '';
  let node: BtcNode | undefined;
  /** Coinbase txids paying watched addresses, by height. */
  const expected = new Map<number, string>();

  before(async () => {
    await ltc.start({ wallet: true });
    dir = await mkdtemp(join(tmpdir(), 'shoal-btcnode-'));
    const pub = Buffer.from(KEY.publicKey).toString('hex');
    await ltc.mine(1, `pkh(${pub})`);
    await ltc.mine(1, `wpkh(${pub})`);
    // BLOCKS blocks; every PAY_EVERY-th pays a watched address (four addresses in turn).
    let height = 2;
    let n = 0;
    while (height < BLOCKS) {
      const run = Math.min(PAY_EVERY - 1, BLOCKS - height);
      await ltc.mine(run);
      height += run;
      if (height >= BLOCKS) break;
      const address = WATCHED[n++ % WATCHED.length]!;
      const hash = await ltc.mine(1, `addr(${address})`);
      height++;
      const block = await ltc.rpc<{ tx: string[] }>('getblock', hash);
      expected.set(height, block.tx[0]!);
    }
    assert.equal(await ltc.rpc<number>('getblockcount'), BLOCKS);
    await ltc.filterIndexAt(BLOCKS);
  });

  after(async () => {
    await node?.close();
    try {
      // Throws on a log without a Shoal handshake, so an empty or wrong log cannot pass.
      assert.deepEqual(await ltc.misbehaviour(), [], 'litecoind blamed a peer');
    } finally {
      await ltc.stop();
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    }
  });

  const open = () =>
    BtcNode.open({
      network: 'litecoin-regtest',
      dataDir: dir,
      peers: [`127.0.0.1:${ltc.p2pPort}`],
      dnsSeeds: [],
    });

  test(`headers-first sync of ${BLOCKS} headers, filter headers and a scan that finds every payment`, async () => {
    node = await open();
    const pub = Buffer.from(KEY.publicKey).toString('hex');
    await node.watch(`pkh(${pub})`, { rescanFrom: 0, label: 'key p2pkh' });
    await node.watch(`wpkh(${pub})`, { rescanFrom: 0, label: 'key p2wpkh' });
    for (const a of [...WATCHED, PAY_ME]) await node.watch(a, { rescanFrom: 0 });
    let headers = 0;
    node.on('header', () => headers++);
    const t0 = performance.now();
    node.start();
    await node.synced(AbortSignal.timeout(15 * 60_000));
    const seconds = (performance.now() - t0) / 1000;
    console.log(`# synced ${headers} headers, filter headers and the scan in ${seconds.toFixed(1)} s`);
    assert.ok(headers >= BLOCKS);
    const s = node.status();
    assert.equal(s.tip.height, BLOCKS);
    assert.equal(s.tip.hash, await ltc.rpc<string>('getbestblockhash'));
    assert.equal(s.filterHeaderHeight, BLOCKS);
    assert.equal(s.scannedHeight, BLOCKS);
    // Every coinbase paying a watched script, and nothing else.
    const found = new Map(node.history().map((h) => [h.height!, h.txid]));
    for (const [height, id] of expected) assert.equal(found.get(height), id, `payment at ${height}`);
    assert.equal(
      found.get(1),
      (await ltc.rpc<{ tx: string[] }>('getblock', await ltc.rpc('getblockhash', 1))).tx[0],
    );
    assert.equal(node.history().length, expected.size + 2);
    assert.equal(s.peers.length, 1);
    assert.equal(s.peers[0]!.filters, true);
  });

  let walletAddress = '';

  test('a P2PKH + P2WPKH spend signed by Shoal: inv, getdata, mempool, mined, confirmed with a proof', async () => {
    assert.ok(node);
    await ltc.rpc('createwallet', 'w');
    walletAddress = await ltc.walletRpc<string>('w', 'getnewaddress', '', 'bech32');
    // 60 coins: more than one 50-coin coinbase, so both of the key's coinbases are spent.
    const built = node.createSpend({
      key: KEY_HEX,
      to: walletAddress,
      amount: 60n * 100_000_000n,
      feeRate: 20,
    });
    assert.equal(built.inputs.length, 2);
    assert.deepEqual(built.inputs.map((i) => i.height).sort(), [1, 2]);
    const { txid: id, fetched } = node.broadcast(built.tx);
    const by = await fetched;
    assert.match(by, /^127\.0\.0\.1:/);
    await ltc.until('the spend in the mempool', async () =>
      (await ltc.rpc<string[]>('getrawmempool')).includes(id),
    );
    const confirmed = waitFor<TxEvent>(node, 'tx', (e) => e.txid === id && e.confirmed);
    const [blockHash] = await ltc.rpc<string[]>('generatetodescriptor', 1, await ltc.descriptor('raw(51)'));
    const e = await confirmed;
    assert.equal(e.height, BLOCKS + 1);
    const details = await node.transaction(id);
    assert.ok(details);
    assert.equal(details.blockHash, blockHash);
    assert.equal(details.confirmations, 1);
    assert.equal(details.proofVerified, true);
    // The proof leads to the block's merkle root as litecoind reports it.
    const block = await ltc.rpc<{ merkleroot: string; tx: string[] }>('getblock', blockHash);
    const proof = {
      index: details.proof!.index,
      siblings: details.proof!.siblings.map((s) => hashFromHex(s)),
    };
    assert.equal(block.tx[proof.index], id);
    assert.ok(verifyMerkleProof(hashFromHex(id), proof, hashFromHex(block.merkleroot)));
    assert.equal(hashToHex(merkleRoot(block.tx.map((t) => hashFromHex(t))).root), block.merkleroot);
    // The block was rebuilt from a compact block and the mempool (our own spend was in it).
    const st = node.status();
    assert.ok(st.blocks.compact >= 1, `compact blocks rebuilt: ${JSON.stringify(st.blocks)}`);
    assert.ok(st.blocks.compactFromMempool >= 1);
    assert.deepEqual(st.pendingBroadcasts, []);
    assert.equal(bytesToHex(txid(built.tx)).length, 64);
  });

  let payment = '';

  test("a payment from litecoind's wallet reaches the watch list: unconfirmed, then confirmed", async () => {
    assert.ok(node);
    await ltc.until('the wallet funds', async () => (await ltc.walletRpc<number>('w', 'getbalance')) >= 59);
    const seen = waitFor<TxEvent>(node, 'tx', (e) => !e.confirmed && e.delta === 5 * 100_000_000);
    payment = await ltc.walletRpc<string>('w', 'sendtoaddress', PAY_ME, 5);
    const unconfirmed = await seen;
    assert.equal(unconfirmed.txid, payment);
    assert.equal(node.balance().unconfirmed >= 5n * 100_000_000n, true);
    const confirmed = waitFor<TxEvent>(node, 'tx', (e) => e.txid === payment && e.confirmed);
    await ltc.mine(1);
    assert.equal((await confirmed).height, BLOCKS + 2);
    assert.equal((await node.transaction(payment))?.proofVerified, true);
  });

  test('BIP 158: 2,000+ filters rebuilt byte-identical to getblockfilter; filter headers equal at every checkpoint', async () => {
    assert.ok(node);
    const tip = node.chain.height;
    await ltc.filterIndexAt(tip);
    let withTxs = 0;
    for (let h = tip - 2000; h <= tip; h++) {
      const hash = await ltc.rpc<string>('getblockhash', h);
      const theirs = await ltc.rpc<{ filter: string; header: string }>('getblockfilter', hash);
      const block = await node.fetchBlock(h);
      if (block.txs.length > 1) withTxs++;
      const rebuilt = rebuildBasicFilter(block);
      assert.ok(rebuilt, `block ${h}: every spent script recovered`);
      assert.equal(bytesToHex(rebuilt), theirs.filter, `filter of block ${h}`);
      assert.equal(bytesToHex(await node.fetchFilter(h)), theirs.filter);
      assert.equal(node.filterHeaderAt(h), theirs.header, `filter header at ${h}`);
    }
    assert.ok(withTxs >= 2, 'the range holds blocks with spends');
    for (let h = 1000; h <= tip; h += 1000) {
      const theirs = await ltc.rpc<{ header: string }>(
        'getblockfilter',
        await ltc.rpc<string>('getblockhash', h),
      );
      assert.equal(node.filterHeaderAt(h), theirs.header, `checkpoint ${h}`);
    }
  });

  test('reorganisation: litecoind invalidates the payment block and mines a longer branch; Shoal and its wallet follow', async () => {
    assert.ok(node);
    const paidAt = BLOCKS + 2;
    const paidHash = await ltc.rpc<string>('getblockhash', paidAt);
    const balanceBefore = node.balance();
    const reorg = waitFor<{ forkHeight: number; disconnected: { hash: string }[] }>(
      node,
      'reorg',
      () => true,
    );
    const unconfirmed = waitFor<TxEvent>(node, 'tx', (e) => e.txid === payment && !e.confirmed);
    await ltc.rpc('invalidateblock', paidHash);
    // Two empty blocks: a longer branch without the payment (it waits in litecoind's mempool).
    const d = await ltc.descriptor('raw(51)');
    await ltc.rpc('generateblock', d, []);
    const { hash: newTip } = await ltc.rpc<{ hash: string }>('generateblock', d, []);
    const r = await reorg;
    assert.equal(r.forkHeight, paidAt - 1);
    assert.deepEqual(
      r.disconnected.map((x) => x.hash),
      [paidHash],
    );
    await unconfirmed;
    await ltc.until('Shoal at the new tip', async () => node!.status().tip.hash === newTip);
    assert.equal((await node.transaction(payment))?.confirmations, 0);
    assert.equal(node.balance().confirmed, balanceBefore.confirmed - 5n * 100_000_000n);
    // The next block confirms it again, at its new height.
    const again = waitFor<TxEvent>(node, 'tx', (e) => e.txid === payment && e.confirmed);
    await ltc.mine(1);
    assert.equal((await again).height, paidAt + 2);
    await node.synced(AbortSignal.timeout(WAIT_MS));
    assert.equal(node.balance().confirmed, balanceBefore.confirmed);
    assert.equal(node.status().tip.hash, await ltc.rpc<string>('getbestblockhash'));
  });

  test('a restart resumes from the data folder: same tip, wallet and filter headers, no header downloaded again', async () => {
    assert.ok(node);
    const before = node.status();
    const history = node.history();
    await node.close();
    node = await open();
    const s = node.status();
    assert.equal(s.tip.hash, before.tip.hash);
    assert.equal(s.filterHeaderHeight, before.filterHeaderHeight);
    assert.equal(s.scannedHeight, before.scannedHeight);
    assert.deepEqual(node.history(), history);
    let headers = 0;
    node.on('header', () => headers++);
    node.start();
    await node.synced(AbortSignal.timeout(WAIT_MS));
    assert.equal(headers, 0);
    assert.equal(node.status().tip.hash, await ltc.rpc<string>('getbestblockhash'));
  });
});
