/**
 * A DhtNode serving BEP 44: `get` answers (token, nodes, the stored item verbatim, only `seq` for
 * a reader that is up to date), `put` after the token check with BEP 44's error codes, replies
 * within MAX_KRPC_ITEM_REPLY_BYTES, and the put-ready hand-off of a put lookup.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BencodeRaw, encode } from '../../../src/codec/index.js';
import {
  DHT_ITEM_MAX_SEQ,
  DhtError,
  type DhtEvent,
  type DhtItem,
  type DhtNode,
  ed25519KeyPair,
  encodeKrpc,
  immutableTarget,
  type KrpcErrorMessage,
  type KrpcMessage,
  type KrpcResponse,
  mutableTarget,
  signMutableItem,
} from '../../../src/dht/index.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import {
  MAX_DHT_ITEM_VALUE_BYTES,
  MAX_KRPC_ITEM_REPLY_BYTES,
  MAX_KRPC_REPLY_BYTES,
} from '../../../src/shared/limits.js';
import { exchange, id, makeNode, query, sent, te } from './helpers.js';

const writer = { host: '198.51.100.7', port: 7000 };
const other = { host: '198.51.100.8', port: 7000 };
const pair = ed25519KeyPair(new Uint8Array(32).fill(5));

const show = (m: unknown) => JSON.stringify(m, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));

function response(m: KrpcMessage | undefined): KrpcResponse {
  if (m?.y !== 'r') assert.fail(`expected a response, got ${show(m)}`);
  return m;
}

function error(m: KrpcMessage | undefined): KrpcErrorMessage {
  if (m?.y !== 'e') assert.fail(`expected an error, got ${show(m)}`);
  return m;
}

function get(node: DhtNode, target: Uint8Array, from = writer, seq?: bigint): KrpcResponse {
  const q = query({ method: 'get', target, ...(seq === undefined ? {} : { seq }) }, id(9));
  return response(exchange(node, q, from, 0)[0]);
}

function put(node: DhtNode, item: DhtItem, token: Uint8Array, cas?: bigint, from = writer): KrpcMessage {
  const q = query({ method: 'put', token, item, ...(cas === undefined ? {} : { cas }) }, id(9));
  return exchange(node, q, from, 0)[0]!;
}

describe('DhtNode answers get and put (BEP 44)', () => {
  test('immutable: get gives a token and nodes; put with it stores; get returns v verbatim', () => {
    const node = makeNode();
    for (let i = 1; i <= 10; i++) node.table.add({ id: id(i * 100), host: `203.0.113.${i}`, port: 1 }, 0);
    const value = te('d1:bi1e1:ai2ee'); // unsorted keys: must come back byte for byte
    const target = immutableTarget(value);
    const first = get(node, target);
    assert.ok(first.token !== undefined && first.token.length > 0);
    assert.equal(first.nodes?.length, 8);
    assert.equal(first.item, undefined);
    response(put(node, { type: 'immutable', value }, first.token));
    const again = get(node, target, other);
    assert.deepEqual(again.item, { v: value });
    assert.equal(node.stats(0).storedItems, 1);
  });

  test('mutable: get returns k, seq, sig and v; with seq not older only the seq', () => {
    const node = makeNode();
    const item = signMutableItem(pair, encode('hello'), 7, te('salt'));
    const target = mutableTarget(pair.publicKey, te('salt'));
    response(put(node, item, get(node, target).token!));
    assert.deepEqual(get(node, target, other).item, {
      v: item.value,
      k: item.publicKey,
      seq: 7n,
      sig: item.signature,
    });
    assert.deepEqual(get(node, target, other, 7n).item, { seq: 7n });
    assert.deepEqual(get(node, target, other, 6n).item?.seq, 7n);
    assert.ok(get(node, target, other, 6n).item?.v !== undefined);
  });

  test('put errors: bad token 203, forged 206, lower seq 302, cas mismatch 301', () => {
    const node = makeNode();
    const target = mutableTarget(pair.publicKey);
    const token = get(node, target).token!;
    assert.equal(error(put(node, signMutableItem(pair, encode('x'), 1), te('wrong-token'))).code, 203);
    const otherToken = get(node, target, other).token!;
    assert.equal(
      error(put(node, signMutableItem(pair, encode('x'), 1), otherToken)).code,
      203,
      "another IP's token",
    );
    response(put(node, signMutableItem(pair, encode('five'), 5), token));
    const forged = { ...signMutableItem(pair, encode('five'), 5), seq: 6n, value: encode('evil') };
    assert.equal(error(put(node, forged, token)).code, 206);
    assert.equal(error(put(node, signMutableItem(pair, encode('four'), 4), token)).code, 302);
    assert.equal(error(put(node, signMutableItem(pair, encode('six'), 6), token, 4n)).code, 301);
    response(put(node, signMutableItem(pair, encode('six'), 6), token, 5n));
    assert.deepEqual(get(node, target).item?.v, encode('six'));
    assert.equal(node.stats(0).itemPutsRefused, 3);
  });

  test('a put too big (205) or with a salt too big (207) is answered from the decoder', () => {
    const node = makeNode();
    const token = get(node, mutableTarget(pair.publicKey)).token!;
    const big = encode(new Uint8Array(MAX_DHT_ITEM_VALUE_BYTES - 3));
    const q205 = encode({ t: 'aa', y: 'q', q: 'put', a: { id: id(9), token, v: new BencodeRaw(big) } });
    assert.equal(error(exchange(node, q205, writer, 0)[0]).code, 205);
    const item = signMutableItem(pair, encode('x'), 1);
    const q207 = encode({
      t: 'aa',
      y: 'q',
      q: 'put',
      a: {
        id: id(9),
        token,
        v: new BencodeRaw(item.value),
        k: item.publicKey,
        seq: 1,
        sig: item.signature,
        salt: new Uint8Array(65),
      },
    });
    assert.equal(error(exchange(node, q207, writer, 0)[0]).code, 207);
    assert.equal(node.stats(0).storedItems, 0);
  });

  test(`item replies stay within MAX_KRPC_ITEM_REPLY_BYTES (${MAX_KRPC_ITEM_REPLY_BYTES}); others within MAX_KRPC_REPLY_BYTES`, () => {
    for (const family of [4, 6] as const) {
      for (const k of [8, 16]) {
        const node = family === 4 ? makeNode({ k }) : makeNode({ k, family: 6, externalIp: '2001:db8::1' });
        for (let i = 1; i <= 40; i++) {
          const host = family === 4 ? `203.0.113.${i}` : `2001:db8::${(i + 16).toString(16)}`;
          node.table.add({ id: id(i * 997), host, port: 6881 }, 0);
        }
        const from = family === 4 ? writer : { host: '2001:db8::7', port: 7000 };
        const item = signMutableItem(
          pair,
          encode(new Uint8Array(MAX_DHT_ITEM_VALUE_BYTES - 4)),
          DHT_ITEM_MAX_SEQ,
        );
        const target = mutableTarget(pair.publicKey);
        const empty = exchange(node, query({ method: 'get', target }, id(9)), from, 0);
        const q = query({ method: 'get', target }, id(9));
        node.handleDatagram(q, from, 0);
        const plain = node.takeActions()[0]!.bytes;
        assert.ok(
          plain.length <= MAX_KRPC_REPLY_BYTES,
          `IPv${family} k=${k}: ${plain.length} bytes without an item`,
        );
        response(put(node, item, response(empty[0]).token!, undefined, from));
        node.handleDatagram(q, from, 0);
        const full = node.takeActions()[0]!.bytes;
        assert.ok(full.length <= MAX_KRPC_ITEM_REPLY_BYTES, `IPv${family} k=${k}: ${full.length} bytes`);
        const r = get(node, target, from);
        const contacts = (family === 4 ? r.nodes : r.nodes6)?.length ?? 0;
        assert.deepEqual(r.item?.v, item.value);
        if (k === 8) assert.equal(contacts, 8, 'eight contacts always fit');
        else assert.ok(contacts < 16 && contacts >= 8, `IPv${family}: trimmed to ${contacts} contacts`);
      }
    }
  });
});

describe('DhtNode put lookups', () => {
  test('put without an item waits after put:ready for completePut; a wrong target is refused', () => {
    const node = makeNode();
    node.table.add({ id: id(1), host: '203.0.113.1', port: 6881 }, 0);
    const lookupId = node.putItem({ type: 'mutable', publicKey: pair.publicKey, salt: new Uint8Array(0) }, 0);
    const [q] = sent(node);
    assert.equal(q?.msg.y === 'q' && q.msg.method, 'get');
    // The only node answers with a token and no item.
    node.handleDatagram(
      encode({ t: new BencodeRaw(encode(q!.msg.t)), y: 'r', r: { id: id(1), token: 'tk' } }),
      q!.to,
      10,
    );
    const events: DhtEvent[] = node.takeEvents();
    assert.deepEqual(
      events.map((e) => e.type),
      ['put:ready'],
    );
    assert.throws(
      () =>
        node.completePut(lookupId, signMutableItem(ed25519KeyPair(new Uint8Array(32)), encode('x'), 1), 10),
      (e: unknown) => e instanceof DhtError && e.code === ErrorCode.DhtInvalidArgument,
    );
    node.completePut(lookupId, signMutableItem(pair, encode('x'), 1), 10);
    const [p] = sent(node);
    assert.ok(p?.msg.y === 'q' && p.msg.method === 'put' && p.msg.cas === undefined);
    assert.deepEqual(p.msg.y === 'q' && p.msg.method === 'put' && p.msg.token, te('tk'));
    assert.throws(() => node.completePut(lookupId, signMutableItem(pair, encode('x'), 1), 10), DhtError);
  });

  test('an immutable get ends at the first valid value; a forged value before it is ignored', () => {
    const node = makeNode();
    for (let i = 1; i <= 10; i++) node.table.add({ id: id(i * 100), host: `203.0.113.${i}`, port: 6881 }, 0);
    const value = encode('the value');
    const lookupId = node.getItem({ type: 'immutable', target: immutableTarget(value) }, 0);
    const queries = sent(node);
    assert.equal(queries.length, 3, 'α queries');
    const answer = (i: number, v: Uint8Array) =>
      node.handleDatagram(
        encodeKrpc({ y: 'r', t: queries[i]!.msg.t, id: id(1000 + i), token: te('tk'), item: { v } }),
        queries[i]!.to,
        1,
      );
    answer(0, encode('forged'));
    assert.equal(node.takeEvents().length, 0);
    assert.equal(node.stats(1).forgedItems, 1);
    answer(1, value);
    const [done] = node.takeEvents();
    assert.ok(done?.type === 'lookup:finished' && done.lookupId === lookupId);
    assert.deepEqual(done.item, { type: 'immutable', value });
  });

  test('putItem refuses an item whose signature does not verify', () => {
    const node = makeNode();
    const item = { ...signMutableItem(pair, encode('x'), 1), seq: 2n };
    assert.throws(
      () =>
        node.putItem({ type: 'mutable', publicKey: pair.publicKey, salt: new Uint8Array(0) }, 0, { item }),
      (e: unknown) => e instanceof DhtError && e.code === ErrorCode.DhtItemInvalid,
    );
  });
});
