import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { base32Decode, base32Encode } from '../../../src/metainfo/base32.js';

const te = new TextEncoder();

// RFC 4648 §10 test vectors.
const VECTORS: [string, string][] = [
  ['', ''],
  ['f', 'MY======'],
  ['fo', 'MZXQ===='],
  ['foo', 'MZXW6==='],
  ['foob', 'MZXW6YQ='],
  ['fooba', 'MZXW6YTB'],
  ['foobar', 'MZXW6YTBOI======'],
];

test('RFC 4648 test vectors encode and decode', () => {
  for (const [plain, encoded] of VECTORS) {
    assert.equal(base32Encode(te.encode(plain)), encoded);
    assert.deepEqual(base32Decode(encoded), te.encode(plain));
    assert.deepEqual(base32Decode(encoded.replace(/=+$/, '')), te.encode(plain), 'padding is optional');
    assert.deepEqual(base32Decode(encoded.toLowerCase()), te.encode(plain), 'either case');
  }
  assert.equal(base32Encode(te.encode('foobar'), false), 'MZXW6YTBOI');
});

test('a 20-byte info-hash is 32 characters without padding', () => {
  const hash = Uint8Array.from({ length: 20 }, (_, i) => i * 13);
  const text = base32Encode(hash);
  assert.equal(text.length, 32);
  assert.deepEqual(base32Decode(text), hash);
});

test('rejects non-canonical input', () => {
  for (const bad of [
    'MY=====', // padding that does not complete a group of 8
    'M=======', // one data character cannot hold a byte
    'MZX', // 3 characters: impossible length
    'MZXW6Y', // 6 characters: impossible length
    'MZ======', // leftover bits not zero ("MY" is canonical)
    'MZXW6YT1', // 1 is not in the alphabet
    'MZXW6YT8',
    'MZXW6YT!',
    'MZXW6YTÉ',
    '========',
    'MY==MY==',
  ]) {
    assert.equal(base32Decode(bad), undefined, bad);
  }
});

test('decode(encode(x)) is x', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, padding) => {
      assert.deepEqual(base32Decode(base32Encode(bytes, padding)), bytes);
    }),
    { numRuns: 500 },
  );
});
