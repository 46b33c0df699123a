/**
 * Every fixture under test/fixtures/torrents/: each malicious one is rejected with the typed
 * error its name promises (and never anything else), each valid one parses, and the torrents
 * made by libtorrent 2.0.8 give the info-hashes, piece counts and offsets libtorrent reported.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { BencodeError } from '../../../src/codec/index.js';
import { MetainfoError } from '../../../src/metainfo/errors.js';
import { parseTorrent } from '../../../src/metainfo/parse.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { toHex } from '../../../src/shared/hash.js';

const DIR = new URL('../../fixtures/torrents/', import.meta.url).pathname;
const UNSAFE = ErrorCode.MetainfoUnsafePath;
const INVALID = ErrorCode.MetainfoInvalid;
const TOO_LARGE = ErrorCode.MetainfoTooLarge;
const LAYERS = ErrorCode.MetainfoPieceLayers;

/** Fixture name → expected code and `field` (undefined for bencode errors). */
const EXPECTED = new Map<string, [string, string | RegExp | undefined]>([
  ['absolute-path', [UNSAFE, 'info.files[0].path[0]']],
  ['backslash', [UNSAFE, 'info.files[0].path[0]']],
  ['bad-piece-layer-root', [LAYERS, /^piece layers\/[0-9a-f]{64}$/]],
  ['bencode-deep-nesting', [ErrorCode.BencodeTooDeep, undefined]],
  ['deep-nesting', [UNSAFE, 'info.files[0].path']],
  ['dot-component', [UNSAFE, 'info.files[0].path[0]']],
  ['duplicate-path', [INVALID, 'info.files[1]']],
  ['empty-path-component', [UNSAFE, 'info.files[0].path[0]']],
  ['empty-path-list', [UNSAFE, 'info.files[0].path']],
  ['empty-torrent', [INVALID, 'info']],
  ['file-and-directory', [INVALID, 'info.files[1]']],
  ['huge-declared-length', [TOO_LARGE, 'info.files[0].length']],
  ['hybrid-file-mismatch', [INVALID, 'info.files[0]']],
  ['hybrid-unaligned', [INVALID, 'info.files[1]']],
  ['invalid-utf8-path', [UNSAFE, 'info.files[0].path[0]']],
  ['long-path-component', [UNSAFE, 'info.files[0].path[0]']],
  ['missing-info', [INVALID, 'info']],
  ['missing-piece-layer', [LAYERS, /^piece layers\/[0-9a-f]{64}$/]],
  ['name-dotdot', [UNSAFE, 'info.name']],
  ['name-utf8-traversal', [UNSAFE, 'info.name.utf-8']],
  ['negative-length', [INVALID, 'info.files[0].length']],
  ['not-a-dictionary', [INVALID, 'torrent']],
  ['nul-byte-in-path', [UNSAFE, 'info.files[0].path[0]']],
  ['path-traversal-dotdot', [UNSAFE, 'info.files[1].path[0]']],
  ['path-traversal-utf8-variant', [UNSAFE, 'info.files[0].path.utf-8[0]']],
  ['piece-layer-wrong-size', [LAYERS, /^piece layers\/[0-9a-f]{64}$/]],
  ['piece-length-negative', [INVALID, 'info.piece length']],
  ['piece-length-zero', [INVALID, 'info.piece length']],
  ['pieces-length-mismatch', [INVALID, 'info.pieces']],
  ['pieces-not-multiple-of-20', [INVALID, 'info.pieces']],
  ['pieces-root-wrong-size', [INVALID, 'info.file tree/big.bin.pieces root']],
  ['total-length-overflow', [TOO_LARGE, 'info.files[1].length']],
  ['trailing-dot', [UNSAFE, 'info.files[0].path[0]']],
  ['trailing-garbage', [ErrorCode.BencodeTrailingData, undefined]],
  ['truncated', [ErrorCode.BencodeUnexpectedEnd, undefined]],
  ['unknown-meta-version', [INVALID, 'info.meta version']],
  ['v2-deep-file-tree', [UNSAFE, /^info\.file tree\/deep(\/d)+$/]],
  ['v2-file-tree-backslash', [UNSAFE, 'info.file tree[0]']],
  ['v2-file-tree-dotdot', [UNSAFE, 'info.file tree[0]']],
  ['v2-piece-length-not-power-of-two', [INVALID, 'info.piece length']],
  ['windows-device-name', [UNSAFE, 'info.files[0].path[0]']],
  ['windows-drive-letter', [UNSAFE, 'info.files[0].path[0]']],
]);

function torrents(sub: string): string[] {
  return readdirSync(`${DIR}${sub}`)
    .filter((f) => f.endsWith('.torrent'))
    .sort();
}

describe('malicious fixtures', () => {
  test('every malicious fixture has an expectation and vice versa', () => {
    assert.deepEqual(
      torrents('malicious').map((f) => f.slice(0, -'.torrent'.length)),
      [...EXPECTED.keys()].sort(),
    );
  });

  for (const file of torrents('malicious')) {
    test(file, () => {
      const [code, field] = EXPECTED.get(file.slice(0, -'.torrent'.length)) ?? ['?', undefined];
      const t0 = performance.now();
      assert.throws(
        () => parseTorrent(readFileSync(`${DIR}malicious/${file}`)),
        (e: unknown) => {
          assert.ok(e instanceof MetainfoError || e instanceof BencodeError, `unexpected ${String(e)}`);
          assert.equal(e.code, code, e.message);
          if (e instanceof MetainfoError) {
            if (typeof field === 'string') assert.equal(e.field, field, e.message);
            else if (field !== undefined) assert.match(e.field, field, e.message);
          }
          return true;
        },
      );
      assert.ok(performance.now() - t0 < 2000, 'rejected quickly');
    });
  }
});

/** What python3-libtorrent 2.0.8 reported for the torrents it created (hex v1, hex v2, pieces, offsets). */
const LIBTORRENT: Record<string, { v1?: string; v2?: string; pieces: number; offsets: number[] }> = {
  'libtorrent-v1-multi': {
    v1: '650c60617656c6d33984a1ab813846fe22b531ea',
    pieces: 13,
    offsets: [0, 65536, 165536, 165536],
  },
  'libtorrent-v1-single': { v1: '09c07a4d04ec83a6aac6046c3b8d1550716ec85a', pieces: 5, offsets: [0] },
  'libtorrent-v2-multi': {
    v2: 'de3349b79f42431a2521d9788180834632ed277bbd3c903c17784c96322e5c76',
    pieces: 14,
    offsets: [0, 114688, 114688, 180224],
  },
  'libtorrent-v2-single': {
    v2: '4a9414798b0796bd548c015a70a566864ec86aeb90f05f7dff07499e2ce2ab58',
    pieces: 5,
    offsets: [0],
  },
  'libtorrent-hybrid-multi': {
    v1: '54c0bf536d8d1aced76317c7afb083fa97472134',
    v2: '4595fbba17924125c7048ddcf85192341beac8986109b71d3f475ad3b0ec019c',
    pieces: 14,
    offsets: [0, 100000, 114688, 114688, 180224, 220224],
  },
  'libtorrent-hybrid-single': {
    v1: '8fa20ad57f8bd0c4b76090953240ec90784ce447',
    v2: '015935d0dc73007ebdc64e5d5a878fc4b42f246628f7ae87221b9499ef5079dc',
    pieces: 5,
    offsets: [0],
  },
};

describe('valid fixtures', () => {
  for (const file of torrents('valid')) {
    test(file, () => {
      const m = parseTorrent(readFileSync(`${DIR}valid/${file}`));
      assert.ok(m.files.length > 0 && m.totalLength > 0);
      const lt = LIBTORRENT[file.slice(0, -'.torrent'.length)];
      if (lt === undefined) return;
      assert.equal(m.infoHashV1 === undefined ? undefined : toHex(m.infoHashV1), lt.v1);
      assert.equal(m.infoHashV2 === undefined ? undefined : toHex(m.infoHashV2), lt.v2);
      assert.equal(m.version, lt.v1 && lt.v2 ? 'hybrid' : lt.v1 ? 'v1' : 'v2');
      assert.equal(m.pieceCount, lt.pieces);
      assert.deepEqual(
        m.files.map((f) => f.offset),
        lt.offsets,
      );
      assert.deepEqual(m.trackers, [['http://127.0.0.1:1/announce']]);
      assert.equal(m.comment, 'made by libtorrent');
      assert.deepEqual(m.warnings, []);
    });
  }

  test('libtorrent hybrid: padding files, roots and layers', () => {
    const m = parseTorrent(readFileSync(`${DIR}valid/libtorrent-hybrid-multi.torrent`));
    assert.deepEqual(
      m.files.map((f) => [f.path.join('/'), f.isPadding]),
      [
        ['a.bin', false],
        ['.pad/14688', true],
        ['c.bin', false],
        ['d.bin', false],
        ['sub/b.bin', false],
        ['.pad/9152', true],
      ],
    );
    assert.equal(m.name, 'multi');
    assert.equal(m.pieceLayers.size, 3);
    assert.ok(m.files.filter((f) => !f.isPadding && f.length > 0).every((f) => f.piecesRoot?.length === 32));
  });

  test('unsorted keys: parsed with warnings', () => {
    const m = parseTorrent(readFileSync(`${DIR}valid/v1-unsorted-keys.torrent`));
    assert.ok(m.warnings.some((w) => w.includes('out of order')));
  });

  test('private single file with tiers and a web seed', () => {
    const m = parseTorrent(readFileSync(`${DIR}valid/v1-single-file-private.torrent`));
    assert.equal(m.isPrivate, true);
    assert.deepEqual(m.trackers, [['http://a/'], ['udp://b:1']]);
    assert.deepEqual(m.webSeeds, ['http://seed/']);
  });
});
