/**
 * KRPC `get` and `put` (BEP 44): byte-exact round trips, `v` kept verbatim, and every malformed
 * argument mapped to its KRPC error (203, 205, 207) or, for a response, dropped field by field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '../../../src/codec/index.js';
import {
  DHT_ITEM_MAX_SEQ,
  DhtError,
  decodeKrpc,
  encodeKrpc,
  type KrpcMessage,
  type KrpcPut,
  type KrpcResponse,
} from '../../../src/dht/index.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import {
  MAX_DHT_ITEM_SALT_BYTES,
  MAX_DHT_ITEM_VALUE_BYTES,
  MAX_DHT_ITEM_VALUE_DEPTH,
} from '../../../src/shared/limits.js';

const b = (s: string) => new TextEncoder().encode(s);
const lat = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const text = (u: Uint8Array) => Buffer.from(u).toString('latin1');
const t = b('aa');
const ID = 'abcdefghij0123456789';
const K = 'k'.repeat(32);
const SIG = 's'.repeat(64);

function roundTrip(msg: KrpcMessage, expected: string): void {
  assert.equal(text(encodeKrpc(msg)), expected);
  assert.deepEqual(decodeKrpc(lat(expected)), msg);
}

function rejects(input: string, replyCode: number | undefined, pattern?: RegExp): void {
  assert.throws(
    () => decodeKrpc(lat(input)),
    (e: unknown) => {
      assert.ok(e instanceof DhtError, String(e));
      assert.equal(e.code, ErrorCode.DhtBadMessage);
      assert.equal(e.details.reply?.code, replyCode);
      if (pattern !== undefined) assert.match(e.message, pattern);
      return true;
    },
  );
}

/** A put query with argument entries `args` (already bencoded, sorted by the caller). */
const putQuery = (args: string) => `d1:ad2:id20:${ID}${args}e1:q3:put1:t2:aa1:y1:qe`;

describe('KRPC get (BEP 44)', () => {
  test('query, with and without seq', () => {
    roundTrip(
      { y: 'q', t, method: 'get', id: b(ID), target: b('mnopqrstuvwxyz123456') },
      `d1:ad2:id20:${ID}6:target20:mnopqrstuvwxyz123456e1:q3:get1:t2:aa1:y1:qe`,
    );
    roundTrip(
      { y: 'q', t, method: 'get', id: b(ID), target: b('mnopqrstuvwxyz123456'), seq: 4n },
      `d1:ad2:id20:${ID}3:seqi4e6:target20:mnopqrstuvwxyz123456e1:q3:get1:t2:aa1:y1:qe`,
    );
  });

  test('a target that is not 20 bytes, a negative or non-integer seq: 203', () => {
    rejects(`d1:ad2:id20:${ID}6:target3:abce1:q3:get1:t2:aa1:y1:qe`, 203, /target/);
    rejects(`d1:ad2:id20:${ID}3:seqi-1e6:target20:mnopqrstuvwxyz123456e1:q3:get1:t2:aa1:y1:qe`, 203, /seq/);
    rejects(`d1:ad2:id20:${ID}3:seq1:x6:target20:mnopqrstuvwxyz123456e1:q3:get1:t2:aa1:y1:qe`, 203, /seq/);
  });

  test('response with a mutable item, nodes and token', () => {
    const msg: KrpcResponse = {
      y: 'r',
      t,
      id: b(ID),
      token: b('tok'),
      nodes: [{ id: b('mnopqrstuvwxyz123456'), host: '192.0.2.7', port: 6881 }],
      item: { v: b('12:Hello World!'), k: b(K), seq: 1n, sig: b(SIG) },
    };
    const node = `mnopqrstuvwxyz123456${text(Uint8Array.of(192, 0, 2, 7, 0x1a, 0xe1))}`;
    roundTrip(
      msg,
      `d1:rd2:id20:${ID}1:k32:${K}5:nodes26:${node}3:seqi1e3:sig64:${SIG}5:token3:tok1:v12:Hello World!e1:t2:aa1:y1:re`,
    );
  });

  test('a response keeps v verbatim, unsorted keys and all', () => {
    const wire = `d1:rd2:id20:${ID}1:vd1:zi1e1:ai2eee1:t2:aa1:y1:re`;
    const msg = decodeKrpc(lat(wire)) as KrpcResponse;
    assert.equal(text(msg.item!.v!), 'd1:zi1e1:ai2ee');
    assert.equal(text(encodeKrpc(msg)), wire);
  });

  test('malformed item fields of a response are dropped one by one; the rest stays', () => {
    const wire = `d1:rd2:id20:${ID}1:k3:abc3:seqi-5e3:sig2:xx5:token3:tok1:vi7ee1:t2:aa1:y1:re`;
    const msg = decodeKrpc(lat(wire)) as KrpcResponse;
    assert.deepEqual(
      { item: msg.item && { ...msg.item, v: text(msg.item.v!) }, token: msg.token && text(msg.token) },
      { item: { v: 'i7e' }, token: 'tok' },
    );
    const big = `${MAX_DHT_ITEM_VALUE_BYTES - 3}:${'x'.repeat(MAX_DHT_ITEM_VALUE_BYTES - 3)}`;
    const tooBig = decodeKrpc(lat(`d1:rd2:id20:${ID}1:v${big}e1:t2:aa1:y1:re`)) as KrpcResponse;
    assert.equal(tooBig.item, undefined);
  });

  test('the largest seq (2^63 - 1) round trips exactly', () => {
    roundTrip(
      { y: 'r', t, id: b(ID), item: { seq: DHT_ITEM_MAX_SEQ } },
      `d1:rd2:id20:${ID}3:seqi9223372036854775807ee1:t2:aa1:y1:re`,
    );
  });
});

describe('KRPC put (BEP 44)', () => {
  test('immutable put (the BEP 44 template)', () => {
    roundTrip(
      {
        y: 'q',
        t,
        method: 'put',
        id: b(ID),
        token: b('tok'),
        item: { type: 'immutable', value: b('12:Hello World!') },
      },
      putQuery('5:token3:tok1:v12:Hello World!'),
    );
  });

  test('mutable put with salt and cas; an empty salt is not sent', () => {
    const item = {
      type: 'mutable',
      value: b('i5e'),
      publicKey: b(K),
      salt: b('foobar'),
      seq: 4n,
      signature: b(SIG),
    } as const;
    roundTrip(
      { y: 'q', t, method: 'put', id: b(ID), token: b('tok'), item, cas: 3n },
      `d1:ad3:casi3e2:id20:${ID}1:k32:${K}4:salt6:foobar3:seqi4e3:sig64:${SIG}5:token3:tok1:vi5ee1:q3:put1:t2:aa1:y1:qe`,
    );
    const noSalt: KrpcPut = {
      y: 'q',
      t,
      method: 'put',
      id: b(ID),
      token: b('tok'),
      item: { ...item, salt: new Uint8Array(0) },
    };
    roundTrip(noSalt, putQuery(`1:k32:${K}3:seqi4e3:sig64:${SIG}5:token3:tok1:vi5e`));
    const explicitEmpty = decodeKrpc(
      lat(putQuery(`1:k32:${K}4:salt0:3:seqi4e3:sig64:${SIG}5:token3:tok1:vi5e`)),
    );
    assert.deepEqual(explicitEmpty, noSalt);
  });

  test('v is kept verbatim: a dictionary with unsorted keys is not re-encoded', () => {
    const wire = putQuery('5:token3:tok1:vd1:bi1e1:ai2ee');
    const msg = decodeKrpc(lat(wire)) as KrpcPut;
    assert.equal(text(msg.item.value), 'd1:bi1e1:ai2ee');
    assert.equal(text(encodeKrpc(msg)), wire);
  });

  test(`v of MAX_DHT_ITEM_VALUE_BYTES (${MAX_DHT_ITEM_VALUE_BYTES}) is read; one byte more is error 205`, () => {
    const fits = text(encode(new Uint8Array(MAX_DHT_ITEM_VALUE_BYTES - 4)));
    const msg = decodeKrpc(lat(putQuery(`5:token3:tok1:v${fits}`))) as KrpcPut;
    assert.equal(msg.item.value.length, MAX_DHT_ITEM_VALUE_BYTES);
    const over = text(encode(new Uint8Array(MAX_DHT_ITEM_VALUE_BYTES - 3)));
    rejects(putQuery(`5:token3:tok1:v${over}`), 205, /exceeds 1000/);
  });

  test(`salt of MAX_DHT_ITEM_SALT_BYTES (${MAX_DHT_ITEM_SALT_BYTES}) is read; one byte more is error 207`, () => {
    const salt = (n: number) => `4:salt${n}:${'x'.repeat(n)}`;
    const ok = decodeKrpc(
      lat(putQuery(`1:k32:${K}${salt(64)}3:seqi1e3:sig64:${SIG}5:token3:tok1:vi1e`)),
    ) as KrpcPut;
    assert.equal(ok.item.type === 'mutable' && ok.item.salt.length, MAX_DHT_ITEM_SALT_BYTES);
    rejects(putQuery(`1:k32:${K}${salt(65)}3:seqi1e3:sig64:${SIG}5:token3:tok1:vi1e`), 207, /salt of 65/);
  });

  test('203 for a wrong key length, a missing or bad seq, sig or token, no v, a bad cas', () => {
    const args = (over: Record<string, string>) => {
      const all: Record<string, string> = {
        k: `1:k32:${K}`,
        seq: '3:seqi1e',
        sig: `3:sig64:${SIG}`,
        token: '5:token3:tok',
        v: '1:vi1e',
        ...over,
      };
      return putQuery(Object.values(all).join(''));
    };
    rejects(args({ k: `1:k31:${K.slice(1)}` }), 203, /"k"/);
    rejects(args({ k: `1:k33:${K}x` }), 203, /"k"/);
    rejects(args({ k: '1:ki5e' }), 203, /"k"/);
    rejects(args({ seq: '' }), 203, /seq/);
    rejects(args({ seq: '3:seqi-1e' }), 203, /seq/);
    rejects(args({ seq: '3:seqi9223372036854775808e' }), undefined); // beyond int64: not bencode for us
    rejects(args({ sig: `3:sig63:${SIG.slice(1)}` }), 203, /sig/);
    rejects(args({ sig: '' }), 203, /sig/);
    rejects(args({ token: '' }), 203, /token/);
    rejects(args({ token: `5:token33:${'t'.repeat(33)}` }), 203, /token/);
    rejects(args({ v: '' }), 203, /value/);
    rejects(args({ k: `3:cas1:x1:k32:${K}` }), 203, /cas/);
  });

  test(`v nested deeper than MAX_DHT_ITEM_VALUE_DEPTH (${MAX_DHT_ITEM_VALUE_DEPTH}) is not read`, () => {
    const nest = (n: number) => `${'l'.repeat(n)}${'e'.repeat(n)}`;
    const ok = decodeKrpc(lat(putQuery(`5:token3:tok1:v${nest(MAX_DHT_ITEM_VALUE_DEPTH)}`))) as KrpcPut;
    assert.equal(ok.item.value.length, 2 * MAX_DHT_ITEM_VALUE_DEPTH);
    rejects(putQuery(`5:token3:tok1:v${nest(MAX_DHT_ITEM_VALUE_DEPTH + 1)}`), undefined, /deeper/);
  });
});
