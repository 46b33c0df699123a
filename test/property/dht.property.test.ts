import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Encodable, encode } from '../../src/codec/index.js';
import {
  bytesToBinary,
  commonPrefixBits,
  compareDistance,
  DHT_ITEM_MAX_SEQ,
  DHT_REPLACEMENT_CACHE_SIZE,
  DhtError,
  type DhtItem,
  decodeKrpc,
  ed25519KeyPair,
  encodeKrpc,
  ItemStore,
  itemTarget,
  type KrpcMessage,
  type MutableItem,
  mutableTarget,
  type NodeContact,
  RoutingTable,
  signMutableItem,
  TokenStore,
  verifyMutableItem,
} from '../../src/dht/index.js';
import { SeededRandom } from '../../src/testing/sim-network.js';

const id20 = fc.uint8Array({ minLength: 20, maxLength: 20 });
const port = fc.integer({ min: 1, max: 65535 });
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => {
  // Avoid IPv4-mapped addresses, which decode as IPv4 by design.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) g[5] = 1;
  return g.map((x) => x.toString(16)).join(':');
});
const contact4: fc.Arbitrary<NodeContact> = fc.record({ id: id20, host: ipv4, port });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });
/** A small bencodable value, as an item's `v` would be. */
const encodable: fc.Arbitrary<Encodable> = fc.letrec<{ v: Encodable }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    bytes(20),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 4 }),
  ),
})).v;
const seq = fc.bigInt({ min: 0n, max: DHT_ITEM_MAX_SEQ });
const item: fc.Arbitrary<DhtItem> = fc.oneof(
  encodable.map((v) => ({ type: 'immutable' as const, value: encode(v) })),
  fc.record({
    type: fc.constant('mutable' as const),
    value: encodable.map((v) => encode(v)),
    publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    salt: bytes(64),
    seq,
    signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  }),
);

describe('DHT properties', () => {
  test('routing table: a bucket never holds more than k, ids are unique and well placed', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        c: fc.record({
          // Ids near ours (a shared prefix) so that buckets split deeply.
          prefix: fc.nat(40),
          tail: id20,
          host: fc.oneof(ipv4, fc.constant('192.0.2.1')),
          port,
        }),
        how: fc.constantFrom('responded' as const, 'queried' as const, 'heard' as const),
      }),
      fc.record({ kind: fc.constant('fail' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('time' as const), ms: fc.nat(20 * 60_000) }),
    );
    fc.assert(
      fc.property(id20, fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 8 }), (own, ops, k) => {
        const table = new RoutingTable(own, 0, { k });
        const ownKey = bytesToBinary(own);
        const known: string[] = [];
        let now = 0;
        for (const o of ops) {
          if (o.kind === 'add') {
            const id = o.c.tail.slice();
            for (let b = 0; b < o.c.prefix; b++) {
              const mask = 0x80 >> (b & 7);
              id[b >> 3] = (id[b >> 3]! & ~mask) | (own[b >> 3]! & mask);
            }
            table.add({ id, host: o.c.host, port: o.c.port }, now, o.how);
            known.push(bytesToBinary(id));
          } else if (o.kind === 'fail') {
            if (known.length > 0) table.failed(known[o.pick % known.length]!, now);
          } else {
            now += o.ms;
          }
          const buckets = table.buckets(now);
          const seen = new Set<string>();
          buckets.forEach((b, i) => {
            assert.ok(b.nodes.length <= k);
            assert.ok(b.replacements.length <= DHT_REPLACEMENT_CACHE_SIZE);
            for (const n of b.nodes) {
              const key = bytesToBinary(n.id);
              assert.ok(!seen.has(key));
              seen.add(key);
              assert.notEqual(key, ownKey);
              const cpl = commonPrefixBits(ownKey, key);
              assert.ok(i < buckets.length - 1 ? cpl === i : cpl >= i);
            }
          });
          assert.equal(table.size, seen.size);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('routing table: closest() is the brute-force XOR order of the non-bad nodes', () => {
    fc.assert(
      fc.property(
        id20,
        fc.array(contact4, { maxLength: 80 }),
        id20,
        fc.integer({ min: 1, max: 20 }),
        (own, cs, target, n) => {
          const table = new RoutingTable(own, 0);
          for (const c of cs) table.add({ ...c, host: `10.0.${c.port >> 8}.${c.port & 255}` }, 0);
          const all = table.nodes(0).map((x) => bytesToBinary(x.id));
          const tk = bytesToBinary(target);
          const expected = all.sort((a, b) => compareDistance(a, b, tk)).slice(0, n);
          assert.deepEqual(
            table.closest(target, n, 0).map((c) => bytesToBinary(c.id)),
            expected,
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  test('routing table: save and load keeps every node', () => {
    fc.assert(
      fc.property(id20, fc.array(contact4, { maxLength: 60 }), (own, cs) => {
        const table = new RoutingTable(own, 0);
        for (const c of cs) table.add(c, 0);
        const back = RoutingTable.fromBytes(table.toBytes(0), 0);
        const ids = (t: RoutingTable) =>
          t
            .nodes(0)
            .map((x) => `${bytesToBinary(x.id)}@${x.host}:${x.port}`)
            .sort();
        assert.deepEqual(ids(back), ids(table));
      }),
      { numRuns: 100 },
    );
  });

  test('KRPC: every message round-trips through bytes', () => {
    const t = bytes(8);
    const v = fc.uint8Array({ maxLength: 8 });
    const addr = fc.record({ host: ipv4, port: fc.nat(65535) });
    const msg: fc.Arbitrary<KrpcMessage> = fc.oneof(
      fc.record({ y: fc.constant('q' as const), t, id: id20, method: fc.constant('ping' as const) }),
      fc.record(
        {
          y: fc.constant('q' as const),
          t,
          id: id20,
          method: fc.constant('find_node' as const),
          target: id20,
          ro: fc.constant(true),
          v,
        },
        { requiredKeys: ['y', 't', 'id', 'method', 'target'] },
      ),
      fc.record({
        y: fc.constant('q' as const),
        t,
        id: id20,
        method: fc.constant('get_peers' as const),
        infoHash: id20,
      }),
      fc.record({
        y: fc.constant('q' as const),
        t,
        id: id20,
        method: fc.constant('announce_peer' as const),
        infoHash: id20,
        port,
        token: bytes(20),
        impliedPort: fc.boolean(),
      }),
      fc.record(
        {
          y: fc.constant('r' as const),
          t,
          id: id20,
          v: fc.uint8Array({ maxLength: 8 }),
          ip: addr,
          nodes: fc.array(contact4, { maxLength: 8 }),
          nodes6: fc.array(fc.record({ id: id20, host: ipv6, port }), { maxLength: 4 }),
          values: fc.array(addr, { maxLength: 10 }),
          token: bytes(20),
        },
        { requiredKeys: ['y', 't', 'id'] },
      ),
      fc.record({
        y: fc.constant('e' as const),
        t,
        code: fc.constantFrom(201, 202, 203, 204, 205, 206, 207, 301, 302),
        message: fc.string({ maxLength: 20 }),
      }),
      fc.record(
        { y: fc.constant('q' as const), t, id: id20, method: fc.constant('get' as const), target: id20, seq },
        { requiredKeys: ['y', 't', 'id', 'method', 'target'] },
      ),
      fc.record(
        {
          y: fc.constant('q' as const),
          t,
          id: id20,
          method: fc.constant('put' as const),
          token: bytes(20),
          item,
          cas: seq,
        },
        { requiredKeys: ['y', 't', 'id', 'method', 'token', 'item'] },
      ),
      fc.record(
        {
          y: fc.constant('r' as const),
          t,
          id: id20,
          token: bytes(20),
          nodes: fc.array(contact4, { maxLength: 8 }),
          item: fc.record(
            {
              v: encodable.map((x) => encode(x)),
              k: fc.uint8Array({ minLength: 32, maxLength: 32 }),
              seq,
              sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: ['y', 't', 'id'] },
      ),
    );
    fc.assert(
      fc.property(msg, (m) => {
        const back = decodeKrpc(encodeKrpc(m));
        // IPv6 hosts come back in canonical (RFC 5952) text, so compare the re-encoded bytes.
        assert.deepEqual(encodeKrpc(back), encodeKrpc(m));
        assert.equal(back.y, m.y);
      }),
      { numRuns: 500 },
    );
  });

  test('KRPC: any bytes decode to a message or a DhtError, quickly', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          bytes(300),
          fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(`d${s}e`)),
        ),
        (b) => {
          try {
            decodeKrpc(b);
          } catch (e) {
            assert.ok(e instanceof DhtError, String(e));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('tokens: valid for the IP they were issued to, and only for it', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.nat(),
        (a, b, seed) => {
          const s = new TokenStore({ random: new SeededRandom(seed) }, 0);
          const tok = s.issue(a, 0);
          assert.equal(s.verify(tok, a, 1), true);
          if (Buffer.compare(a, b) !== 0) assert.equal(s.verify(tok, b, 1), false);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('item store: within its bounds, a stored seq never goes down, a forged item is never stored', () => {
    const keys = [1, 2, 3].map((n) => ed25519KeyPair(new Uint8Array(32).fill(n)));
    const op = fc.record({
      key: fc.nat(2),
      salt: fc.constantFrom('', 'a', 'b'),
      seq: fc.integer({ min: 0, max: 6 }),
      value: fc.nat(3),
      forge: fc.boolean(),
      cas: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
      immutable: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 1, max: 6 }), (ops, maxItems) => {
        const store = new ItemStore(
          new Uint8Array(20),
          { maxItems, maxBytes: 600, putBurstPerIp: 1e9, putBurstGlobal: 1e9 },
          0,
        );
        const seen = new Map<string, bigint>();
        for (const o of ops) {
          const value = encode(`value ${o.value}`);
          let put: DhtItem = o.immutable
            ? { type: 'immutable', value }
            : signMutableItem(keys[o.key]!, value, o.seq, new TextEncoder().encode(o.salt));
          if (o.forge && put.type === 'mutable') put = { ...put, value: encode('forged') };
          const target = itemTarget(put);
          const before = store.get(target, 0);
          const r = store.put(put, o.cas === undefined ? undefined : BigInt(o.cas), 'ip', 0);
          if (!r.ok) assert.deepEqual(store.get(target, 0), before, 'a refusal changes nothing');
          if (o.forge && put.type === 'mutable') assert.equal(r.ok, false);
          assert.ok(store.size <= maxItems && store.bytes <= 600);
          for (const k of keys) {
            for (const salt of ['', 'a', 'b']) {
              const t = mutableTarget(k.publicKey, new TextEncoder().encode(salt));
              const got = store.get(t, 0) as MutableItem | undefined;
              const key = bytesToBinary(t);
              if (got === undefined) {
                seen.delete(key); // evicted: it may come back at any seq
                continue;
              }
              assert.ok(verifyMutableItem(got));
              assert.ok(got.seq >= (seen.get(key) ?? 0n), 'seq never goes down');
              seen.set(key, got.seq);
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
