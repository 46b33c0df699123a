/**
 * The light node against hostile Bitcoin peers: each test runs a `BtcNode` connected to an honest
 * scripted peer (127.0.0.1, serving a 1,100-block regtest chain with BIP 157 filters) and one
 * hostile scripted peer on its own loopback address (127.0.0.2+, so a ban by address hits only
 * it). The hostile peer sends headers with bad proof of work, headers that do not connect, a frame
 * with a bad checksum, an oversized frame, lying filter headers (backed by a forged filter), an
 * address flood, an inventory flood. Each time the node disconnects and bans it (the ban is in the
 * shared peer pool), stays within its bounds, and still syncs from the honest peer to the right
 * tip with the right filter headers and wallet.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  type AddrEntry,
  BASIC_FILTER_PARAMS,
  BITCOIN_REGTEST,
  type BtcMessage,
  buildGcs,
  CFCHECKPT_INTERVAL,
  encodeFrame,
  filterHash,
  filterHeader,
  hashToHex,
  InvType,
  ipv4Mapped,
  PrivateKey,
  p2wpkhScript,
  scriptToAddress,
} from '../../src/bitcoin/index.js';
import { BtcNode, type PeerClosedEvent } from '../../src/btc-node/index.js';
import { BTC_ADDR_BURST, BTC_MAX_TX_REQUESTS_PER_PEER } from '../../src/shared/limits.js';
import { buildChain, type ChainBlock, grind } from '../helpers/btc-chain.js';
import { ScriptedBtcPeer } from '../helpers/btc-scripted-peer.js';

const P = BITCOIN_REGTEST;
const WATCHED_KEY = PrivateKey.fromBytes(new Uint8Array(32).fill(0x33));
const WATCHED_SCRIPT = p2wpkhScript(WATCHED_KEY.publicKeyHash);
const WATCHED = scriptToAddress(WATCHED_SCRIPT, P)!;
const PAID_AT = [300, 800];
const ANYONE = Uint8Array.of(0x51);
const LIE_AT = 700;

describe('BtcNode against hostile peers', { timeout: 120_000 }, () => {
  let chain: ChainBlock[];
  let honest: ScriptedBtcPeer;
  let dir = '';
  let node: BtcNode | undefined;
  let hostile: ScriptedBtcPeer | undefined;
  let nextHost = 2;

  before(async () => {
    chain = buildChain(1100, (h) => (PAID_AT.includes(h) ? WATCHED_SCRIPT : ANYONE));
    honest = new ScriptedBtcPeer({ host: '127.0.0.1', chain });
    await honest.listen();
  });

  after(async () => {
    await honest.close();
  });

  afterEach(async () => {
    await node?.close();
    node = undefined;
    await hostile?.close();
    hostile = undefined;
    honest.conns.length = 0;
    if (dir !== '') await rm(dir, { recursive: true, force: true });
    dir = '';
  });

  /** Starts a node with the honest peer and a hostile one; `closed` settles when the hostile one is disconnected. */
  async function run(
    override: ConstructorParameters<typeof ScriptedBtcPeer>[0]['override'],
    onReady?: ConstructorParameters<typeof ScriptedBtcPeer>[0]['onReady'],
  ): Promise<{ closed: Promise<PeerClosedEvent> }> {
    hostile = new ScriptedBtcPeer({
      host: `127.0.0.${nextHost++}`,
      chain,
      ...(override !== undefined ? { override } : {}),
      ...(onReady !== undefined ? { onReady } : {}),
    });
    await hostile.listen();
    dir = await mkdtemp(join(tmpdir(), 'shoal-btc-hostile-'));
    node = await BtcNode.open({
      network: P,
      dataDir: dir,
      peers: [honest.endpoint, hostile.endpoint],
      dnsSeeds: [],
    });
    await node.watch(WATCHED, { rescanFrom: 0 });
    const endpoint = hostile.endpoint;
    const banned = new Promise<PeerClosedEvent>((resolve) => {
      node!.on('peer:disconnected', (e) => {
        if (e.endpoint === endpoint) resolve(e);
      });
    });
    node.start();
    return { closed: banned };
  }

  async function closedOf(...args: Parameters<typeof run>): Promise<PeerClosedEvent> {
    return (await run(...args)).closed;
  }

  /** The node synced the honest chain: tip, filter headers, the two payments. */
  async function assertHonestSync(): Promise<void> {
    assert.ok(node);
    await node.synced(AbortSignal.timeout(60_000));
    const tip = chain[chain.length - 1]!;
    assert.equal(node.status().tip.hash, hashToHex(tip.hash));
    assert.equal(node.filterHeaderAt(tip.height), hashToHex(tip.filterHeader));
    assert.deepEqual(
      node
        .history()
        .map((h) => h.height)
        .sort(),
      PAID_AT,
    );
  }

  function assertBanned(e: PeerClosedEvent, why: RegExp): void {
    assert.equal(e.banned, true, e.reason);
    assert.match(e.reason, why);
    const address = hostile!.options.host;
    assert.equal(node!.pool.isBanned(address), true);
    assert.ok(node!.status().bans.some((b) => b.address === address));
  }

  test('headers with bad proof of work: banned', async () => {
    const g = chain[0]!;
    const bad = grind(
      {
        version: 0x20000000,
        prevHash: g.hash,
        merkleRoot: new Uint8Array(32).fill(9),
        time: g.block.header.time + 600,
        bits: 0x207fffff,
      },
      false,
    );
    const e = await closedOf(undefined, (c) => c.send({ type: 'headers', headers: [bad] }));
    assertBanned(e, /proof-of-work/);
    await assertHonestSync();
  });

  test('headers that do not connect, again and again: banned', async () => {
    const e = await closedOf(
      (m) => (m.type === 'getheaders' ? [] : undefined),
      (c) => {
        for (let i = 0; i < 12; i++) {
          const h = grind({
            version: 0x20000000,
            prevHash: new Uint8Array(32).fill(i + 1),
            merkleRoot: new Uint8Array(32),
            time: 1_700_000_000,
            bits: 0x207fffff,
          });
          c.send({ type: 'headers', headers: [h] });
        }
      },
    );
    assertBanned(e, /connect/);
    await assertHonestSync();
  });

  test('a frame with a bad checksum: banned', async () => {
    const e = await closedOf(undefined, (c) => {
      const frame = encodeFrame(P.magic, 'ping', new Uint8Array(8));
      frame[20]! ^= 0xff;
      c.raw(frame);
    });
    assertBanned(e, /checksum/);
    await assertHonestSync();
  });

  test('an oversized frame: banned before its payload arrives', async () => {
    const e = await closedOf(undefined, (c) => {
      // A `headers` frame announcing 5 MB (more than any message, far more than 2,000 headers).
      const head = encodeFrame(P.magic, 'headers', new Uint8Array(0)).slice(0, 24);
      new DataView(head.buffer).setUint32(16, 5_000_000, true);
      c.raw(head);
    });
    assertBanned(e, /exceeds/);
    await assertHonestSync();
  });

  test('lying filter headers backed by a forged filter: settled with the block, the liar banned', async () => {
    // The liar claims an empty filter for block 700 and keeps its headers and checkpoints consistent with that.
    const forged = buildGcs([], chain[LIE_AT]!.hash.subarray(0, 16), BASIC_FILTER_PARAMS);
    const hashes = chain.map((b) => (b.height === LIE_AT ? filterHash(forged) : b.filterHash));
    const headers: Uint8Array[] = [];
    for (const [i, h] of hashes.entries())
      headers.push(filterHeader(h, i === 0 ? new Uint8Array(32) : headers[i - 1]!));
    const heightOf = (hash: Uint8Array) => chain.findIndex((b) => hashToHex(b.hash) === hashToHex(hash));
    const e = await closedOf((m): BtcMessage[] | undefined => {
      if (m.type === 'getcfcheckpt') {
        const stop = heightOf(m.stopHash);
        const out: Uint8Array[] = [];
        for (let h = CFCHECKPT_INTERVAL; h <= stop; h += CFCHECKPT_INTERVAL) out.push(headers[h]!);
        return [{ type: 'cfcheckpt', filterType: 0, stopHash: m.stopHash, filterHeaders: out }];
      }
      if (m.type === 'getcfheaders') {
        const stop = heightOf(m.stopHash);
        return [
          {
            type: 'cfheaders',
            filterType: 0,
            stopHash: m.stopHash,
            previousFilterHeader: m.startHeight === 0 ? new Uint8Array(32) : headers[m.startHeight - 1]!,
            filterHashes: hashes.slice(m.startHeight, stop + 1),
          },
        ];
      }
      if (m.type === 'getcfilters') {
        const stop = heightOf(m.stopHash);
        return chain.slice(m.startHeight, stop + 1).map((b) => ({
          type: 'cfilter' as const,
          filterType: 0,
          blockHash: b.hash,
          filter: b.height === LIE_AT ? forged : b.filter,
        }));
      }
      return undefined;
    });
    assertBanned(e, /lying filter headers/);
    await assertHonestSync();
    assert.ok(node!.status().filterConflicts >= 1);
  });

  test('an address flood: banned, and the address manager stays within its bound', async () => {
    const entries = (k: number): AddrEntry[] =>
      Array.from({ length: 1000 }, (_, i) => ({
        time: Math.floor(Date.now() / 1000),
        services: 1n,
        ip: ipv4Mapped(`${['192.0.2', '198.51.100', '203.0.113'][i % 3]}.${(i * 7 + k) % 256}`),
        port: 1024 + k * 1000 + i,
      }));
    const e = await closedOf(undefined, (c) => {
      for (let k = 0; k < 8; k++) c.send({ type: 'addr', addresses: entries(k) });
    });
    assertBanned(e, /address flood/);
    assert.ok(node!.addrman.size <= BTC_ADDR_BURST + 10, `address manager holds ${node!.addrman.size}`);
    assert.ok(node!.addrman.size <= node!.addrman.capacity);
    await assertHonestSync();
  });

  test('an inventory flood: at most the per-peer bound of transactions is asked for', async () => {
    let asked = 0;
    await run(
      (m) => {
        // Transactions are never sent; blocks are served honestly.
        if (m.type !== 'getdata' || m.items.some((i) => i.type !== InvType.Wtx)) return undefined;
        asked += m.items.length;
        return [];
      },
      (c) => {
        const items = Array.from({ length: 50_000 }, (_, i) => {
          const hash = new Uint8Array(32);
          new DataView(hash.buffer).setUint32(0, i + 1);
          return { type: InvType.Wtx, hash };
        });
        c.send({ type: 'inv', items });
        c.send({ type: 'ping', nonce: 7n });
      },
    );
    await assertHonestSync();
    const c = await hostile!.connection();
    await c.waitFor((m) => m.type === 'pong' && m.nonce === 7n);
    assert.equal(asked, BTC_MAX_TX_REQUESTS_PER_PEER);
    assert.equal(node!.pool.isBanned(hostile!.options.host), false);
  });
});
