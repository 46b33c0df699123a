/**
 * A seed's round-robin turns (src/engine/torrent-engine.ts, choker.ts): a turn ends between
 * pieces (no piece is left half-sent to a peer that nobody else can finish it from), a peer that
 * asks for nothing loses its turn to one that waits, and with nobody waiting a turn never pauses
 * the upload. Fresh-first seeding decides again when a block leaves the queue, so a queued
 * request for a piece that meanwhile went to another peer is refused then.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  allowedFastSet,
  type EngineAction,
  RECHOKE_INTERVAL_MS,
  SEED_IDLE_TURN_MS,
  type TorrentEngine,
} from '../../../src/engine/index.js';
import { BLOCK_BYTES } from '../../../src/shared/limits.js';
import type { EncodableMessage, WireMessage } from '../../../src/wire/index.js';
import { seedingEngine } from '../../helpers/engine-fixtures.js';

const FAST = { supportsFast: true, supportsExtensions: true } as const;
type Read = Extract<EngineAction, { type: 'read-block' }>;

const seeding = seedingEngine;
const sends = (actions: EngineAction[], peer: string): EncodableMessage[] =>
  actions.flatMap((a) => (a.type === 'send' && a.peer === peer ? [a.msg] : []));
const reads = (actions: EngineAction[], peer: string): Read[] =>
  actions.filter((a): a is Read => a.type === 'read-block' && a.peer === peer);
const req = (index: number, block = 0): WireMessage => ({
  type: 'request',
  index,
  begin: block * BLOCK_BYTES,
  length: BLOCK_BYTES,
});
/** A peer with nothing, interested: returns what the engine did. */
function interested(e: TorrentEngine, key: string, now = 0): EngineAction[] {
  e.addPeer(key, FAST, now);
  e.onMessage(key, { type: 'have-none' }, now);
  return e.onMessage(key, { type: 'interested' }, now);
}
/** Asks for both blocks of each piece, returns the reads started. */
function ask(e: TorrentEngine, key: string, pieces: number[], now: number): Read[] {
  return pieces.flatMap((i) => [0, 1].flatMap((b) => reads(e.onMessage(key, req(i, b), now), key)));
}
const sent = (e: TorrentEngine, r: Read, now: number): EngineAction[] =>
  e.onBlockSent(r.peer, { piece: r.piece, offset: r.offset, length: r.length }, now);

describe('a seed ends round-robin turns between pieces', () => {
  const one = { slots: 1, optimisticSlots: 0, freshFirst: false } as const;

  test('with a peer waiting, a turn sends the piece it began, then the slot changes hands', () => {
    const e = seeding(8, one);
    assert.ok(sends(interested(e, 'a'), 'a').some((m) => m.type === 'unchoke'));
    assert.ok(!sends(interested(e, 'b'), 'b').some((m) => m.type === 'unchoke'), 'b waits');
    const r = ask(e, 'a', [0, 1, 2], 1);
    assert.deepEqual(
      r.map((x) => x.piece),
      [0, 0],
      'the turn (one piece) reads only the piece it began',
    );
    assert.equal(sends(sent(e, r[0]!, 2), 'a').length, 0, 'mid-piece: the turn goes on');
    const out = sent(e, r[1]!, 3);
    const toA = sends(out, 'a');
    assert.equal(toA[0]?.type, 'choke');
    assert.deepEqual(
      toA.slice(1).map((m) => (m.type === 'reject-request' ? m.index : -1)),
      [1, 1, 2, 2],
      'the pieces not begun are rejected after the choke',
    );
    assert.deepEqual(sends(out, 'b'), [{ type: 'unchoke' }]);
  });

  test('with nobody waiting, the next piece is read without a pause', () => {
    const e = seeding(8, one);
    interested(e, 'a');
    const r = ask(e, 'a', [0, 1, 2], 1);
    assert.deepEqual(
      r.map((x) => x.piece),
      [0, 0, 1, 1],
    );
    const next = reads(sent(e, r[0]!, 2), 'a');
    assert.deepEqual(
      next.map((x) => x.piece),
      [2],
    );
  });

  test(`a peer sent nothing for SEED_IDLE_TURN_MS (${SEED_IDLE_TURN_MS} ms) loses its turn to one that waits`, () => {
    const e = seeding(8, one);
    interested(e, 'a');
    assert.ok(e.nextDeadline()! >= RECHOKE_INTERVAL_MS, 'nobody waits: no idle deadline');
    interested(e, 'b', 10);
    assert.equal(e.nextDeadline(), SEED_IDLE_TURN_MS, 'a has been idle since its unchoke at 0');
    assert.deepEqual(e.tick(SEED_IDLE_TURN_MS - 1), [], 'not yet');
    const out = e.tick(SEED_IDLE_TURN_MS);
    assert.deepEqual(sends(out, 'a'), [{ type: 'choke' }]);
    assert.deepEqual(sends(out, 'b'), [{ type: 'unchoke' }]);
    // A peer that is being served is not idle.
    const r = ask(e, 'b', [0], SEED_IDLE_TURN_MS + 1);
    sent(e, r[0]!, 2 * SEED_IDLE_TURN_MS);
    assert.ok(e.nextDeadline()! > 2 * SEED_IDLE_TURN_MS);
  });
});

test('fresh-first: a queued request is refused when its piece went to another peer meanwhile', () => {
  const e = seeding(8, { slots: 2, optimisticSlots: 0 });
  interested(e, 'a');
  interested(e, 'b');
  const r = ask(e, 'a', [0, 1, 2], 1);
  assert.deepEqual(
    r.map((x) => x.piece),
    [0, 0, 1, 1],
    'piece 2 waits in the queue',
  );
  assert.equal(ask(e, 'b', [2], 2).length, 2, 'b gets piece 2 first');
  // a's turn for piece 2 comes: it is on its way to b now, and pieces 3… are on nobody.
  const toA = sends(sent(e, r[0]!, 3), 'a');
  assert.deepEqual(toA[0], { type: 'reject-request', index: 2, begin: 0, length: BLOCK_BYTES });
  assert.deepEqual(toA[1]?.type, 'suggest-piece');
  assert.ok(toA[1]?.type === 'suggest-piece' && toA[1].index >= 3, JSON.stringify(toA));
  assert.deepEqual(toA[2], {
    type: 'reject-request',
    index: 2,
    begin: BLOCK_BYTES,
    length: BLOCK_BYTES,
  });
});

describe('a choke and the allowed-fast requests it keeps (BEP 6)', () => {
  const one = { slots: 1, optimisticSlots: 0, freshFirst: false } as const;
  const ip = new Uint8Array([10, 0, 0, 1]);
  /** An interested peer at `ip` with the given pieces (none by default). */
  function join(e: TorrentEngine, key: string, now: number, have: number[] = []): void {
    e.addPeer(key, { ...FAST, ip }, now);
    e.onMessage(key, { type: 'have-none' }, now);
    for (const i of have) e.onMessage(key, { type: 'have', index: i }, now);
    e.onMessage(key, { type: 'interested' }, now);
  }

  test('a starting peer keeps them through the choke, and they are read then, not left waiting', () => {
    // 8 pieces, k = 8: every piece is allowed fast for the peer.
    const e = seeding(8, { ...one, allowedFastSetSize: 8 });
    join(e, 'a', 0);
    join(e, 'b', 0);
    const r = ask(e, 'a', [0, 1, 2], 1);
    assert.deepEqual(
      r.map((x) => x.piece),
      [0, 0],
      'b waits: the turn reads only the piece it began',
    );
    sent(e, r[0]!, 2);
    const out = sent(e, r[1]!, 3);
    assert.equal(sends(out, 'a')[0]?.type, 'choke');
    assert.ok(!sends(out, 'a').some((m) => m.type === 'reject-request'), 'allowed-fast: kept, not rejected');
    // Before: kept, then never read — the peer waited on them until its request timeout.
    assert.deepEqual(
      reads(out, 'a').map((x) => x.piece),
      [1, 1, 2, 2],
      'the kept requests are served as a choked peer’s',
    );
  });

  test('a peer past k pieces loses them at the choke (rejected), as it would asking while choked', () => {
    const k = 4;
    const e = seeding(16, { ...one, allowedFastSetSize: k });
    const fast = allowedFastSet(ip, new Uint8Array(20).fill(7), 16, k);
    const other = Array.from({ length: 16 }, (_, i) => i).filter((i) => !fast.includes(i));
    join(e, 'a', 0, other.slice(0, k + 1));
    join(e, 'b', 0);
    const r = ask(e, 'a', fast.slice(0, 2), 1);
    assert.equal(r.length, 2, 'the first piece is read, the second waits');
    sent(e, r[0]!, 2);
    const out = sent(e, r[1]!, 3);
    const toA = sends(out, 'a');
    assert.equal(toA[0]?.type, 'choke');
    assert.deepEqual(
      toA.slice(1).map((m) => (m.type === 'reject-request' ? m.index : -1)),
      [fast[1], fast[1]],
    );
    assert.deepEqual(reads(out, 'a'), []);
  });
});
