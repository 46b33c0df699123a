/**
 * The swarm lab in the suite (issue 8), small and time-scaled so that it runs in seconds: a
 * Shoal seeder and Shoal leechers meeting through Shoal's tracker, every node rate-limited.
 * It guards the seeder's upload against regressions of BEP 16 super-seeding, the choker and the
 * piece picker: with super-seeding the seeder uploads at most 1.5 copies, without at most 2.5,
 * and every leecher completes.
 *
 * Not asserted yet: that free-riders finish later than sharers. At N = 50 (`npm run bench:swarm`)
 * they are 3–5× slower now, but in the swarms that fit the suite's time they are not reliably so
 * (N = 8: 0.8–1.3×, N = 20: 1.1–2.2× over a few lab runs): with a handful of sharers the seeder
 * and the newcomer slots are most of what anyone gets — see docs/BENCHMARKS.md, "Swarm".
 *
 * Figures vary from run to run on a shared machine; the bounds leave room for that while still
 * failing if the seeder sprays copies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSwarm, type SwarmLabConfig } from '../helpers/swarm-lab.js';

const KB = 1000;
/** 8 Shoal leechers, 4 MiB in 32 KiB pieces, every node 400 kB/s up (leechers 1.6 MB/s down). */
const SMALL_SWARM: SwarmLabConfig = {
  leechers: 8,
  payloadBytes: 4 * 1024 * 1024,
  pieceLength: 32 * 1024,
  seederUploadBps: 400 * KB,
  leecherUploadBps: 400 * KB,
  leecherDownloadBps: 1600 * KB,
  seeder: 'shoal',
  leecherImpl: 'shoal',
  timeoutMs: 90_000,
};

test('super-seeding: the seeder uploads about one copy and every leecher completes', {
  timeout: 120_000,
}, async () => {
  const r = await runSwarm({ ...SMALL_SWARM, superSeed: true });
  assert.equal(r.allFinished, true, `every leecher completes: ${JSON.stringify(r.peers)}`);
  assert.ok(r.seederRatio <= 1.5, `seeder uploaded ${r.seederRatio.toFixed(2)} copies (≤ 1.5)`);
  assert.ok(r.seederRatio >= 1, 'every piece left the seeder at least once');
});

test('without super-seeding the seeder still uploads at most 2.5 copies', { timeout: 120_000 }, async () => {
  const r = await runSwarm(SMALL_SWARM);
  assert.equal(r.allFinished, true, `every leecher completes: ${JSON.stringify(r.peers)}`);
  assert.ok(r.seederRatio <= 2.5, `seeder uploaded ${r.seederRatio.toFixed(2)} copies (≤ 2.5)`);
  assert.ok(r.capacityUsed > 0.2, `the leechers traded: capacity used ${r.capacityUsed.toFixed(2)}`);
});
