import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  asBytes,
  asDict,
  asInt,
  asList,
  asUtf8,
  type BencodeDict,
  decode,
} from '../../../src/codec/index.js';
import {
  buildTorrent,
  type CreateFileEntry,
  compareFilePaths,
  type LayoutOptions,
  pieceLeafCount,
  planLayout,
  SHOAL_CREATED_BY,
  type TorrentLayout,
} from '../../../src/metainfo/create.js';
import { MetainfoError } from '../../../src/metainfo/errors.js';
import {
  AUTO_PIECE_MAX_BYTES,
  AUTO_PIECE_MAX_COUNT,
  assertPieceLength,
  autoPieceLength,
  isValidPieceLength,
} from '../../../src/metainfo/piece-size.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { MAX_PATH_DEPTH, MAX_TORRENT_PIECES } from '../../../src/shared/limits.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function isCreateError(e: unknown): boolean {
  return e instanceof MetainfoError && e.code === ErrorCode.MetainfoCreate;
}

function layoutSummary(l: TorrentLayout): string[] {
  return l.files.map((f) => `${f.path.join('/')}@${f.offset}+${f.length}${f.isPadding ? 'p' : ''}`);
}

/** Dummy digests of the right size: piece i's hashes are filled with byte i. */
function fakeHashes(l: TorrentLayout): { v1Pieces?: Uint8Array; v2Pieces?: Uint8Array } {
  const out: { v1Pieces?: Uint8Array; v2Pieces?: Uint8Array } = {};
  if (l.version !== 'v2') {
    out.v1Pieces = new Uint8Array(l.pieceCount * 20).map((_, i) => Math.floor(i / 20) & 0xff);
  }
  if (l.version !== 'v1') {
    out.v2Pieces = new Uint8Array(l.pieceCount * 32).map((_, i) => (Math.floor(i / 32) + 1) & 0xff);
  }
  return out;
}

function dictOf(bytes: Uint8Array): BencodeDict {
  const d = asDict(decode(bytes, { mode: 'strict' }));
  assert.ok(d, 'torrent is a dictionary');
  return d;
}

describe('automatic piece length', () => {
  test('is the smallest power of two ≥ 16 KiB giving at most 2,000 pieces, capped at 16 MiB', () => {
    assert.equal(autoPieceLength(1), 16 * KiB);
    assert.equal(autoPieceLength(2000 * 16 * KiB), 16 * KiB);
    assert.equal(autoPieceLength(2000 * 16 * KiB + 1), 32 * KiB);
    assert.equal(autoPieceLength(100 * MiB), 64 * KiB);
    assert.equal(autoPieceLength(1024 * MiB), 1 * MiB);
    assert.equal(autoPieceLength(4096 * MiB), 4 * MiB);
    assert.equal(autoPieceLength(2000 * 16 * MiB), 16 * MiB);
    assert.equal(autoPieceLength(2 ** 46), AUTO_PIECE_MAX_BYTES);
  });

  test('gives 1,001–2,000 pieces between the clamps', () => {
    for (let total = 40 * MiB; total < 30 * 1024 * MiB; total = Math.floor(total * 1.37) + 12345) {
      const p = autoPieceLength(total);
      const pieces = Math.ceil(total / p);
      assert.ok(pieces > AUTO_PIECE_MAX_COUNT / 2 && pieces <= AUTO_PIECE_MAX_COUNT, `${total}: ${pieces}`);
      assert.ok(isValidPieceLength(p));
    }
  });

  test('piece length override must be a power of two ≥ 16 KiB', () => {
    for (const ok of [16 * KiB, 32 * KiB, 4 * MiB, 256 * MiB]) assertPieceLength(ok);
    for (const bad of [0, -16384, 8 * KiB, 16 * KiB + 1, 48 * KiB, 512 * MiB, 1.5, Number.NaN]) {
      assert.throws(() => assertPieceLength(bad), isCreateError, String(bad));
    }
  });
});

describe('file order', () => {
  test('compares component by component, by raw UTF-8 bytes', () => {
    const paths = [['é'], ['z'], ['a.txt'], ['a', 'x'], ['B'], ['a', 'b', 'c'], ['.hidden'], ['a']];
    const sorted = paths.slice().sort(compareFilePaths);
    assert.deepEqual(sorted, [
      ['.hidden'],
      ['B'],
      ['a'],
      ['a', 'b', 'c'],
      ['a', 'x'],
      ['a.txt'],
      ['z'],
      ['é'],
    ]);
  });

  test('orders by bytes, not UTF-16 code units', () => {
    // U+FF5E is one UTF-16 unit greater than the high surrogate of U+1F600, but its UTF-8
    // bytes (EF BD 9E) sort before those of U+1F600 (F0 9F 98 80).
    assert.ok(compareFilePaths(['\u{ff5e}'], ['\u{1f600}']) < 0);
    assert.ok('\u{ff5e}' > '\u{1f600}');
  });
});

describe('planLayout', () => {
  const tree: CreateFileEntry[] = [
    { path: ['z'], length: 5 },
    { path: ['a', 'x'], length: 40000 },
    { path: ['a.txt'], length: 32768 },
    { path: ['a', 'empty'], length: 0 },
  ];

  test('v1 concatenates the sorted files without padding', () => {
    const l = planLayout(tree, { name: 't', pieceLength: 32768, version: 'v1', isSingleFile: false });
    assert.deepEqual(layoutSummary(l), ['a/empty@0+0', 'a/x@0+40000', 'a.txt@40000+32768', 'z@72768+5']);
    assert.equal(l.totalLength, 72773);
    assert.equal(l.spaceLength, 72773);
    assert.equal(l.pieceCount, 3);
  });

  test('v2 starts every file on a piece boundary, without padding files', () => {
    const l = planLayout(tree, { name: 't', pieceLength: 32768, version: 'v2', isSingleFile: false });
    assert.deepEqual(layoutSummary(l), ['a/empty@0+0', 'a/x@0+40000', 'a.txt@65536+32768', 'z@98304+5']);
    assert.equal(l.pieceCount, 4);
    assert.equal(l.spaceLength, 98309);
  });

  test('hybrid pads after every unaligned file, the last included (libtorrent default)', () => {
    const l = planLayout(tree, { name: 't', pieceLength: 32768, version: 'hybrid', isSingleFile: false });
    assert.deepEqual(layoutSummary(l), [
      'a/empty@0+0',
      'a/x@0+40000',
      '.pad/25536@40000+25536p',
      'a.txt@65536+32768',
      'z@98304+5',
      '.pad/32763@98309+32763p',
    ]);
    assert.equal(l.pieceCount, 4);
    assert.equal(l.spaceLength, 4 * 32768);
    for (const f of l.files) {
      if (f.length > 0 && !f.isPadding) assert.equal(f.offset % 32768, 0, f.path.join('/'));
      if (f.isPadding) assert.equal(f.attr, 'p');
    }
  });

  test('hybrid without tail padding pads before each unaligned non-empty file', () => {
    const files: CreateFileEntry[] = [
      { path: ['a'], length: 40000 },
      { path: ['b'], length: 0 },
      { path: ['c'], length: 5 },
    ];
    const l = planLayout(files, {
      name: 't',
      pieceLength: 32768,
      version: 'hybrid',
      isSingleFile: false,
      tailPadding: false,
    });
    assert.deepEqual(layoutSummary(l), ['a@0+40000', 'b@40000+0', '.pad/25536@40000+25536p', 'c@65536+5']);
    assert.equal(l.pieceCount, 3);
    const tail = planLayout(files, { name: 't', pieceLength: 32768, version: 'hybrid', isSingleFile: false });
    assert.deepEqual(layoutSummary(tail), [
      'a@0+40000',
      '.pad/25536@40000+25536p',
      'b@65536+0',
      'c@65536+5',
      '.pad/32763@65541+32763p',
    ]);
  });

  test('a single file (single-file form or alone in a folder) gets no padding', () => {
    const single = planLayout([{ path: ['ignored'], length: 40000 }], {
      name: 'movie.mkv',
      pieceLength: 32768,
      version: 'hybrid',
      isSingleFile: true,
    });
    assert.deepEqual(layoutSummary(single), ['movie.mkv@0+40000']);
    const alone = planLayout([{ path: ['f'], length: 40000 }], {
      name: 'dir',
      pieceLength: 32768,
      version: 'hybrid',
      isSingleFile: false,
    });
    assert.deepEqual(layoutSummary(alone), ['f@0+40000']);
  });

  test('rejects what cannot be a torrent', () => {
    const opts: LayoutOptions = { name: 't', pieceLength: 32768, version: 'v1', isSingleFile: false };
    const cases: [CreateFileEntry[], Partial<LayoutOptions>, RegExp][] = [
      [[], {}, /no files to add/],
      [[{ path: ['a'], length: 0 }], {}, /every file is empty/],
      [[{ path: ['a'], length: 1 }], { pieceLength: 1000 }, /power of two/],
      [[{ path: ['a'], length: 1 }], { name: '..' }, /name/],
      [[{ path: ['a'], length: 1 }], { name: 'a/b' }, /name/],
      [[{ path: ['a', '..', 'b'], length: 1 }], {}, /path component/],
      [[{ path: ['con.txt'], length: 1 }], {}, /Windows device/],
      [[{ path: [], length: 1 }], {}, /empty path/],
      [[{ path: ['a'], length: -1 }], {}, /invalid length/],
      [
        [
          { path: ['a'], length: 1 },
          { path: ['a'], length: 2 },
        ],
        {},
        /appears twice/,
      ],
      [
        [
          { path: ['a'], length: 1 },
          { path: ['a', 'b'], length: 2 },
        ],
        {},
        /both a file and a folder/,
      ],
      [
        [
          { path: ['a'], length: 1 },
          { path: ['b'], length: 1 },
        ],
        { isSingleFile: true },
        /single-file form/,
      ],
    ];
    for (const [files, over, message] of cases) {
      assert.throws(
        () => planLayout(files, { ...opts, ...over }),
        (e: unknown) => isCreateError(e) && message.test((e as Error).message),
        String(message),
      );
    }
  });

  test('crosses MAX_PATH_DEPTH and MAX_TORRENT_PIECES', () => {
    const opts = { name: 't', pieceLength: 16 * KiB, version: 'v1', isSingleFile: false } as const;
    const deep = Array.from({ length: MAX_PATH_DEPTH }, (_, i) => `d${i}`);
    planLayout([{ path: deep, length: 1 }], opts);
    assert.throws(() => planLayout([{ path: [...deep, 'f'], length: 1 }], opts), isCreateError);
    planLayout([{ path: ['f'], length: MAX_TORRENT_PIECES * 16 * KiB }], opts);
    assert.throws(
      () => planLayout([{ path: ['f'], length: MAX_TORRENT_PIECES * 16 * KiB + 1 }], opts),
      (e: unknown) => isCreateError(e) && /larger piece length/.test((e as Error).message),
    );
  });
});

describe('buildTorrent', () => {
  const files: CreateFileEntry[] = [
    { path: ['big'], length: 3 * 32768 + 100 },
    { path: ['dir', 'small'], length: 100 },
    { path: ['dir', 'empty'], length: 0 },
  ];

  test('v1 multi-file info dictionary and outer fields', () => {
    const l = planLayout(files, { name: 'tor', pieceLength: 32768, version: 'v1', isSingleFile: false });
    const h = fakeHashes(l);
    const t = buildTorrent(l, h, {
      trackers: [['http://a.example/announce', 'udp://b.example:6969'], [], ['http://c.example/x']],
      webSeeds: ['http://seed.example/files/'],
      isPrivate: true,
      comment: 'hello',
      creationDate: 1_700_000_000,
      createdBy: SHOAL_CREATED_BY,
    });
    const d = dictOf(t.bytes);
    assert.equal(asUtf8(d.get('announce')), 'http://a.example/announce');
    assert.deepEqual(
      asList(d.get('announce-list'))!.map((tier) => asList(tier)!.map((u) => asUtf8(u))),
      [['http://a.example/announce', 'udp://b.example:6969'], ['http://c.example/x']],
    );
    assert.deepEqual(
      asList(d.get('url-list'))!.map((u) => asUtf8(u)),
      ['http://seed.example/files/'],
    );
    assert.equal(asUtf8(d.get('comment')), 'hello');
    assert.equal(asUtf8(d.get('created by')), 'Shoal/0.1.0');
    assert.equal(asInt(d.get('creation date')), 1_700_000_000);
    assert.equal(d.get('piece layers'), undefined);
    const info = asDict(d.get('info'))!;
    assert.deepEqual(Buffer.from(d.raw('info')!), Buffer.from(t.infoBytes));
    assert.deepEqual(t.infoHashV1, new Uint8Array(createHash('sha1').update(t.infoBytes).digest()));
    assert.equal(t.infoHashV2, undefined);
    assert.equal(asUtf8(info.get('name')), 'tor');
    assert.equal(asInt(info.get('piece length')), 32768);
    assert.equal(asInt(info.get('private')), 1);
    assert.deepEqual(asBytes(info.get('pieces')), h.v1Pieces);
    assert.equal(info.get('meta version'), undefined);
    assert.equal(info.get('file tree'), undefined);
    const listed = asList(info.get('files'))!.map((f) => {
      const fd = asDict(f)!;
      return `${asList(fd.get('path'))!
        .map((c) => asUtf8(c))
        .join('/')}:${asInt(fd.get('length'))}`;
    });
    assert.deepEqual(listed, ['big:98404', 'dir/empty:0', 'dir/small:100']);
  });

  test('one tracker: announce only; nothing optional when nothing is given', () => {
    const l = planLayout(files, { name: 'tor', pieceLength: 32768, version: 'v1', isSingleFile: false });
    const one = dictOf(buildTorrent(l, fakeHashes(l), { trackers: [['http://a.example/announce']] }).bytes);
    assert.equal(asUtf8(one.get('announce')), 'http://a.example/announce');
    assert.equal(one.get('announce-list'), undefined);
    const bare = dictOf(buildTorrent(l, fakeHashes(l)).bytes);
    assert.deepEqual(
      bare.entries.map((e) => Buffer.from(e.key).toString()),
      ['info'],
    );
    assert.equal(asDict(bare.get('info'))!.get('private'), undefined);
  });

  test('v2: file tree, pieces roots, piece layers for files larger than one piece', () => {
    const l = planLayout(files, { name: 'tor', pieceLength: 32768, version: 'v2', isSingleFile: false });
    const h = fakeHashes(l);
    const t = buildTorrent(l, h);
    const d = dictOf(t.bytes);
    const info = asDict(d.get('info'))!;
    assert.equal(asInt(info.get('meta version')), 2);
    assert.equal(info.get('pieces'), undefined);
    assert.equal(info.get('files'), undefined);
    assert.deepEqual(t.infoHashV2, new Uint8Array(createHash('sha256').update(t.infoBytes).digest()));
    assert.equal(t.infoHashV1, undefined);
    const tree = asDict(info.get('file tree'))!;
    const big = asDict(asDict(tree.get('big'))!.get(''))!;
    assert.equal(asInt(big.get('length')), 98404);
    const bigRoot = asBytes(big.get('pieces root'))!;
    const dir = asDict(tree.get('dir'))!;
    const empty = asDict(asDict(dir.get('empty'))!.get(''))!;
    assert.equal(asInt(empty.get('length')), 0);
    assert.equal(empty.get('pieces root'), undefined, 'no pieces root for an empty file (BEP 52)');
    const small = asDict(asDict(dir.get('small'))!.get(''))!;
    // small is piece 4: one piece, so its root is that piece's hash.
    assert.deepEqual(asBytes(small.get('pieces root')), h.v2Pieces!.subarray(4 * 32, 5 * 32));
    const layers = asDict(d.get('piece layers'))!;
    assert.equal(layers.size, 1);
    assert.deepEqual(asBytes(layers.get(bigRoot)), h.v2Pieces!.subarray(0, 4 * 32));
    assert.deepEqual(t.files.find((f) => f.path[0] === 'big')!.piecesRoot, bigRoot);
  });

  test('identical large files share one piece layer entry', () => {
    const l = planLayout(
      [
        { path: ['a'], length: 65536 },
        { path: ['b'], length: 65536 },
      ],
      { name: 'twins', pieceLength: 16384, version: 'v2', isSingleFile: false },
    );
    const v2Pieces = new Uint8Array(l.pieceCount * 32);
    for (let k = 0; k < l.pieceCount; k++) v2Pieces.fill(k % 4, k * 32, k * 32 + 32);
    const d = dictOf(buildTorrent(l, { v2Pieces }).bytes);
    assert.equal(asDict(d.get('piece layers'))!.size, 1);
  });

  test('single file: v1 `length`, v2 tree {name: {"": …}}, hybrid both', () => {
    const l = planLayout([{ path: ['x'], length: 40000 }], {
      name: 'movie.mkv',
      pieceLength: 16384,
      version: 'hybrid',
      isSingleFile: true,
    });
    const t = buildTorrent(l, fakeHashes(l));
    const info = asDict(dictOf(t.bytes).get('info'))!;
    assert.equal(asInt(info.get('length')), 40000);
    assert.equal(info.get('files'), undefined);
    assert.equal(asUtf8(info.get('name')), 'movie.mkv');
    const tree = asDict(info.get('file tree'))!;
    assert.deepEqual(
      tree.entries.map((e) => Buffer.from(e.key).toString()),
      ['movie.mkv'],
    );
    assert.equal(asInt(asDict(asDict(tree.get('movie.mkv'))!.get(''))!.get('length')), 40000);
    assert.ok(t.infoHashV1 && t.infoHashV2);
  });

  test('hybrid lists padding files with attr p and path .pad/N', () => {
    const l = planLayout(files, { name: 'tor', pieceLength: 32768, version: 'hybrid', isSingleFile: false });
    const info = asDict(dictOf(buildTorrent(l, fakeHashes(l)).bytes).get('info'))!;
    const entries = asList(info.get('files'))!.map((f) => {
      const fd = asDict(f)!;
      const attr = fd.get('attr');
      return `${asList(fd.get('path'))!
        .map((c) => asUtf8(c))
        .join('/')}:${asInt(fd.get('length'))}${attr === undefined ? '' : `:${asUtf8(attr)}`}`;
    });
    assert.deepEqual(entries, [
      'big:98404',
      '.pad/32668:32668:p',
      'dir/empty:0',
      'dir/small:100',
      '.pad/32668:32668:p',
    ]);
    assert.deepEqual(
      asDict(info.get('file tree'))!.entries.map((e) => Buffer.from(e.key).toString()),
      ['big', 'dir'],
      'padding files are not in the v2 tree',
    );
  });

  test('is deterministic and rejects bad digests and URLs', () => {
    const l = planLayout(files, { name: 'tor', pieceLength: 32768, version: 'hybrid', isSingleFile: false });
    const meta = { creationDate: 1, comment: 'c', trackers: [['http://t.example/a']] };
    assert.deepEqual(buildTorrent(l, fakeHashes(l), meta).bytes, buildTorrent(l, fakeHashes(l), meta).bytes);
    assert.throws(() => buildTorrent(l, { v2Pieces: fakeHashes(l).v2Pieces! }), isCreateError);
    assert.throws(() => buildTorrent(l, { ...fakeHashes(l), v1Pieces: new Uint8Array(20) }), isCreateError);
    assert.throws(() => buildTorrent(l, fakeHashes(l), { trackers: [['not a url']] }), isCreateError);
    assert.throws(() => buildTorrent(l, fakeHashes(l), { webSeeds: [''] }), isCreateError);
    assert.throws(() => buildTorrent(l, fakeHashes(l), { creationDate: 1.5 }), isCreateError);
  });

  test('pieceLeafCount: a full piece, or the small file rounded up to a power of two', () => {
    assert.equal(pieceLeafCount(1, 65536), 1);
    assert.equal(pieceLeafCount(16385, 65536), 2);
    assert.equal(pieceLeafCount(3 * 16384, 65536), 4);
    assert.equal(pieceLeafCount(65536, 65536), 4);
    assert.equal(pieceLeafCount(65537, 65536), 4);
    assert.equal(pieceLeafCount(10 * MiB, 65536), 4);
  });
});
