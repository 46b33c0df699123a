import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DHT_PEER_TTL_MS, PeerStore } from '../../../src/dht/index.js';
import {
  MAX_DHT_INFOHASHES,
  MAX_DHT_PEERS_PER_INFOHASH,
  MAX_DHT_STORED_PEERS,
} from '../../../src/shared/limits.js';
import { FakeClock } from '../../../src/testing/fake-clock.js';
import { SeededRandom } from '../../../src/testing/sim-network.js';

const hash = (n: number) => new Uint8Array(20).fill(n);
const peer = (n: number) => Uint8Array.of(9, (n >> 16) & 255, (n >> 8) & 255, n & 255, 0x1a, 0xe1);
const rnd = new SeededRandom(11);

describe('PeerStore', () => {
  test('stores announces and forgets them after the TTL (fake clock)', () => {
    const clock = new FakeClock(0);
    const s = new PeerStore();
    s.announce(hash(1), peer(1), clock.now);
    clock.runFor(DHT_PEER_TTL_MS / 2);
    s.announce(hash(1), peer(2), clock.now);
    assert.equal(s.get(hash(1), 50, 6, rnd, clock.now).length, 2);
    clock.runFor(DHT_PEER_TTL_MS / 2);
    assert.deepEqual(s.get(hash(1), 50, 6, rnd, clock.now), [{ host: '9.0.0.2', port: 6881 }]);
    // A re-announce refreshes.
    s.announce(hash(1), peer(2), clock.now);
    clock.runFor(DHT_PEER_TTL_MS - 1);
    assert.equal(s.get(hash(1), 50, 6, rnd, clock.now).length, 1);
    s.purge(clock.now);
    assert.equal(s.size, 1);
    clock.runFor(1);
    s.purge(clock.now);
    assert.equal(s.size, 0);
    assert.equal(s.infoHashCount, 0);
  });

  test('only peers of the asked family (BEP 32)', () => {
    const s = new PeerStore();
    s.announce(hash(1), peer(1), 0);
    s.announce(hash(1), new Uint8Array(18).fill(0x20), 0);
    assert.equal(s.get(hash(1), 10, 6, rnd, 0).length, 1);
    assert.equal(s.get(hash(1), 10, 18, rnd, 0)[0]!.host, '2020:2020:2020:2020:2020:2020:2020:2020');
  });

  test('get returns a bounded random sample', () => {
    const s = new PeerStore();
    for (let i = 0; i < 200; i++) s.announce(hash(1), peer(i), 0);
    const a = s.get(hash(1), 20, 6, rnd, 0);
    const b = s.get(hash(1), 20, 6, rnd, 0);
    assert.equal(a.length, 20);
    assert.equal(new Set(a.map((p) => p.host)).size, 20, 'no duplicates');
    assert.notDeepEqual(a, b);
    assert.deepEqual(s.get(hash(2), 20, 6, rnd, 0), []);
  });

  test('MAX_DHT_PEERS_PER_INFOHASH: a newcomer evicts the oldest', () => {
    const s = new PeerStore();
    for (let i = 0; i <= MAX_DHT_PEERS_PER_INFOHASH; i++) assert.equal(s.announce(hash(1), peer(i), i), true);
    assert.equal(s.size, MAX_DHT_PEERS_PER_INFOHASH);
    const all = s.get(hash(1), 10_000, 6, rnd, 0).map((p) => p.host);
    assert.ok(!all.includes('9.0.0.0'), 'the oldest went');
    assert.ok(all.includes(`9.0.${MAX_DHT_PEERS_PER_INFOHASH >> 8}.${MAX_DHT_PEERS_PER_INFOHASH & 255}`));
  });

  test('MAX_DHT_INFOHASHES: announces for more info-hashes are refused', () => {
    const s = new PeerStore();
    const h = new Uint8Array(20);
    for (let i = 0; i < MAX_DHT_INFOHASHES; i++) {
      new DataView(h.buffer).setUint32(0, i);
      assert.equal(s.announce(h, peer(1), 0), true);
    }
    new DataView(h.buffer).setUint32(0, MAX_DHT_INFOHASHES);
    assert.equal(s.announce(h, peer(1), 0), false);
    assert.equal(s.infoHashCount, MAX_DHT_INFOHASHES);
  });

  test('MAX_DHT_STORED_PEERS: the total is bounded', () => {
    const s = new PeerStore({ maxInfoHashes: 1_000_000 });
    const h = new Uint8Array(20);
    let accepted = 0;
    for (let i = 0; i < MAX_DHT_STORED_PEERS + 100; i++) {
      new DataView(h.buffer).setUint32(0, i >> 4);
      if (s.announce(h, peer(i), 0)) accepted++;
    }
    assert.equal(accepted, MAX_DHT_STORED_PEERS);
    assert.equal(s.size, MAX_DHT_STORED_PEERS);
  });
});
