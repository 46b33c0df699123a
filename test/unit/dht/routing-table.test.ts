import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '../../../src/codec/index.js';
import {
  binaryToBytes,
  bytesToBinary,
  commonPrefixBits,
  DHT_K,
  DHT_NODE_QUESTIONABLE_MS,
  DHT_REPLACEMENT_CACHE_SIZE,
  DhtError,
  generateNodeId,
  isValidNodeIdForIp,
  type NodeContact,
  RoutingTable,
  randomIdWithPrefix,
} from '../../../src/dht/index.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { MAX_DHT_SAVED_NODES, MAX_DHT_STATE_BYTES } from '../../../src/shared/limits.js';
import { SeededRandom } from '../../../src/testing/sim-network.js';

const random = new SeededRandom(1234);
const OWN = new Uint8Array(20); // all zeros: a node's bucket is its number of leading zero bits
const ownKey = bytesToBinary(OWN);
let hostSeq = 1;

/** A contact on a local address (exempt from BEP 42) whose id shares exactly `bits` bits with ours. */
function contact(bits: number): NodeContact {
  const n = hostSeq++;
  return {
    id: binaryToBytes(randomIdWithPrefix(ownKey, bits, random, true)),
    host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    port: 6881,
  };
}

function checkInvariants(t: RoutingTable, now: number): void {
  const seen = new Set<string>();
  const buckets = t.buckets(now);
  buckets.forEach((b, i) => {
    assert.ok(b.nodes.length <= t.k, `bucket ${i} holds ${b.nodes.length}`);
    assert.ok(b.replacements.length <= DHT_REPLACEMENT_CACHE_SIZE);
    for (const n of b.nodes) {
      const key = bytesToBinary(n.id);
      assert.ok(!seen.has(key), 'an id appears twice');
      seen.add(key);
      const cpl = commonPrefixBits(ownKey, key);
      if (i < buckets.length - 1) assert.equal(cpl, i);
      else assert.ok(cpl >= i);
    }
  });
  assert.equal(t.size, seen.size);
}

describe('RoutingTable', () => {
  test('one bucket splits only when it holds our own id', () => {
    const t = new RoutingTable(OWN, 0);
    for (let i = 0; i < DHT_K; i++) assert.equal(t.add(contact(0), 0), true);
    assert.equal(t.bucketCount, 1);
    // The 9th far node splits the (only) bucket, which still cannot take it: it waits as a replacement.
    assert.equal(t.add(contact(0), 0), false);
    assert.equal(t.bucketCount, 2);
    assert.equal(t.size, DHT_K);
    assert.equal(t.replacementCount, 1);
    // Far buckets never split again.
    for (let i = 0; i < 10; i++) t.add(contact(0), 0);
    assert.equal(t.bucketCount, 2);
    assert.equal(t.replacementCount, DHT_REPLACEMENT_CACHE_SIZE);
    // Nodes close to us split our bucket further.
    for (let bits = 1; bits < 30; bits++) for (let i = 0; i < 3; i++) t.add(contact(bits), 0);
    assert.ok(t.bucketCount > 20);
    checkInvariants(t, 0);
  });

  test('states: good, questionable after 15 minutes, bad after failures', () => {
    const t = new RoutingTable(OWN, 0);
    const c = contact(3);
    const key = bytesToBinary(c.id);
    t.add(c, 0, 'responded');
    const state = () => t.buckets(now).flatMap((b) => b.nodes)[0]!.state;
    let now = 1000;
    assert.equal(state(), 'good');
    now = DHT_NODE_QUESTIONABLE_MS;
    assert.equal(state(), 'questionable');
    // A query from a confirmed node makes it good again (BEP 5).
    t.observe(key, t.find(key)!.addr, now, 'queried');
    assert.equal(state(), 'good');
    t.failed(key, now);
    assert.equal(state(), 'good');
    t.failed(key, now);
    assert.equal(state(), 'bad');
    assert.deepEqual(t.closest(c.id, 8, now), []);
    // A bad node is replaced by the next newcomer to its bucket.
    const fresh = contact(3);
    assert.equal(t.add(fresh, now, 'queried'), true);
    assert.deepEqual(
      t.closest(c.id, 8, now).map((n) => n.id),
      [fresh.id],
    );
  });

  test('a node that never answered is dropped at its first failure; a replacement takes its place', () => {
    const t = new RoutingTable(OWN, 0);
    const nodes = Array.from({ length: DHT_K }, () => contact(0));
    for (const n of nodes) t.add(n, 0, 'queried');
    t.add(contact(1), 0); // split
    const waiting = contact(0);
    assert.equal(t.add(waiting, 0, 'queried'), false);
    assert.equal(t.replacementCount, 1);
    t.failed(bytesToBinary(nodes[0]!.id), 0);
    assert.equal(t.has(bytesToBinary(nodes[0]!.id)), false);
    assert.equal(t.has(bytesToBinary(waiting.id)), true);
    // Without replacements, an unconfirmed failing node is simply removed.
    t.failed(bytesToBinary(nodes[1]!.id), 0);
    assert.equal(t.has(bytesToBinary(nodes[1]!.id)), false);
    checkInvariants(t, 0);
  });

  test('a confirmed newcomer displaces a never-confirmed node in a full bucket', () => {
    const t = new RoutingTable(OWN, 0);
    for (let i = 0; i < DHT_K; i++) t.add(contact(0), 0, 'queried');
    t.add(contact(1), 0);
    const good = contact(0);
    assert.equal(t.add(good, 0, 'responded'), true);
    assert.equal(t.buckets(0)[0]!.nodes.length, DHT_K);
  });

  test('BEP 42: a conforming node replaces a non-conforming one when the bucket is full', () => {
    const rnd = new SeededRandom(99);
    const own = generateNodeId(rnd, '203.0.113.1');
    const t = new RoutingTable(own, 0);
    const far = (conforming: boolean): NodeContact => {
      for (;;) {
        const host = `${20 + rnd.int(180)}.${rnd.int(256)}.${rnd.int(256)}.${1 + rnd.int(250)}`;
        const id = conforming ? generateNodeId(rnd, host) : rnd.bytes(20);
        // Far half only, so that the bucket does not split.
        if ((id[0]! & 0x80) === (own[0]! & 0x80)) continue;
        if (isValidNodeIdForIp(id, host) !== conforming) continue;
        return { id, host, port: 6881 };
      }
    };
    for (let i = 0; i < DHT_K; i++) t.add(far(false), 0);
    t.add(far(false), 0); // splits; waits in the replacement cache
    assert.equal(t.bucketCount, 2);
    const bucket = () => t.buckets(0)[0]!;
    assert.equal(bucket().nodes.length, DHT_K);
    assert.equal(t.add(far(false), 0), false, 'a non-conforming newcomer only waits');
    const c = far(true);
    assert.equal(t.add(c, 0), true, 'a conforming newcomer takes a place');
    assert.equal(bucket().nodes.filter((n) => n.conforming).length, 1);
    assert.equal(bucket().nodes.length, DHT_K);
  });

  test('one node per IP per bucket outside local networks', () => {
    const t = new RoutingTable(OWN, 0);
    const id1 = binaryToBytes(randomIdWithPrefix(ownKey, 0, random, true));
    const id2 = binaryToBytes(randomIdWithPrefix(ownKey, 0, random, true));
    assert.equal(t.add({ id: id1, host: '8.8.8.8', port: 1 }, 0, 'responded'), true);
    assert.equal(t.add({ id: id2, host: '8.8.8.8', port: 2 }, 0, 'queried'), false);
    assert.equal(t.add({ id: id2, host: '8.8.8.8', port: 2 }, 0, 'responded'), false, 'the first is good');
    // On a local network, distinct ports are distinct nodes.
    assert.equal(t.add({ id: id2, host: '127.0.0.1', port: 2 }, 0), true);
    const id3 = binaryToBytes(randomIdWithPrefix(ownKey, 0, random, true));
    assert.equal(t.add({ id: id3, host: '127.0.0.1', port: 3 }, 0), true);
    // A known id claiming a new address only moves when it answers from there.
    t.add({ id: id3, host: '127.0.0.1', port: 4 }, 0, 'queried');
    assert.equal(t.closest(id3, 1, 0)[0]!.port, 3);
    t.add({ id: id3, host: '127.0.0.1', port: 4 }, 0, 'responded');
    assert.equal(t.closest(id3, 1, 0)[0]!.port, 4);
  });

  test('closest returns the nearest non-bad nodes in XOR order', () => {
    const t = new RoutingTable(OWN, 0);
    const all: NodeContact[] = [];
    for (let bits = 0; bits < 40; bits++) {
      for (let i = 0; i < 4; i++) {
        const c = contact(bits);
        if (t.add(c, 0, i % 2 === 0 ? 'responded' : 'queried')) all.push(c);
      }
    }
    const target = random.bytes(20);
    const tk = bytesToBinary(target);
    const dist = (c: NodeContact) =>
      BigInt(`0x${Buffer.from(c.id).toString('hex')}`) ^ BigInt(`0x${Buffer.from(target).toString('hex')}`);
    const expected = [...all].sort((a, b) => (dist(a) < dist(b) ? -1 : 1)).slice(0, 8);
    assert.deepEqual(
      t.closest(target, 8, 0),
      expected.map(({ id, host, port }) => ({ id, host, port })),
    );
    const confirmed = t.closestEntries(tk, 8, true, 0);
    assert.ok(confirmed.every((e) => e.confirmed));
  });

  test('maintenance: questionable nodes are due for a ping, stale buckets for a refresh', () => {
    const t = new RoutingTable(OWN, 0);
    for (let i = 0; i < 5; i++) t.add(contact(0), 0, 'responded');
    assert.deepEqual(t.dueForPing(1000, 4), []);
    assert.equal(t.dueForRefresh(1000, 15 * 60_000), undefined);
    const later = DHT_NODE_QUESTIONABLE_MS + 1;
    const due = t.dueForPing(later, 4);
    assert.equal(due.length, 1, 'one per bucket per round');
    const pinged = new Set([due[0]!.id]);
    for (let i = 0; i < 4; i++) for (const e of t.dueForPing(later, 4)) pinged.add(e.id);
    assert.equal(pinged.size, 5, 'each questionable node in turn');
    assert.deepEqual(t.dueForPing(later, 4), [], 'none pinged twice within the ping interval');
    assert.equal(t.dueForRefresh(later, 15 * 60_000), 0);
    assert.equal(t.dueForRefresh(later, 15 * 60_000), undefined);
  });

  test('saves to bytes and restores with unverified nodes', () => {
    const t = new RoutingTable(OWN, 0);
    for (let bits = 0; bits < 10; bits++) for (let i = 0; i < 3; i++) t.add(contact(bits), 0);
    t.add({ id: binaryToBytes(randomIdWithPrefix(ownKey, 2, random, true)), host: 'fd00::5', port: 9 }, 0);
    const bytes = t.toBytes(0);
    const back = RoutingTable.fromBytes(bytes, 5);
    assert.deepEqual(back.id, OWN);
    assert.equal(back.size, t.size);
    assert.ok(back.nodes(5).every((n) => !n.confirmed));
    const ids = (x: RoutingTable) =>
      x
        .nodes(5)
        .map((n) => Buffer.from(n.id).toString('hex'))
        .sort();
    assert.deepEqual(ids(back), ids(t));
    assert.ok(back.nodes(5).some((n) => n.host === 'fd00::5'));
  });

  test('a corrupt saved table is a DhtBadState', () => {
    const bad = (bytes: Uint8Array) =>
      assert.throws(
        () => RoutingTable.parseSaved(bytes),
        (e: unknown) => e instanceof DhtError && e.code === ErrorCode.DhtBadState,
      );
    bad(new TextEncoder().encode('garbage'));
    bad(encode({ v: 2, id: OWN }));
    bad(encode({ v: 1, id: new Uint8Array(5) }));
    bad(encode({ v: 1, id: OWN, nodes: new Uint8Array(27) }));
    bad(new Uint8Array(MAX_DHT_STATE_BYTES + 1));
  });

  test('MAX_DHT_SAVED_NODES bounds what a saved table yields', () => {
    const many = new Uint8Array((MAX_DHT_SAVED_NODES + 10) * 26);
    for (let i = 0; i < MAX_DHT_SAVED_NODES + 10; i++) many[i * 26 + 25] = 1;
    const saved = RoutingTable.parseSaved(encode({ v: 1, id: OWN, nodes: many }));
    assert.equal(saved.nodes.length, MAX_DHT_SAVED_NODES);
  });

  test('rejects our own id and malformed contacts', () => {
    const t = new RoutingTable(OWN, 0);
    assert.equal(t.add({ id: OWN, host: '10.0.0.1', port: 1 }, 0), false);
    assert.equal(t.add({ id: new Uint8Array(3), host: '10.0.0.1', port: 1 }, 0), false);
    assert.equal(t.add({ id: random.bytes(20), host: 'nope', port: 1 }, 0), false);
    assert.throws(() => new RoutingTable(new Uint8Array(5), 0), DhtError);
  });
});
