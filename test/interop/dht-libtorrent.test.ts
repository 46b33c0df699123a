/**
 * Interop: Shoal DHT runtimes and python3-libtorrent 2.0 DHT nodes form one Mainline DHT on
 * 127.0.0.1 (BEP 5), with no tracker and no public router anywhere.
 *
 * - Eight Shoal runtimes (a loopback testnet) and two libtorrent sessions (each its own process,
 *   test/interop/py/lt_dht.py) bootstrapped through Shoal nodes only.
 * - libtorrent announces an info-hash (a torrent added by info-hash alone, as from a magnet
 *   link, re-announced with `force_dht_announce`); a Shoal `getPeers` finds its address.
 * - Shoal announces an info-hash; libtorrent's `dht_get_peers` reply holds Shoal's address.
 * - Shoal pings a libtorrent node and gets its node id.
 *
 * libtorrent re-announces and re-queries every 2 s (a lookup issued before its table is warm
 * finds little, INTEROP-NOTES.md); the Shoal side waits for libtorrent's next round before
 * looking again, so every wait is on an event and bounded.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DhtRuntime } from '../../src/discovery/dht-runtime.js';
import { createDhtTestnet, type DhtTestnet } from '../../src/discovery/dht-testnet.js';
import { toHex } from '../../src/shared/hash.js';
import {
  ClientGroup,
  type ClientProcess,
  freePort,
  libtorrentMissing,
  SYSTEM_PYTHON,
} from '../helpers/clients.js';

const skip = libtorrentMissing();
const LT_DHT = join(dirname(fileURLToPath(import.meta.url)), 'py', 'lt_dht.py');
const LOOP = '127.0.0.1';
/** Bound of each test (the lookups themselves take milliseconds; libtorrent's start-up, seconds). */
const TEST_TIMEOUT_MS = 50_000;
/** How long one side waits for the other to show up in the DHT. */
const FIND_TIMEOUT_MS = 40_000;

interface LtLine {
  readonly t: string;
  readonly ts: number;
  readonly [k: string]: unknown;
}

function parseLine(line: string): LtLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as LtLine;
  } catch {
    return undefined;
  }
}

/** The first JSON line of type `t` (and passing `pred`) printed after monotonic time `after`. */
async function nextLine(
  p: ClientProcess,
  t: string,
  afterTs: number,
  timeoutMs: number,
  pred: (l: LtLine) => boolean = () => true,
): Promise<LtLine> {
  const line = await p.waitForLine(
    (raw) => {
      const l = parseLine(raw);
      return l !== undefined && l.t === t && l.ts > afterTs && pred(l);
    },
    timeoutMs,
    `a "${t}" line`,
  );
  return parseLine(line)!;
}

/** Random 20-byte info-hash. */
function infoHash(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(20));
}

async function peersOf(rt: DhtRuntime, h: Uint8Array): Promise<string[]> {
  const out: string[] = [];
  for await (const p of rt.getPeers(h, { signal: AbortSignal.timeout(10_000) })) {
    if (p.type === 'peers') for (const a of p.peers) out.push(`${a.host}:${a.port}`);
  }
  return out;
}

describe('DHT interop with python3-libtorrent', { skip }, () => {
  const group = new ClientGroup();
  let net: DhtTestnet;
  const lt: { proc: ClientProcess; port: number }[] = [];

  before(async () => {
    net = await createDhtTestnet({ size: 8 });
    for (const [i, via] of [
      [0, [0, 1]],
      [1, [2, 3]],
    ] as const) {
      const port = await freePort();
      const save = await group.dir(`libtorrent-${i}`);
      const args = [LT_DHT, '--port', String(port), '--save', save, '--reannounce-ms', '2000'];
      for (const n of via) args.push('--bootstrap', `${LOOP}:${net.nodes[n]!.port}`);
      lt.push({ proc: group.spawn(`libtorrent-${i}`, SYSTEM_PYTHON, args), port });
    }
    await group.explain(async () => {
      for (const { proc } of lt) {
        await nextLine(proc, 'ready', 0, 20_000);
        // libtorrent joined: its routing table holds Shoal nodes.
        await nextLine(proc, 'nodes', 0, 20_000, (l) => Number(l.nodes) >= 3);
      }
    });
  });

  after(async () => {
    await group.stop();
    await net?.close();
  });

  test('libtorrent announces; a Shoal get_peers finds its address', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    await group.explain(async () => {
      const h = infoHash();
      const { proc, port } = lt[0]!;
      proc.send(`announce ${toHex(h)}`);
      const want = `${LOOP}:${port}`;
      const deadline = performance.now() + FIND_TIMEOUT_MS;
      let lastTs = 0;
      let tries = 0;
      for (;;) {
        // Each try looks after libtorrent's next announce round was started.
        const ann = await nextLine(proc, 'announced', lastTs, Math.max(1, deadline - performance.now()));
        lastTs = ann.ts;
        tries++;
        const found = await Promise.all([peersOf(net.nodes[5]!, h), peersOf(net.nodes[7]!, h)]);
        if (found.every((f) => f.includes(want))) break;
        if (performance.now() > deadline)
          assert.fail(`not found after ${tries} tries: ${JSON.stringify(found)}`);
      }
    });
  });

  test('Shoal announces; libtorrent dht_get_peers finds its address', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    await group.explain(async () => {
      const h = infoHash();
      const hex = toHex(h);
      const res = await net.nodes[6]!.announce(h, 7777, { signal: AbortSignal.timeout(10_000) });
      assert.ok(res.announcedTo >= 1, `announced to ${res.announcedTo} nodes`);
      const { proc } = lt[1]!;
      proc.send(`get_peers ${hex}`);
      const reply = await nextLine(proc, 'peers', 0, FIND_TIMEOUT_MS, (l) => {
        const peers = l.peers as [string, number][];
        return l.ih === hex && peers.some(([host, port]) => host === LOOP && port === 7777);
      });
      assert.equal(reply.ih, hex);
    });
  });

  test('two libtorrent nodes find each other through the Shoal nodes', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    await group.explain(async () => {
      const h = infoHash();
      const hex = toHex(h);
      const [a, b] = [lt[0]!, lt[1]!];
      a.proc.send(`announce ${hex}`);
      b.proc.send(`get_peers ${hex}`);
      await nextLine(b.proc, 'peers', 0, FIND_TIMEOUT_MS, (l) => {
        const peers = l.peers as [string, number][];
        return l.ih === hex && peers.some(([host, port]) => host === LOOP && port === a.port);
      });
    });
  });

  test('Shoal pings a libtorrent node and gets its node id', { timeout: TEST_TIMEOUT_MS }, async () => {
    await group.explain(async () => {
      const r = await net.nodes[2]!.ping(LOOP, lt[1]!.port);
      assert.equal(r.id.length, 20);
      assert.equal(r.port, lt[1]!.port);
      assert.ok(r.rttMs < 5000);
      // And libtorrent's node is in Shoal's DHT now: it answers lookups like any other.
      assert.ok(
        net.nodes.every((n) => n.stats().ipv4!.malformed === 0),
        'libtorrent sent nothing malformed',
      );
    });
  });
});
