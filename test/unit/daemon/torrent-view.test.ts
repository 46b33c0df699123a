import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TorrentEntry } from '../../../src/daemon/torrent-entry.js';
import { fileDoneBytes, fileInfos, piecesInfo, torrentSummary } from '../../../src/daemon/torrent-view.js';
import type { Metainfo, TorrentFile } from '../../../src/metainfo/index.js';
import { Bitfield } from '../../../src/wire/index.js';

const file = (offset: number, length: number, path = ['f'], isPadding = false): TorrentFile => ({
  path,
  length,
  offset,
  isPadding,
  attr: isPadding ? 'p' : '',
});
const have = (bits: string) => ({ get: (i: number) => bits[i] === '1' });

test('fileDoneBytes: overlap of each verified piece with the file', () => {
  // Pieces of 10 bytes; a file over bytes 5..27 spans pieces 0, 1, 2.
  const f = file(5, 23);
  assert.equal(fileDoneBytes(f, 10, have('000')), 0);
  assert.equal(fileDoneBytes(f, 10, have('100')), 5);
  assert.equal(fileDoneBytes(f, 10, have('010')), 10);
  assert.equal(fileDoneBytes(f, 10, have('001')), 8);
  assert.equal(fileDoneBytes(f, 10, have('111')), 23);
  assert.equal(fileDoneBytes(file(30, 0), 10, have('1111')), 0, 'empty file');
  // v2 layout: each file starts on a piece boundary, its last piece is short.
  assert.equal(fileDoneBytes(file(20, 13), 10, have('00111')), 13);
});

test('fileDoneBytes: the files of a torrent add up to the verified bytes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat({ max: 100 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 32 }),
      fc.array(fc.boolean(), { maxLength: 200 }),
      (lengths, pl, bits) => {
        let offset = 0;
        const files = lengths.map((l) => {
          const f = file(offset, l);
          offset += l;
          return f;
        });
        const total = offset;
        const pieces = Math.ceil(total / pl);
        const h = { get: (i: number) => bits[i] === true };
        let expected = 0;
        for (let i = 0; i < pieces; i++) if (h.get(i)) expected += Math.min(total, (i + 1) * pl) - i * pl;
        const sum = files.reduce((s, f) => s + fileDoneBytes(f, pl, h), 0);
        assert.equal(sum, expected);
      },
    ),
  );
});

function metainfo(): Metainfo {
  const files = [file(0, 25, ['a.bin']), file(25, 7, ['pad'], true), file(32, 20, ['dir', 'b.bin'])];
  return {
    version: 'v1',
    infoHashV1: new Uint8Array(20).fill(0xab),
    name: 'demo',
    pieceLength: 16,
    pieceCount: 4,
    isSingleFile: false,
    files,
    totalLength: 45,
    pieceLayers: new Map(),
    isPrivate: false,
    trackers: [['http://t.example/announce'], ['udp://u.example:80']],
    webSeeds: [],
    infoBytes: new Uint8Array(),
    warnings: [],
  };
}

test('summary and files of a paused torrent come from its last known bitfield', () => {
  const m = metainfo();
  const e = new TorrentEntry(
    { id: 'ab'.repeat(20), name: 'demo', hasMetadata: true, downloadDir: '/dl', paused: true, addedAt: 1 },
    m,
  );
  const bits = new Bitfield(4);
  bits.set(0);
  bits.set(3);
  e.snapshot = { have: bits, uploaded: 90, downloaded: 45 };
  const s = torrentSummary(e);
  assert.equal(s.state, 'paused');
  assert.equal(s.size, 45);
  assert.equal(s.wantedBytes, 45);
  // Piece 0 = a.bin bytes 0..15; piece 3 = b.bin bytes 48..51 (4 bytes).
  assert.equal(s.doneBytes, 20);
  assert.equal(s.ratio, 2);
  assert.equal(s.haveCount, 2);
  assert.equal(s.eta, null);
  const files = fileInfos(e);
  assert.deepEqual(
    files.map((f) => [f.index, f.path, f.doneBytes]),
    [
      [0, 'demo/a.bin', 16],
      [1, 'demo/dir/b.bin', 4],
    ],
    'padding files are neither listed nor counted: b.bin is file 1',
  );
  assert.equal(piecesInfo(e).bitfield, Buffer.from([0b1001_0000]).toString('base64'));
  e.record = { ...e.record, filePriorities: [1, 0, 0] };
  const skipped = torrentSummary(e);
  assert.equal(skipped.wantedBytes, 25);
  assert.equal(skipped.doneBytes, 16);
});

test('a magnet without metadata', () => {
  const e = new TorrentEntry(
    {
      id: 'cd'.repeat(20),
      name: 'from dn',
      magnet: 'magnet:?x',
      hasMetadata: false,
      downloadDir: '/dl',
      paused: true,
      addedAt: 1,
    },
    undefined,
  );
  const s = torrentSummary(e);
  assert.deepEqual(
    [s.name, s.state, s.size, s.progress, s.hasMetadata, s.eta],
    ['from dn', 'paused', 0, 0, false, null],
  );
  assert.deepEqual(fileInfos(e), []);
  assert.equal(piecesInfo(e).pieceCount, 0);
});
