/**
 * Fresh-first seeding (src/engine/fresh-first.ts) and the leecher side that answers it: a seed
 * refuses requests for pieces the swarm already holds or is getting from it while a less covered
 * piece exists, and suggests that one; Shoal's picker takes suggestions first and does not ask a
 * peer again for a piece it refused lately.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type EngineAction,
  FRESH_FIRST_MAX_REFUSALS,
  FRESH_FIRST_PENDING_MS,
  FreshFirst,
  type FreshFirstView,
  REFUSED_PIECE_MS,
  REFUSED_PIECE_RETRY_MS,
  SeededRandom,
  type TorrentEngine,
} from '../../../src/engine/index.js';
import {
  BLOCK_BYTES,
  MAX_PEER_REFUSED_PIECES,
  MAX_PEER_SUGGESTED_PIECES,
} from '../../../src/shared/limits.js';
import type { BlockMessage, EncodableMessage, WireMessage } from '../../../src/wire/index.js';
import { seedingEngine, twoBlockEngine } from '../../helpers/engine-fixtures.js';

const FAST = { supportsFast: true, supportsExtensions: true } as const;
const random = () => new SeededRandom(5);

/** A swarm view with settable availability. */
function view(pieceCount: number, avail: number[] = []): FreshFirstView & { avail: number[] } {
  const a = Array.from({ length: pieceCount }, (_, i) => avail[i] ?? 0);
  return { pieceCount, avail: a, availability: (i) => a[i] ?? 0 };
}
const lacks = () => false;

describe('FreshFirst (pure)', () => {
  test('a piece nobody holds or gets is served; a covered one is refused for an uncovered one', () => {
    const ff = new FreshFirst(4);
    const v = view(4, [1, 0, 0, 0]); // piece 0 is held by some peer
    const r = random();
    assert.equal(ff.redirect('a', 1, false, v, lacks, 0, r), undefined, 'uncovered: served');
    ff.onServe('a', 1, 0);
    // b asks for piece 1 (on its way to a) and c for piece 0 (held): both refused, each pointed
    // at an uncovered piece.
    const x = ff.redirect('b', 1, false, v, lacks, 1, r);
    assert.ok(x !== undefined && (x.suggest === 2 || x.suggest === 3), JSON.stringify(x));
    const y = ff.redirect('c', 0, false, v, lacks, 1, r);
    assert.ok(y !== undefined && (y.suggest === 2 || y.suggest === 3), JSON.stringify(y));
    // Another block of a refused piece: refused again, nothing new suggested.
    assert.deepEqual(ff.redirect('b', 1, false, v, lacks, 2, r), { suggest: undefined });
    // The suggested piece is served to the peer it was suggested to.
    assert.equal(ff.redirect('b', x.suggest!, false, v, lacks, 3, r), undefined);
  });

  test('a piece refused before is served once nothing less covered is left for the peer', () => {
    // The peer lacks pieces 0 (uncovered) and 1 (held by another peer): 1 is refused for 0.
    const ff = new FreshFirst(2);
    const v = view(2, [0, 1]);
    const r = random();
    const has = new Set<number>();
    const peerHas = (i: number) => has.has(i);
    assert.deepEqual(ff.redirect('a', 1, false, v, peerHas, 0, r), { suggest: 0 });
    assert.deepEqual(ff.redirect('a', 1, false, v, peerHas, 1, r), { suggest: undefined });
    // It gets piece 0 from another peer, not from us: piece 1 is all it lacks, so asking again
    // it is served (refused for good, it would never complete while we are its only source).
    has.add(0);
    v.avail[0] = 1;
    assert.equal(ff.redirect('a', 1, false, v, peerHas, 2, r), undefined);
    // The same for a choked peer's allowed-fast piece once nobody else covers it.
    const c = new FreshFirst(2);
    const w = view(2, [1, 0]);
    assert.deepEqual(c.redirect('b', 0, true, w, lacks, 0, r), { suggest: undefined });
    w.avail[0] = 0; // the peer holding it left
    assert.equal(c.redirect('b', 0, true, w, lacks, 1, r), undefined);
  });

  test('once every piece is out (no piece the peer lacks is uncovered), it is served', () => {
    const r = random();
    // Every piece is somewhere: whatever is asked is served, however covered (a refusal would
    // leave the seed's upload idle while the peers trade).
    const ff = new FreshFirst(3);
    const v = view(3, [1, 2, 9]);
    assert.equal(ff.redirect('a', 2, false, v, lacks, 0, r), undefined);
    // An uncovered piece exists: a covered one is refused for it...
    const w = view(3, [0, 2, 9]);
    assert.deepEqual(new FreshFirst(3).redirect('b', 2, false, w, lacks, 0, r), { suggest: 0 });
    // ...unless the peer has it already: pieces the peer has are never suggested.
    assert.equal(
      new FreshFirst(3).redirect('c', 2, false, w, (i) => i === 0, 0, r),
      undefined,
    );
  });

  test('a pending piece lapses after FRESH_FIRST_PENDING_MS; a HAVE turns it into availability', () => {
    const ff = new FreshFirst(2);
    const v = view(2);
    const r = random();
    ff.onServe('a', 0, 0);
    assert.equal(ff.coverage(0, v, 1), 1);
    assert.equal(ff.coverage(0, v, 1, 'a'), 0, 'the peer itself does not count');
    assert.equal(ff.coverage(0, v, FRESH_FIRST_PENDING_MS), 0, 'lapsed');
    ff.onServe('a', 0, 100);
    ff.onHave('a', 0, 100);
    v.avail[0] = 1;
    assert.equal(ff.coverage(0, v, 101), 1);
    ff.onServe('b', 1, 100);
    ff.removePeer('b');
    assert.equal(ff.coverage(1, v, 101), 0, 'a departed peer covers nothing');
    assert.equal(ff.redirect('c', 1, false, v, lacks, 102, r), undefined);
  });

  test('a choked peer (allowed-fast) gets only uncovered pieces, and no suggestion', () => {
    const ff = new FreshFirst(3);
    const v = view(3, [1, 0, 0]);
    const r = random();
    assert.deepEqual(ff.redirect('a', 0, true, v, lacks, 0, r), { suggest: undefined });
    assert.equal(ff.redirect('a', 1, true, v, lacks, 0, r), undefined);
  });

  test(`after FRESH_FIRST_MAX_REFUSALS (${FRESH_FIRST_MAX_REFUSALS}) pieces refused in a row the peer is served`, () => {
    const n = FRESH_FIRST_MAX_REFUSALS + 8;
    const ff = new FreshFirst(n);
    // Pieces 0 … MAX are held elsewhere; the rest are uncovered.
    const v = view(
      n,
      Array.from({ length: FRESH_FIRST_MAX_REFUSALS + 1 }, () => 1),
    );
    const r = random();
    for (let k = 0; k < FRESH_FIRST_MAX_REFUSALS; k++) {
      // More blocks of a refused piece are refused without counting as another refusal.
      if (k > 0) assert.deepEqual(ff.redirect('a', k - 1, false, v, lacks, k, r), { suggest: undefined });
      assert.notEqual(ff.redirect('a', k, false, v, lacks, k, r), undefined, `refusal ${k + 1}`);
    }
    const last = FRESH_FIRST_MAX_REFUSALS;
    assert.equal(ff.redirect('a', last, false, v, lacks, 99, r), undefined, 'the insisting peer is served');
    ff.onServe('a', last, 99);
    assert.notEqual(ff.redirect('a', 0, false, v, lacks, 100, r), undefined, 'serving resets the count');
  });

  test('property: a suggestion is a piece the peer lacks and less covered than the one refused', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(3), { minLength: 2, maxLength: 24 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.nat(23), fc.boolean(), fc.nat(5000)), {
          maxLength: 60,
        }),
        fc.array(fc.nat(23), { maxLength: 12 }),
        (avail, ops, has) => {
          const n = avail.length;
          const ff = new FreshFirst(n);
          const v = view(n, avail);
          const r = random();
          const peerHas = (i: number) => has.includes(i);
          let now = 0;
          for (const [peer, p, choked, dt] of ops) {
            now += dt;
            const piece = p % n;
            if (peerHas(piece)) continue;
            const before = ff.coverage(piece, v, now, peer);
            const x = ff.redirect(peer, piece, choked, v, peerHas, now, r);
            if (x === undefined) ff.onServe(peer, piece, now);
            else if (x.suggest !== undefined) {
              assert.ok(!choked, 'no suggestion to a choked peer');
              assert.ok(!peerHas(x.suggest) && x.suggest !== piece);
              // Only pieces nobody has or gets are suggested.
              assert.equal(ff.coverage(x.suggest, v, now, peer), 0);
              assert.ok(before > 0);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

// --------------------------------------------------------------------------- the engine

const seeding = seedingEngine;
const leeching = (pieces: number): TorrentEngine => twoBlockEngine(pieces);
function sends(actions: EngineAction[], peer: string): EncodableMessage[] {
  return actions.flatMap((a) => (a.type === 'send' && a.peer === peer ? [a.msg] : []));
}
const req = (index: number, begin = 0): WireMessage => ({
  type: 'request',
  index,
  begin,
  length: BLOCK_BYTES,
});
function blockRequests(msgs: readonly EncodableMessage[]): BlockMessage[] {
  return msgs.filter((m): m is BlockMessage => m.type === 'request');
}
function requested(actions: EngineAction[], peer: string): number[] {
  return sends(actions, peer).flatMap((m) => (m.type === 'request' ? [m.index] : []));
}
function unchokedLeecher(e: TorrentEngine, key: string, now = 0): void {
  e.addPeer(key, FAST, now);
  e.onMessage(key, { type: 'have-none' }, now);
  e.onMessage(key, { type: 'interested' }, now);
}

describe('TorrentEngine: fresh-first seeding', () => {
  test('a second peer asking for a piece on its way to the first is refused and pointed elsewhere', () => {
    const e = seeding(8);
    unchokedLeecher(e, 'a');
    unchokedLeecher(e, 'b');
    assert.equal(
      e.onMessage('a', req(3), 1).filter((x) => x.type === 'read-block').length,
      1,
      'a gets piece 3',
    );
    const out = sends(e.onMessage('b', req(3), 2), 'b');
    assert.deepEqual(out[0], { type: 'reject-request', index: 3, begin: 0, length: BLOCK_BYTES });
    const s = out[1];
    assert.ok(s?.type === 'suggest-piece' && s.index !== 3, JSON.stringify(out));
    assert.equal(
      e.onMessage('b', req(s.index), 3).filter((x) => x.type === 'read-block').length,
      1,
      'the suggested piece is served',
    );
    // A piece a peer announced is covered too.
    e.onMessage('a', { type: 'have', index: 5 }, 4);
    assert.equal(sends(e.onMessage('b', req(5), 5), 'b')[0]?.type, 'reject-request');
  });

  test('with freshFirst off, or once nothing is less covered, a seed serves what it is asked', () => {
    const off = seeding(4, { freshFirst: false });
    unchokedLeecher(off, 'a');
    unchokedLeecher(off, 'b');
    off.onMessage('a', req(0), 1);
    assert.equal(off.onMessage('b', req(0), 2).filter((x) => x.type === 'read-block').length, 1);

    const on = seeding(2);
    unchokedLeecher(on, 'a');
    unchokedLeecher(on, 'b');
    on.onMessage('a', { type: 'have', index: 0 }, 1);
    on.onMessage('a', { type: 'have', index: 1 }, 1);
    assert.equal(on.onMessage('b', req(0), 2).filter((x) => x.type === 'read-block').length, 1);
  });
});

describe('TorrentEngine: suggestions and refusals from a peer', () => {
  test('a suggested piece is requested first', () => {
    const e = leeching(64);
    e.addPeer('s', FAST, 0);
    e.onMessage('s', { type: 'have-all' }, 0);
    e.onMessage('s', { type: 'suggest-piece', index: 41 }, 0);
    assert.equal(requested(e.onMessage('s', { type: 'unchoke' }, 0), 's')[0], 41);
  });

  test('a piece refused while unchoked is not asked of that peer again for REFUSED_PIECE_MS', () => {
    const e = leeching(4);
    e.addPeer('s', FAST, 0);
    e.onMessage('s', { type: 'have-all' }, 0);
    const asked = blockRequests(sends(e.onMessage('s', { type: 'unchoke' }, 0), 's'));
    const x = asked[0]!.index;
    // The seed refuses every block of piece x it was asked for.
    const out: EngineAction[] = [];
    for (const m of asked)
      if (m.index === x) out.push(...e.onMessage('s', { ...m, type: 'reject-request' }, 1));
    assert.ok(!requested(out, 's').includes(x), 'not asked again at once');
    // The other pieces arrive; piece x is still not asked of s within the window.
    const pending = asked.filter((m) => m.index !== x);
    const more: BlockMessage[] = [...pending, ...blockRequests(sends(out, 's'))];
    for (let guard = 0; guard < 64 && more.length > 0; guard++) {
      const m = more.shift()!;
      assert.notEqual(m.index, x, 'piece x asked again within the window');
      const got = e.onMessage(
        's',
        { type: 'piece', index: m.index, begin: m.begin, block: new Uint8Array(m.length) },
        2,
      );
      more.push(...blockRequests(sends(got, 's')));
    }
    // After the window, the next chance to fill asks for it again.
    const again = e.onMessage('s', { type: 'unchoke' }, 2 + REFUSED_PIECE_MS);
    assert.ok(requested(again, 's').includes(x), 'asked again after the window');
  });

  test('the end of a refusal window is a deadline: tick asks for the piece again, and the deadline moves on', () => {
    const e = leeching(1);
    e.addPeer('s', FAST, 0);
    e.onMessage('s', { type: 'have-all' }, 0);
    const asked = blockRequests(sends(e.onMessage('s', { type: 'unchoke' }, 0), 's'));
    assert.ok(asked.length > 0);
    for (const m of asked) e.onMessage('s', { ...m, type: 'reject-request' }, 5);
    const at = 5 + REFUSED_PIECE_MS;
    assert.ok(e.nextDeadline()! <= at, `deadline ${e.nextDeadline()} by ${at}`);
    assert.ok(requested(e.tick(at), 's').includes(0), 'asked again when the window ends');
    assert.ok(e.nextDeadline()! > at, 'no deadline left in the past (no busy timer)');
    // Also when the peer chokes us meanwhile (nothing can be asked): the window still closes.
    const c = leeching(1);
    c.addPeer('s', FAST, 0);
    c.onMessage('s', { type: 'have-all' }, 0);
    for (const m of blockRequests(sends(c.onMessage('s', { type: 'unchoke' }, 0), 's')))
      c.onMessage('s', { ...m, type: 'reject-request' }, 5);
    c.onMessage('s', { type: 'choke' }, 6);
    assert.ok(c.nextDeadline()! <= at);
    assert.deepEqual(requested(c.tick(at), 's'), []);
    assert.ok(c.nextDeadline()! > at, 'no deadline left in the past (no busy timer)');
  });

  test(`a refused piece nobody else offers is asked again after REFUSED_PIECE_RETRY_MS (${REFUSED_PIECE_RETRY_MS} ms) once nothing else can be asked`, () => {
    // The seed counted on a copy at a peer that never shares: the piece is nowhere else we can
    // get it, so waiting out REFUSED_PIECE_MS would only stall the download.
    const e = leeching(1);
    e.addPeer('s', FAST, 0);
    e.onMessage('s', { type: 'have-all' }, 0);
    for (const m of blockRequests(sends(e.onMessage('s', { type: 'unchoke' }, 0), 's')))
      e.onMessage('s', { ...m, type: 'reject-request' }, 5);
    const at = 5 + REFUSED_PIECE_RETRY_MS;
    assert.equal(e.nextDeadline(), at);
    assert.deepEqual(requested(e.tick(at - 1), 's'), [], 'not before the retry time');
    assert.deepEqual(requested(e.tick(at), 's'), [0, 0], 'asked again');
    // Refused again: a new window, and again one retry after REFUSED_PIECE_RETRY_MS (no loop).
    e.onMessage('s', { type: 'reject-request', index: 0, begin: 0, length: BLOCK_BYTES }, at + 1);
    e.onMessage('s', { type: 'reject-request', index: 0, begin: BLOCK_BYTES, length: BLOCK_BYTES }, at + 1);
    assert.equal(e.nextDeadline(), at + 1 + REFUSED_PIECE_RETRY_MS);

    // With another peer that unchokes us and has the piece, the refusal stands its full window.
    const f = leeching(1);
    f.addPeer('s', FAST, 0);
    f.onMessage('s', { type: 'have-all' }, 0);
    const asked = blockRequests(sends(f.onMessage('s', { type: 'unchoke' }, 0), 's'));
    f.addPeer('o', FAST, 1);
    f.onMessage('o', { type: 'have-all' }, 1);
    f.onMessage('o', { type: 'unchoke' }, 1);
    for (const m of asked) f.onMessage('s', { ...m, type: 'reject-request' }, 5);
    assert.deepEqual(requested(f.tick(at), 's'), [], 'no early retry');
    assert.ok(f.nextDeadline()! > at, 'no deadline left in the past (no busy timer)');
    // That peer leaves (a sharer done): the refusing seed is all that is left, and it is asked
    // again REFUSED_PIECE_RETRY_MS later, not at the end of the window.
    f.removePeer('o', at + 1);
    const later = at + REFUSED_PIECE_RETRY_MS;
    assert.ok(f.nextDeadline()! <= later, `deadline ${f.nextDeadline()} by ${later}`);
    assert.deepEqual(requested(f.tick(later), 's'), [0, 0], 'asked again once o left');

    // ...unless that peer refused it too: then each is asked again once.
    const g = leeching(1);
    for (const k of ['s', 'o']) {
      g.addPeer(k, FAST, 0);
      g.onMessage(k, { type: 'have-all' }, 0);
    }
    const first = blockRequests(sends(g.onMessage('s', { type: 'unchoke' }, 0), 's'));
    for (const m of first) g.onMessage('s', { ...m, type: 'reject-request' }, 5);
    const second = blockRequests(sends(g.onMessage('o', { type: 'unchoke' }, 5), 'o'));
    assert.equal(second.length, 2, 'o is asked once s refused');
    for (const m of second) g.onMessage('o', { ...m, type: 'reject-request' }, 6);
    const again = g.tick(6 + REFUSED_PIECE_RETRY_MS);
    assert.deepEqual(
      [...requested(again, 's'), ...requested(again, 'o')],
      [0, 0],
      'asked again, of one of them',
    );
  });

  test(`bounds: MAX_PEER_SUGGESTED_PIECES (${MAX_PEER_SUGGESTED_PIECES}) and MAX_PEER_REFUSED_PIECES (${MAX_PEER_REFUSED_PIECES})`, () => {
    const pieces = MAX_PEER_REFUSED_PIECES + 10;
    const e = leeching(pieces);
    e.addPeer('s', FAST, 0);
    e.onMessage('s', { type: 'have-all' }, 0);
    // One more suggestion than the bound: the oldest is forgotten, so it is not requested first.
    for (let i = 0; i <= MAX_PEER_SUGGESTED_PIECES; i++)
      e.onMessage('s', { type: 'suggest-piece', index: i }, 0);
    const first = requested(e.onMessage('s', { type: 'unchoke' }, 0), 's');
    assert.ok(first.length > 0);
    assert.ok(!first.includes(0), 'the oldest suggestion was evicted');
    assert.ok(
      first.every((i) => i >= 1 && i <= MAX_PEER_SUGGESTED_PIECES),
      JSON.stringify(first),
    );

    // Refusals past the bound: with one piece more than MAX_PEER_REFUSED_PIECES, refusing every
    // request evicts the oldest refusal once all are refused, so that piece is asked again within
    // REFUSED_PIECE_MS (an unbounded memory would leave nothing to ask).
    const ee = leeching(MAX_PEER_REFUSED_PIECES + 1);
    ee.addPeer('s', FAST, 0);
    ee.onMessage('s', { type: 'have-all' }, 0);
    const queue: EncodableMessage[] = sends(ee.onMessage('s', { type: 'unchoke' }, 0), 's');
    const refused: number[] = [];
    let reasked: number | undefined;
    for (let guard = 0; guard < 10 * pieces && reasked === undefined; guard++) {
      const m = queue.shift();
      if (m === undefined) break;
      if (m.type !== 'request') continue;
      if (refused.includes(m.index) && m.begin === 0) {
        reasked = m.index;
        break;
      }
      if (!refused.includes(m.index)) refused.push(m.index);
      queue.push(
        ...sends(
          ee.onMessage('s', { type: 'reject-request', index: m.index, begin: m.begin, length: m.length }, 1),
          's',
        ),
      );
    }
    assert.equal(refused.length, MAX_PEER_REFUSED_PIECES + 1, 'every piece was refused once');
    assert.equal(reasked, refused[0], 'the oldest refusal was forgotten and asked again');
  });
});
