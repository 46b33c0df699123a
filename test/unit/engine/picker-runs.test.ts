/**
 * The picker's `runs` mode (web seeds, BEP 19): new pieces in runs of consecutive pieces of the
 * best tier, so the web seed's runtime can ask for long HTTP ranges.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PickerPeerView } from '../../../src/engine/index.js';
import { piecesOf, setupPicker } from './picker-dsl.js';

/** The same peer, serving byte ranges. */
function ranged(view: PickerPeerView): PickerPeerView {
  return { ...view, isSeed: true, runs: true };
}

describe('PiecePicker: runs for peers that serve byte ranges', () => {
  test('alone, a web seed gets consecutive pieces from the start (where random order would scatter)', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const { picker, peer } = setupPicker({ peers: { w: '1'.repeat(12) }, seed, blocksPerPiece: 2 });
      const w = ranged(peer('w'));
      assert.deepEqual(piecesOf(picker.pick(w, 8)), [0, 1, 2, 3], `seed ${seed}`);
      // The next pick continues the run where it stopped.
      assert.deepEqual(piecesOf(picker.pick(w, 4)), [4, 5], `seed ${seed}`);
    }
  });

  test('the run stops at a piece we have and starts again at the longest gap', () => {
    //                                                      0123456789
    const { picker, peer } = setupPicker({
      have: '  *   *   ',
      peers: { w: '1111111111' },
      blocksPerPiece: 1,
    });
    const w = ranged(peer('w'));
    // Gaps: [0,1] (2), [3,5] (3), [7,9] (3): the first longest one.
    assert.deepEqual(piecesOf(picker.pick(w, 3)), [3, 4, 5]);
    // Piece 6 is had: the run ends; the next longest gap is [7,9].
    assert.deepEqual(piecesOf(picker.pick(w, 5)), [7, 8, 9, 0, 1]);
  });

  test('rarest first still rules: the run covers only what peers lack most', () => {
    //                          0123456789
    const { picker, peer } = setupPicker({
      peers: { w: '1111111111', a: '111   1111', b: '111    111' },
      blocksPerPiece: 1,
    });
    const w = ranged(peer('w'));
    // Pieces 3-5 are on the web seed only (availability 1), piece 6 on two.
    assert.deepEqual(piecesOf(picker.pick(w, 10)).slice(0, 3), [3, 4, 5]);
  });

  test('a second web seed starts in the middle of the gap the first one is filling from its front', () => {
    const { picker, peer } = setupPicker({
      peers: { w1: '1'.repeat(16), w2: '1'.repeat(16) },
      blocksPerPiece: 1,
    });
    assert.deepEqual(piecesOf(picker.pick(ranged(peer('w1')), 2)), [0, 1]);
    // Gap [2,15] (14 pieces) follows w1's piece 1: w2 starts at its middle.
    assert.deepEqual(piecesOf(picker.pick(ranged(peer('w2')), 3)), [9, 10, 11]);
    // Each keeps its own run.
    assert.deepEqual(piecesOf(picker.pick(ranged(peer('w1')), 2)), [2, 3]);
    assert.deepEqual(piecesOf(picker.pick(ranged(peer('w2')), 2)), [12, 13]);
  });

  test('a run never takes a piece the peer lacks, a skipped piece or one being downloaded', () => {
    //                                              01234567
    const { picker, peer } = setupPicker({
      peers: { w: '1111 111', a: '11111111' },
      priorities: '11011111',
      blocksPerPiece: 1,
    });
    picker.pick(peer('a'), 1, { onlyPieces: new Set([5]) }); // a downloads piece 5
    const taken = [...picker.pick(ranged(peer('w')), 8).map((b) => b.piece)].sort((x, y) => x - y);
    // 2 is skipped, 4 the web seed lacks, 5 is a's.
    assert.deepEqual(taken, [0, 1, 3, 6, 7]);
  });
});
