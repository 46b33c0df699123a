import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Encodable } from '../../../src/codec/index.js';
import { parseTorrent } from '../../../src/metainfo/parse.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { toHex } from '../../../src/shared/hash.js';
import { MAX_PATH_DEPTH, MAX_TORRENT_TOTAL_BYTES } from '../../../src/shared/limits.js';
import {
  type BuiltTorrent,
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

describe('parseTorrent: v1 file list rejections', () => {
  test('length/files shape', () => {
    rejects(
      broken(v1Multi, (t) => delete t.info.files),
      ErrorCode.MetainfoInvalid,
      'info.length',
      'neither length nor files',
    );
    rejects(
      broken(v1Multi, (t) => (t.info.files = 'x')),
      ErrorCode.MetainfoInvalid,
      'info.files',
      'not a list',
    );
    rejects(
      broken(v1Multi, (t) => (t.info.files = [])),
      ErrorCode.MetainfoInvalid,
      'info.files',
      'empty',
    );
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[1] = 'x' as unknown as Dict)),
      ErrorCode.MetainfoInvalid,
      'info.files[1]',
    );
  });

  test('file lengths: missing, not an integer, negative, beyond the total bound', () => {
    rejects(
      broken(v1Multi, (t) => delete filesOf(t)[0]!.length),
      ErrorCode.MetainfoInvalid,
      'info.files[0].length',
      'missing',
    );
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[0]!.length = '5')),
      ErrorCode.MetainfoInvalid,
      'info.files[0].length',
    );
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[1]!.length = -1)),
      ErrorCode.MetainfoInvalid,
      'info.files[1].length',
      'negative',
    );
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[1]!.length = -(2n ** 62n))),
      ErrorCode.MetainfoInvalid,
      'info.files[1].length',
    );
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[0]!.length = 2n ** 60n)),
      ErrorCode.MetainfoTooLarge,
      'info.files[0].length',
    );
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[0]!.length = MAX_TORRENT_TOTAL_BYTES + 1)),
      ErrorCode.MetainfoTooLarge,
      'info.files[0].length',
    );
    rejects(
      broken(v1Multi, (t) => {
        filesOf(t)[0]!.length = MAX_TORRENT_TOTAL_BYTES / 2 + 1;
        filesOf(t)[1]!.length = MAX_TORRENT_TOTAL_BYTES / 2;
      }),
      ErrorCode.MetainfoTooLarge,
      'info.files[1].length',
    );
    rejects(
      broken(v1Multi, (t) => {
        t.info.length = 2n ** 60n;
        delete t.info.files;
      }),
      ErrorCode.MetainfoTooLarge,
      'info.length',
    );
  });

  test('path shape: missing (unless padding), not a list, non-string element, empty', () => {
    rejects(
      broken(v1Multi, (t) => delete filesOf(t)[0]!.path),
      ErrorCode.MetainfoInvalid,
      'info.files[0].path',
      'missing',
    );
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[0]!.path = 'a.txt')),
      ErrorCode.MetainfoInvalid,
      'info.files[0].path',
    );
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[1]!.path = ['sub', 7])),
      ErrorCode.MetainfoInvalid,
      'info.files[1].path[1]',
    );
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[0]!.path = [])),
      ErrorCode.MetainfoUnsafePath,
      'info.files[0].path',
      'empty path',
    );
  });

  const unsafe: [string, Encodable, string][] = [
    ['parent reference', '..', '".."'],
    ['current directory', '.', '"."'],
    ['empty component', '', '""'],
    ['absolute path', '/etc', '"/etc"'],
    ['embedded slash', 'a/b', '"a/b"'],
    ['backslash', 'a\\b', '"a\\\\b"'],
    ['NUL byte', 'a\u0000b', '"a\\u0000b"'],
    ['control character', 'a\nb', '"a\\nb"'],
    ['drive letter', 'C:', '"C:"'],
    ['device name', 'CON', '"CON"'],
    ['device name with extension', 'nul.txt', '"nul.txt"'],
    ['trailing dot', 'x.', '"x."'],
    ['trailing space', 'x ', '"x "'],
    ['over-long component', 'a'.repeat(256), '"aaaa'],
    ['invalid UTF-8', Uint8Array.of(0x61, 0xff), '0x61ff'],
  ];
  for (const [what, component, quoted] of unsafe) {
    test(`unsafe path component: ${what}`, () => {
      rejects(
        broken(v1Multi, (t) => (filesOf(t)[1]!.path = ['sub', component])),
        ErrorCode.MetainfoUnsafePath,
        'info.files[1].path[1]',
        quoted,
      );
    });
  }

  test('an unsafe path.utf-8 is rejected even when path is safe', () => {
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[0]!['path.utf-8'] = ['..', 'x'])),
      ErrorCode.MetainfoUnsafePath,
      'info.files[0].path.utf-8[0]',
      '".."',
    );
  });

  test(`paths deeper than MAX_PATH_DEPTH are rejected; exactly MAX_PATH_DEPTH is fine`, () => {
    const deep = Array.from({ length: MAX_PATH_DEPTH + 1 }, () => 'd');
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[0]!.path = deep)),
      ErrorCode.MetainfoUnsafePath,
      'info.files[0].path',
      'deep',
    );
    const ok = v1Multi();
    filesOf(ok)[0]!.path = deep.slice(1);
    assert.equal(parseTorrent(toBytes(ok)).files[0]!.path.length, MAX_PATH_DEPTH);
  });

  test('two files with one path, or a file that is also a folder, are rejected', () => {
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[1]!.path = ['a.txt'])),
      ErrorCode.MetainfoInvalid,
      'info.files[1]',
      'same path "a.txt"',
    );
    rejects(
      broken(v1Multi, (t) => (filesOf(t)[1]!.path = ['a.txt', 'inner'])),
      ErrorCode.MetainfoInvalid,
      'info.files[1]',
      'not a directory',
    );
    rejects(
      broken(v1Multi, (t) => {
        filesOf(t)[0]!.path = ['sub'];
      }),
      ErrorCode.MetainfoInvalid,
      'info.files[1]',
      'not a directory',
    );
    rejects(
      broken(v1Multi, (t) => {
        filesOf(t).reverse();
        filesOf(t)[1]!.path = ['sub'];
      }),
      ErrorCode.MetainfoInvalid,
      'info.files[1]',
      'also a directory',
    );
  });

  test('pieces: missing, not a multiple of 20, count mismatch', () => {
    rejects(
      broken(v1Multi, (t) => delete t.info.pieces),
      ErrorCode.MetainfoInvalid,
      'info.pieces',
      'missing',
    );
    rejects(
      broken(v1Multi, (t) => (t.info.pieces = (t.info.pieces as Uint8Array).subarray(1))),
      ErrorCode.MetainfoInvalid,
      'info.pieces',
      'multiple of 20',
    );
    rejects(
      broken(v1Multi, (t) => (t.info.pieces = (t.info.pieces as Uint8Array).subarray(20))),
      ErrorCode.MetainfoInvalid,
      'info.pieces',
      'holds 1 hashes but the files make 2 pieces',
    );
    rejects(
      broken(
        v1Multi,
        (t) => (t.info.pieces = Buffer.concat([t.info.pieces as Uint8Array, new Uint8Array(20)])),
      ),
      ErrorCode.MetainfoInvalid,
      'info.pieces',
    );
  });
});

describe('parseTorrent: v2 rejections', () => {
  const tree = (t: BuiltTorrent) => t.info['file tree'] as Dict;
  const big = (t: BuiltTorrent) => (tree(t)['big.bin'] as Dict)[''] as Dict;

  test('file tree shape', () => {
    rejects(
      broken(v2Multi, (t) => (t.info['file tree'] = 'x')),
      ErrorCode.MetainfoInvalid,
      'info.file tree',
    );
    rejects(
      broken(v2Multi, (t) => (t.info['file tree'] = {})),
      ErrorCode.MetainfoInvalid,
      'info.file tree',
      'no files',
    );
    rejects(
      broken(v2Multi, (t) => (tree(t)[''] = { length: 1 })),
      ErrorCode.MetainfoInvalid,
      'info.file tree',
      'root must not be a file',
    );
    rejects(
      broken(v2Multi, (t) => ((tree(t)['big.bin'] as Dict).extra = {})),
      ErrorCode.MetainfoInvalid,
      'info.file tree/big.bin',
      'other entries',
    );
    rejects(
      broken(v2Multi, (t) => (tree(t).x = 5)),
      ErrorCode.MetainfoInvalid,
      'info.file tree/x',
      'not a dictionary',
    );
    rejects(
      broken(v2Multi, (t) => ((tree(t)['big.bin'] as Dict)[''] = 1)),
      ErrorCode.MetainfoInvalid,
      'info.file tree/big.bin',
    );
  });

  test('file entries: length and pieces root', () => {
    rejects(
      broken(v2Multi, (t) => delete big(t).length),
      ErrorCode.MetainfoInvalid,
      'info.file tree/big.bin.length',
    );
    rejects(
      broken(v2Multi, (t) => (big(t).length = -1)),
      ErrorCode.MetainfoInvalid,
      'info.file tree/big.bin.length',
    );
    rejects(
      broken(v2Multi, (t) => (big(t).length = 2n ** 61n)),
      ErrorCode.MetainfoTooLarge,
      'info.file tree/big.bin.length',
    );
    rejects(
      broken(v2Multi, (t) => delete big(t)['pieces root']),
      ErrorCode.MetainfoInvalid,
      'info.file tree/big.bin.pieces root',
      'no pieces root',
    );
    rejects(
      broken(v2Multi, (t) => (big(t)['pieces root'] = new Uint8Array(31))),
      ErrorCode.MetainfoInvalid,
      'info.file tree/big.bin.pieces root',
      '31 bytes',
    );
    rejects(
      broken(v2Multi, (t) => (tree(t).empty = { '': { length: 0, 'pieces root': new Uint8Array(32) } })),
      ErrorCode.MetainfoInvalid,
      'info.file tree/empty.pieces root',
      'empty but has a pieces root',
    );
  });

  test('unsafe keys in the file tree', () => {
    for (const key of ['..', '.', 'a\\b', 'a/b', 'COM1', 'lpt9.log', 'D:x', 'x\u0001']) {
      const e = rejects(
        broken(v2Multi, (t) => (tree(t)[key] = { f: { '': { length: 0 } } })),
        ErrorCode.MetainfoUnsafePath,
        /^info\.file tree\[\d+\]$/,
      );
      assert.ok(e.message.includes(JSON.stringify(key)), e.message);
    }
    rejects(
      broken(v2Multi, (t) => ((tree(t).dir as Dict)['..'] = { '': { length: 0 } })),
      ErrorCode.MetainfoUnsafePath,
      /^info\.file tree\/dir\[\d\]$/,
      '".."',
    );
  });

  test(`file tree deeper than MAX_PATH_DEPTH`, () => {
    const nest = (depth: number): Dict => {
      let node: Dict = { '': { length: 1, 'pieces root': new Uint8Array(32) } };
      for (let i = 0; i < depth; i++) node = { d: node };
      return node;
    };
    // A file at depth MAX_PATH_DEPTH + 1 under the tree root.
    rejects(
      broken(v2Multi, (t) => (tree(t).deep = nest(MAX_PATH_DEPTH))),
      ErrorCode.MetainfoUnsafePath,
      /^info\.file tree\/deep(\/d)+$/,
      'deeper than',
    );
    const ok = v2Multi();
    tree(ok).deep = nest(MAX_PATH_DEPTH - 1);
    assert.equal(
      parseTorrent(toBytes(ok)).files.find((f) => f.path[0] === 'deep')!.path.length,
      MAX_PATH_DEPTH,
    );
  });

  test('piece layers: missing, not a dict, no layer, wrong size, wrong root', () => {
    const layers = (t: BuiltTorrent) => t.outer['piece layers'] as Map<Uint8Array, Encodable>;
    const bigRoot = (t: BuiltTorrent) => toHex(t.roots.get('big.bin')!);
    rejects(
      broken(v2Multi, (t) => delete t.outer['piece layers']),
      ErrorCode.MetainfoPieceLayers,
      /^piece layers\//,
      'no layer',
    );
    rejects(
      broken(v2Multi, (t) => (t.outer['piece layers'] = 'x')),
      ErrorCode.MetainfoPieceLayers,
      'piece layers',
    );
    rejects(
      broken(v2Multi, (t) => layers(t).clear()),
      ErrorCode.MetainfoPieceLayers,
      /^piece layers\/[0-9a-f]{64}$/,
      '"big.bin"',
    );
    rejects(
      broken(v2Multi, (t) => {
        const [k, v] = [...layers(t)][0]!;
        layers(t).set(k, (v as Uint8Array).subarray(32));
      }),
      ErrorCode.MetainfoPieceLayers,
      /^piece layers\//,
      'is 96 bytes; 128 expected',
    );
    rejects(
      broken(v2Multi, (t) => {
        const [k] = [...layers(t)][0]!;
        layers(t).set(k, 5);
      }),
      ErrorCode.MetainfoPieceLayers,
      /^piece layers\//,
      'not a string',
    );
    const e = rejects(
      broken(v2Multi, (t) => {
        const [k, v] = [...layers(t)][0]!;
        const bad = new Uint8Array(v as Uint8Array);
        bad[0] = bad[0]! ^ 1;
        layers(t).set(k, bad);
      }),
      ErrorCode.MetainfoPieceLayers,
      /^piece layers\//,
      'does not hash to its pieces root',
    );
    assert.equal(e.field, `piece layers/${bigRoot(v2Multi())}`);
  });

  test('a v2 torrent whose files all fit in one piece needs no piece layers', () => {
    const t = buildTorrent({
      version: 'v2',
      pieceLength: 65536,
      files: [
        { path: ['a'], length: 65536 },
        { path: ['b'], length: 3 },
      ],
    });
    delete t.outer['piece layers'];
    assert.equal(parseTorrent(toBytes(t)).pieceLayers.size, 0);
  });

  test('duplicate keys in a file tree (lenient decode) are duplicate paths', () => {
    const root = new Uint8Array(32);
    const leaf = `d0:d6:lengthi1e11:pieces root32:${Buffer.from(root).toString('latin1')}ee`;
    const info = `d9:file treed1:a${leaf}1:a${leaf}e12:meta versioni2e4:name1:n12:piece lengthi16384ee`;
    rejects(
      Buffer.from(`d4:info${info}e`, 'latin1'),
      ErrorCode.MetainfoInvalid,
      'info.file tree/a',
      'same path',
    );
  });
});

describe('parseTorrent: hybrid rejections', () => {
  test('v1 and v2 files must match', () => {
    rejects(
      broken(hybridMulti, (t) => filesOf(t).splice(2, 1)),
      ErrorCode.MetainfoInvalid,
      'info.files',
      'lists 2 v1 files but 3 v2 files',
    );
    rejects(
      broken(hybridMulti, (t) => (filesOf(t)[0]!.path = ['z.bin'])),
      ErrorCode.MetainfoInvalid,
      'info.files[0]',
      'does not match',
    );
    rejects(
      broken(hybridMulti, (t) => {
        const last = filesOf(t).at(-1)!;
        last.length = (last.length as number) - 1; // same piece count
      }),
      ErrorCode.MetainfoInvalid,
      'info.files[3]',
      'does not match',
    );
  });

  test('files must start on piece boundaries (padding missing)', () => {
    rejects(
      toBytes(
        buildTorrent({
          version: 'hybrid',
          padding: false,
          files: [
            { path: ['a'], length: 20_000 },
            { path: ['b'], length: 20_000 },
          ],
        }),
      ),
      ErrorCode.MetainfoInvalid,
      'info.files[1]',
      'not on the piece boundary',
    );
  });

  test('both halves must count the same pieces', () => {
    rejects(
      toBytes(
        buildTorrent({
          version: 'hybrid',
          tailPadding: 16384 * 2,
          files: [
            { path: ['a'], length: 20_000 },
            { path: ['b'], length: 5 },
          ],
        }),
      ),
      ErrorCode.MetainfoInvalid,
      'info.pieces',
      'v1 pieces but',
    );
  });

  test('single-file in one half only', () => {
    const t = buildTorrent({
      version: 'hybrid',
      single: true,
      name: 's',
      files: [{ path: ['s'], length: 10 }],
    });
    t.info['file tree'] = { d: { s: (t.info['file tree'] as Dict).s } };
    rejects(toBytes(t), ErrorCode.MetainfoInvalid, 'info.file tree', 'single-file');
  });
});
