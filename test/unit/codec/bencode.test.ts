import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BencodeDict,
  BencodeError,
  BencodeRaw,
  bencodeEqual,
  decode,
  decodeWithInfo,
  encode,
} from '../../../src/codec/index.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { MAX_BENCODE_DEPTH } from '../../../src/shared/limits.js';

const b = (s: string) => new TextEncoder().encode(s);
const text = (v: unknown) => Buffer.from(v as Uint8Array).toString();

function rejects(input: string | Uint8Array, code: string, offset?: number, mode?: 'strict' | 'lenient') {
  const bytes = typeof input === 'string' ? b(input) : input;
  assert.throws(
    () => decode(bytes, mode === undefined ? {} : { mode }),
    (e: unknown) => {
      assert.ok(e instanceof BencodeError, `expected BencodeError, got ${String(e)}`);
      assert.equal(e.code, code);
      if (offset !== undefined) assert.equal(e.offset, offset);
      return true;
    },
  );
}

describe('bencode decode', () => {
  test('integers', () => {
    assert.equal(decode(b('i0e')), 0);
    assert.equal(decode(b('i42e')), 42);
    assert.equal(decode(b('i-42e')), -42);
    assert.equal(decode(b('i9007199254740991e')), Number.MAX_SAFE_INTEGER);
    assert.equal(decode(b('i9007199254740992e')), 9007199254740992n);
    assert.equal(decode(b('i9223372036854775807e')), 9223372036854775807n);
    assert.equal(decode(b('i-9223372036854775808e')), -9223372036854775808n);
  });

  test('rejects malformed integers with the offset', () => {
    rejects('i03e', ErrorCode.BencodeInvalidInteger, 0);
    rejects('i-0e', ErrorCode.BencodeInvalidInteger, 0);
    rejects('i-e', ErrorCode.BencodeInvalidInteger, 0);
    rejects('ie', ErrorCode.BencodeInvalidInteger, 0);
    rejects('i1x2e', ErrorCode.BencodeInvalidInteger, 2);
    rejects('i12', ErrorCode.BencodeUnexpectedEnd, 3);
    rejects('i9223372036854775808e', ErrorCode.BencodeIntegerRange, 0);
    rejects('i-9223372036854775809e', ErrorCode.BencodeIntegerRange, 0);
    rejects(`i${'1'.repeat(40)}e`, ErrorCode.BencodeIntegerRange, 0);
  });

  test('strings', () => {
    assert.equal(text(decode(b('4:spam'))), 'spam');
    assert.equal((decode(b('0:')) as Uint8Array).length, 0);
    rejects('5:spam', ErrorCode.BencodeUnexpectedEnd, 0);
    rejects('05:spams', ErrorCode.BencodeInvalidLength, 0);
    rejects('4spam', ErrorCode.BencodeInvalidLength, 1);
    rejects('99999999999999999:x', ErrorCode.BencodeInvalidLength, 0);
  });

  test('strings are views of the input, not copies', () => {
    const buf = b('4:spam');
    const s = decode(buf) as Uint8Array;
    assert.equal(s.buffer, buf.buffer);
  });

  test('lists and dictionaries', () => {
    const v = decode(b('l4:spami7ed3:cow3:mooee'));
    assert.ok(Array.isArray(v));
    assert.equal(text(v[0]), 'spam');
    assert.equal(v[1], 7);
    const d = v[2];
    assert.ok(d instanceof BencodeDict);
    assert.equal(text(d.get('cow')), 'moo');
    assert.equal(d.get('nope'), undefined);
  });

  test('unterminated containers and trailing data', () => {
    rejects('l', ErrorCode.BencodeUnexpectedEnd, 1);
    rejects('d3:cow', ErrorCode.BencodeUnexpectedEnd, 6);
    rejects('i1ei2e', ErrorCode.BencodeTrailingData, 3);
    rejects('', ErrorCode.BencodeUnexpectedEnd, 0);
    rejects('x', ErrorCode.BencodeInvalidByte, 0);
    rejects('di1ei2ee', ErrorCode.BencodeInvalidByte, 1);
    const r = decodeWithInfo(b('i1ei2e'), { allowTrailing: true });
    assert.equal(r.end, 3);
  });

  test('raw span of dictionary values', () => {
    const src = b('d4:infod6:lengthi5e4:name1:ae5:otheri1ee');
    const d = decode(src) as BencodeDict;
    assert.equal(text(d.raw('info')), 'd6:lengthi5e4:name1:ae');
    assert.equal(text(d.raw('other')), 'i1e');
  });

  test('depth limit is crossed exactly at MAX_BENCODE_DEPTH', () => {
    const ok = 'l'.repeat(MAX_BENCODE_DEPTH) + 'e'.repeat(MAX_BENCODE_DEPTH);
    assert.ok(Array.isArray(decode(b(ok))));
    const deep = 'l'.repeat(MAX_BENCODE_DEPTH + 1) + 'e'.repeat(MAX_BENCODE_DEPTH + 1);
    rejects(deep, ErrorCode.BencodeTooDeep, MAX_BENCODE_DEPTH);
    // Far deeper than the stack could take if the limit were missing.
    rejects('l'.repeat(100_000), ErrorCode.BencodeTooDeep);
  });

  test('item limit', () => {
    const many = `l${'i1e'.repeat(50)}e`;
    assert.throws(
      () => decode(b(many), { maxItems: 10 }),
      (e: unknown) => {
        return e instanceof BencodeError && e.code === ErrorCode.BencodeTooManyItems;
      },
    );
    assert.equal((decode(b(many), { maxItems: 51 }) as unknown[]).length, 50);
  });

  test('key order: strict rejects, lenient warns and keeps the raw span', () => {
    const unsorted = 'd1:bi1e1:ai2ee';
    rejects(unsorted, ErrorCode.BencodeKeyOrder, 7);
    const r = decodeWithInfo(b(unsorted), { mode: 'lenient' });
    assert.equal(r.warnings.length, 1);
    assert.equal(r.warnings[0]!.code, ErrorCode.BencodeKeyOrder);
    assert.equal((r.value as BencodeDict).get('a'), 2);

    const dup = 'd1:ai1e1:ai2ee';
    rejects(dup, ErrorCode.BencodeDuplicateKey, 7);
    const r2 = decodeWithInfo(b(dup), { mode: 'lenient' });
    assert.equal(r2.warnings[0]!.code, ErrorCode.BencodeDuplicateKey);
    assert.equal((r2.value as BencodeDict).get('a'), 1, 'first occurrence wins');
    // Sorting is by raw bytes: "B" (0x42) sorts before "a" (0x61).
    assert.ok(decode(b('d1:Bi1e1:ai2ee')) instanceof BencodeDict);
  });

  test('binary keys', () => {
    const d = decode(new Uint8Array([0x64, 0x31, 0x3a, 0xff, 0x69, 0x31, 0x65, 0x65])) as BencodeDict;
    assert.equal(d.get(new Uint8Array([0xff])), 1);
  });
});

describe('bencode encode', () => {
  test('sorts keys by raw bytes and round trips', () => {
    const out = encode({ zeta: 1, alpha: [b('x'), 'y', -3], mid: new Map([['k', 9n]]) });
    assert.equal(text(out), 'd5:alphal1:x1:yi-3ee3:midd1:ki9ee4:zetai1ee');
    assert.ok(bencodeEqual(decode(out), decode(encode(decode(out)))));
  });

  test('skips undefined members and rejects non-integers', () => {
    assert.equal(text(encode({ a: undefined, b: 1 })), 'd1:bi1ee');
    assert.throws(() => encode(1.5), BencodeError);
    assert.throws(() => encode(Number.NaN), BencodeError);
  });

  test('rejects duplicate keys from BencodeDict.from', () => {
    assert.throws(
      () =>
        encode(
          BencodeDict.from([
            ['a', 1],
            ['a', 2],
          ]),
        ),
      BencodeError,
    );
  });

  test('writes BencodeRaw spans verbatim, unsorted keys kept (BEP 44 signs v as sent)', () => {
    const raw = decode(b('d1:vd1:bi1e1:ai2eee'), { mode: 'lenient' }) as BencodeDict;
    const span = raw.raw('v')!;
    assert.equal(text(encode({ v: new BencodeRaw(span), a: 1 })), 'd1:ai1e1:vd1:bi1e1:ai2eee');
  });
});
