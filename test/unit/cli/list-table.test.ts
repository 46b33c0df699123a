/**
 * The `shoal list` table (issue 18): a torrent in error says why, and a torrent in error or
 * paused shows no rate, peers or ETA (whatever was measured before it stopped).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTable } from '../../../src/cli/commands/remote.js';
import type { TorrentSummary } from '../../../src/daemon/index.js';

function row(over: Partial<TorrentSummary>): TorrentSummary {
  return {
    id: 'ab'.repeat(20),
    infoHashV1: 'ab'.repeat(20),
    queuePosition: 0,
    infoHashV2: null,
    name: 'data',
    state: 'downloading',
    error: null,
    size: 10 * 1024 * 1024,
    wantedBytes: 10 * 1024 * 1024,
    doneBytes: 5 * 1024 * 1024,
    progress: 0.5,
    downloadRate: 300 * 1024,
    uploadRate: 20 * 1024,
    downloadedBytes: 5 * 1024 * 1024,
    uploadedBytes: 0,
    ratio: 0,
    eta: 17,
    peerCount: 3,
    seedCount: 1,
    pieceCount: 40,
    haveCount: 20,
    downloadDir: '/dl',
    addedAt: 0,
    completedAt: null,
    hasMetadata: true,
    ...over,
  };
}

test('a torrent in error shows its reason and no stale rates', () => {
  const text = formatTable([
    row({ id: `aa${'0'.repeat(38)}`, name: 'running' }),
    row({
      id: `bb${'0'.repeat(38)}`,
      name: 'broken',
      state: 'error',
      error: 'write failed for /dl/broken/x.bin: the disk is full (ENOSPC)',
    }),
    row({ id: `cc${'0'.repeat(38)}`, name: 'resting', state: 'paused' }),
  ]);
  const lines = text.split('\n');
  const running = lines.find((l) => l.endsWith('running'))!;
  assert.match(running, /300 KiB\/s/);
  assert.match(running, /17s/);
  const broken = lines.findIndex((l) => l.endsWith('broken'));
  assert.doesNotMatch(lines[broken]!, /KiB\/s|17s/, 'no rate or ETA for a torrent in error');
  assert.equal(lines[broken + 1], '    error: write failed for /dl/broken/x.bin: the disk is full (ENOSPC)');
  const resting = lines.find((l) => l.endsWith('resting'))!;
  assert.doesNotMatch(resting, /KiB\/s|17s/, 'no rate or ETA for a paused torrent');
});
