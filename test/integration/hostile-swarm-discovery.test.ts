/**
 * Hostile swarms, discovery side (issue 17): floods of made-up addresses (PEX from many hostile
 * connections, a tracker reply of thousands) and BEP 9 peers that lie about the metadata. The
 * victim must still find and keep the honest seeder, complete with equal bytes, ban no honest
 * peer, and keep its address table, dials in progress and PEX share under their named bounds.
 * Made-up addresses are in 127.1.0.0/16 and up, where nothing listens: dials fail at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  MAX_HALF_OPEN_PER_TORRENT,
  MAX_HALF_OPEN_TOTAL,
  MAX_KNOWN_PEERS_PER_TORRENT,
  PEX_ADDRESS_SHARE,
} from '../../src/shared/limits.js';
import { type AttackLabConfig, type AttackRunResult, describeRun, runAttack } from '../helpers/attack-lab.js';
import { TRACKER_FLOOD_ADDRESSES } from '../helpers/hostile-peers.js';

const SEEDER_BPS = 1024 * 1024;
const RUN_MS = 25_000;

/** Process warnings (e.g. MaxListenersExceededWarning from a dial flood) while these tests run. */
const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
before(() => process.on('warning', onWarning));
after(() => process.off('warning', onWarning));

async function run(attack: string, extra: Partial<AttackLabConfig> = {}): Promise<AttackRunResult> {
  return runAttack({ attack, seederUploadBps: SEEDER_BPS, timeoutMs: RUN_MS, ...extra });
}

function assertSurvived(r: AttackRunResult): void {
  const why = describeRun(r);
  assert.equal(r.completed, true, `the download completes\n${why}`);
  assert.equal(r.bytesEqual, true, `the files equal the seeder's\n${why}`);
  assert.deepEqual(r.honestBanned, [], `the honest seeder is never banned\n${why}`);
  assert.ok(r.honestConnectedAtMs !== undefined, `the honest seeder was attached\n${why}`);
  assert.deepEqual(r.honestDropped, [], `the honest seeder was never dropped\n${why}`);
  assert.ok(r.peaks.known <= MAX_KNOWN_PEERS_PER_TORRENT, why);
  assert.ok(r.peaks.knownFromPex <= Math.floor(MAX_KNOWN_PEERS_PER_TORRENT * PEX_ADDRESS_SHARE), why);
  assert.ok(r.peaks.halfOpen <= Math.min(MAX_HALF_OPEN_PER_TORRENT, MAX_HALF_OPEN_TOTAL), why);
}

describe('hostile swarms: address floods', { timeout: 120_000 }, () => {
  test('a PEX flood fills at most its share of the table and pushes no honest address out', async () => {
    const r = await run('pex-flood');
    assertSurvived(r);
    const share = Math.floor(MAX_KNOWN_PEERS_PER_TORRENT * PEX_ADDRESS_SHARE);
    assert.ok(r.attackStats!.addressesSent > share, `the flood exceeds the PEX share\n${describeRun(r)}`);
    assert.ok(r.peaks.knownFromPex >= 1, 'PEX addresses were taken');
    assert.equal(r.honestKnownAtEnd, true, 'the honest seeder is still known');
    assert.deepEqual(
      warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
      [],
      'a full dial queue is not a listener leak',
    );
  });

  test(`a tracker reply of ${TRACKER_FLOOD_ADDRESSES} made-up addresses, the honest seeder last: it is found and kept`, async () => {
    // The victim knows the honest seeder only from the tracker: no `addPeer` of it.
    const r = await run('tracker-flood', { honestFromTrackerOnly: true });
    assertSurvived(r);
    assert.ok(r.attackStats!.addressesSent >= TRACKER_FLOOD_ADDRESSES, describeRun(r));
    assert.ok(r.peaks.known >= TRACKER_FLOOD_ADDRESSES, `the flood reached the table\n${describeRun(r)}`);
    assert.equal(r.honestKnownAtEnd, true);
  });
});

/** 600 small files: an info dictionary of two metadata pieces (BEP 9 splits it in 16 KiB). */
const MANY_FILES = Object.fromEntries(
  Array.from({ length: 600 }, (_, i) => [
    `dir${i % 7}/file-${String(i).padStart(4, '0')}.bin`,
    900 + ((i * 37) % 700),
  ]),
);

describe('hostile swarms: metadata liars (BEP 9)', { timeout: 120_000 }, () => {
  for (const [attack, what] of [
    ['metadata-size', 'a peer lying about metadata_size'],
    ['metadata-pieces', 'a peer sending wrong metadata pieces (mixed with the honest ones)'],
  ] as const) {
    test(`magnet: ${what}, first in the list; the honest peer's metadata wins`, async () => {
      const r = await run(attack, { files: MANY_FILES, pieceLength: 16 * 1024 });
      assertSurvived(r);
      assert.ok(r.attackStats!.metadataPiecesSent >= 1, `the liar was asked\n${describeRun(r)}`);
    });
  }
});
