/**
 * DHT simulation benchmark (`npm run bench:dht`): N pure DhtNodes on the virtual network
 * (seeded latency 10–100 ms, 1% loss), then announces and random `get_peers` lookups.
 * Prints, per N: lookup success rate, median and p95 queries per lookup (target: median within
 * 2× of ⌈log₂ N⌉·α), and heap memory per idle node (target: < 50 KB).
 *
 * Usage: node --expose-gc --import tsx bench/dht.ts [N ...] [--seed S]
 */
import { DHT_ALPHA } from '../src/dht/index.js';
import { DhtSimulation, randomInfoHash, type SimDhtPeer } from '../src/testing/sim-network.js';

const args = process.argv.slice(2);
const seedAt = args.indexOf('--seed');
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 1;
const sizes = args.filter((a, i) => !a.startsWith('--') && (seedAt < 0 || i !== seedAt + 1)).map(Number);
const runs = sizes.length > 0 ? sizes : [1000, 10_000];

const gc = (globalThis as { gc?: () => void }).gc;
function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

interface Row {
  nodes: number;
  buildS: number;
  successPct: number;
  medianQueries: number;
  p95Queries: number;
  targetQueries: number;
  kbPerNode: number;
  lookups: number;
}

function run(n: number): Row {
  const before = heapUsed();
  const t0 = performance.now();
  const sim = new DhtSimulation({ nodes: n, seed, joinIntervalMs: n > 2000 ? 20 : 50 });
  sim.build(60_000);
  const buildS = (performance.now() - t0) / 1000;
  if (process.env.DHT_BENCH_VERBOSE) console.error(`built ${n}: ${JSON.stringify(sim.net.stats)}`);
  const hashes = Array.from({ length: 100 }, () => randomInfoHash(sim.random));
  const announces: { peer: SimDhtPeer; lookupId: number }[] = [];
  for (const h of hashes) {
    const p = sim.peers[sim.random.int(n)]!;
    announces.push({ peer: p, lookupId: sim.announce(p, h.bytes, 6881) });
    sim.runFor(20);
  }
  sim.waitFor(announces, 120_000);
  const lookups: { peer: SimDhtPeer; lookupId: number }[] = [];
  const count = 1000;
  for (let i = 0; i < count; i++) {
    const p = sim.peers[sim.random.int(n)]!;
    lookups.push({ peer: p, lookupId: sim.getPeers(p, hashes[sim.random.int(hashes.length)]!.bytes) });
    sim.runFor(10);
  }
  sim.waitFor(lookups, 300_000);
  const done = lookups.map((l) => l.peer.finished.get(l.lookupId));
  const ok = done.filter((e) => e !== undefined && e.peersFound > 0).length;
  const queries = done.map((e) => e?.queries ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  // Idle: let every lookup's stragglers time out and a few maintenance rounds pass.
  sim.runFor(60_000);
  for (const p of sim.peers) p.finished.clear();
  const kbPerNode = (heapUsed() - before) / n / 1024;
  const row: Row = {
    nodes: n,
    buildS,
    successPct: (100 * ok) / count,
    medianQueries: queries[Math.floor(count / 2)]!,
    p95Queries: queries[Math.floor(count * 0.95)]!,
    targetQueries: 2 * Math.ceil(Math.log2(n)) * DHT_ALPHA,
    kbPerNode,
    lookups: count,
  };
  // Keep the simulation alive until after the measurement.
  if (sim.peers.length !== n) throw new Error('lost nodes');
  return row;
}

console.log(
  `DHT simulation, seed ${seed}${gc === undefined ? ' (run with --expose-gc for exact memory)' : ''}`,
);
console.log(
  '| nodes | lookups | success | median queries | p95 queries | target median ≤ | memory / idle node | build time |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const n of runs) {
  const r = run(n);
  console.log(
    `| ${r.nodes} | ${r.lookups} | ${r.successPct.toFixed(1)} % | ${r.medianQueries} | ${r.p95Queries} | ${r.targetQueries} | ${r.kbPerNode.toFixed(1)} KB | ${r.buildS.toFixed(1)} s |`,
  );
}
