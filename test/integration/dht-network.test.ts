/**
 * A 30-node Mainline DHT of real runtimes on 127.0.0.1: announces from random nodes are found by
 * lookups from random nodes; a third of the nodes leave and lookups still succeed; then every
 * node restarts on its port with no bootstrap node at all, and the DHT re-forms from the state
 * files alone.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DhtRuntime } from '../../src/discovery/dht-runtime.js';
import {
  createDhtTestnet,
  type DhtTestnet,
  LOOPBACK_DHT_NODE_OPTIONS,
} from '../../src/discovery/dht-testnet.js';
import { SeededRandom } from '../../src/testing/sim-network.js';

const LOOP = '127.0.0.1';
const SIZE = 30;

async function finds(
  rt: DhtRuntime,
  h: Uint8Array,
  want: string,
): Promise<{ found: boolean; queries: number }> {
  let found = false;
  let queries = 0;
  for await (const p of rt.getPeers(h, { signal: AbortSignal.timeout(10_000) })) {
    if (p.type === 'finished') queries += p.queries;
    else if (p.peers.some((a) => `${a.host}:${a.port}` === want)) found = true;
  }
  return { found, queries };
}

describe(`a ${SIZE}-node DHT on loopback`, () => {
  const rnd = new SeededRandom(7);
  let dir: string;
  let net: DhtTestnet;
  const announced: { h: Uint8Array; want: string }[] = [];
  let ids: (Uint8Array | undefined)[] = [];
  let ports: number[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-dht-net-'));
    let i = 0;
    net = await createDhtTestnet({ size: 0, random: rnd });
    for (; i < SIZE; i++) await net.add({ statePath: join(dir, `node-${i}.state`), saveIntervalMs: 0 });
    for (const n of net.nodes) await n.refresh();
    ids = net.nodes.map((n) => n.nodeId());
    ports = net.nodes.map((n) => n.port);
  });
  after(async () => {
    await net?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('every announce is found by lookups from other nodes', { timeout: 60_000 }, async () => {
    for (let i = 0; i < 15; i++) {
      const h = rnd.bytes(20);
      const from = net.nodes[rnd.int(SIZE)]!;
      const port = 20_000 + i;
      const r = await from.announce(h, port, { signal: AbortSignal.timeout(10_000) });
      assert.ok(r.announcedTo >= 3, `announce ${i} reached ${r.announcedTo} nodes`);
      announced.push({ h, want: `${LOOP}:${port}` });
    }
    let ok = 0;
    const queries: number[] = [];
    const lookups = 60;
    for (let i = 0; i < lookups; i++) {
      const a = announced[rnd.int(announced.length)]!;
      const r = await finds(net.nodes[rnd.int(SIZE)]!, a.h, a.want);
      if (r.found) ok++;
      queries.push(r.queries);
    }
    assert.equal(ok, lookups, `${ok}/${lookups} lookups found their peer`);
    queries.sort((x, y) => x - y);
    // ⌈log₂ 30⌉·α = 15: a lookup here should cost about that, never the whole network many times over.
    assert.ok(queries[queries.length >> 1]! <= 30, `median ${queries[queries.length >> 1]} queries`);
  });

  test('a third of the nodes leave: lookups still find the announced peers', {
    timeout: 60_000,
  }, async () => {
    const leaving = net.nodes.slice(1).filter((_, i) => i % 3 === 0);
    await Promise.all(leaving.map((n) => n.close()));
    const alive = net.nodes.filter((n) => !leaving.includes(n));
    // The announce is stored on the k closest nodes; a third of them gone leaves most. The
    // lookups wait for the dead nodes' query timeouts, so they run side by side.
    const results = await Promise.all(
      announced.map((a) => finds(alive[rnd.int(alive.length)]!, a.h, a.want)),
    );
    const ok = results.filter((r) => r.found).length;
    assert.ok(ok >= announced.length - 1, `${ok}/${announced.length} found after churn`);
  });

  test('every node restarts with no bootstrap node: the DHT re-forms from the state files', {
    timeout: 60_000,
  }, async () => {
    await net.close();
    const again: DhtRuntime[] = [];
    try {
      for (let i = 0; i < SIZE; i++) {
        again.push(
          await DhtRuntime.create({
            host: LOOP,
            port: ports[i]!,
            bootstrap: [],
            statePath: join(dir, `node-${i}.state`),
            saveIntervalMs: 0,
            node: LOOPBACK_DHT_NODE_OPTIONS,
          }),
        );
        assert.deepEqual(again[i]!.nodeId(), ids[i], 'same node id after the restart');
      }
      for (const n of again) await n.refresh();
      const h = rnd.bytes(20);
      await again[3]!.announce(h, 30_000);
      let ok = 0;
      for (const i of [0, 7, 12, 19, 25, 29]) {
        if ((await finds(again[i]!, h, `${LOOP}:30000`)).found) ok++;
      }
      assert.equal(ok, 6);
    } finally {
      await Promise.all(again.map((n) => n.close()));
    }
  });
});
