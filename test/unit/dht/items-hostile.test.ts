/**
 * Hostile BEP 44 input to one node: mutated `get`/`put` datagrams, floods of puts from one address
 * and from many, forged signatures, sequence-number rollbacks. The node never throws, its replies
 * stay valid and within their bounds, its item store within its bounds, and a refused item is
 * never returned by `get`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '../../../src/codec/index.js';
import {
  type Address,
  DHT_BURST_PER_IP,
  DHT_RATE_PER_IP,
  type DhtItem,
  type DhtNode,
  decodeKrpc,
  ed25519KeyPair,
  type KrpcMessage,
  type MutableItem,
  mutableTarget,
  signMutableItem,
} from '../../../src/dht/index.js';
import {
  DHT_PUT_BURST_GLOBAL,
  DHT_PUT_BURST_PER_IP,
  DHT_PUT_RATE_PER_IP,
  MAX_KRPC_ITEM_REPLY_BYTES,
} from '../../../src/shared/limits.js';
import { SeededRandom } from '../../../src/testing/sim-network.js';
import { id, makeNode, query } from './helpers.js';

const SEED = Number(process.env.DHT_HOSTILE_SEED ?? 4444);
const rnd = new SeededRandom(SEED);
const attacker: Address = { host: '203.0.113.66', port: 6666 };
const pair = ed25519KeyPair(new Uint8Array(32).fill(8));
const UNLIMITED_QUERIES = { rateGlobal: 1e9, burstGlobal: 1e9, ratePerIp: 1e9, burstPerIp: 1e9 };

function replies(node: DhtNode): KrpcMessage[] {
  return node.takeActions().map((a) => {
    assert.ok(a.bytes.length <= MAX_KRPC_ITEM_REPLY_BYTES, `reply of ${a.bytes.length} bytes`);
    return decodeKrpc(a.bytes);
  });
}

/** Asks for a token as `from`, then puts `item` with it; returns the put's answer (if any). */
function putAs(
  node: DhtNode,
  item: DhtItem,
  from: Address,
  now: number,
  cas?: bigint,
): KrpcMessage | undefined {
  const target = mutableTarget(pair.publicKey);
  node.handleDatagram(query({ method: 'get', target }, id(3)), from, now);
  const [g] = replies(node);
  if (g?.y !== 'r') return undefined;
  node.handleDatagram(
    query({ method: 'put', token: g.token!, item, ...(cas === undefined ? {} : { cas }) }, id(3)),
    from,
    now,
  );
  return replies(node)[0];
}

function stored(node: DhtNode, from: Address = { host: '198.51.100.200', port: 1 }): MutableItem | undefined {
  node.handleDatagram(query({ method: 'get', target: mutableTarget(pair.publicKey) }, id(4)), from, 1000);
  const [r] = replies(node);
  if (r?.y !== 'r' || r.item?.v === undefined) return undefined;
  const { v, k, seq, sig } = r.item;
  return { type: 'mutable', value: v, publicKey: k!, salt: new Uint8Array(0), seq: seq!, signature: sig! };
}

function mutate(b: Uint8Array): Uint8Array {
  const out = Array.from(b);
  for (let n = 1 + rnd.int(4); n > 0; n--) {
    const at = rnd.int(out.length + 1);
    switch (rnd.int(3)) {
      case 0:
        out[at % out.length] = rnd.int(256);
        break;
      case 1:
        out.splice(at, 1);
        break;
      default:
        out.splice(at, 0, rnd.int(256));
    }
  }
  return Uint8Array.from(out);
}

describe(`hostile BEP 44 input (seed ${SEED})`, () => {
  test('mutated get and put datagrams: never a throw; replies are valid KRPC within bounds', () => {
    const node = makeNode({
      ...UNLIMITED_QUERIES,
      items: { putBurstPerIp: 1e9, putRatePerIp: 1e9, putBurstGlobal: 1e9, putRateGlobal: 1e9 },
    });
    const item = signMutableItem(
      pair,
      encode({ ih: new Uint8Array(20) }),
      3,
      new TextEncoder().encode('salt'),
    );
    const corpus = [
      query({ method: 'get', target: mutableTarget(pair.publicKey) }, id(1)),
      query({ method: 'get', target: mutableTarget(pair.publicKey), seq: 2n }, id(1)),
      query({ method: 'put', token: new Uint8Array(8), item }, id(1)),
      query({ method: 'put', token: new Uint8Array(8), item, cas: 2n }, id(1)),
      query(
        {
          method: 'put',
          token: new Uint8Array(8),
          item: { type: 'immutable', value: encode([1, 'two', { three: 3 }]) },
        },
        id(1),
      ),
    ];
    let answered = 0;
    for (let i = 0; i < 5000; i++) {
      node.handleDatagram(
        mutate(corpus[rnd.int(corpus.length)]!),
        { host: `198.51.100.${1 + (i % 250)}`, port: 1000 + i },
        i,
      );
      answered += replies(node).length;
    }
    assert.ok(answered > 200, `${answered} mutants answered`);
    assert.equal(node.stats(5000).storedItems, 0, 'no mutant carried a valid token');
  });

  test('a flood of puts from one address is rate limited: the store grows by the put rate only', () => {
    const node = makeNode(UNLIMITED_QUERIES);
    const seconds = 30;
    let ok = 0;
    let limited = 0;
    for (let i = 0; i < seconds * 100; i++) {
      const r = putAs(node, { type: 'immutable', value: encode(`flood ${i}`) }, attacker, i * 10);
      if (r?.y === 'r') ok++;
      else if (r?.y === 'e' && r.code === 202) limited++;
    }
    const bound = DHT_PUT_BURST_PER_IP + DHT_PUT_RATE_PER_IP * seconds;
    assert.ok(ok <= bound, `${ok} puts stored, bound ${bound}`);
    assert.ok(ok >= DHT_PUT_BURST_PER_IP);
    assert.equal(ok + limited, seconds * 100);
    assert.equal(node.stats(seconds * 1000).storedItems, ok);
  });

  test('with default query limits the query limiter answers first: few puts even reach the store', () => {
    const node = makeNode();
    let answered = 0;
    for (let i = 0; i < 1000; i++) {
      node.handleDatagram(
        query({ method: 'get', target: rnd.bytes(20) }, id(1), Uint8Array.of(i >> 8, i)),
        attacker,
        i,
      );
      answered += replies(node).length;
    }
    assert.ok(answered <= DHT_BURST_PER_IP + DHT_RATE_PER_IP + 1, `${answered} answered`);
  });

  test('puts from many addresses: at most DHT_PUT_BURST_GLOBAL at once, and never past the store bounds', () => {
    const node = makeNode({ ...UNLIMITED_QUERIES, items: { maxItems: 50 } });
    let ok = 0;
    for (let i = 0; i < 2000; i++) {
      const from = { host: `198.51.${100 + (i >> 8)}.${i & 255}`, port: 6881 };
      const r = putAs(node, { type: 'immutable', value: encode(`many ${i}`) }, from, 0);
      if (r?.y === 'r') ok++;
    }
    assert.ok(ok <= DHT_PUT_BURST_GLOBAL, `${ok} accepted`);
    assert.ok(node.stats(0).storedItems <= 50, `${node.stats(0).storedItems} stored`);
    assert.ok(node.stats(0).storedItems > 0);
  });

  test('forged signatures from many addresses: all refused with 206, never stored, never returned', () => {
    const node = makeNode(UNLIMITED_QUERIES);
    const genuine = signMutableItem(pair, encode('genuine'), 10);
    assert.equal(putAs(node, genuine, attacker, 0)?.y, 'r');
    for (let i = 0; i < 200; i++) {
      const from = { host: `198.51.100.${1 + (i % 250)}`, port: 2000 + i };
      const forged: MutableItem =
        i % 2 === 0
          ? { ...genuine, seq: 11n + BigInt(i), value: encode(`forged ${i}`) }
          : { ...genuine, seq: 11n, signature: rnd.bytes(64) };
      const r = putAs(node, forged, from, i);
      assert.equal(r?.y === 'e' && r.code, 206);
    }
    assert.deepEqual(stored(node), genuine);
  });

  test('sequence-number rollback: old, validly signed versions are refused with 302 and never replace', () => {
    const node = makeNode(UNLIMITED_QUERIES);
    const history = Array.from({ length: 10 }, (_, i) => signMutableItem(pair, encode(`v${i + 1}`), i + 1));
    assert.equal(putAs(node, history[9]!, attacker, 0)?.y, 'r');
    for (const [i, old] of history.slice(0, 9).entries()) {
      const r = putAs(node, old, { host: `198.51.100.${i + 1}`, port: 1 }, 0);
      assert.equal(r?.y === 'e' && r.code, 302);
      // A replay with a stale cas is refused too.
      const c = putAs(node, old, { host: `198.51.100.${i + 1}`, port: 1 }, 0, BigInt(i));
      assert.equal(c?.y === 'e' && c.code, 301);
    }
    assert.deepEqual(stored(node), history[9]);
  });
});
