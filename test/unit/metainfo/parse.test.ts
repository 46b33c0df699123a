import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BencodeError, type Encodable, encode } from '../../../src/codec/index.js';
import { MetainfoError } from '../../../src/metainfo/errors.js';
import { storagePath } from '../../../src/metainfo/file-tree.js';
import { parseInfoDict, parseTorrent } from '../../../src/metainfo/parse.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { sha1, sha256, toHex } from '../../../src/shared/hash.js';
import {
  MAX_METAINFO_WARNINGS,
  MAX_PIECE_BYTES,
  MAX_TORRENT_FILE_BYTES,
  MAX_TORRENT_PIECES,
} from '../../../src/shared/limits.js';
import {
  broken,
  buildTorrent,
  type Dict,
  filesOf,
  hybridMulti,
  rejects,
  toBytes,
  v1Multi,
  v2Multi,
} from './torrent-builder.js';

const te = new TextEncoder();

describe('parseTorrent: accepted forms', () => {
  test('v1 single file', () => {
    const t = buildTorrent({
      version: 'v1',
      single: true,
      name: 'hello.txt',
      files: [{ path: ['hello.txt'], length: 40_000 }],
    });
    t.outer['created by'] = 'shoal test';
    t.outer.comment = 'a comment';
    const m = parseTorrent(toBytes(t));
    assert.equal(m.version, 'v1');
    assert.equal(m.name, 'hello.txt');
    assert.equal(m.isSingleFile, true);
    assert.deepEqual(
      m.files.map((f) => ({ ...f })),
      [{ path: ['hello.txt'], length: 40_000, offset: 0, isPadding: false, attr: '' }],
    );
    assert.equal(m.pieceLength, 16384);
    assert.equal(m.pieceCount, 3);
    assert.equal(m.pieces?.length, 60);
    assert.equal(m.totalLength, 40_000);
    assert.deepEqual(m.infoHashV1, sha1(encode(t.info)));
    assert.equal(m.infoHashV2, undefined);
    assert.deepEqual(m.infoBytes, encode(t.info));
    assert.deepEqual(m.trackers, [['http://tracker.test/announce']]);
    assert.equal(m.creationDate, 1_700_000_000);
    assert.equal(m.comment, 'a comment');
    assert.equal(m.createdBy, 'shoal test');
    assert.equal(m.isPrivate, false);
    assert.equal(m.pieceLayers.size, 0);
    assert.deepEqual(m.warnings, []);
    assert.deepEqual(storagePath(m, m.files[0]!), ['hello.txt']);
  });

  test('v1 multi-file: offsets run back to back, storage paths sit under the name', () => {
    const m = parseTorrent(toBytes(v1Multi()));
    assert.equal(m.isSingleFile, false);
    assert.deepEqual(
      m.files.map((f) => [f.path, f.length, f.offset]),
      [
        [['a.txt'], 20_000, 0],
        [['sub', 'b.bin'], 5_000, 20_000],
      ],
    );
    assert.equal(m.pieceCount, 2);
    assert.equal(m.totalLength, 25_000);
    assert.deepEqual(storagePath(m, m.files[1]!), ['shoal-test', 'sub', 'b.bin']);
  });

  test('name.utf-8 and path.utf-8 are preferred when valid', () => {
    const t = v1Multi();
    t.info.name = Uint8Array.of(0x63, 0x61, 0x66, 0xe9); // "café" in Latin-1: not UTF-8
    t.info['name.utf-8'] = 'café';
    filesOf(t)[0]!.path = [Uint8Array.of(0xe9, 0x74, 0xe9)];
    filesOf(t)[0]!['path.utf-8'] = ['été'];
    const m = parseTorrent(toBytes(t));
    assert.equal(m.name, 'café');
    assert.deepEqual(m.files[0]!.path, ['été']);
  });

  test('an invalid name.utf-8 or path.utf-8 falls back to name/path with a warning', () => {
    const t = v1Multi();
    t.info['name.utf-8'] = Uint8Array.of(0xff);
    filesOf(t)[0]!['path.utf-8'] = [Uint8Array.of(0xff)];
    const m = parseTorrent(toBytes(t));
    assert.equal(m.name, 'shoal-test');
    assert.deepEqual(m.files[0]!.path, ['a.txt']);
    assert.ok(m.warnings.some((w) => w.includes('info.name.utf-8')));
    assert.ok(m.warnings.some((w) => w.includes('info.files[0].path.utf-8')));
  });

  test('BEP 47 padding files are marked, counted in offsets but not in totalLength', () => {
    const t = v1Multi();
    const list = filesOf(t);
    // Pad a.txt (20000 bytes) to 32768 and recompute the pieces.
    const pad = 32768 - 20_000;
    list.splice(1, 0, { length: pad, attr: 'p' }); // no path: BEP 47 allows it
    const data = Buffer.concat([
      Buffer.from(t.contents.get('a.txt')!),
      Buffer.alloc(pad),
      Buffer.from(t.contents.get('sub/b.bin')!),
    ]);
    const hashes: Uint8Array[] = [];
    for (let at = 0; at < data.length; at += 16384) hashes.push(sha1(data.subarray(at, at + 16384)));
    t.info.pieces = Buffer.concat(hashes);
    const m = parseTorrent(toBytes(t));
    assert.deepEqual(
      m.files.map((f) => [f.path.join('/'), f.offset, f.isPadding, f.attr]),
      [
        ['a.txt', 0, false, ''],
        [`.pad/${pad}`, 20_000, true, 'p'],
        ['sub/b.bin', 32768, false, ''],
      ],
    );
    assert.equal(m.totalLength, 25_000);
    assert.equal(m.pieceCount, 3);
  });

  test('BEP 47 attributes are kept; a symlink may omit its length', () => {
    const t = v1Multi();
    filesOf(t)[0]!.attr = 'xh';
    filesOf(t).push({ path: ['link'], attr: 'l', 'symlink path': ['a.txt'] });
    const m = parseTorrent(toBytes(t));
    assert.equal(m.files[0]!.attr, 'xh');
    assert.deepEqual([m.files[2]!.length, m.files[2]!.attr, m.files[2]!.isPadding], [0, 'l', false]);
  });

  test('v2 multi-file: SHA-256 info-hash, aligned offsets, verified piece layers', () => {
    const t = v2Multi();
    const m = parseTorrent(toBytes(t));
    assert.equal(m.version, 'v2');
    assert.equal(m.infoHashV1, undefined);
    assert.deepEqual(m.infoHashV2, sha256(encode(t.info)));
    assert.equal(m.pieces, undefined);
    assert.equal(m.isSingleFile, false);
    assert.deepEqual(
      m.files.map((f) => [f.path.join('/'), f.length, f.offset]),
      [
        ['big.bin', 3 * 16384 + 100, 0],
        ['dir/small.txt', 1_000, 4 * 16384],
      ],
    );
    assert.equal(m.pieceCount, 5);
    assert.deepEqual(m.files[0]!.piecesRoot, t.roots.get('big.bin'));
    assert.deepEqual(m.files[1]!.piecesRoot, t.roots.get('dir/small.txt'));
    assert.equal(m.pieceLayers.size, 1);
    assert.deepEqual(m.pieceLayers.get(toHex(t.roots.get('big.bin')!)), t.layers.get('big.bin'));
  });

  test('v2 single file and empty files without pieces root', () => {
    const single = parseTorrent(
      toBytes(
        buildTorrent({
          version: 'v2',
          single: true,
          name: 'one.bin',
          files: [{ path: ['one.bin'], length: 70_000 }],
        }),
      ),
    );
    assert.equal(single.isSingleFile, true);
    assert.deepEqual(single.files[0]!.path, ['one.bin']);
    const withEmpty = parseTorrent(
      toBytes(
        buildTorrent({
          version: 'v2',
          files: [
            { path: ['a'], length: 10 },
            { path: ['b'], length: 0 },
            { path: ['c'], length: 10 },
          ],
        }),
      ),
    );
    assert.deepEqual(
      withEmpty.files.map((f) => [f.offset, f.piecesRoot === undefined]),
      [
        [0, false],
        [16384, true],
        [16384, false],
      ],
    );
    assert.equal(withEmpty.pieceCount, 2);
  });

  test('v2: a tree with one file inside a folder is multi-file', () => {
    const m = parseTorrent(
      toBytes(buildTorrent({ version: 'v2', files: [{ path: ['d', 'x'], length: 5 }] })),
    );
    assert.equal(m.isSingleFile, false);
    assert.deepEqual(m.files[0]!.path, ['d', 'x']);
  });

  test('hybrid: both info-hashes, padding between files, pieces roots attached to v1 files', () => {
    const t = hybridMulti();
    const m = parseTorrent(toBytes(t));
    assert.equal(m.version, 'hybrid');
    assert.deepEqual(m.infoHashV1, sha1(encode(t.info)));
    assert.deepEqual(m.infoHashV2, sha256(encode(t.info)));
    assert.deepEqual(
      m.files.map((f) => [f.path.join('/'), f.offset, f.isPadding, f.piecesRoot !== undefined]),
      [
        ['a.bin', 0, false, true],
        ['.pad/16377', 32775, true, false],
        ['b/empty', 49152, false, false],
        ['c.txt', 49152, false, true],
      ],
    );
    assert.equal(m.pieceCount, 4);
    assert.equal(m.totalLength, 2 * 16384 + 7 + 999);
    assert.equal(m.pieceLayers.size, 1);
  });

  test('hybrid single file, and tail padding that stays within the last piece', () => {
    const single = parseTorrent(
      toBytes(
        buildTorrent({
          version: 'hybrid',
          single: true,
          name: 's.bin',
          files: [{ path: ['s.bin'], length: 40_000 }],
        }),
      ),
    );
    assert.equal(single.version, 'hybrid');
    assert.equal(single.isSingleFile, true);
    const tail = parseTorrent(
      toBytes(
        buildTorrent({
          version: 'hybrid',
          tailPadding: 16384 - 1000,
          files: [
            { path: ['a'], length: 20_000 },
            { path: ['b'], length: 1_000 },
          ],
        }),
      ),
    );
    assert.equal(tail.pieceCount, 3);
    assert.equal(tail.files.at(-1)!.isPadding, true);
  });

  test('unsorted keys are tolerated, reported, and the info-hash is over the raw bytes', () => {
    const pieces = 'x'.repeat(20);
    const info = `d4:name1:a12:piece lengthi16384e6:lengthi5e6:pieces20:${pieces}e`;
    const bytes = te.encode(`d4:info${info}8:announce9:http://x/e`);
    const m = parseTorrent(bytes);
    assert.ok(m.warnings.length >= 2, String(m.warnings));
    assert.ok(m.warnings.some((w) => w.includes('out of order')));
    assert.deepEqual(m.infoHashV1, sha1(te.encode(info)));
    const resorted = `d6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces20:${pieces}e`;
    assert.notDeepEqual(m.infoHashV1, sha1(te.encode(resorted)));
    assert.deepEqual(m.trackers, [['http://x/']]);
  });

  test('warnings are bounded by MAX_METAINFO_WARNINGS', () => {
    const t = v1Multi();
    const list: Encodable[] = [];
    for (let i = 0; i < MAX_METAINFO_WARNINGS + 10; i++) list.push([Uint8Array.of(0xff)]);
    t.outer['announce-list'] = list;
    // Each unsorted pair inside an extra dict gives one bencode warning.
    const keys = Array.from({ length: MAX_METAINFO_WARNINGS + 5 }, (_, i) => `k${String(9999 - i)}`);
    const junk = `d${keys.map((k) => `${k.length}:${k}i0e`).join('')}e`;
    const base = toBytes(t);
    const bytes = Buffer.concat([Buffer.from(base.subarray(0, -1)), Buffer.from(`5:zjunk${junk}e`)]);
    const m = parseTorrent(bytes);
    assert.equal(m.warnings.length, MAX_METAINFO_WARNINGS + 1);
    assert.match(m.warnings.at(-1)!, /^\d+ more warnings$/);
  });

  test('trackers: announce-list tiers with bad entries dropped, else announce', () => {
    const t = v1Multi();
    t.outer['announce-list'] = [
      ['http://a/', '', Uint8Array.of(0xff), 5, ' http://b/ '],
      [],
      'http://flat/',
      [['nested']],
      ['http://a/', 'udp://c:1'],
    ];
    const m = parseTorrent(toBytes(t));
    assert.deepEqual(m.trackers, [['http://a/', 'http://b/'], ['http://flat/'], ['udp://c:1']]);
    assert.ok(m.warnings.some((w) => w.includes('announce-list')));

    const none = v1Multi();
    none.outer['announce-list'] = [[''], []];
    assert.deepEqual(parseTorrent(toBytes(none)).trackers, [['http://tracker.test/announce']]);

    const noTrackers = v1Multi();
    delete noTrackers.outer.announce;
    assert.deepEqual(parseTorrent(toBytes(noTrackers)).trackers, []);
    const badAnnounce = v1Multi();
    badAnnounce.outer.announce = 7;
    assert.deepEqual(parseTorrent(toBytes(badAnnounce)).trackers, []);
  });

  test('web seeds (url-list as string or list), private flag, comment.utf-8, bad creation date', () => {
    const t = v1Multi();
    t.outer['url-list'] = 'http://seed/';
    t.info.private = 1;
    t.outer.comment = Uint8Array.of(0xff);
    t.outer['comment.utf-8'] = 'ünïcode';
    t.outer['creation date'] = -5;
    const m = parseTorrent(toBytes(t));
    assert.deepEqual(m.webSeeds, ['http://seed/']);
    assert.equal(m.isPrivate, true);
    assert.equal(m.comment, 'ünïcode');
    assert.equal(m.creationDate, undefined);
    assert.ok(m.warnings.some((w) => w.includes('creation date')));

    const list = v1Multi();
    list.outer['url-list'] = ['http://s1/', '', 'http://s2/', 'http://s1/', 9];
    list.info.private = 0;
    list.outer.comment = Uint8Array.of(0xff);
    const m2 = parseTorrent(toBytes(list));
    assert.deepEqual(m2.webSeeds, ['http://s1/', 'http://s2/']);
    assert.equal(m2.isPrivate, false);
    assert.equal(m2.comment, undefined);
    assert.deepEqual(parseTorrent(toBytes(v1Multi())).webSeeds, []);
  });

  test('an empty v2 directory is ignored with a warning; unused piece layers too', () => {
    const t = v2Multi();
    (t.info['file tree'] as Dict).emptydir = {};
    (t.outer['piece layers'] as Map<Uint8Array, Encodable>).set(
      new Uint8Array(32).fill(9),
      new Uint8Array(64),
    );
    const m = parseTorrent(toBytes(t));
    assert.equal(m.files.length, 2);
    assert.ok(m.warnings.some((w) => w.includes('emptydir')));
    assert.ok(m.warnings.some((w) => w.includes('piece layers has 1 layers for no file')));
  });

  test('v2 with v1 keys but no pieces is v2-only, with a warning', () => {
    const t = v2Multi();
    t.info.length = 5;
    const m = parseTorrent(toBytes(t));
    assert.equal(m.version, 'v2');
    assert.ok(m.warnings.some((w) => w.includes('no pieces')));
  });

  test('v1 with both length and files uses files', () => {
    const t = v1Multi();
    t.info.length = 1;
    const m = parseTorrent(toBytes(t));
    assert.equal(m.files.length, 2);
    assert.ok(m.warnings.some((w) => w.includes('both length and files')));
  });

  test('a custom hasher is used for the info-hashes', () => {
    let calls = 0;
    const m = parseTorrent(toBytes(hybridMulti()), {
      hasher: {
        digest(algorithm, ...parts) {
          calls++;
          return algorithm === 'sha1' ? sha1(Buffer.concat(parts)) : sha256(Buffer.concat(parts));
        },
      },
    });
    assert.ok(calls >= 2);
    assert.equal(m.version, 'hybrid');
  });
});

describe('parseInfoDict (BEP 9 metadata)', () => {
  test('gives the same hashes as the torrent and accepts v2 without piece layers', () => {
    const t = hybridMulti();
    const full = parseTorrent(toBytes(t));
    const bare = parseInfoDict(full.infoBytes);
    assert.deepEqual(bare.infoHashV1, full.infoHashV1);
    assert.deepEqual(bare.infoHashV2, full.infoHashV2);
    assert.equal(bare.pieceLayers.size, 0);
    assert.deepEqual(bare.trackers, []);
    assert.deepEqual(bare.files, full.files);
  });

  test('rejects what parseTorrent rejects in the info dictionary', () => {
    assert.throws(
      () => parseInfoDict(encode(['x'])),
      (e: unknown) => e instanceof MetainfoError && e.field === 'info',
    );
    const t = v1Multi();
    t.info.name = '..';
    assert.throws(
      () => parseInfoDict(encode(t.info)),
      (e: unknown) => e instanceof MetainfoError && e.code === ErrorCode.MetainfoUnsafePath,
    );
  });

  test(`v2 metadata over ${MAX_TORRENT_PIECES} pieces is too large`, () => {
    const info = {
      'meta version': 2,
      name: 'huge',
      'piece length': 16384,
      'file tree': {
        f: { '': { length: MAX_TORRENT_PIECES * 16384 + 1, 'pieces root': new Uint8Array(32) } },
      },
    };
    assert.throws(
      () => parseInfoDict(encode(info)),
      (e: unknown) =>
        e instanceof MetainfoError &&
        e.code === ErrorCode.MetainfoTooLarge &&
        e.field === 'info.piece length',
    );
    info['file tree'].f[''].length = MAX_TORRENT_PIECES * 16384;
    assert.equal(parseInfoDict(encode(info)).pieceCount, MAX_TORRENT_PIECES);
  });
});

describe('parseTorrent: rejections of the whole document', () => {
  test(`a file over MAX_TORRENT_FILE_BYTES is rejected before decoding`, () => {
    rejects(
      new Uint8Array(MAX_TORRENT_FILE_BYTES + 1),
      ErrorCode.MetainfoTooLarge,
      'torrent',
      String(MAX_TORRENT_FILE_BYTES),
    );
  });

  test('malformed bencode is a BencodeError', () => {
    assert.throws(() => parseTorrent(te.encode('d4:info')), BencodeError);
    assert.throws(() => parseTorrent(new Uint8Array()), BencodeError);
    assert.throws(() => parseTorrent(te.encode('de junk')), BencodeError);
  });

  test('not a dictionary, no info, info not a dictionary', () => {
    rejects(encode([1, 2]), ErrorCode.MetainfoInvalid, 'torrent', 'not a bencoded dictionary');
    rejects(encode({ announce: 'x' }), ErrorCode.MetainfoInvalid, 'info', 'no info');
    rejects(encode({ info: 'x' }), ErrorCode.MetainfoInvalid, 'info');
  });

  test('unknown meta version and mixed-up v2 markers', () => {
    rejects(
      broken(v2Multi, (t) => (t.info['meta version'] = 3)),
      ErrorCode.MetainfoInvalid,
      'info.meta version',
      '3',
    );
    rejects(
      broken(v1Multi, (t) => (t.info['meta version'] = 'two')),
      ErrorCode.MetainfoInvalid,
      'info.meta version',
    );
    rejects(
      broken(v2Multi, (t) => delete t.info['meta version']),
      ErrorCode.MetainfoInvalid,
      'info.meta version',
      'file tree',
    );
    rejects(
      broken(v2Multi, (t) => delete t.info['file tree']),
      ErrorCode.MetainfoInvalid,
      'info.file tree',
    );
  });

  test('piece length: missing, not an integer, not positive, out of bounds, not a power of two for v2', () => {
    const f = 'info.piece length';
    rejects(
      broken(v1Multi, (t) => delete t.info['piece length']),
      ErrorCode.MetainfoInvalid,
      f,
      'missing',
    );
    rejects(
      broken(v1Multi, (t) => (t.info['piece length'] = '16384')),
      ErrorCode.MetainfoInvalid,
      f,
    );
    rejects(
      broken(v1Multi, (t) => (t.info['piece length'] = 0)),
      ErrorCode.MetainfoInvalid,
      f,
      'not positive',
    );
    rejects(
      broken(v1Multi, (t) => (t.info['piece length'] = -16384)),
      ErrorCode.MetainfoInvalid,
      f,
    );
    rejects(
      broken(v1Multi, (t) => (t.info['piece length'] = 8192)),
      ErrorCode.MetainfoInvalid,
      f,
      'below',
    );
    rejects(
      broken(v1Multi, (t) => (t.info['piece length'] = MAX_PIECE_BYTES * 2)),
      ErrorCode.MetainfoTooLarge,
      f,
    );
    rejects(
      broken(v1Multi, (t) => (t.info['piece length'] = 2n ** 62n)),
      ErrorCode.MetainfoTooLarge,
      f,
    );
    rejects(
      broken(v2Multi, (t) => (t.info['piece length'] = 3 * 16384)),
      ErrorCode.MetainfoInvalid,
      f,
      'power of two',
    );
    rejects(
      broken(hybridMulti, (t) => (t.info['piece length'] = 3 * 16384)),
      ErrorCode.MetainfoInvalid,
      f,
      'power of two',
    );
  });

  test('a v1 torrent may use a piece length that is not a power of two', () => {
    const m = parseTorrent(
      toBytes(
        buildTorrent({ version: 'v1', pieceLength: 3 * 16384, files: [{ path: ['a'], length: 100_000 }] }),
      ),
    );
    assert.equal(m.pieceCount, 3);
  });

  test('name: missing, unsafe, or unsafe in name.utf-8', () => {
    rejects(
      broken(v1Multi, (t) => delete t.info.name),
      ErrorCode.MetainfoInvalid,
      'info.name',
    );
    rejects(
      broken(v1Multi, (t) => (t.info.name = '..')),
      ErrorCode.MetainfoUnsafePath,
      'info.name',
      '".."',
    );
    rejects(
      broken(v1Multi, (t) => (t.info.name = '')),
      ErrorCode.MetainfoUnsafePath,
      'info.name',
    );
    rejects(
      broken(v1Multi, (t) => (t.info.name = Uint8Array.of(0xc3))),
      ErrorCode.MetainfoUnsafePath,
      'info.name',
      '0xc3',
    );
    rejects(
      broken(v1Multi, (t) => (t.info['name.utf-8'] = '../../etc')),
      ErrorCode.MetainfoUnsafePath,
      'info.name.utf-8',
      '"../../etc"',
    );
  });

  test('a torrent holding no data is rejected', () => {
    rejects(
      toBytes(buildTorrent({ version: 'v1', single: true, name: 'z', files: [{ path: ['z'], length: 0 }] })),
      ErrorCode.MetainfoInvalid,
      'info',
      'no data',
    );
  });
});
