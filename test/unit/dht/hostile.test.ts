/**
 * Hostile KRPC input: random and mutated datagrams, oversized node lists, bogus tokens, spoofed
 * answers, floods from one address and from many. The node must answer what it should, drop or
 * rate-limit the rest, never throw, and keep every table bounded.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DHT_BURST_GLOBAL,
  DHT_BURST_PER_IP,
  DHT_K,
  DHT_RATE_PER_IP,
  type DhtNode,
  decodeKrpc,
  encodeKrpc,
  type KrpcMessage,
} from '../../../src/dht/index.js';
import {
  MAX_DHT_INFOHASHES,
  MAX_DHT_LOOKUP_QUERIES,
  MAX_DHT_RATE_LIMIT_IPS,
  MAX_KRPC_DATAGRAM_BYTES,
  MAX_KRPC_NODES_PER_REPLY,
  MAX_KRPC_REPLY_BYTES,
} from '../../../src/shared/limits.js';
import { SeededRandom } from '../../../src/testing/sim-network.js';
import { id, makeNode, query, sent, te } from './helpers.js';

const SEED = Number(process.env.DHT_HOSTILE_SEED ?? 4242);
const rnd = new SeededRandom(SEED);
const attacker = { host: '10.66.6.6', port: 6666 };

/** Every datagram the node sent back must be a well-formed, small KRPC message. */
function checkReplies(node: DhtNode): KrpcMessage[] {
  return node.takeActions().map((a) => {
    assert.ok(a.bytes.length <= MAX_KRPC_REPLY_BYTES, `reply of ${a.bytes.length} bytes`);
    return decodeKrpc(a.bytes);
  });
}

function seeds(): Uint8Array[] {
  const idA = te('abcdefghij0123456789');
  return [
    query({ method: 'ping' }, idA),
    query({ method: 'find_node', target: idA, want: ['n4', 'n6'] }, idA),
    query({ method: 'get_peers', infoHash: idA }, idA),
    query({ method: 'announce_peer', infoHash: idA, port: 1, token: te('tok'), impliedPort: true }, idA),
    encodeKrpc({
      y: 'r',
      t: te('aa'),
      id: idA,
      nodes: [{ id: idA, host: '1.2.3.4', port: 5 }],
      token: te('x'),
    }),
    encodeKrpc({ y: 'e', t: te('aa'), code: 201, message: 'x' }),
  ];
}

function mutate(b: Uint8Array): Uint8Array {
  const out = Array.from(b);
  const n = 1 + rnd.int(4);
  for (let i = 0; i < n; i++) {
    const at = rnd.int(out.length + 1);
    switch (rnd.int(4)) {
      case 0:
        out[at % out.length] = rnd.int(256);
        break;
      case 1:
        out.splice(at, 1);
        break;
      case 2:
        out.splice(at, 0, rnd.int(256));
        break;
      default:
        out.splice(at, 0, ...'ilde0123456789:'.charCodeAt(rnd.int(15)).toString().split('').map(Number));
    }
  }
  return Uint8Array.from(out);
}

describe(`hostile KRPC (seed ${SEED})`, () => {
  test('random datagrams: never a throw, only well-formed small error replies', () => {
    const node = makeNode({ rateGlobal: 1e9, burstGlobal: 1e9, ratePerIp: 1e9, burstPerIp: 1e9 });
    for (let i = 0; i < 3000; i++) {
      node.handleDatagram(rnd.bytes(rnd.int(200)), attacker, i);
      for (const m of checkReplies(node)) assert.equal(m.y, 'e');
    }
    assert.ok(node.stats(3000).malformed > 2900);
  });

  test('mutated valid datagrams: never a throw; replies are valid KRPC', () => {
    const node = makeNode({ rateGlobal: 1e9, burstGlobal: 1e9, ratePerIp: 1e9, burstPerIp: 1e9 });
    const corpus = seeds();
    let replies = 0;
    for (let i = 0; i < 5000; i++) {
      const input = mutate(corpus[rnd.int(corpus.length)]!);
      node.handleDatagram(input, { host: `10.1.${(i >> 8) & 255}.${i & 255}`, port: 1000 + (i % 50) }, i);
      replies += checkReplies(node).length;
    }
    assert.ok(replies > 100, 'many mutants are still valid queries and get answers');
    const s = node.stats(5000);
    assert.ok(s.nodes <= s.buckets * DHT_K);
  });

  test('datagrams over MAX_KRPC_DATAGRAM_BYTES are dropped unanswered', () => {
    const node = makeNode();
    const big = new Uint8Array(MAX_KRPC_DATAGRAM_BYTES + 1).fill(0x61);
    node.handleDatagram(big, attacker, 0);
    assert.deepEqual(node.takeActions(), []);
    assert.equal(node.stats(0).malformed, 1);
  });

  test('oversized node lists in an answer: at most MAX_KRPC_NODES_PER_REPLY are used', () => {
    const node = makeNode();
    node.bootstrap([attacker], 0);
    const [q] = sent(node);
    const nodes = Array.from({ length: 70 }, (_, i) => ({
      id: rnd.bytes(20),
      host: `10.77.0.${i + 1}`,
      port: 7,
    }));
    const reply = encodeKrpc({ y: 'r', t: q!.msg.t, id: id(1), nodes });
    assert.ok(reply.length <= MAX_KRPC_DATAGRAM_BYTES);
    node.handleDatagram(reply, attacker, 10);
    const next = sent(node);
    assert.ok(next.length <= 3, 'α queries to the new candidates');
    assert.ok(node.table.size <= MAX_KRPC_NODES_PER_REPLY + 1);
    // The same list past the datagram bound is not even read.
    const huge = encodeKrpc({
      y: 'r',
      t: q!.msg.t,
      id: id(1),
      nodes: Array.from({ length: 100 }, (_, i) => ({
        id: rnd.bytes(20),
        host: `10.78.0.${i + 1}`,
        port: 7,
      })),
    });
    assert.ok(huge.length > MAX_KRPC_DATAGRAM_BYTES);
    const before = node.stats(11).malformed;
    node.handleDatagram(huge, attacker, 11);
    assert.equal(node.stats(11).malformed, before + 1);
  });

  test('bogus tokens: error 203 and no peer stored, whatever the token', () => {
    const node = makeNode();
    const hash = te('mnopqrstuvwxyz123456');
    for (let i = 0; i < 15; i++) {
      const token = rnd.bytes(1 + rnd.int(20));
      node.handleDatagram(
        query({ method: 'announce_peer', infoHash: hash, port: 80, token, impliedPort: false }, id(i)),
        attacker,
        i,
      );
      const [r] = checkReplies(node);
      assert.equal(r?.y === 'e' && r.code, 203);
    }
    assert.equal(node.stats(20).storedPeers, 0);
  });

  test('spoofed answers (unknown t or wrong source) are ignored', () => {
    const node = makeNode();
    node.ping({ host: '10.5.5.5', port: 5 }, 0);
    const [q] = sent(node);
    for (let i = 0; i < 500; i++) {
      const t = i === 0 ? q!.msg.t : rnd.bytes(2);
      node.handleDatagram(encodeKrpc({ y: 'r', t, id: rnd.bytes(20) }), attacker, 1);
    }
    const s = node.stats(1);
    assert.equal(s.unexpected, 500);
    assert.equal(s.nodes, 0);
    assert.equal(s.pendingQueries, 1, 'the real ping is still waiting for its node');
  });

  test('a flood from one address is rate limited and costs bounded memory', () => {
    const node = makeNode();
    let answered = 0;
    // 10,000 queries within one second.
    for (let i = 0; i < 10_000; i++) {
      node.handleDatagram(
        query({ method: 'get_peers', infoHash: rnd.bytes(20) }, id(1), Uint8Array.of(i >> 8, i)),
        attacker,
        i / 10,
      );
      answered += checkReplies(node).length;
    }
    assert.ok(answered <= DHT_BURST_PER_IP + DHT_RATE_PER_IP * 1 + 1, `${answered} answered`);
    assert.ok(answered >= DHT_BURST_PER_IP);
    const s = node.stats(1000);
    assert.equal(s.rateLimited, 10_000 - answered);
    assert.equal(s.rateLimitSources, 1);
    assert.equal(s.nodes, 1);
    assert.equal(s.pendingQueries, 0);
    assert.equal(s.storedPeers, 0);
  });

  test('a flood from many distinct addresses keeps every table bounded', () => {
    const node = makeNode();
    let answered = 0;
    const n = MAX_DHT_RATE_LIMIT_IPS * 3;
    for (let i = 0; i < n; i++) {
      const from = { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 6881 };
      node.handleDatagram(query({ method: 'find_node', target: rnd.bytes(20) }, rnd.bytes(20)), from, 0);
      answered += checkReplies(node).length;
    }
    const s = node.stats(0);
    assert.ok(s.rateLimitSources <= MAX_DHT_RATE_LIMIT_IPS, `${s.rateLimitSources} sources tracked`);
    assert.equal(answered, DHT_BURST_GLOBAL, 'the global bucket caps the answers');
    assert.ok(s.nodes <= s.buckets * DHT_K);
    assert.ok(s.replacementNodes <= s.buckets * 8);
    // When the flood stops, maintenance forgets the sources.
    node.tick(60_000);
    node.takeActions();
    assert.equal(node.stats(60_000).rateLimitSources, 0);
  });

  test('announces for endless info-hashes fill the peer store only to its bound', () => {
    const node = makeNode({ rateGlobal: 1e9, burstGlobal: 1e9 });
    for (let i = 0; i < MAX_DHT_INFOHASHES + 300; i++) {
      const from = { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 6881 };
      const infoHash = rnd.bytes(20);
      node.handleDatagram(query({ method: 'get_peers', infoHash }, id(1)), from, 0);
      const [r] = checkReplies(node);
      const token = r?.y === 'r' ? r.token! : new Uint8Array(0);
      node.handleDatagram(
        query({ method: 'announce_peer', infoHash, port: 1, token, impliedPort: false }, id(1)),
        from,
        0,
      );
      checkReplies(node);
    }
    assert.equal(node.stats(0).storedInfoHashes, MAX_DHT_INFOHASHES);
  });

  test('a network that always knows a closer node cannot keep a lookup running', () => {
    const node = makeNode();
    node.table.add({ id: id(0xffff), host: '10.200.0.1', port: 1 }, 0);
    const target = new Uint8Array(20);
    const lookupId = node.findNode(target, 0);
    let d = 0xfffe;
    let now = 0;
    let finished = false;
    for (let round = 0; round < 1000 && !finished; round++) {
      for (const s of sent(node)) {
        const fake = Array.from({ length: 3 }, () => ({
          id: id(d--),
          host: `10.201.${(d >> 8) & 255}.${d & 255}`,
          port: 1,
        }));
        const m = s.msg;
        node.handleDatagram(encodeKrpc({ y: 'r', t: m.t, id: rnd.bytes(20), nodes: fake }), s.to, ++now);
      }
      finished = node.takeEvents().some((e) => e.type === 'lookup:finished' && e.lookupId === lookupId);
    }
    assert.ok(finished);
    assert.equal(node.stats(now).queriesOut, MAX_DHT_LOOKUP_QUERIES);
  });
});
