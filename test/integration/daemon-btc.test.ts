/**
 * The daemon's Bitcoin light node over its HTTP API, against a real litecoind (regtest, BIP 157
 * server, started here on 127.0.0.1 and always stopped): `shoal daemon --btc litecoin-regtest
 * --btc-peer …` as a library call. litecoind mines 40 blocks, two of them paying a watched
 * address; the API must then show litecoind's best block hash as the tip, the peer, the watched
 * address, and a balance and history equal to what those two coinbases paid (litecoind's own
 * view of its blocks). A daemon without the option answers 404 on the same routes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LITECOIN_REGTEST, PrivateKey, p2wpkhScript, scriptToAddress } from '../../src/bitcoin/index.js';
import type { BtcHistoryInfo, BtcInfo, BtcWatchedInfo } from '../../src/daemon/api-types.js';
import type { Daemon } from '../../src/daemon/index.js';
import { Litecoind } from '../helpers/litecoind.js';
import { api, json, startTestDaemon, tempDir } from './daemon-helpers.js';

const WATCHED = scriptToAddress(
  p2wpkhScript(PrivateKey.fromBytes(new Uint8Array(32).fill(0x71)).publicKeyHash),
  LITECOIN_REGTEST,
)!;
const PAID_AT = [12, 30];
const BLOCKS = 40;

describe('daemon /api/v1/btc against litecoind', { timeout: 5 * 60_000 }, () => {
  const ltc = new Litecoind();
  const dirs: { cleanup(): Promise<void> }[] = [];
  let daemon: Daemon | undefined;
  /** Coinbase txid → satoshis paid to WATCHED. */
  const paid = new Map<string, bigint>();

  before(async () => {
    await ltc.start();
    for (let h = 1; h <= BLOCKS; h++) {
      if (!PAID_AT.includes(h)) {
        await ltc.mine(1);
        continue;
      }
      const hash = await ltc.mine(1, `addr(${WATCHED})`);
      const block = await ltc.rpc<{ tx: { txid: string; vout: { value: number }[] }[] }>('getblock', hash, 2);
      paid.set(block.tx[0]!.txid, BigInt(Math.round(block.tx[0]!.vout[0]!.value * 1e8)));
    }
    await ltc.filterIndexAt(BLOCKS);
  });

  after(async () => {
    await daemon?.close();
    try {
      // Throws on a log without a Shoal handshake, so an empty or wrong log cannot pass.
      assert.deepEqual(await ltc.misbehaviour(), [], 'litecoind blamed a peer');
    } finally {
      await ltc.stop();
      for (const d of dirs) await d.cleanup();
    }
  });

  async function newDaemon(o: Parameters<typeof startTestDaemon>[2] = {}): Promise<Daemon> {
    const state = await tempDir();
    const downloads = await tempDir();
    dirs.push(state, downloads);
    return startTestDaemon(state.dir, downloads.dir, { ...o, session: { dht: false, ...o.session } });
  }

  /** Polls the API (the node syncs on its own) until `check` holds. */
  async function until(what: string, check: (info: BtcInfo) => boolean, ms = 120_000): Promise<BtcInfo> {
    const deadline = Date.now() + ms;
    for (;;) {
      const info = await api<BtcInfo>(daemon!, '/api/v1/btc');
      if (check(info)) return info;
      if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(info)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  test('tip, peers, watched address, balance and history equal what litecoind holds and paid', async () => {
    daemon = await newDaemon({
      btc: { network: 'litecoin-regtest', peers: [`127.0.0.1:${ltc.p2pPort}`] },
    });
    const w = await api<BtcWatchedInfo>(daemon, '/api/v1/btc/watch', {
      ...json({ item: WATCHED, label: 'coinbases', rescanFrom: 0 }),
      expect: 201,
    });
    assert.equal(w.address, WATCHED);
    assert.equal(w.label, 'coinbases');

    const info = await until('synced at litecoind tip', (i) => i.synced && i.tip.height === BLOCKS);
    assert.equal(info.network, 'litecoin-regtest');
    assert.equal(info.tip.hash, await ltc.rpc<string>('getbestblockhash'));
    assert.equal(info.filterHeaderHeight, BLOCKS);
    assert.equal(info.scannedHeight, BLOCKS);
    assert.equal(info.peers.length, 1);
    assert.equal(info.peers[0]!.endpoint, `127.0.0.1:${ltc.p2pPort}`);
    assert.equal(info.peers[0]!.filters, true);
    assert.deepEqual(
      info.watched.map((x) => x.address),
      [WATCHED],
    );
    // Both coinbases are confirmed, and immature (they mature after 100 blocks).
    const total = [...paid.values()].reduce((a, b) => a + b, 0n);
    assert.equal(info.balance.confirmed, total.toString());
    assert.equal(info.balance.immature, total.toString());
    assert.equal(info.balance.unconfirmed, '0');
    assert.equal(info.balance.utxoCount, 2);

    const { history } = await api<{ history: BtcHistoryInfo[] }>(daemon, '/api/v1/btc/history');
    assert.deepEqual(
      history.map((h) => [h.txid, h.delta, h.height, h.confirmations, h.coinbase]).sort(),
      [...paid]
        .map(([id, sats], i) => [id, sats.toString(), PAID_AT[i]!, BLOCKS - PAID_AT[i]! + 1, true])
        .sort(),
    );
    for (const h of history) assert.equal(h.blockHash, await ltc.rpc<string>('getblockhash', h.height));
  });

  test('a new block: the tip follows litecoind', async () => {
    const hash = await ltc.mine(1);
    const info = await until('the new tip', (i) => i.tip.height === BLOCKS + 1 && i.synced);
    assert.equal(info.tip.hash, hash);
  });

  test('a watched item that is not an address of the network is refused with 400', async () => {
    const res = await fetch(`${daemon!.url}/api/v1/btc/watch`, json({ item: 'bc1qnotanaddress' }));
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string } };
    assert.match(body.error.code, /^SHOAL_ERR_BTC_/);
  });

  test('a daemon started without --btc answers 404 on /api/v1/btc', async () => {
    const plain = await newDaemon();
    try {
      assert.equal(plain.btc, undefined);
      const res = await fetch(`${plain.url}/api/v1/btc`);
      assert.equal(res.status, 404);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'SHOAL_ERR_API_NOT_FOUND');
      assert.match(body.error.message, /--btc/);
    } finally {
      await plain.close();
    }
  });
});
