import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TorrentFile } from '../../../src/metainfo/types.js';
import { PieceMap } from '../../../src/storage/piece-map.js';

function file(path: string, length: number, offset: number, isPadding = false): TorrentFile {
  return { path: [path], length, offset, isPadding, attr: isPadding ? 'p' : '' };
}

describe('PieceMap', () => {
  test('v1: a piece spans files and the last piece is short', () => {
    const files = [file('a', 10, 0), file('b', 0, 10), file('c', 25, 10)];
    const m = new PieceMap({ pieceLength: 16, pieceCount: 3, files, version: 'v1' });
    assert.deepEqual(
      [0, 1, 2].map((i) => m.pieceSize(i)),
      [16, 16, 3],
    );
    assert.deepEqual(m.segments(0), [
      { file: 0, fileOffset: 0, pieceOffset: 0, length: 10 },
      { file: 2, fileOffset: 0, pieceOffset: 10, length: 6 },
    ]);
    assert.deepEqual(m.segments(1, 4, 8), [{ file: 2, fileOffset: 10, pieceOffset: 4, length: 8 }]);
    assert.deepEqual(m.filePieces(2), { first: 0, last: 2 });
    assert.deepEqual(m.filePieces(1), { first: 1, last: 0 });
  });

  test('hybrid: padding files are zero segments', () => {
    const files = [file('a', 10, 0), file('.pad/6', 6, 10, true), file('c', 20, 16)];
    const m = new PieceMap({ pieceLength: 16, pieceCount: 3, files, version: 'hybrid' });
    assert.deepEqual(m.segments(0), [
      { file: 0, fileOffset: 0, pieceOffset: 0, length: 10 },
      { file: -1, fileOffset: 0, pieceOffset: 10, length: 6 },
    ]);
    assert.equal(m.pieceSize(2), 4);
  });

  test('v2: files start on piece boundaries; the gap to the next boundary is padding', () => {
    const files = [file('a', 20, 0), file('b', 5, 32)];
    const m = new PieceMap({ pieceLength: 16, pieceCount: 3, files, version: 'v2' });
    assert.deepEqual(
      [0, 1, 2].map((i) => m.pieceSize(i)),
      [16, 16, 5],
    );
    assert.deepEqual(m.segments(1), [
      { file: 0, fileOffset: 16, pieceOffset: 0, length: 4 },
      { file: -1, fileOffset: 0, pieceOffset: 4, length: 12 },
    ]);
    assert.deepEqual(m.segments(2), [{ file: 1, fileOffset: 0, pieceOffset: 0, length: 5 }]);
    assert.equal(m.fileAt(25), -1);
  });
});

test('v2: the last piece is servable up to a whole block, as zeros past the data', () => {
  const files: TorrentFile[] = [{ path: ['a'], length: 20000, offset: 0, isPadding: false, attr: '' }];
  const m = new PieceMap({ pieceLength: 32768, pieceCount: 1, files, version: 'v2' });
  assert.equal(m.pieceSize(0), 20000);
  assert.equal(m.uploadSize(0), 32768);
  assert.deepEqual(m.segments(0, 16384, 16384), [
    { file: 0, fileOffset: 16384, pieceOffset: 16384, length: 3616 },
    { file: -1, fileOffset: 0, pieceOffset: 20000, length: 12768 },
  ]);
  const v1 = new PieceMap({ pieceLength: 32768, pieceCount: 1, files, version: 'v1' });
  assert.equal(v1.uploadSize(0), 20000);
});
