import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TRACKER_MAX_TORRENTS } from '../../../src/shared/limits.js';
import { type StateAnnounce, SwarmState, type TrackedPeer } from '../../../src/tracker/index.js';

function fakeClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** A small seeded PRNG (mulberry32) for deterministic sampling. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const H1 = 'a'.repeat(20);
const H2 = 'b'.repeat(20);
const PID = 'P'.repeat(20);

function ann(over: Partial<StateAnnounce> & { port: number }): StateAnnounce {
  return { infoHashKey: H1, family: 4, ip4: 0x7f000001, peerId: PID, left: 100, event: 'started', ...over };
}

function sampleAll(
  s: SwarmState,
  key: string,
  family: 4 | 6,
  max: number,
  requester = { family: 4 as const, ip4: 0, port: 0 },
) {
  const got: TrackedPeer[] = [];
  s.sample(key, family, max, requester, (p) => got.push(p));
  return got;
}

describe('SwarmState', () => {
  test('counts seeders, leechers and completed downloads per torrent and in total', () => {
    const clock = fakeClock();
    const s = new SwarmState(clock.now, { peerTimeoutMs: 60_000 });
    assert.deepEqual(s.announce(ann({ port: 1, left: 0 })), {
      ok: true,
      counts: { complete: 1, incomplete: 0, downloaded: 0 },
    });
    s.announce(ann({ port: 2 }));
    s.announce(ann({ port: 3 }));
    s.announce(ann({ port: 4, infoHashKey: H2 }));
    assert.deepEqual(s.counts(H1), { complete: 1, incomplete: 2, downloaded: 0 });
    // Peer 2 finishes: it becomes a seeder and is counted once, however often it says so.
    s.announce(ann({ port: 2, left: 0, event: 'completed' }));
    s.announce(ann({ port: 2, left: 0, event: 'completed' }));
    assert.deepEqual(s.counts(H1), { complete: 2, incomplete: 1, downloaded: 1 });
    // Stopped removes the peer.
    s.announce(ann({ port: 3, event: 'stopped' }));
    assert.deepEqual(s.counts(H1), { complete: 2, incomplete: 0, downloaded: 1 });
    assert.deepEqual(s.totals(), { torrents: 2, peers: 3, seeders: 2, leechers: 1, completed: 1 });
    assert.deepEqual(s.counts('z'.repeat(20)), { complete: 0, incomplete: 0, downloaded: 0 });
  });

  test('a peer is its address and port: re-announcing refreshes it, a new peer id replaces the old', () => {
    const s = new SwarmState(fakeClock().now, { peerTimeoutMs: 60_000 });
    s.announce(ann({ port: 1 }));
    s.announce(ann({ port: 1, peerId: 'Q'.repeat(20), event: 'none' }));
    assert.equal(s.totals().peers, 1);
    assert.equal(sampleAll(s, H1, 4, 10)[0]?.peerId, 'Q'.repeat(20));
  });

  test('peers expire after the timeout; announcing keeps them alive; empty swarms go away', () => {
    const clock = fakeClock();
    const s = new SwarmState(clock.now, { peerTimeoutMs: 90_000 });
    s.announce(ann({ port: 1 }));
    s.announce(ann({ port: 2 }));
    clock.advance(60_000);
    s.announce(ann({ port: 2, event: 'none' }));
    clock.advance(30_001);
    assert.equal(s.expire(), 1); // port 1 was last seen 90.001 s ago
    assert.deepEqual(
      sampleAll(s, H1, 4, 10).map((p) => p.port),
      [2],
    );
    clock.advance(90_000);
    s.announce(ann({ port: 3 }));
    assert.equal(s.expire(), 1); // port 2
    assert.deepEqual(
      sampleAll(s, H1, 4, 10).map((p) => p.port),
      [3],
    );
    clock.advance(90_001);
    assert.equal(s.expire(), 1);
    assert.deepEqual(s.totals(), { torrents: 0, peers: 0, seeders: 0, leechers: 0, completed: 0 });
  });

  test('a sweep drops exactly the silent peers, whatever their order in the arrays', () => {
    const clock = fakeClock();
    const rnd = seeded(11);
    const s = new SwarmState(clock.now, { peerTimeoutMs: 1000, random: rnd });
    for (let port = 1; port <= 200; port++) s.announce(ann({ port, left: port % 2 }));
    clock.advance(600);
    const alive = new Set<number>();
    for (let port = 1; port <= 200; port++) {
      if (rnd() < 0.5) {
        alive.add(port);
        s.announce(ann({ port, left: port % 2, event: 'none' }));
      }
    }
    clock.advance(500);
    assert.equal(s.expire(), 200 - alive.size);
    const left = sampleAll(s, H1, 4, 1000).map((p) => p.port);
    assert.deepEqual(new Set(left), alive);
    assert.equal(left.length, alive.size);
    const c = s.counts(H1);
    assert.equal(c.complete + c.incomplete, alive.size);
    assert.equal(c.complete, [...alive].filter((p) => p % 2 === 0).length);
  });

  test('sampling: at most numwant distinct peers, never the requester, only the asked family', () => {
    const s = new SwarmState(fakeClock().now, { peerTimeoutMs: 60_000, random: seeded(7) });
    for (let port = 1; port <= 100; port++) s.announce(ann({ port }));
    s.announce(ann({ port: 5, family: 6, ip4: 0, ip6: new Uint8Array(16).fill(1) }));
    const me = { family: 4 as const, ip4: 0x7f000001, port: 42 };
    for (const want of [0, 1, 10, 50, 99, 100, 500]) {
      const got = sampleAll(s, H1, 4, want, me);
      const ports = new Set(got.map((p) => p.port));
      assert.equal(got.length, Math.min(want, 99), `want ${want}`);
      assert.equal(ports.size, got.length, 'distinct');
      assert.ok(!ports.has(42), 'requester left out');
      assert.ok(got.every((p) => p.family === 4));
    }
    const v6 = sampleAll(s, H1, 6, 10, me);
    assert.equal(v6.length, 1);
    assert.deepEqual(v6[0]?.ip6, new Uint8Array(16).fill(1));
  });

  test('sampling is spread over the whole swarm (not always the same peers)', () => {
    const s = new SwarmState(fakeClock().now, { peerTimeoutMs: 60_000, random: seeded(1) });
    for (let port = 1; port <= 1000; port++) s.announce(ann({ port }));
    const seen = new Set<number>();
    for (let i = 0; i < 100; i++) for (const p of sampleAll(s, H1, 4, 50)) seen.add(p.port);
    assert.ok(seen.size > 950, `only ${seen.size} of 1000 peers ever sampled`);
  });

  test('removal keeps the sampling arrays consistent (swap with last)', () => {
    const s = new SwarmState(fakeClock().now, { peerTimeoutMs: 60_000, random: seeded(3) });
    for (let port = 1; port <= 20; port++) s.announce(ann({ port }));
    for (let port = 1; port <= 20; port += 2) s.announce(ann({ port, event: 'stopped' }));
    const ports = sampleAll(s, H1, 4, 100)
      .map((p) => p.port)
      .sort((a, b) => a - b);
    assert.deepEqual(ports, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
  });

  test('the whitelist refuses other torrents with a failure reason', () => {
    const s = new SwarmState(fakeClock().now, { peerTimeoutMs: 60_000, isAllowed: (k) => k === H1 });
    assert.equal(s.announce(ann({ port: 1 })).ok, true);
    const r = s.announce(ann({ port: 1, infoHashKey: H2 }));
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /whitelist/);
    assert.equal(s.totals().torrents, 1);
  });

  test('maxPeers bounds the peers: newcomers are refused, known peers keep announcing', () => {
    const s = new SwarmState(fakeClock().now, { peerTimeoutMs: 60_000, maxPeers: 3 });
    for (let port = 1; port <= 3; port++) assert.equal(s.announce(ann({ port })).ok, true);
    const r = s.announce(ann({ port: 4, infoHashKey: H2 }));
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /full/);
    assert.equal(s.totals().torrents, 1, 'the refused torrent left no empty swarm');
    assert.equal(s.announce(ann({ port: 2, event: 'none' })).ok, true);
  });

  test(`TRACKER_MAX_TORRENTS (${TRACKER_MAX_TORRENTS}) bounds the torrents by default`, () => {
    const s = new SwarmState(fakeClock().now, { peerTimeoutMs: 60_000 });
    const key = (i: number) => i.toString(16).padStart(20, '0');
    for (let i = 0; i < TRACKER_MAX_TORRENTS; i++) {
      if (!s.announce(ann({ port: 1, infoHashKey: key(i) })).ok) assert.fail(`refused torrent ${i}`);
    }
    const r = s.announce(ann({ port: 1, infoHashKey: key(TRACKER_MAX_TORRENTS) }));
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /full \(torrents\)/);
    // Existing torrents are still served.
    assert.equal(s.announce(ann({ port: 2, infoHashKey: key(5) })).ok, true);
  });
});
