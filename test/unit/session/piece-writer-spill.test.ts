/** The piece writer's spill path (src/session/piece-writer.ts): a borrowed block is copied before its write. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TorrentEngine } from '../../../src/engine/index.js';
import { PieceWriter } from '../../../src/session/piece-writer.js';
import { BLOCK_BYTES, MAX_PENDING_WRITE_BYTES } from '../../../src/shared/limits.js';
import type { TorrentStorage } from '../../../src/storage/torrent-storage.js';

test('a spilled block is written from a copy, even when it is a view of a reused Buffer', async () => {
  const pieceLength = 4 * BLOCK_BYTES;
  const writes: { piece: number; data: Uint8Array }[] = [];
  const storage = {
    writeBlock: async (piece: number, _offset: number, data: Uint8Array) => {
      writes.push({ piece, data });
    },
  } as unknown as TorrentStorage;
  const writer = new PieceWriter(
    {
      storage,
      engine: {} as TorrentEngine,
      now: () => 0,
      isClosed: () => false,
      run: () => {},
      fail: (e) => assert.fail(String(e)),
      onPieceFailed: () => {},
      onVerified: () => {},
      setReadingPaused: () => {},
    },
    pieceLength,
  );
  // A socket's read buffer, reused for every read: each block is a Buffer view of it.
  const readBuffer = Buffer.alloc(BLOCK_BYTES);
  const slots = Math.max(2, Math.floor(MAX_PENDING_WRITE_BYTES / pieceLength));
  // One block of each of `slots` pieces takes every assembly buffer; the next piece spills.
  for (let piece = 0; piece <= slots; piece++) {
    readBuffer.fill(piece & 0xff);
    writer.writeBlock(piece, 0, readBuffer.subarray(0, BLOCK_BYTES));
  }
  readBuffer.fill(0xee); // the next read
  assert.equal(writer.spilledTotal, 1);
  assert.equal(writes.length, 1);
  const w = writes[0]!;
  assert.equal(w.piece, slots);
  assert.ok(Buffer.from(w.data).equals(Buffer.alloc(BLOCK_BYTES, slots & 0xff)), 'the written bytes changed');
  await writer.idle();
});
