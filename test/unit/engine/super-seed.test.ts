/**
 * BEP 16 super-seeding in the pure engine: a complete seed with `superSeed` looks empty, reveals
 * SUPER_SEED_OFFERS_PER_PEER pieces per peer, prefers pieces nobody has, refuses requests for
 * anything else, replaces a piece once the peer announces it, and stops when switched off.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type EngineAction,
  SeededRandom,
  SUPER_SEED_OFFERS_PER_PEER,
  SuperSeeder,
  TorrentEngine,
  uniformLayout,
} from '../../../src/engine/index.js';
import { BLOCK_BYTES } from '../../../src/shared/limits.js';
import type { EncodableMessage } from '../../../src/wire/index.js';

const FAST = { supportsFast: true, supportsExtensions: true } as const;
const SLOW = { supportsFast: false, supportsExtensions: false } as const;

function seed(pieces: number, superSeed = true): TorrentEngine {
  const e = new TorrentEngine({
    infoHash: new Uint8Array(20).fill(3),
    layout: { ...uniformLayout(pieces * BLOCK_BYTES, BLOCK_BYTES), pieceLength: BLOCK_BYTES },
    random: new SeededRandom(9),
    now: 0,
    options: { superSeed, allowedFastSetSize: 4 },
  });
  e.setHave(
    Array.from({ length: pieces }, (_, i) => i),
    0,
  );
  return e;
}
function sends(actions: EngineAction[], peer: string): EncodableMessage[] {
  return actions.flatMap((a) => (a.type === 'send' && a.peer === peer ? [a.msg] : []));
}
function revealed(actions: EngineAction[], peer: string): number[] {
  return sends(actions, peer).flatMap((m) => (m.type === 'have' ? [m.index] : []));
}

describe('BEP 16 super-seeding', () => {
  test('a new peer sees have-none and a few revealed pieces, never have-all or allowed-fast', () => {
    const e = seed(16);
    assert.equal(e.isSuperSeeding, true);
    const a = e.addPeer('a', { ...FAST, ip: new Uint8Array([10, 0, 0, 1]) }, 0);
    const msgs = sends(a, 'a');
    assert.equal(msgs[0]?.type, 'have-none');
    assert.ok(!msgs.some((m) => m.type === 'have-all' || m.type === 'allowed-fast' || m.type === 'bitfield'));
    assert.equal(revealed(a, 'a').length, SUPER_SEED_OFFERS_PER_PEER);
    // A peer without BEP 6 gets no bitfield at all (BEP 3 allows omitting an empty one).
    const b = e.addPeer('b', SLOW, 0);
    assert.ok(!sends(b, 'b').some((m) => m.type === 'bitfield'));
    assert.equal(revealed(b, 'b').length, SUPER_SEED_OFFERS_PER_PEER);
  });

  test('each peer gets different pieces while unrevealed ones remain', () => {
    const e = seed(40);
    const seen = new Set<number>();
    for (const k of ['a', 'b', 'c', 'd', 'e']) {
      for (const i of revealed(e.addPeer(k, FAST, 0), k)) {
        assert.ok(!seen.has(i), `piece ${i} revealed twice`);
        seen.add(i);
      }
    }
    assert.equal(seen.size, 5 * SUPER_SEED_OFFERS_PER_PEER);
  });

  test('pieces peers already have are not revealed; a bitfield with an offered piece replaces it', () => {
    const e = seed(8);
    const first = revealed(e.addPeer('x', FAST, 0), 'x');
    // x turns out to hold piece 0, 1 and the first piece offered to it.
    const held = new Set([0, 1, first[0]!]);
    const bf = new Uint8Array(1);
    for (const i of held) bf[0]! |= 0x80 >> i;
    const again = revealed(e.onMessage('x', { type: 'bitfield', bitfield: bf }, 0), 'x');
    assert.equal(again.length, 1, 'the piece x already had is replaced');
    assert.ok(!held.has(again[0]!));
    const xOffers = new Set([first[1]!, again[0]!]);
    // A newcomer gets pieces nobody has and nobody was offered.
    const y = revealed(e.addPeer('y', FAST, 0), 'y');
    assert.equal(y.length, SUPER_SEED_OFFERS_PER_PEER);
    for (const i of y) assert.ok(!held.has(i) && !xOffers.has(i), `piece ${i} for y`);
  });

  test('requests outside the revealed pieces are rejected; revealed ones are served', () => {
    const e = seed(16);
    const shown = revealed(e.addPeer('a', FAST, 0), 'a');
    e.onMessage('a', { type: 'have-none' }, 0);
    const unchoke = e.onMessage('a', { type: 'interested' }, 0);
    assert.ok(sends(unchoke, 'a').some((m) => m.type === 'unchoke'));
    const hidden = [...Array(16).keys()].find((i) => !shown.includes(i))!;
    const refused = e.onMessage('a', { type: 'request', index: hidden, begin: 0, length: BLOCK_BYTES }, 1);
    assert.deepEqual(sends(refused, 'a'), [
      { type: 'reject-request', index: hidden, begin: 0, length: BLOCK_BYTES },
    ]);
    const served = e.onMessage('a', { type: 'request', index: shown[0]!, begin: 0, length: BLOCK_BYTES }, 1);
    assert.equal(served.filter((x) => x.type === 'read-block').length, 1);
  });

  test('a HAVE for a revealed piece brings a new one; other HAVEs do not', () => {
    const e = seed(16);
    const shown = revealed(e.addPeer('a', FAST, 0), 'a');
    e.onMessage('a', { type: 'have-none' }, 0);
    const other = [...Array(16).keys()].find((i) => !shown.includes(i))!;
    assert.deepEqual(revealed(e.onMessage('a', { type: 'have', index: other }, 1), 'a'), []);
    const next = revealed(e.onMessage('a', { type: 'have', index: shown[0]! }, 1), 'a');
    assert.equal(next.length, 1);
    assert.ok(!shown.includes(next[0]!) && next[0] !== other);
  });

  test('switching it off announces every piece not yet revealed to the super-seeded peers', () => {
    const e = seed(8);
    const shown = revealed(e.addPeer('a', FAST, 0), 'a');
    e.onMessage('a', { type: 'have-none' }, 0);
    const off = e.setSuperSeed(false, 1);
    assert.equal(e.isSuperSeeding, false);
    const rest = revealed(off, 'a').sort((x, y) => x - y);
    assert.deepEqual(
      rest,
      [...Array(8).keys()].filter((i) => !shown.includes(i)),
    );
    // New peers get the normal have-all now.
    assert.equal(sends(e.addPeer('b', FAST, 1), 'b')[0]?.type, 'have-all');
  });

  test('not complete: super-seeding waits (a normal bitfield goes out)', () => {
    const e = new TorrentEngine({
      infoHash: new Uint8Array(20),
      layout: { ...uniformLayout(4 * BLOCK_BYTES, BLOCK_BYTES), pieceLength: BLOCK_BYTES },
      random: new SeededRandom(1),
      now: 0,
      options: { superSeed: true },
    });
    e.setHave([0], 0);
    assert.equal(e.isSuperSeeding, false);
    assert.equal(sends(e.addPeer('a', SLOW, 0), 'a')[0]?.type, 'bitfield');
  });

  test('SuperSeeder (property): never reveals a piece the peer has, never more than the count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 63 })), {
          maxLength: 200,
        }),
        fc.integer(),
        (pieces, events, seedValue) => {
          const ss = new SuperSeeder(pieces);
          const random = new SeededRandom(seedValue);
          const has = new Map<string, Set<number>>();
          const avail = new Uint32Array(pieces);
          const view = { pieceCount: pieces, availability: (i: number) => avail[i]! };
          for (const [peer, raw] of events) {
            const key = `p${peer}`;
            const set = has.get(key) ?? new Set<number>();
            has.set(key, set);
            const index = raw % pieces;
            if (!set.has(index)) {
              set.add(index);
              avail[index]!++;
              ss.onHave(key, index);
            }
            for (const i of ss.reveal(key, view, (j) => set.has(j), random)) {
              assert.ok(!set.has(i), 'revealed a piece the peer has');
            }
            assert.ok(ss.offers(key).size <= SUPER_SEED_OFFERS_PER_PEER);
            for (const i of ss.offers(key)) assert.ok(ss.mayServe(key, i));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
