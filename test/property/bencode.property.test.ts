import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  BencodeDict,
  BencodeError,
  type BencodeValue,
  bencodeEqual,
  decode,
  encode,
} from '../../src/codec/index.js';

/** Arbitrary decoded-shaped values (dicts with unique keys). */
export const bencodeValue: fc.Arbitrary<BencodeValue> = fc.letrec<{ value: BencodeValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.uint8Array({ maxLength: 40 }),
    fc.integer(),
    fc
      .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
      .map((n) =>
        n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n,
      ),
    fc.array(tie('value'), { maxLength: 5 }),
    fc
      .uniqueArray(fc.tuple(fc.uint8Array({ maxLength: 8 }), tie('value')), {
        maxLength: 5,
        selector: ([k]) => Buffer.from(k).toString('latin1'),
      })
      .map((pairs) => BencodeDict.from(pairs)),
  ),
})).value;

function sortedCopy(v: BencodeValue): BencodeValue {
  // encode sorts keys; decode keeps wire order, so compare against a sorted copy.
  if (Array.isArray(v)) return v.map(sortedCopy);
  if (v instanceof BencodeDict) {
    const pairs = v.entries.map((e) => [e.key, sortedCopy(e.value)] as const);
    pairs.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
    return BencodeDict.from(pairs);
  }
  return v;
}

test('decode(encode(x)) equals x for any value', () => {
  fc.assert(
    fc.property(bencodeValue, (v) => {
      const bytes = encode(v);
      const back = decode(bytes);
      assert.ok(bencodeEqual(back, sortedCopy(v)));
      assert.deepEqual(encode(back), bytes, 'encoding is deterministic');
    }),
    { numRuns: 3000 },
  );
});

function decodesOrTypedError(bytes: Uint8Array): void {
  const t0 = performance.now();
  try {
    decode(bytes, { mode: 'lenient' });
  } catch (e) {
    if (!(e instanceof BencodeError)) throw e;
  }
  try {
    decode(bytes);
  } catch (e) {
    if (!(e instanceof BencodeError)) throw e;
  }
  assert.ok(performance.now() - t0 < 1000, 'decode must finish quickly');
}

test('random bytes yield a value or a BencodeError, quickly', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), decodesOrTypedError), { numRuns: 6000 });
  // Random strings over the bencode alphabet hit far more of the grammar than raw bytes do.
  const alphabet = fc.constantFrom(...'ilde0123456789:-x'.split(''));
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 120 }), (chars) => {
      decodesOrTypedError(new TextEncoder().encode(chars.join('')));
    }),
    { numRuns: 6000 },
  );
});

test('mutated valid encodings yield a value or a BencodeError', () => {
  fc.assert(
    fc.property(
      bencodeValue,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'drop', 'dup')), {
        minLength: 1,
        maxLength: 4,
      }),
      (v, mutations) => {
        let bytes = Array.from(encode(v));
        for (const [at, byte, kind] of mutations) {
          if (bytes.length === 0) break;
          const i = at % bytes.length;
          if (kind === 'set') bytes[i] = byte;
          else if (kind === 'drop') bytes.splice(i, 1);
          else bytes = bytes.slice(0, i).concat(bytes.slice(i));
        }
        decodesOrTypedError(Uint8Array.from(bytes));
      },
    ),
    { numRuns: 4000 },
  );
});
