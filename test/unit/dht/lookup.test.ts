import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bytesToBinary,
  compareDistance,
  DHT_ALPHA,
  DHT_K,
  Lookup,
  type LookupNodeHint,
} from '../../../src/dht/index.js';
import {
  MAX_DHT_LOOKUP_CANDIDATES,
  MAX_DHT_LOOKUP_PEERS,
  MAX_DHT_LOOKUP_QUERIES,
} from '../../../src/shared/limits.js';
import { DhtSimulation, SeededRandom } from '../../../src/testing/sim-network.js';

const rnd = new SeededRandom(77);
const target = bytesToBinary(new Uint8Array(20));
/** A node whose distance to the (all-zero) target is `d` in the first 4 bytes. */
function hint(d: number): LookupNodeHint {
  const id = new Uint8Array(20);
  new DataView(id.buffer).setUint32(0, d);
  const addr = String.fromCharCode(10, (d >> 16) & 255, (d >> 8) & 255, d & 255, 0x1a, 0xe1);
  return { id: bytesToBinary(id), addr };
}
const answer = (nodes: LookupNodeHint[] = [], peers: string[] = [], conforming = true) => ({
  nodes,
  peers,
  token: Uint8Array.of(1),
  conforming,
});

describe('Lookup', () => {
  test('asks the α closest first, then closer nodes it hears of, and converges on the k closest', () => {
    const l = new Lookup(1, 'get_peers', target);
    l.addNodes([1000, 900, 800, 700, 600, 500, 400, 300, 200, 100].map(hint));
    const first = l.next();
    assert.equal(first.length, DHT_ALPHA);
    assert.deepEqual(
      first.map((c) => c.addr),
      [100, 200, 300].map((d) => hint(d).addr),
    );
    assert.deepEqual(l.next(), [], 'no more than α in flight');
    // The closest answers with two closer nodes: they are asked next.
    l.onResponse(first[0]!.addr, first[0]!.id!, answer([hint(5), hint(6)]));
    const closer = l.next();
    assert.deepEqual(
      closer.map((c) => c.addr),
      [hint(5).addr],
    );
    l.onResponse(closer[0]!.addr, closer[0]!.id!, answer());
    for (let i = 0; i < 50 && !l.done; i++) {
      for (const c of l.next()) l.onResponse(c.addr, c.id!, answer());
      for (const c of [first[1]!, first[2]!]) l.onResponse(c.addr, c.id!, answer());
    }
    assert.equal(l.done, true);
    const closest = l.closestResponded(DHT_K).map((c) => c.addr);
    assert.deepEqual(
      closest,
      [5, 6, 100, 200, 300, 400, 500, 600].map((d) => hint(d).addr),
    );
    assert.equal(l.queries, 8, 'the window of 8; the four farthest (700..1000) were never asked');
    assert.equal(l.announceTargets().length, DHT_K);
  });

  test('failures are replaced by the next candidates; stalled queries free their slot', () => {
    const l = new Lookup(1, 'find_node', target, { k: 2 });
    l.addNodes([1, 2, 3, 4, 5, 6].map(hint));
    const q = l.next();
    assert.equal(q.length, 2, 'only the k-window is asked');
    l.onStall(q[0]!.addr);
    assert.deepEqual(l.next(), [], 'k = 2 window is full with nodes in flight');
    l.onFailure(q[0]!.addr);
    assert.deepEqual(
      l.next().map((c) => c.addr),
      [hint(3).addr],
    );
    l.onFailure(q[1]!.addr);
    const r = l.next();
    assert.deepEqual(
      r.map((c) => c.addr),
      [hint(4).addr],
    );
    assert.equal(l.done, false);
    l.onResponse(hint(3).addr, hint(3).id, answer());
    l.onResponse(hint(4).addr, hint(4).id, answer());
    assert.equal(l.done, true);
    assert.equal(l.failures, 2);
  });

  test('a lookup with nothing left to ask is done', () => {
    const l = new Lookup(1, 'find_node', target);
    assert.equal(l.done, true);
    l.addNodes([hint(1)]);
    assert.equal(l.done, false);
    const [c] = l.next();
    l.onFailure(c!.addr);
    assert.equal(l.done, true);
  });

  test('seeds without ids are asked first and become candidates', () => {
    const l = new Lookup(1, 'find_node', target);
    l.addSeeds(['seed-a', 'seed-b', 'seed-a']);
    const q = l.next();
    assert.deepEqual(
      q.map((c) => c.addr),
      ['seed-a', 'seed-b'],
    );
    l.onResponse('seed-a', hint(50).id, answer([hint(10)]));
    assert.equal(l.done, false);
    l.onFailure('seed-b');
    for (const c of l.next()) l.onResponse(c.addr, c.id!, answer());
    assert.equal(l.done, true);
    assert.deepEqual(
      l.closestResponded(8).map((c) => c.id),
      [hint(10).id, hint(50).id],
    );
  });

  test('BEP 42 enforcement: non-conforming answers neither end the lookup nor get announces', () => {
    const l = new Lookup(1, 'announce', target, { k: 2, enforceNodeIds: true });
    l.addNodes([1, 2, 3].map(hint));
    for (const c of l.next()) l.onResponse(c.addr, c.id!, answer([], [], c.addr !== hint(1).addr));
    assert.equal(l.done, false, 'node 1 does not count: node 3 must be asked');
    for (const c of l.next()) l.onResponse(c.addr, c.id!, answer());
    assert.equal(l.done, true);
    assert.deepEqual(
      l.announceTargets().map((c) => c.addr),
      [hint(2).addr, hint(3).addr],
    );
  });

  test('MAX_DHT_LOOKUP_CANDIDATES keeps only the closest candidates', () => {
    const l = new Lookup(1, 'find_node', target);
    l.addNodes(Array.from({ length: MAX_DHT_LOOKUP_CANDIDATES + 36 }, (_, i) => hint(1000 - i)));
    const kept = Array.from({ length: 1000 }, (_, d) => l.candidate(hint(d + 1).addr)).filter(Boolean);
    assert.equal(kept.length, MAX_DHT_LOOKUP_CANDIDATES);
    assert.ok(
      l.candidate(hint(1000 - MAX_DHT_LOOKUP_CANDIDATES - 35).addr) !== undefined,
      'the closest is kept',
    );
    assert.equal(l.candidate(hint(1000).addr), undefined, 'the farthest is forgotten');
  });

  test('MAX_DHT_LOOKUP_QUERIES stops a lookup that a hostile network keeps feeding', () => {
    const l = new Lookup(1, 'find_node', target);
    let next = 1_000_000;
    l.addNodes([hint(next)]);
    while (!l.done) {
      const q = l.next();
      for (const c of q) l.onResponse(c.addr, c.id!, answer([hint(--next), hint(--next), hint(--next)]));
      if (q.length === 0 && !l.done) assert.fail('stuck');
    }
    assert.equal(l.queries, MAX_DHT_LOOKUP_QUERIES);
  });

  test('MAX_DHT_LOOKUP_PEERS bounds the peers collected', () => {
    const l = new Lookup(1, 'get_peers', target, { k: 20 });
    l.addNodes(Array.from({ length: 20 }, (_, i) => hint(i + 1)));
    let fresh = 0;
    let p = 0;
    for (const c of l.next().concat(l.next())) {
      const peers = Array.from({ length: 400 }, () => `peer${p++}`);
      fresh += l.onResponse(c.addr, c.id!, answer([], peers)).length;
    }
    assert.equal(fresh, MAX_DHT_LOOKUP_PEERS);
    assert.equal(l.peers.size, MAX_DHT_LOOKUP_PEERS);
  });

  test('ignores answers from addresses it never asked', () => {
    const l = new Lookup(1, 'find_node', target);
    assert.deepEqual(l.onResponse('nobody', hint(1).id, answer([hint(2)], ['x'])), []);
    assert.equal(l.responses, 0);
  });
});

describe('lookup convergence on small simulated networks', () => {
  for (const [n, seed] of [
    [16, 1],
    [60, 2],
    [150, 3],
  ] as const) {
    test(`${n} nodes: find_node reaches the true k closest (seed ${seed})`, () => {
      const sim = new DhtSimulation({ nodes: n, seed, lossRate: 0, joinIntervalMs: 200 });
      sim.build(30_000);
      const all = sim.peers.map((p) => bytesToBinary(p.node.id));
      for (let i = 0; i < 10; i++) {
        const t = rnd.bytes(20);
        const tk = bytesToBinary(t);
        const from = sim.peers[rnd.int(n)]!;
        const lookupId = from.node.findNode(t, sim.now);
        sim.net.flush(from.address);
        assert.ok(sim.waitFor([{ peer: from, lookupId }], 60_000));
        const ev = from.finished.get(lookupId)!;
        const others = all.filter((k) => k !== bytesToBinary(from.node.id));
        const expected = others
          .sort((a, b) => compareDistance(a, b, tk))
          .slice(0, Math.min(DHT_K, others.length));
        assert.deepEqual(
          ev.closest.map((c) => bytesToBinary(c.id)),
          expected,
        );
        assert.ok(ev.queries <= 3 * Math.ceil(Math.log2(n)) * DHT_ALPHA, `${ev.queries} queries`);
      }
    });
  }
});
