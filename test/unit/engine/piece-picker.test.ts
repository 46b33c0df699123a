import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BlockState,
  PiecePicker,
  PiecePriority,
  SeededRandom,
  uniformLayout,
} from '../../../src/engine/index.js';
import { BLOCK_BYTES } from '../../../src/shared/limits.js';
import { labels, piecesOf, setupPicker } from './picker-dsl.js';

describe('PiecePicker: rarest first', () => {
  test('picks the rarest piece the peer has', () => {
    //                                 piece: 0123
    const { picker, peer } = setupPicker({ peers: { a: '1111', b: ' 111', c: '  11' } });
    assert.deepEqual(labels(picker.pick(peer('a'), 4)), ['0:0', '0:1', '0:2', '0:3']);
    // b lacks piece 0: its rarest is piece 1 (availability 2)
    assert.deepEqual(piecesOf(picker.pick(peer('b'), 4)), [1]);
  });

  test('breaks availability ties at random, and covers every tied piece across seeds', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const { picker, peer } = setupPicker({ peers: { a: '1111 ', b: '    1' }, seed });
      seen.add(piecesOf(picker.pick(peer('a'), 1))[0]!);
    }
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
  });

  test('random first pieces, but rarest first from a seed (its upload is not spent on duplicates)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      // Pieces 0-2 are on b too; piece 3 only on the seed s.
      const { picker, peer } = setupPicker({ peers: { s: '1111', b: '111 ' }, seed, randomFirstPieces: 4 });
      assert.deepEqual(piecesOf(picker.pick({ ...peer('s'), isSeed: true }, 1)), [3], `seed ${seed}`);
    }
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const { picker, peer } = setupPicker({ peers: { s: '1111', b: '111 ' }, seed, randomFirstPieces: 4 });
      seen.add(piecesOf(picker.pick(peer('s'), 1))[0]!);
    }
    assert.ok(seen.size > 1, 'from a peer not flagged as a seed the first pieces stay random');
  });

  test('never picks a piece we have, or one the peer lacks', () => {
    const { picker, peer } = setupPicker({ have: '* * ', peers: { a: '111 ' } });
    assert.deepEqual(piecesOf(picker.pick(peer('a'), 100)), [1]);
  });

  test('random first pieces: below the threshold, rarity is ignored', () => {
    const chosen = new Set<number>();
    for (let seed = 1; seed <= 30; seed++) {
      // piece 0 is the rarest (1 copy); pieces 1-3 have 2 copies
      const { picker, peer } = setupPicker({
        peers: { a: '1111', b: ' 111' },
        randomFirstPieces: 4,
        seed,
      });
      chosen.add(piecesOf(picker.pick(peer('a'), 1))[0]!);
    }
    assert.ok(chosen.size > 1, `random-first chose only ${[...chosen]}`);
  });

  test('availability follows haves, seeds and departures', () => {
    const { picker } = setupPicker({ peers: { a: '1 1 ', b: '11  ' } });
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => picker.availability(i)),
      [2, 1, 1, 0],
    );
    picker.addSeed();
    picker.addPeerHave(3);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => picker.availability(i)),
      [3, 2, 2, 2],
    );
    picker.removeSeed();
    picker.removePeerPieces([0, 1]);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => picker.availability(i)),
      [1, 0, 1, 1],
    );
    picker.removePeerHave(1); // never below zero
    assert.equal(picker.availability(1), 0);
  });
});

describe('PiecePicker: partial pieces', () => {
  test('each peer keeps to its own piece; peers share one only when no new piece is left', () => {
    const { picker, peer } = setupPicker({ peers: { a: '111', b: '111', c: '111', d: '111' } });
    const x = piecesOf(picker.pick(peer('a'), 2));
    const y = piecesOf(picker.pick(peer('b'), 2));
    assert.notDeepEqual(y, x, 'b starts a new piece rather than joining a');
    assert.deepEqual(piecesOf(picker.pick(peer('a'), 2)), x, 'a continues its own piece');
    const z = piecesOf(picker.pick(peer('c'), 4));
    assert.equal(z.length, 1);
    assert.equal(picker.partialCount, 3);
    // no new piece left for d: it joins the partial piece closest to completion (b's)
    assert.deepEqual(piecesOf(picker.pick(peer('d'), 1)), y);
  });

  test('orphaned partial pieces are continued before new ones', () => {
    const { picker, peer } = setupPicker({ peers: { a: '1111', b: '1111' } });
    const [r0, r1] = picker.pick(peer('a'), 2);
    picker.onBlockReceived('a', r0!);
    picker.release('a', r1!); // e.g. a choked us
    assert.equal(picker.partialCount, 1);
    assert.deepEqual(labels(picker.pick(peer('b'), 3)), [
      `${r0!.piece}:1`,
      `${r0!.piece}:2`,
      `${r0!.piece}:3`,
    ]);
  });

  test("prefers the peer's own partial piece, then the one closest to completion", () => {
    const { picker, peer } = setupPicker({ peers: { a: '11', b: '11', c: '11' }, blocksPerPiece: 8 });
    const x = picker.pick(peer('a'), 2)[0]!.piece;
    const y = 1 - x;
    assert.deepEqual(piecesOf(picker.pick(peer('b'), 6, { onlyPieces: new Set([y]) })), [y]);
    // y is further along (2 free of 8), but a continues its own piece x
    assert.deepEqual(piecesOf(picker.pick(peer('a'), 2)), [x]);
    // c owns neither: it completes y first
    assert.deepEqual(labels(picker.pick(peer('c'), 3)), [`${y}:6`, `${y}:7`, `${x}:4`]);
    assert.equal(picker.partialCount, 2);
  });

  test('blocks have 16 KiB, and the last block of a short last piece is short', () => {
    const { picker, peer } = setupPicker({
      peers: { a: '11' },
      blocksPerPiece: 2,
      lastPieceBytes: BLOCK_BYTES + 100,
    });
    const all = picker.pick(peer('a'), 10);
    assert.equal(all.length, 4);
    const last = all.find((b) => b.piece === 1 && b.offset === BLOCK_BYTES)!;
    assert.equal(last.length, 100);
    assert.ok(all.filter((b) => b !== last).every((b) => b.length === BLOCK_BYTES));
  });

  test('release returns a block to Free so another peer can take it', () => {
    const { picker, peer } = setupPicker({ peers: { a: '1', b: '1' }, blocksPerPiece: 2 });
    const [x] = picker.pick(peer('a'), 1);
    assert.equal(picker.release('a', x!), true);
    assert.equal(picker.release('a', x!), false, 'a second release is a no-op');
    assert.equal(picker.blockState(0, 0), BlockState.Free);
    assert.equal(picker.partialCount, 0, 'a piece with nothing requested is no longer partial');
    assert.deepEqual(labels(picker.pick(peer('b'), 1)), ['0:0']);
    assert.equal(picker.blockState(0, 0), BlockState.Requested);
  });
});

describe('PiecePicker: priorities and streaming', () => {
  test('skipped pieces are never picked; high priority goes first', () => {
    // availability 2 2 1 1: piece 3 is high; then the rarer normal piece 2, then 1
    const { picker, peer } = setupPicker({ peers: { a: '1111', b: '11  ' }, priorities: '0112' });
    assert.deepEqual(piecesOf(picker.pick(peer('a'), 100)), [3, 2, 1]);
    assert.equal(picker.wanted(0), false);
    assert.equal(picker.wantedLeftPieces, 3);
  });

  test('file priorities map onto pieces; a piece shared with a wanted file is wanted', () => {
    const pieceLength = 4 * BLOCK_BYTES;
    const picker = new PiecePicker(uniformLayout(4 * pieceLength, pieceLength), new SeededRandom(1));
    const files = [
      { offset: 0, length: pieceLength + 10 }, // pieces 0-1
      { offset: pieceLength + 10, length: pieceLength }, // pieces 1-2
      { offset: 2 * pieceLength + 10, length: 5, isPadding: true },
      { offset: 2 * pieceLength + 15, length: 2 * pieceLength - 15 }, // pieces 2-3
    ];
    picker.setFilePriorities(
      files,
      [PiecePriority.Skip, PiecePriority.High, PiecePriority.Skip, PiecePriority.Skip],
      pieceLength,
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => picker.priority(i)),
      [0, 2, 2, 0],
    );
    assert.equal(picker.wantedLeftBytes, 2 * pieceLength);
    picker.setFilePriorities(files, [], pieceLength);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => picker.priority(i)),
      [1, 1, 1, 1],
    );
  });

  test('the streaming window jumps to the front, in order', () => {
    const { picker, peer } = setupPicker({ peers: { a: '111111', b: '11    ' } });
    picker.setStreamingWindow(4, 2);
    assert.deepEqual(piecesOf(picker.pick(peer('a'), 8)), [4, 5]);
    picker.setStreamingWindow(0, 0);
    assert.deepEqual(piecesOf(picker.pick(peer('a'), 4)), [2]);
  });

  test('onlyPieces restricts picks (allowed-fast while choked)', () => {
    const { picker, peer } = setupPicker({ peers: { a: '1111' } });
    assert.deepEqual(piecesOf(picker.pick(peer('a'), 100, { onlyPieces: new Set([2]) })), [2]);
  });
});

describe('PiecePicker: receiving and verifying', () => {
  test('a received block completes its piece; verification marks it have', () => {
    const { picker, peer } = setupPicker({ peers: { a: '1' }, blocksPerPiece: 2 });
    const [x, y] = picker.pick(peer('a'), 2);
    assert.deepEqual(picker.onBlockReceived('a', x!), { kind: 'new', pieceComplete: false, cancel: [] });
    assert.deepEqual(picker.onBlockReceived('a', x!), { kind: 'duplicate' });
    assert.deepEqual(picker.onBlockReceived('a', y!), { kind: 'new', pieceComplete: true, cancel: [] });
    picker.onPieceVerified(0);
    assert.equal(picker.have(0), true);
    assert.equal(picker.isFinished, true);
    assert.equal(picker.isComplete, true);
    assert.equal(picker.wantedLeftBytes, 0);
    assert.deepEqual(picker.onBlockReceived('a', x!), { kind: 'duplicate' });
  });

  test('invalid blocks are recognised', () => {
    const { picker } = setupPicker({ peers: { a: '11' }, blocksPerPiece: 2, lastPieceBytes: 100 });
    for (const b of [
      { piece: 2, offset: 0, length: BLOCK_BYTES },
      { piece: -1, offset: 0, length: BLOCK_BYTES },
      { piece: 0, offset: 1, length: BLOCK_BYTES },
      { piece: 0, offset: 0, length: 1 },
      { piece: 0, offset: 2 * BLOCK_BYTES, length: BLOCK_BYTES },
      { piece: 1, offset: 0, length: BLOCK_BYTES },
    ]) {
      assert.deepEqual(picker.onBlockReceived('a', b), { kind: 'invalid' }, JSON.stringify(b));
    }
  });

  test('a failed piece names its contributors, resets, and is re-downloaded by one peer', () => {
    const { picker, peer } = setupPicker({ peers: { a: '1', b: '1', c: '1' }, blocksPerPiece: 4 });
    const fromA = picker.pick(peer('a'), 2);
    const fromB = picker.pick(peer('b'), 2);
    for (const b of fromA) picker.onBlockReceived('a', b);
    for (const b of fromB) picker.onBlockReceived('b', b);
    assert.deepEqual(picker.onPieceFailed(0).sort(), ['a', 'b']);
    assert.equal(picker.partialCount, 0);
    assert.equal(picker.have(0), false);
    // exclusive mode: c takes the piece, a and b cannot join while c downloads it
    assert.equal(picker.pick(peer('c'), 1).length, 1);
    assert.deepEqual(picker.pick(peer('a'), 4), []);
    assert.equal(picker.isEndgame, false);
    const rest = picker.pick(peer('c'), 4);
    assert.equal(rest.length, 3);
  });
});

describe('PiecePicker: endgame', () => {
  test('when every block is requested, other peers get duplicates and arrivals cancel them', () => {
    const { picker, peer } = setupPicker({ peers: { a: '11', b: '11', c: '11' }, blocksPerPiece: 2 });
    const all = picker.pick(peer('a'), 10);
    assert.equal(all.length, 4);
    assert.equal(picker.isEndgame, true);
    const dup = picker.pick(peer('b'), 10);
    assert.deepEqual(labels(dup).sort(), labels(all).sort(), 'b duplicates every block once');
    assert.deepEqual(picker.pick(peer('b'), 10), [], 'never twice to the same peer');
    assert.equal(picker.pick(peer('c'), 10).length, 4);
    const r = picker.onBlockReceived('b', dup[0]!);
    assert.equal(r.kind, 'new');
    assert.deepEqual(r.kind === 'new' ? [...r.cancel].sort() : [], ['a', 'c']);
  });

  test('endgame caps the requesters of one block', () => {
    const peers: Record<string, string> = {};
    for (const k of ['a', 'b', 'c', 'd', 'e']) peers[k] = '1';
    const { picker, peer } = setupPicker({ peers, blocksPerPiece: 1 });
    const counts = ['a', 'b', 'c', 'd', 'e'].map((k) => picker.pick(peer(k), 5).length);
    assert.deepEqual(counts, [1, 1, 1, 0, 0]);
    assert.equal(picker.requesters(0, 0).length, 3);
  });

  test('no endgame while free blocks remain in pieces nobody has', () => {
    const { picker, peer } = setupPicker({ peers: { a: '1 ', b: '1 ' }, blocksPerPiece: 1 });
    picker.pick(peer('a'), 1);
    assert.equal(picker.isEndgame, true, 'piece 1 is unavailable, so it does not block endgame');
    assert.equal(picker.pick(peer('b'), 1).length, 1);
    picker.addPeerHave(1);
    assert.equal(picker.isEndgame, false);
  });
});
