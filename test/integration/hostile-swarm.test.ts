/**
 * Hostile swarms (issue 17, "How it must be shown"): a Shoal leecher downloads from an honest,
 * rate-limited Shoal seeder on 127.0.0.1 while one hostile behaviour (test/helpers/hostile-peers.ts)
 * attacks from other loopback addresses. For every attack: the download completes with files
 * equal to the seeder's, the honest seeder is never banned, and the structures an attacker tries
 * to grow (smart-ban evidence, connections, connections per address) stay under their named
 * bounds. Each run is one call of the attack lab (test/helpers/attack-lab.ts), which stops and
 * removes everything it started. The address floods and BEP 9 liars are in
 * hostile-swarm-discovery.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_SMART_BAN_BLOCKS, MAX_SMART_BAN_PIECES } from '../../src/engine/index.js';
import {
  INCOMING_CONNECTION_SLACK,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_CONNECTIONS_PER_TORRENT,
  MAX_HALF_OPEN_PER_TORRENT,
} from '../../src/shared/limits.js';
import { type AttackLabConfig, type AttackRunResult, describeRun, runAttack } from '../helpers/attack-lab.js';
import { hostileAddress, SLOW_HANDSHAKE_DIALS, SYBIL_CONNECTIONS } from '../helpers/hostile-peers.js';

/** The honest seeder's upload: 2 MiB take ~2 s, long enough for every attack to act. */
const SEEDER_BPS = 1024 * 1024;
const RUN_MS = 25_000;

async function run(attack: string, extra: Partial<AttackLabConfig> = {}): Promise<AttackRunResult> {
  return runAttack({ attack, seederUploadBps: SEEDER_BPS, timeoutMs: RUN_MS, ...extra });
}

/** What must hold after every attack. */
function assertSurvived(r: AttackRunResult): void {
  const why = describeRun(r);
  assert.equal(r.completed, true, `the download completes\n${why}`);
  assert.equal(r.bytesEqual, true, `the files equal the seeder's\n${why}`);
  assert.deepEqual(r.honestBanned, [], `the honest seeder is never banned\n${why}`);
  assert.ok(r.honestConnectedAtMs !== undefined, `the honest seeder was attached\n${why}`);
  assert.deepEqual(r.honestDropped, [], `the honest seeder was never dropped\n${why}`);
  assert.ok(r.peaks.smartBanPieces <= MAX_SMART_BAN_PIECES, why);
  assert.ok(r.peaks.smartBanBlocks <= MAX_SMART_BAN_BLOCKS, why);
  assert.ok(r.peaks.attached <= MAX_CONNECTIONS_PER_TORRENT + INCOMING_CONNECTION_SLACK, why);
  assert.ok(r.peaks.attachedPerHostileAddress <= MAX_CONNECTIONS_PER_ADDRESS, why);
  assert.ok(r.peaks.halfOpen <= MAX_HALF_OPEN_PER_TORRENT, why);
  assert.deepEqual(r.smartBanAtEnd, { pieces: 0, blocks: 0 }, `no evidence is left once done\n${why}`);
}

describe('hostile swarms: bad data', { timeout: 120_000 }, () => {
  test('garbage at full speed (the issue): the attacker is banned as sole sender, the honest seeder never', async () => {
    const r = await run('garbage');
    assertSurvived(r);
    assert.deepEqual(r.hostileBanned, [hostileAddress(0)], describeRun(r));
    assert.match(r.bans[0]!.reason, /sole sender of piece \d+/);
    assert.ok(r.hashFailures >= 1 && r.wastedBytes > 0, describeRun(r));
  });

  test('a subtle poisoner (one flipped byte per piece) is banned', async () => {
    const r = await run('poison');
    assertSurvived(r);
    assert.deepEqual(r.hostileBanned, [hostileAddress(0)], describeRun(r));
    assert.ok(r.attackStats!.blocksSent > 0);
  });

  test('colluders sharing every bad piece: convicted by the copy that passed; the one that sent nothing is not', async () => {
    const r = await run('colluders');
    assertSurvived(r);
    assert.deepEqual(
      new Set(r.hostileBanned),
      new Set([hostileAddress(0), hostileAddress(1)]),
      describeRun(r),
    );
    for (const b of r.bans) assert.match(b.reason, /proven by the copy that passed/, describeRun(r));
    assert.ok(r.peaks.smartBanPieces >= 1, 'mixed failures were recorded as evidence');
  });
});

describe('hostile swarms: peers that do not deliver', { timeout: 120_000 }, () => {
  for (const attack of ['snub', 'sloth']) {
    test(`${attack}: a peer that claims everything and never answers costs nothing and is not banned`, async () => {
      const r = await run(attack);
      assertSurvived(r);
      assert.deepEqual(r.bans, [], 'no data, no evidence, no ban');
      assert.equal(r.attackStats!.blocksSent, 0);
      assert.equal(r.hashFailures, 0);
    });
  }

  test('unrequested blocks, and blocks of pieces it never had: closed at the first, nobody banned', async () => {
    const r = await run('unrequested');
    assertSurvived(r);
    assert.deepEqual(r.bans, []);
    assert.ok(
      r.peerLog.some(
        (e) =>
          e.type === 'disconnected' &&
          e.address.startsWith(`${hostileAddress(0)}:`) &&
          e.reason === 'unrequested-block',
      ),
      describeRun(r),
    );
    assert.equal(r.hashFailures, 0, 'no unrequested byte was taken');
  });
});

describe('hostile swarms: protocol abuse', { timeout: 120_000 }, () => {
  test('oversized and malformed messages, dialled and accepted: each connection closed with its reason', async () => {
    const r = await run('malformed');
    assertSurvived(r);
    assert.deepEqual(r.bans, []);
    const closes = r.peerLog.filter(
      (e) =>
        (e.type === 'disconnected' || e.type === 'refused') &&
        e.address.startsWith('127.0.0.') &&
        !e.address.startsWith('127.0.0.1:'),
    );
    assert.ok(closes.length >= 10, describeRun(r));
    for (const e of closes) assert.ok((e.reason ?? '') !== '', `a reason for ${e.address}`);
    assert.ok(r.attackStats!.closedByVictim >= 10, describeRun(r));
  });

  test('handshakes one byte per second: closed by the handshake timeout, never attached', async () => {
    // A short timeout and a slower seeder, so that every slow connection is closed before the end.
    const r = await run('slow-handshake', {
      victim: { handshakeTimeoutMs: 2_000 },
      seederUploadBps: SEEDER_BPS / 2,
    });
    assertSurvived(r);
    assert.equal(r.peaks.attachedPerHostileAddress, 0, describeRun(r));
    assert.ok(r.attackStats!.connections >= SLOW_HANDSHAKE_DIALS + 1, describeRun(r));
    assert.equal(r.attackStats!.closedByVictim, r.attackStats!.connections, describeRun(r));
    assert.ok(r.timeMs > 2_000 + 1_000, 'the download outlasted the handshake timeout');
  });

  test(`one address, ${SYBIL_CONNECTIONS} connections with different peer ids: at most ${MAX_CONNECTIONS_PER_ADDRESS} attached, blamed once`, async () => {
    const r = await run('sybil');
    assertSurvived(r);
    assert.ok(r.peaks.attachedPerHostileAddress >= 1, describeRun(r));
    assert.ok(r.refusedAddressFull >= 1, describeRun(r));
    assert.deepEqual(r.hostileBanned, [hostileAddress(0)], 'blamed as one address');
    assert.equal(r.peerLog.filter((e) => e.type === 'banned').length, 1, describeRun(r));
  });
});
