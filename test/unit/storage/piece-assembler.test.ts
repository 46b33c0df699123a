/**
 * The piece assembler: blocks and runs of blocks copied into a bounded pool of piece buffers,
 * bytes counted once per 16 KiB block, and a refusal when no buffer is free.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BLOCK_BYTES } from '../../../src/shared/limits.js';
import { PieceAssembler } from '../../../src/storage/piece-assembler.js';

const PIECE = 4 * BLOCK_BYTES;

function filled(blocks: number, byte: number): Uint8Array {
  return new Uint8Array(blocks * BLOCK_BYTES).fill(byte);
}

describe('PieceAssembler', () => {
  test('a run of blocks lands at its offset and counts as its blocks', () => {
    const a = new PieceAssembler(PIECE, 2 * PIECE);
    assert.equal(a.add(0, BLOCK_BYTES, filled(2, 7)), true);
    assert.equal(a.bytes, 2 * BLOCK_BYTES);
    // A block of the run again (a duplicate) and one beside it: only the new one counts.
    assert.equal(a.add(0, 2 * BLOCK_BYTES, filled(2, 9)), true);
    assert.equal(a.bytes, 3 * BLOCK_BYTES);
    assert.equal(a.add(0, 0, filled(1, 5)), true);
    const t = a.take(0);
    assert.ok(t !== undefined);
    assert.equal(t.bytes, PIECE);
    assert.deepEqual(
      [0, 1, 2, 3].map((k) => t.data[k * BLOCK_BYTES]),
      [5, 7, 9, 9],
    );
    assert.equal(a.bytes, 0);
    a.release(t.slot, t.data);
    assert.equal(a.freeSlots, 2);
  });

  test('a piece gets no buffer once every slot is taken, and a run past the piece is refused', () => {
    const a = new PieceAssembler(PIECE, 2 * PIECE);
    assert.equal(a.add(0, 0, filled(1, 1)), true);
    assert.equal(a.add(1, 0, filled(4, 1)), true);
    assert.equal(a.freeSlots, 0);
    assert.equal(a.add(2, 0, filled(1, 1)), false);
    assert.equal(a.add(0, 2 * BLOCK_BYTES, filled(3, 1)), false, 'runs past the end of the piece');
    assert.equal(a.bytes, 5 * BLOCK_BYTES);
  });
});
