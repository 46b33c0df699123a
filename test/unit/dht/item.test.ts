/**
 * BEP 44 items: the test vectors of BEP 44 §Test Vectors and BEP 46 §Test Vectors, verbatim
 * (signed buffers, targets, signatures), signing and verification with raw ed25519 keys, and the
 * bounds `checkItem` enforces.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '../../../src/codec/index.js';
import {
  checkItem,
  DHT_ITEM_MAX_SEQ,
  DhtError,
  ed25519KeyPair,
  ed25519Sign,
  ed25519Verify,
  immutableTarget,
  itemMatchesTarget,
  type MutableItem,
  mutableTarget,
  signatureBuffer,
  signMutableItem,
  verifyMutableItem,
} from '../../../src/dht/index.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { fromHex, toHex } from '../../../src/shared/hash.js';
import {
  MAX_DHT_ITEM_SALT_BYTES,
  MAX_DHT_ITEM_VALUE_BYTES,
  MAX_DHT_ITEM_VALUE_DEPTH,
} from '../../../src/shared/limits.js';

const b = (s: string) => new TextEncoder().encode(s);
const hex = (s: string) => fromHex(s.replace(/\s+/g, ''))!;
const text = (u: Uint8Array) => Buffer.from(u).toString('latin1');

// BEP 44 §Test Vectors, verbatim.
const VALUE = b('12:Hello World!');
const PUBLIC_KEY = hex('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548');
const SIG_1 = hex(`305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff
  1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01`);
const SIG_2 = hex(`6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d
  df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08`);

function vectorItem(salt: string, signature: Uint8Array): MutableItem {
  return { type: 'mutable', value: VALUE, publicKey: PUBLIC_KEY, salt: b(salt), seq: 1n, signature };
}

function invalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DhtError, String(e));
    assert.equal(e.code, ErrorCode.DhtItemInvalid);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('BEP 44 test vectors', () => {
  test('test 1 (mutable): buffer, target and signature', () => {
    assert.equal(text(signatureBuffer(new Uint8Array(0), 1n, VALUE)), '3:seqi1e1:v12:Hello World!');
    assert.equal(toHex(mutableTarget(PUBLIC_KEY)), '4a533d47ec9c7d95b1ad75f576cffc641853b750');
    const item = vectorItem('', SIG_1);
    assert.ok(verifyMutableItem(item));
    assert.ok(itemMatchesTarget(item, hex('4a533d47ec9c7d95b1ad75f576cffc641853b750')));
  });

  test('test 2 (mutable with salt): buffer, target and signature', () => {
    assert.equal(text(signatureBuffer(b('foobar'), 1n, VALUE)), '4:salt6:foobar3:seqi1e1:v12:Hello World!');
    assert.equal(toHex(mutableTarget(PUBLIC_KEY, b('foobar'))), '411eba73b6f087ca51a3795d9c8c938d365e32c1');
    const item = vectorItem('foobar', SIG_2);
    assert.ok(verifyMutableItem(item));
    assert.ok(itemMatchesTarget(item, hex('411eba73b6f087ca51a3795d9c8c938d365e32c1')));
  });

  test('test 3 (immutable): target', () => {
    assert.equal(toHex(immutableTarget(VALUE)), 'e5f96f6f38320f0f33959cb4d3d656452117aadb');
    assert.ok(
      itemMatchesTarget({ type: 'immutable', value: VALUE }, hex('e5f96f6f38320f0f33959cb4d3d656452117aadb')),
    );
  });

  test('a signature does not carry over to another seq, salt, value or key', () => {
    assert.equal(verifyMutableItem({ ...vectorItem('', SIG_1), seq: 2n }), false);
    assert.equal(verifyMutableItem(vectorItem('foobar', SIG_1)), false, 'test 1 signature with a salt');
    assert.equal(verifyMutableItem(vectorItem('', SIG_2)), false, 'test 2 signature without its salt');
    assert.equal(verifyMutableItem({ ...vectorItem('', SIG_1), value: b('12:Hello World?') }), false);
    const other = ed25519KeyPair(new Uint8Array(32).fill(9)).publicKey;
    assert.equal(verifyMutableItem({ ...vectorItem('', SIG_1), publicKey: other }), false);
    const flipped = SIG_1.slice();
    flipped[10]! ^= 1;
    assert.equal(verifyMutableItem(vectorItem('', flipped)), false);
  });

  test('an item under another target is not a match', () => {
    assert.equal(
      itemMatchesTarget(vectorItem('', SIG_1), hex('411eba73b6f087ca51a3795d9c8c938d365e32c1')),
      false,
    );
    assert.equal(itemMatchesTarget({ type: 'immutable', value: b('i1e') }, immutableTarget(VALUE)), false);
  });
});

describe('BEP 46 test vectors (magnet to target ID)', () => {
  const key = hex('8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e');
  test('test 1: without salt', () => {
    assert.equal(toHex(mutableTarget(key)), 'cc3f9d90b572172053626f9980ce261a850d050b');
  });
  test('test 2: with salt 6e', () => {
    assert.equal(toHex(mutableTarget(key, hex('6e'))), '59ee7c2cb9b4f7eb1986ee2d18fd2fdb8a56554f');
  });
});

describe('ed25519 on raw bytes', () => {
  const pair = ed25519KeyPair(hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));

  test('RFC 8032 §7.1 test 1: public key and signature of the empty message', () => {
    assert.equal(toHex(pair.publicKey), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const sig = ed25519Sign(pair.seed, new Uint8Array(0));
    assert.equal(
      toHex(sig),
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    assert.ok(ed25519Verify(pair.publicKey, new Uint8Array(0), sig));
  });

  test('verification is false, never an exception, for malformed keys and signatures', () => {
    const sig = ed25519Sign(pair.seed, b('m'));
    assert.equal(ed25519Verify(pair.publicKey.subarray(1), b('m'), sig), false);
    assert.equal(ed25519Verify(pair.publicKey, b('m'), sig.subarray(1)), false);
    assert.equal(ed25519Verify(new Uint8Array(32).fill(0xff), b('m'), sig), false);
    assert.equal(ed25519Verify(new Uint8Array(32), b('m'), new Uint8Array(64)), false);
  });

  test('a seed must be 32 bytes', () => {
    assert.throws(
      () => ed25519KeyPair(new Uint8Array(31)),
      (e: unknown) => e instanceof DhtError,
    );
    assert.throws(
      () => ed25519Sign(new Uint8Array(64), b('m')),
      (e: unknown) => e instanceof DhtError,
    );
  });
});

describe('signMutableItem and checkItem: the bounds of BEP 44', () => {
  const pair = ed25519KeyPair(new Uint8Array(32).fill(1));
  const value = encode({ ih: new Uint8Array(20) });

  test('a signed item verifies, salted or not, at both ends of the seq range', () => {
    for (const salt of [new Uint8Array(0), b('s'), new Uint8Array(MAX_DHT_ITEM_SALT_BYTES)]) {
      for (const seq of [0n, 1n, DHT_ITEM_MAX_SEQ]) {
        const item = signMutableItem(pair, value, seq, salt);
        assert.ok(verifyMutableItem(item));
        checkItem(item);
        assert.ok(itemMatchesTarget(item, mutableTarget(pair.publicKey, salt)));
      }
    }
  });

  test('value: at most MAX_DHT_ITEM_VALUE_BYTES, one bencoded value, nested at most MAX_DHT_ITEM_VALUE_DEPTH', () => {
    const fits = encode(new Uint8Array(MAX_DHT_ITEM_VALUE_BYTES - 4));
    assert.equal(fits.length, MAX_DHT_ITEM_VALUE_BYTES);
    checkItem({ type: 'immutable', value: fits });
    signMutableItem(pair, fits, 1);
    const over = encode(new Uint8Array(MAX_DHT_ITEM_VALUE_BYTES - 3));
    invalid(() => checkItem({ type: 'immutable', value: over }), /exceeds 1000/);
    invalid(() => signMutableItem(pair, over, 1), /exceeds 1000/);
    invalid(() => checkItem({ type: 'immutable', value: b('3:ab') }), /not one bencoded value/);
    invalid(() => checkItem({ type: 'immutable', value: b('i1ei2e') }), /not one bencoded value/);
    const nest = (n: number) => b(`${'l'.repeat(n)}${'e'.repeat(n)}`);
    checkItem({ type: 'immutable', value: nest(MAX_DHT_ITEM_VALUE_DEPTH) });
    invalid(
      () => checkItem({ type: 'immutable', value: nest(MAX_DHT_ITEM_VALUE_DEPTH + 1) }),
      /not one bencoded/,
    );
  });

  test('salt: at most MAX_DHT_ITEM_SALT_BYTES', () => {
    invalid(
      () => signMutableItem(pair, value, 1, new Uint8Array(MAX_DHT_ITEM_SALT_BYTES + 1)),
      /salt of 65 bytes/,
    );
  });

  test('seq: 0 to 2^63 - 1, whole numbers only', () => {
    invalid(() => signMutableItem(pair, value, -1), /seq -1/);
    invalid(() => signMutableItem(pair, value, DHT_ITEM_MAX_SEQ + 1n), /seq 9223372036854775808/);
    invalid(() => signMutableItem(pair, value, 1.5), /seq 1.5/);
  });

  test('key and signature sizes, and the signature itself', () => {
    const item = signMutableItem(pair, value, 3);
    invalid(() => checkItem({ ...item, publicKey: item.publicKey.subarray(1) }), /public key of 31 bytes/);
    invalid(() => checkItem({ ...item, signature: item.signature.subarray(1) }), /signature of 63 bytes/);
    invalid(() => checkItem({ ...item, seq: 4n }), /does not verify/);
    checkItem({ ...item, seq: 4n }, false);
  });
});
