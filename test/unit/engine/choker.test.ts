import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ALLOWED_FAST_SET_SIZE,
  allowedFastSet,
  Choker,
  type ChokerPeerView,
  mayServe,
  OPTIMISTIC_INTERVAL_MS,
  SeededRandom,
} from '../../../src/engine/index.js';

/**
 * Choker table: one line per peer, `key flags down up`, flags: `i` interested, `u` unchoked
 * (else choked), `s` snubbed, `n` new (connected now, else an hour ago).
 */
function peers(table: string, now = 3_600_000): ChokerPeerView[] {
  return table
    .trim()
    .split('\n')
    .map((line) => {
      const [key, flags, down, up] = line.trim().split(/\s+/);
      const f = flags ?? '';
      return {
        key: key!,
        isInterested: f.includes('i'),
        isChoked: !f.includes('u'),
        isSnubbed: f.includes('s'),
        downloadRate: Number(down ?? 0),
        uploadRate: Number(up ?? 0),
        connectedAt: f.includes('n') ? now : 0,
        lastUnchokedAt: f.includes('u') ? now - 1000 : undefined,
      };
    });
}

const NOW = 3_600_000;

describe('Choker: leech mode (tit-for-tat)', () => {
  test('unchokes the 4 fastest uploaders to us, plus one optimistic', () => {
    const c = new Choker({ optimisticSlots: 0 });
    const d = c.rechoke(
      peers(`
        a i  100 0
        b i  500 0
        c iu 50  0
        d i  400 0
        e i  300 0
        f -  900 0
        g is 800 0
      `),
      NOW,
      new SeededRandom(1),
      'leech',
    );
    assert.deepEqual([...d.unchoke].sort(), ['a', 'b', 'd', 'e']);
    assert.deepEqual(d.choke, ['c']);
  });

  test('never unchokes more than slots + optimistic slots; the optimistic peer is an extra', () => {
    const table = Array.from({ length: 12 }, (_, i) => `p${i} i ${i * 10} 0`).join('\n');
    const c = new Choker();
    const d = c.rechoke(peers(table), NOW, new SeededRandom(2), 'leech');
    assert.equal(d.unchoke.length, 5);
    assert.ok(['p11', 'p10', 'p9', 'p8'].every((k) => d.unchoke.includes(k)));
    assert.equal(d.optimistic.length, 1);
    assert.ok(!['p11', 'p10', 'p9', 'p8'].includes(d.optimistic[0]!));
  });

  test('the optimistic unchoke rotates every 30 s, not at every rechoke', () => {
    const table = Array.from({ length: 10 }, (_, i) => `p${i} i 0 0`).join('\n');
    const c = new Choker({ slots: 0 });
    const r = new SeededRandom(5);
    const first = c.rechoke(peers(table), NOW, r, 'leech').optimistic[0];
    assert.equal(c.rechoke(peers(table), NOW + 10_000, r, 'leech').optimistic[0], first);
    const seen = new Set<string>();
    for (let k = 1; k <= 20; k++)
      seen.add(c.rechoke(peers(table), NOW + k * OPTIMISTIC_INTERVAL_MS, r, 'leech').optimistic[0]!);
    assert.ok(seen.size > 3, 'rotation visits many peers');
  });

  test('new peers are about 3x as likely to be the optimistic unchoke', () => {
    const table = 'n1 in 0 0\no1 i 0 0\no2 i 0 0';
    let newWins = 0;
    const runs = 2000;
    const r = new SeededRandom(9);
    for (let k = 0; k < runs; k++) {
      const c = new Choker({ slots: 0 });
      if (c.rechoke(peers(table), NOW, r, 'leech').optimistic[0] === 'n1') newWins++;
    }
    // weights 3:1:1 → 60 %
    assert.ok(newWins / runs > 0.55 && newWins / runs < 0.65, `${newWins / runs}`);
  });

  test('uninterested peers are choked', () => {
    const c = new Choker();
    const d = c.rechoke(peers('a u 100 0\nb iu 10 0'), NOW, new SeededRandom(1), 'leech');
    assert.deepEqual(d.choke, ['a']);
    assert.deepEqual(d.unchoke, []);
  });
});

describe('Choker: seed mode', () => {
  test('fastest-upload unchokes the peers we upload to fastest', () => {
    const c = new Choker({ seedPolicy: 'fastest-upload', slots: 2, optimisticSlots: 0 });
    const d = c.rechoke(peers('a i 0 10\nb i 0 30\nc i 0 20\nd iu 0 5'), NOW, new SeededRandom(1), 'seed');
    assert.deepEqual([...d.unchoke].sort(), ['b', 'c']);
    assert.deepEqual(d.choke, ['d']);
  });

  test('a hoarder never gets the optimistic slot, and a regular one only when nobody else waits', () => {
    const c = new Choker({ slots: 1, optimisticSlots: 1 });
    for (let seed = 1; seed <= 50; seed++) {
      const view = peers('a i\nb i\nh i').map((p) => (p.key === 'h' ? { ...p, isHoarder: true } : p));
      const d = c.rechoke(view, NOW + seed * OPTIMISTIC_INTERVAL_MS, new SeededRandom(seed), 'seed');
      assert.ok(!d.unchoke.includes('h'), `seed ${seed}: the hoarder was unchoked`);
      assert.equal(d.optimistic.length, 1);
    }
    const alone = c.rechoke(
      peers('h i').map((p) => ({ ...p, isHoarder: true })),
      NOW + 100 * OPTIMISTIC_INTERVAL_MS,
      new SeededRandom(1),
      'seed',
    );
    assert.deepEqual(alone.unchoke, ['h']);
  });

  test('round-robin gives everyone a turn', () => {
    const c = new Choker({ slots: 2, optimisticSlots: 0, roundRobinQuantumMs: 30_000 });
    const r = new SeededRandom(4);
    const state = new Map<string, { choked: boolean; lastUnchokedAt: number | undefined }>();
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const k of keys) state.set(k, { choked: true, lastUnchokedAt: undefined });
    const served = new Set<string>();
    for (let t = 0; t < 120_000; t += 10_000) {
      const view: ChokerPeerView[] = keys.map((k) => ({
        key: k,
        isInterested: true,
        isChoked: state.get(k)!.choked,
        isSnubbed: false,
        downloadRate: 0,
        uploadRate: 100,
        connectedAt: 0,
        lastUnchokedAt: state.get(k)!.lastUnchokedAt,
      }));
      const d = c.rechoke(view, t, r, 'seed');
      for (const k of d.choke) state.get(k)!.choked = true;
      for (const k of d.unchoke) state.set(k, { choked: false, lastUnchokedAt: t });
      const unchoked = keys.filter((k) => !state.get(k)!.choked);
      assert.equal(unchoked.length, 2);
      for (const k of unchoked) served.add(k);
    }
    assert.deepEqual([...served].sort(), keys);
  });
});

describe('upload rule and BEP 6 allowed fast', () => {
  test('a choked peer is served only its allowed-fast pieces', () => {
    assert.equal(mayServe(3, false, new Set()), true);
    assert.equal(mayServe(3, true, new Set()), false);
    assert.equal(mayServe(3, true, new Set([3])), true);
  });

  test('BEP 6 test vectors, verbatim', () => {
    const ip = new Uint8Array([80, 4, 4, 200]);
    const infoHash = new Uint8Array(20).fill(0xaa);
    assert.deepEqual(allowedFastSet(ip, infoHash, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188]);
    assert.deepEqual(allowedFastSet(ip, infoHash, 1313, 9), [1059, 431, 808, 1217, 287, 376, 1188, 353, 508]);
  });

  test('the set depends on the /24 only, and k is clamped to the piece count', () => {
    const infoHash = new Uint8Array(20).fill(0xaa);
    assert.deepEqual(
      allowedFastSet(new Uint8Array([80, 4, 4, 1]), infoHash, 1313),
      allowedFastSet(new Uint8Array([80, 4, 4, 200]), infoHash, 1313),
    );
    assert.equal(allowedFastSet(new Uint8Array([80, 4, 4, 1]), infoHash, 1313).length, ALLOWED_FAST_SET_SIZE);
    assert.deepEqual(allowedFastSet(new Uint8Array([1, 2, 3, 4]), infoHash, 3, 10).sort(), [0, 1, 2]);
    assert.equal(allowedFastSet(new Uint8Array(16), infoHash, 100).length, 10);
    assert.deepEqual(allowedFastSet(new Uint8Array([1, 2, 3, 4]), infoHash, 0), []);
  });
});
