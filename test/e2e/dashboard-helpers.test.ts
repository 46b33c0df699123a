/**
 * The web dashboard's pure helpers (web/src/format.ts, bitfield.ts, sorting.ts), run in Node
 * without a browser: number formatting, the BEP 3 bitfield behind the piece map, list filters and
 * sort orders.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TorrentSummary } from '../../src/daemon/index.js';
import { countPieces, decodeBase64, fractionSet, hasPiece } from '../../web/src/bitfield.js';
import {
  formatBytes,
  formatDuration,
  formatEta,
  formatLimit,
  formatPercent,
  formatRate,
  formatRatio,
  isPlayable,
  statusOf,
} from '../../web/src/format.js';
import { matchesFilter, sortTorrents } from '../../web/src/sorting.js';

function torrent(over: Partial<TorrentSummary> & { id: string }): TorrentSummary {
  return {
    infoHashV1: over.id,
    queuePosition: 0,
    infoHashV2: null,
    name: over.id,
    state: 'downloading',
    error: null,
    size: 1000,
    wantedBytes: 1000,
    doneBytes: 0,
    progress: 0,
    downloadRate: 0,
    uploadRate: 0,
    downloadedBytes: 0,
    uploadedBytes: 0,
    ratio: 0,
    eta: null,
    peerCount: 0,
    seedCount: 0,
    pieceCount: 1,
    haveCount: 0,
    downloadDir: '/tmp',
    addedAt: 0,
    completedAt: null,
    hasMetadata: true,
    ...over,
  };
}

/** Packs booleans into a BEP 3 bitfield (bit 7 of byte 0 is piece 0). */
function pack(bits: readonly boolean[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 0x80 >> (i & 7);
  });
  return out;
}

describe('dashboard formatting', () => {
  it('shows sizes and rates in binary units with three significant digits', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(20 * 1024 * 1024), '20.0 MiB');
    assert.equal(formatBytes(150 * 1024 ** 3), '150 GiB');
    assert.equal(formatBytes(-1), '–');
    assert.equal(formatBytes(Number.NaN), '–');
    assert.equal(formatRate(0), '–');
    assert.equal(formatRate(2048), '2.00 KiB/s');
    assert.equal(formatLimit(0), 'unlimited');
    assert.equal(formatLimit(5 * 1024 * 1024), '5.00 MiB/s');
  });

  it('never shows 100% before a torrent is complete', () => {
    assert.equal(formatPercent(0), '0%');
    assert.equal(formatPercent(0.4237), '42.3%');
    assert.equal(formatPercent(0.99999), '99.9%');
    assert.equal(formatPercent(1), '100%');
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (p) => {
        assert.notEqual(formatPercent(p), '100%');
      }),
    );
  });

  it('formats durations, ETAs and ratios', () => {
    assert.equal(formatDuration(45), '45s');
    assert.equal(formatDuration(185), '3m 05s');
    assert.equal(formatDuration(7800), '2h 10m');
    assert.equal(formatDuration(3 * 86_400 + 4 * 3600), '3d 4h');
    assert.equal(formatDuration(101 * 86_400), '∞');
    assert.equal(formatEta(null, 'downloading', 0.5), '∞');
    assert.equal(formatEta(90, 'downloading', 0.5), '1m 30s');
    assert.equal(formatEta(90, 'paused', 0.5), '');
    assert.equal(formatEta(0, 'seeding', 1), '');
    assert.equal(formatRatio(1.234), '1.23');
    assert.equal(formatRatio(0, 100, 0), '∞', 'uploaded without downloading');
  });

  it('calls a download with no peer and no data flowing "Stalled"', () => {
    assert.deepEqual(statusOf({ state: 'downloading', downloadRate: 0, peerCount: 0 }), {
      label: 'Stalled',
      badge: 'stalled',
    });
    assert.equal(statusOf({ state: 'downloading', downloadRate: 10, peerCount: 1 }).label, 'Downloading');
    assert.equal(statusOf({ state: 'metadata', downloadRate: 0, peerCount: 0 }).label, 'Fetching metadata');
  });

  it('offers the player only for audio and video files', () => {
    assert.equal(isPlayable('show/episode-01.MKV'), true);
    assert.equal(isPlayable('a.mp4'), true);
    assert.equal(isPlayable('notes.txt'), false);
    assert.equal(isPlayable('mp4'), false);
  });
});

describe('dashboard piece bitfield', () => {
  it('reads back every bit of a BEP 3 bitfield sent as base64', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 300 }), (bits) => {
        const decoded = decodeBase64(Buffer.from(pack(bits)).toString('base64'));
        bits.forEach((b, i) => {
          assert.equal(hasPiece(decoded, i), b);
        });
        assert.equal(countPieces(decoded, bits.length), bits.filter(Boolean).length);
      }),
    );
  });

  it('shades pixel columns by the share of verified pieces, and survives bad input', () => {
    const bits = pack([true, true, false, false, true, false, false, false]);
    assert.equal(fractionSet(bits, 0, 4), 0.5);
    assert.equal(fractionSet(bits, 4, 8), 0.25);
    assert.equal(fractionSet(bits, 3, 3), 0);
    assert.equal(hasPiece(bits, 100), false, 'past the end is missing');
    assert.equal(decodeBase64('not base64!').length, 0);
  });
});

describe('dashboard list order and filters', () => {
  const list = [
    torrent({ id: 'a', name: 'Episode 10', progress: 0.5, eta: 30, addedAt: 1 }),
    torrent({ id: 'b', name: 'episode 2', progress: 1, state: 'seeding', uploadRate: 5, addedAt: 2 }),
    torrent({ id: 'c', name: 'Zebra', progress: 0.5, eta: null, state: 'paused', addedAt: 3 }),
  ];
  const ids = (l: readonly TorrentSummary[]) => l.map((t) => t.id);

  it('sorts names naturally and keeps the order of addition for ties', () => {
    assert.deepEqual(ids(sortTorrents(list, { key: 'name', dir: 1 })), ['b', 'a', 'c']);
    assert.deepEqual(ids(sortTorrents(list, { key: 'name', dir: -1 })), ['c', 'a', 'b']);
    assert.deepEqual(ids(sortTorrents(list, { key: 'progress', dir: 1 })), ['a', 'c', 'b']);
    assert.deepEqual(ids(sortTorrents(list, { key: 'progress', dir: -1 })), ['b', 'a', 'c']);
    assert.deepEqual(ids(sortTorrents(list, { key: 'eta', dir: 1 })).slice(0, 1), ['a'], 'unknown ETA last');
    assert.deepEqual(ids(list), ['a', 'b', 'c'], 'the input is left alone');
  });

  it('filters by state and activity', () => {
    assert.deepEqual(ids(list.filter((t) => matchesFilter(t, 'seeding'))), ['b']);
    assert.deepEqual(ids(list.filter((t) => matchesFilter(t, 'downloading'))), ['a']);
    assert.deepEqual(ids(list.filter((t) => matchesFilter(t, 'paused'))), ['c']);
    assert.deepEqual(ids(list.filter((t) => matchesFilter(t, 'active'))), ['b']);
    assert.equal(list.filter((t) => matchesFilter(t, 'all')).length, 3);
  });
});
