/** The piece writer's verified writes (src/session/piece-writer.ts): MAX_PIECE_WRITES_IN_FLIGHT at once, in order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TorrentEngine } from '../../../src/engine/index.js';
import { PieceWriter } from '../../../src/session/piece-writer.js';
import { BLOCK_BYTES, MAX_PIECE_WRITES_IN_FLIGHT } from '../../../src/shared/limits.js';
import type { TorrentStorage } from '../../../src/storage/torrent-storage.js';

test('verified pieces are written MAX_PIECE_WRITES_IN_FLIGHT at a time, in the order they passed', async () => {
  const pieceLength = BLOCK_BYTES;
  const pieces = MAX_PIECE_WRITES_IN_FLIGHT + 3;
  const started: number[] = [];
  const finish: (() => void)[] = [];
  let running = 0;
  let most = 0;
  const verified: number[] = [];
  const storage = {
    map: { pieceSize: () => pieceLength },
    // The hash check passes at once; the buffer comes back as it went.
    verifyBuffer: async (_index: number, buffer: Uint8Array) => ({ ok: true, buffer }),
    writePiece: (index: number) =>
      new Promise<void>((resolve) => {
        started.push(index);
        running++;
        most = Math.max(most, running);
        finish.push(() => {
          running--;
          resolve();
        });
      }),
  } as unknown as TorrentStorage;
  const engine = {
    blockSenders: () => [],
    wantsBlockDigests: () => false,
    onPieceVerified: () => [],
  } as unknown as TorrentEngine;
  const writer = new PieceWriter(
    {
      storage,
      engine,
      now: () => 0,
      isClosed: () => false,
      run: () => {},
      fail: (e) => assert.fail(String(e)),
      onPieceFailed: () => {},
      onVerified: (index, ok) => {
        assert.ok(ok);
        verified.push(index);
      },
      setReadingPaused: () => {},
    },
    pieceLength,
  );
  for (let piece = 0; piece < pieces; piece++) {
    writer.writeBlock(piece, 0, new Uint8Array(BLOCK_BYTES).fill(piece));
    writer.onPieceComplete(piece);
  }
  // Let every check finish: only the first MAX_PIECE_WRITES_IN_FLIGHT writes start.
  const settle = () => new Promise((r) => setImmediate(r));
  await settle();
  assert.deepEqual(started, [...Array(MAX_PIECE_WRITES_IN_FLIGHT).keys()]);
  assert.equal(writer.busy, true);
  // Each finished write lets exactly one more start, in order; none is verified before it is written.
  while (finish.length > 0) {
    const done = started[verified.length]!;
    finish.shift()!();
    await settle();
    assert.equal(verified.at(-1), done);
  }
  assert.deepEqual(started, [...Array(pieces).keys()]);
  assert.deepEqual(verified, [...Array(pieces).keys()]);
  assert.equal(most, MAX_PIECE_WRITES_IN_FLIGHT);
  await writer.idle();
  assert.equal(writer.busy, false);
});
