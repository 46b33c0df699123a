/**
 * DHT at scale on the virtual network (no sockets, no real time): 500 pure nodes with 1% loss
 * and 10–100 ms latency. Announced info-hashes must be found by ≥ 99% of random `get_peers`
 * lookups, and by ≥ 95% when 30% of the nodes vanish halfway through a run of lookups.
 * Replay a failure with DHT_SIM_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { DhtSimulation, randomInfoHash, type SimDhtPeer } from '../../../src/testing/sim-network.js';

const SEED = Number(process.env.DHT_SIM_SEED ?? 20_240_601);
const NODES = 500;
const HASHES = 40;
const ANNOUNCERS_PER_HASH = 2;
const LOOKUPS = 400;

interface Outcome {
  readonly total: number;
  readonly found: number;
  readonly medianQueries: number;
}

describe(`DHT simulation: ${NODES} nodes (seed ${SEED})`, { timeout: 180_000 }, () => {
  let sim: DhtSimulation;
  let hashes: Uint8Array[];
  const started = performance.now();

  before(() => {
    console.log(`# DHT simulation seed ${SEED} (replay with DHT_SIM_SEED=${SEED})`);
    sim = new DhtSimulation({ nodes: NODES, seed: SEED, joinIntervalMs: 100, lossRate: 0.01 });
    sim.build(30_000);
    hashes = Array.from({ length: HASHES }, () => randomInfoHash(sim.random).bytes);
    const announces: { peer: SimDhtPeer; lookupId: number }[] = [];
    for (const h of hashes) {
      for (let i = 0; i < ANNOUNCERS_PER_HASH; i++) {
        const p = sim.peers[sim.random.int(NODES)]!;
        announces.push({ peer: p, lookupId: sim.announce(p, h, 6881) });
        sim.runFor(50);
      }
    }
    assert.ok(sim.waitFor(announces, 120_000), 'every announce finishes');
    const acked = announces.map((a) => a.peer.finished.get(a.lookupId)!.announcedTo);
    assert.ok(
      Math.min(...acked) >= 4,
      `announces stored on at least 4 nodes each (min ${Math.min(...acked)})`,
    );
  });

  /** Runs `LOOKUPS` lookups, one every 100 ms; `churnAt` kills 30% of the nodes at that lookup. */
  function lookups(churnAt: number | undefined): Outcome {
    let origins = sim.alive();
    let victims: SimDhtPeer[] = [];
    if (churnAt !== undefined) {
      const shuffled = sim.alive();
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = sim.random.int(i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      victims = shuffled.slice(0, Math.round(0.3 * shuffled.length));
      // Lookups run from the survivors only: a node that left has no result to report.
      origins = shuffled.slice(victims.length);
    }
    const runs: { peer: SimDhtPeer; lookupId: number }[] = [];
    for (let i = 0; i < LOOKUPS; i++) {
      if (i === churnAt) for (const v of victims) sim.kill(v);
      const peer = origins[sim.random.int(origins.length)]!;
      runs.push({ peer, lookupId: sim.getPeers(peer, hashes[sim.random.int(HASHES)]!) });
      sim.runFor(100);
    }
    assert.ok(sim.waitFor(runs, 300_000), 'every lookup finishes');
    const done = runs.map((r) => r.peer.finished.get(r.lookupId)!);
    const queries = done.map((e) => e.queries).sort((a, b) => a - b);
    return {
      total: done.length,
      found: done.filter((e) => e.peersFound > 0).length,
      medianQueries: queries[queries.length >> 1]!,
    };
  }

  test('random get_peers lookups for announced info-hashes succeed ≥ 99%', () => {
    const o = lookups(undefined);
    const rate = o.found / o.total;
    console.log(
      `# steady: ${o.found}/${o.total} = ${(100 * rate).toFixed(1)}%, median ${o.medianQueries} queries/lookup`,
    );
    assert.ok(rate >= 0.99, `success ${(100 * rate).toFixed(1)}% (seed ${SEED})`);
    assert.ok(o.medianQueries <= 2 * Math.ceil(Math.log2(NODES)) * 3, `median ${o.medianQueries} queries`);
  });

  test('with 30% of the nodes leaving mid-way, lookups still succeed ≥ 95%', () => {
    const o = lookups(LOOKUPS / 2);
    const rate = o.found / o.total;
    assert.equal(sim.alive().length, NODES - Math.round(0.3 * NODES));
    console.log(
      `# churn: ${o.found}/${o.total} = ${(100 * rate).toFixed(1)}%, median ${o.medianQueries} queries/lookup`,
    );
    assert.ok(rate >= 0.95, `success ${(100 * rate).toFixed(1)}% (seed ${SEED})`);
    console.log(`# simulation wall time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });
});
