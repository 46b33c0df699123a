import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseRange } from '../../../src/daemon/http/range.js';

test('parseRange: the forms of RFC 9110 §14.1.2', () => {
  assert.deepEqual(parseRange(undefined, 100), { kind: 'full' });
  assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'partial', start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'partial', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=90-1000', 100), { kind: 'partial', start: 90, end: 99 }, 'last clamped');
  assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'partial', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-1000', 100), { kind: 'partial', start: 0, end: 99 });
  assert.deepEqual(parseRange('Bytes = 5 - 6', 100), { kind: 'partial', start: 5, end: 6 });
  assert.deepEqual(parseRange('bytes=99-99', 100), { kind: 'partial', start: 99, end: 99 });
});

test('parseRange: unknown units and range lists are ignored (whole resource)', () => {
  assert.deepEqual(parseRange('items=0-5', 100), { kind: 'full' });
  assert.deepEqual(parseRange('bytes=0-5,10-20', 100), { kind: 'full' });
  assert.deepEqual(parseRange('garbage', 100), { kind: 'full' });
});

test('parseRange: an invalid range is ignored (RFC 9110 §14.2): the whole resource, 200', () => {
  for (const h of ['bytes=abc', 'bytes=a-b', 'bytes=5-2', 'bytes=-', 'bytes=1-2-3', 'bytes=--5', 'bytes= '])
    assert.deepEqual(parseRange(h, 100), { kind: 'full' }, h);
  assert.deepEqual(parseRange('bytes=-5', 0), { kind: 'full' }, 'a suffix of an empty file is all of it');
});

test('parseRange: only a valid but unsatisfiable range is 416', () => {
  for (const h of ['bytes=100-', 'bytes=100-200', 'bytes=-0', 'bytes=99999999999999999999-'])
    assert.deepEqual(parseRange(h, 100), { kind: 'unsatisfiable' }, h);
  assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' }, 'nothing to serve in an empty file');
});

test('parseRange: any satisfiable first-last pair gives exactly that window', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.nat(), fc.nat(), (size, a, b) => {
      const start = a % size;
      const last = start + (b % (size - start));
      assert.deepEqual(parseRange(`bytes=${start}-${last}`, size), { kind: 'partial', start, end: last });
    }),
  );
});

test('parseRange: never throws and never returns a window outside the resource', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), fc.nat({ max: 10_000 }), (s, size) => {
      const r = parseRange(`bytes=${s}`, size);
      if (r.kind === 'partial')
        assert.ok(r.start >= 0 && r.start <= r.end && r.end < size, JSON.stringify(r));
    }),
  );
});
