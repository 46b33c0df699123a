import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { sha256, sha256d } from '../../../src/bitcoin/crypto/hashes.js';
import { sha256js } from '../../../src/bitcoin/crypto/sha256.js';

const native = (d: Uint8Array) => new Uint8Array(createHash('sha256').update(d).digest());

test('sha256js equals node:crypto for every length 0..300 (one and two padding blocks, several blocks)', () => {
  for (let n = 0; n <= 300; n++) {
    const d = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n * 7) & 0xff);
    assert.deepEqual(sha256js(d), native(d), `length ${n}`);
  }
});

test('FIPS 180-4 vectors: "abc" and the empty string', () => {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  assert.equal(
    hex(sha256js(new TextEncoder().encode('abc'))),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
  assert.equal(
    hex(sha256js(new Uint8Array(0))),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
});

test('sha256 and sha256d agree across the JavaScript/native threshold, and with several parts', () => {
  for (const n of [255, 256, 257, 1000]) {
    const d = Uint8Array.from({ length: n }, (_, i) => i & 0xff);
    assert.deepEqual(sha256(d), native(d));
    assert.deepEqual(sha256d(d), native(native(d)));
    assert.deepEqual(sha256(d.subarray(0, 10), d.subarray(10)), native(d));
  }
});
