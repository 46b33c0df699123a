/**
 * Issue 17's exact case against the real client: an honest python3-libtorrent seeder,
 * rate-limited on loopback (its peers in the global peer class), and one hostile peer on another
 * loopback address that claims every piece, unchokes at once and answers every request with
 * random bytes at full speed. Before smart ban, the download stalled in 5 of 10 runs with the
 * honest seeder banned beside the attacker; here every run must complete with equal bytes, the
 * attacker banned and the honest seeder never. (`npm run bench:hostile` runs it 50 times.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeRun, runAttack } from '../helpers/attack-lab.js';
import { libtorrentMissing } from '../helpers/clients.js';
import { hostileAddress } from '../helpers/hostile-peers.js';

// CI installs the clients (.ci/run); without them this suite fails loudly rather than skipping.
const missing = libtorrentMissing();
if (missing !== undefined) throw new Error(missing);

/** 4 MiB at 2 MiB/s: ~2 s of transfer, plus libtorrent's start-up. */
const RUN = {
  seeder: 'lt',
  seederUploadBps: 2 * 1024 * 1024,
  files: { 'payload.bin': 4 * 1024 * 1024 },
  timeoutMs: 40_000,
} as const;

describe('hostile swarms beside a rate-limited libtorrent seeder', { timeout: 180_000 }, () => {
  for (const seed of [1, 2, 3]) {
    test(`garbage at full speed, run ${seed}: completes, the attacker banned, libtorrent never`, async () => {
      const r = await runAttack({ ...RUN, attack: 'garbage', seed });
      const why = describeRun(r);
      assert.equal(r.completed, true, why);
      assert.equal(r.bytesEqual, true, why);
      assert.deepEqual(r.honestBanned, [], why);
      assert.deepEqual(r.hostileBanned, [hostileAddress(0)], why);
    });
  }

  test('colluders sharing every bad piece: convicted by copies libtorrent sent, libtorrent never', async () => {
    const r = await runAttack({ ...RUN, attack: 'colluders' });
    const why = describeRun(r);
    assert.equal(r.completed, true, why);
    assert.equal(r.bytesEqual, true, why);
    assert.deepEqual(r.honestBanned, [], why);
    // Both colluders usually; one may finish unconvicted when its evidence was among the oldest
    // of more than MAX_SMART_BAN_PIECES failed pieces (docs/BENCHMARKS.md, "Hostile swarms").
    assert.ok(r.hostileBanned.length >= 1, why);
    for (const b of r.bans) assert.match(b.reason, /proven by the copy that passed|sole sender/, why);
    assert.ok(
      !r.hostileBanned.includes(hostileAddress(2)),
      `the colluder that sent nothing is not banned\n${why}`,
    );
  });
});
