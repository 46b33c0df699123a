/**
 * The choker's incentive rules (issue 8): strict tit-for-tat while downloading (regular slots for
 * reciprocating peers and newcomers only), optimistic turns on probation (refilled between
 * rotations only with peers known to share), and a seed's round robin that ends turns by bytes
 * and serves hoarders last. Plus the engine paths that feed them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Choker,
  type ChokerPeerView,
  FRESH_FIRST_HOARDER_GRACE_MS,
  FreshFirst,
  regularSlotEligible,
  SeededRandom,
  TFT_NEWCOMER_PIECES,
  TorrentEngine,
  type TorrentEngineOptions,
  UNRETURNED_TURN_PENALTY,
  uniformLayout,
} from '../../../src/engine/index.js';
import { BLOCK_BYTES } from '../../../src/shared/limits.js';

const NOW = 3_600_000;
function peer(key: string, v: Partial<ChokerPeerView> = {}): ChokerPeerView {
  return {
    key,
    isInterested: true,
    isChoked: true,
    isSnubbed: false,
    downloadRate: 0,
    uploadRate: 0,
    connectedAt: 0,
    lastUnchokedAt: undefined,
    pieceCount: TFT_NEWCOMER_PIECES,
    ...v,
  };
}

describe('Choker: strict tit-for-tat', () => {
  test('a peer that has pieces to trade and sends us nothing gets no regular slot', () => {
    const c = new Choker({ optimisticSlots: 0 });
    const d = c.rechoke(
      [
        peer('giver', { downloadRate: 1000 }),
        peer('newcomer', { pieceCount: TFT_NEWCOMER_PIECES - 1 }),
        peer('taker'),
        peer('taker-unchoked', { isChoked: false, lastUnchokedAt: NOW - 1 }),
      ],
      NOW,
      new SeededRandom(1),
      'leech',
    );
    assert.deepEqual([...d.unchoke].sort(), ['giver', 'newcomer']);
    assert.deepEqual(d.choke, ['taker-unchoked'], 'a spare slot is not kept for a taker');
    // A seed serves everyone.
    assert.equal(regularSlotEligible(peer('x'), 'seed'), true);
    assert.equal(regularSlotEligible(peer('x'), 'leech'), false);
    assert.equal(regularSlotEligible(peer('x', { downloadRate: 1 }), 'leech'), true);
  });

  test('an optimistic turn that gets nothing back ends after its probation bytes, and the peer is drawn less', () => {
    /** Rounds (1 s each) during which each peer held the optimistic slot. */
    const run = (probation: number | undefined): Map<string, number> => {
      const c = new Choker({
        slots: 0,
        optimisticSlots: 1,
        ...(probation ? { optimisticProbationBytes: probation } : {}),
      });
      const random = new SeededRandom(4);
      const held = new Map<string, number>();
      const got = new Map<string, number>();
      let now = NOW;
      let current: string | undefined;
      for (let round = 0; round < 600; round++) {
        now += 1000;
        // The optimistic peer got 1000 bytes from us this round; the sharer sends some back.
        if (current === 'sharer') got.set('sharer', (got.get('sharer') ?? 0) + 500);
        const views = ['sharer', 'taker1', 'taker2'].map((k) =>
          peer(k, {
            isChoked: k !== current,
            lastUnchokedAt: k === current ? now - 1000 : undefined,
            uploadedSinceUnchoke: k === current ? 1000 : 0,
            downloadedBytes: got.get(k) ?? 0,
          }),
        );
        current = c.rechoke(views, now, random, 'leech').optimistic[0];
        if (current !== undefined) held.set(current, (held.get(current) ?? 0) + 1);
      }
      return held;
    };
    const strict = run(1000);
    const takers = (m: Map<string, number>) => (m.get('taker1') ?? 0) + (m.get('taker2') ?? 0);
    assert.ok(takers(strict) > 0, 'takers still get the odd turn');
    assert.ok(
      (strict.get('sharer') ?? 0) > 5 * takers(strict),
      `with probation: ${JSON.stringify([...strict])}`,
    );
    // Without a byte probation takers keep each turn for a rechoke interval (10 rounds here).
    const lax = run(undefined);
    assert.ok(
      takers(strict) * 3 < takers(lax),
      `${JSON.stringify([...strict])} vs ${JSON.stringify([...lax])}`,
    );
    assert.ok(UNRETURNED_TURN_PENALTY > 0);
  });

  test('a peer we want nothing from takes a regular slot only if it ever unchoked us (it shares)', () => {
    const behind = { amInterested: false, pieceCount: TFT_NEWCOMER_PIECES };
    assert.equal(regularSlotEligible(peer('free-rider', behind), 'leech'), false);
    assert.equal(regularSlotEligible(peer('sharer', { ...behind, hasUnchokedUs: true }), 'leech'), true);
    assert.equal(
      regularSlotEligible(peer('newcomer', { ...behind, pieceCount: TFT_NEWCOMER_PIECES - 1 }), 'leech'),
      true,
    );
  });

  test('between rotations a lost optimistic turn passes only to a peer that unchoked us, or a newcomer', () => {
    const c = new Choker({ slots: 0, optimisticSlots: 1, optimisticProbationBytes: 1000 });
    const random = new SeededRandom(6);
    // At the rotation the only candidate, a taker we want nothing from, gets the turn.
    const behind = { amInterested: false } as const;
    assert.deepEqual(c.rechoke([peer('taker', behind)], NOW, random, 'leech').optimistic, ['taker']);
    // It takes its probation bytes and sends nothing: the turn ends (though it has nothing we
    // want), and another taker does not get the slot before the next rotation...
    const used = { ...behind, isChoked: false, lastUnchokedAt: NOW, uploadedSinceUnchoke: 1000 };
    const d = c.rechoke([peer('taker', used), peer('taker2')], NOW + 1000, random, 'leech');
    assert.deepEqual([d.optimistic, d.choke, d.unchoke], [[], ['taker'], []]);
    // ...while a peer that once unchoked us, or a newcomer, does.
    for (const next of [
      peer('sharer', { hasUnchokedUs: true }),
      peer('newcomer', { pieceCount: TFT_NEWCOMER_PIECES - 1 }),
    ]) {
      const cc = new Choker({ slots: 0, optimisticSlots: 1, optimisticProbationBytes: 1000 });
      cc.rechoke([peer('taker', behind)], NOW, random, 'leech');
      const e = cc.rechoke([peer('taker', used), peer('taker2'), next], NOW + 1000, random, 'leech');
      assert.deepEqual(e.optimistic, [next.key]);
    }
    // At the next rotation anyone may be drawn again.
    assert.deepEqual(c.rechoke([peer('taker2')], NOW + 31_000, random, 'leech').optimistic, ['taker2']);
  });

  test("a seed's round-robin turn ends after roundRobinBytes; hoarders wait behind everyone", () => {
    const c = new Choker({ slots: 1, optimisticSlots: 0, roundRobinBytes: 1000 });
    const random = new SeededRandom(2);
    const busy = peer('a', { isChoked: false, lastUnchokedAt: NOW - 100, uploadedSinceUnchoke: 999 });
    assert.deepEqual(c.rechoke([busy, peer('b')], NOW, random, 'seed').unchoke, [], 'a keeps its turn');
    const done = { ...busy, uploadedSinceUnchoke: 1000 };
    const d = c.rechoke([done, peer('b')], NOW, random, 'seed');
    assert.deepEqual([d.unchoke, d.choke], [['b'], ['a']], 'the next peer in line takes the slot');
    const h = c.rechoke(
      [peer('hoarder', { isHoarder: true, lastUnchokedAt: 0 }), peer('c', { lastUnchokedAt: NOW })],
      NOW,
      random,
      'seed',
    );
    assert.deepEqual(h.unchoke, ['c'], 'a hoarder that waited longer still comes last');
    assert.equal(c.turnBytes('x', 'seed'), 1000);
  });

  test("a seed's optimistic turn ends like a round-robin turn, and at once for a peer found hoarding", () => {
    const c = new Choker({ slots: 1, optimisticSlots: 1, roundRobinBytes: 1000 });
    const random = new SeededRandom(3);
    const first = c.rechoke([peer('a'), peer('b')], NOW, random, 'seed');
    assert.equal(first.optimistic.length, 1);
    const o = first.optimistic[0]!;
    const r = o === 'a' ? 'b' : 'a';
    const unchoked = (key: string, sent: number, v: Partial<ChokerPeerView> = {}) =>
      peer(key, { isChoked: false, lastUnchokedAt: NOW, uploadedSinceUnchoke: sent, ...v });
    // Within its bytes the optimistic peer keeps the slot; a third peer waits.
    const t = NOW + 1000;
    const keep = c.rechoke([unchoked(o, 999), unchoked(r, 0), peer('w')], t, random, 'seed');
    assert.deepEqual(keep.optimistic, [o]);
    // Its bytes are used up: the slot goes to the waiting peer, long before the 30 s rotation.
    const over = c.rechoke([unchoked(o, 1000), unchoked(r, 0), peer('w')], t + 1, random, 'seed');
    assert.deepEqual(over.optimistic, ['w']);
    assert.deepEqual(over.choke, [o]);
    // A peer found hoarding loses the optimistic slot at once, bytes left or not.
    const d = new Choker({ slots: 1, optimisticSlots: 1, roundRobinBytes: 1000 });
    const f = d.rechoke([peer('a'), peer('b')], NOW, new SeededRandom(3), 'seed');
    const h = f.optimistic[0]!;
    const g = d.rechoke(
      [unchoked(h, 0, { isHoarder: true }), unchoked(h === 'a' ? 'b' : 'a', 0), peer('w')],
      t,
      new SeededRandom(3),
      'seed',
    );
    assert.deepEqual(g.optimistic, ['w']);
    assert.ok(g.choke.includes(h));
  });
});

describe('FreshFirst: who shares', () => {
  test('a peer whose pieces from us never reach anyone is a hoarder after the grace time', () => {
    const ff = new FreshFirst(8);
    ff.onServe('fr', 0, 0);
    ff.onServe('fr', 1, 0);
    ff.onHave('fr', 0, 100);
    ff.onHave('fr', 1, 200);
    assert.equal(ff.isHoarder('fr', 200 + FRESH_FIRST_HOARDER_GRACE_MS - 1), false, 'within the grace time');
    assert.equal(ff.isHoarder('fr', 200 + FRESH_FIRST_HOARDER_GRACE_MS), true);
    // A sharer: a piece we gave only to it shows up at another peer.
    ff.onServe('s', 2, 0);
    ff.onServe('s', 3, 0);
    ff.onHave('s', 2, 100);
    ff.onHave('s', 3, 100);
    ff.onHave('other', 2, 300);
    assert.equal(ff.isHoarder('s', 100 + 10 * FRESH_FIRST_HOARDER_GRACE_MS), false);
    ff.removePeer('fr');
    assert.equal(ff.isHoarder('fr', 1e9), false, 'a departed peer is forgotten');
  });

  test("a hoarder's copy of a piece we gave it does not cover the piece", () => {
    const ff = new FreshFirst(4);
    const avail = [0, 0, 0, 0];
    const view = { pieceCount: 4, availability: (i: number) => avail[i]! };
    for (const i of [0, 1]) {
      ff.onServe('fr', i, 0);
      ff.onHave('fr', i, 100);
      avail[i]!++;
    }
    assert.equal(ff.coverage(0, view, 100), 1, 'not known as a hoarder yet: its copy counts');
    const later = 100 + FRESH_FIRST_HOARDER_GRACE_MS;
    assert.equal(ff.coverage(0, view, later), 0, "a hoarder's copy does not");
    // A sharer asking for piece 0 is served (nobody else can give it), not pointed elsewhere.
    assert.equal(
      ff.redirect('s', 0, false, view, () => false, later, new SeededRandom(1)),
      undefined,
    );
    // Pieces on their way to a hoarder do not count either.
    ff.onServe('fr', 2, later);
    assert.equal(ff.coverage(2, view, later), 0);
    ff.onServe('s', 3, later);
    assert.equal(ff.coverage(3, view, later), 1, 'on its way to a sharer: covered');
  });
});

describe('TorrentEngine: an interested taker does not get a free slot at once', () => {
  const pieces = 2 * TFT_NEWCOMER_PIECES;
  const fast = { supportsFast: true, supportsExtensions: true } as const;
  /** A downloading engine of one-block pieces that holds piece 0 only. */
  function leeching(options: TorrentEngineOptions = {}): TorrentEngine {
    const e = new TorrentEngine({
      infoHash: new Uint8Array(20).fill(1),
      layout: { ...uniformLayout(pieces * BLOCK_BYTES, BLOCK_BYTES), pieceLength: BLOCK_BYTES },
      random: new SeededRandom(1),
      now: 0,
      options: { allowedFastSetSize: 0, ...options },
    });
    e.setHave([0], 0);
    return e;
  }

  test('while downloading, only newcomers and reciprocating peers are unchoked on interest', () => {
    const e = leeching();
    e.addPeer('taker', fast, 0);
    const bf = new Uint8Array(Math.ceil(pieces / 8)).fill(0xff);
    bf[0] = 0x7f; // has every piece but piece 0, which it wants from us
    e.onMessage('taker', { type: 'bitfield', bitfield: bf }, 0);
    const out = e.onMessage('taker', { type: 'interested' }, 1);
    assert.ok(!out.some((a) => a.type === 'send' && a.msg.type === 'unchoke'), 'no free slot for a taker');
    e.addPeer('newcomer', fast, 0);
    e.onMessage('newcomer', { type: 'have-none' }, 0);
    const out2 = e.onMessage('newcomer', { type: 'interested' }, 1);
    assert.ok(out2.some((a) => a.type === 'send' && a.peer === 'newcomer' && a.msg.type === 'unchoke'));
  });

  test('a newcomer that reaches TFT_NEWCOMER_PIECES without sending us anything loses its slot at once', () => {
    const e = leeching({ optimisticSlots: 0 });
    e.addPeer('n', fast, 0);
    e.onMessage('n', { type: 'have-none' }, 0);
    const up = e.onMessage('n', { type: 'interested' }, 1);
    assert.ok(
      up.some((a) => a.type === 'send' && a.msg.type === 'unchoke'),
      'a newcomer gets a slot',
    );
    const choked = (out: ReturnType<TorrentEngine['tick']>) =>
      out.some((a) => a.type === 'send' && a.peer === 'n' && a.msg.type === 'choke');
    // It collects pieces (from us and others) and sends us nothing; the next scheduled rechoke
    // is seconds away.
    for (let i = 1; i < TFT_NEWCOMER_PIECES; i++)
      assert.ok(
        !choked(e.onMessage('n', { type: 'have', index: i }, 2)),
        `still a newcomer at ${i + 1} pieces`,
      );
    assert.ok(choked(e.onMessage('n', { type: 'have', index: TFT_NEWCOMER_PIECES }, 3)), 'choked at once');
  });
});
