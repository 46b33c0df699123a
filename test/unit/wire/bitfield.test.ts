import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { Bitfield, validateBitfield, WireError } from '../../../src/wire/index.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const badMessage = (e: unknown): boolean =>
  e instanceof WireError && isShoalError(e, ErrorCode.WireBadMessage);

describe('Bitfield', () => {
  test('piece 0 is the high bit of byte 0 (BEP 3)', () => {
    const b = new Bitfield(10);
    b.set(0);
    b.set(9);
    assert.deepEqual(b.toWire(), hex('80 40'));
    assert.equal(b.count(), 2);
    assert.ok(b.get(0) && b.get(9) && !b.get(1));
    assert.deepEqual([...b.setIndexes()], [0, 9]);
    b.set(0, false);
    b.set(0, false);
    b.set(9);
    assert.equal(b.count(), 1, 'setting a bit to its value does not change the count');
  });

  test('count, hasAll and hasNone', () => {
    const b = new Bitfield(3);
    assert.ok(b.hasNone() && !b.hasAll());
    b.setAll();
    assert.ok(b.hasAll() && !b.hasNone());
    assert.equal(b.count(), 3);
    assert.deepEqual(b.toWire(), hex('e0'), 'spare bits stay zero');
    b.clearAll();
    assert.ok(b.hasNone());
    assert.deepEqual(Bitfield.full(9).toWire(), hex('ff 80'));
    assert.deepEqual(Bitfield.full(16).toWire(), hex('ff ff'));
    const empty = new Bitfield(0);
    assert.ok(empty.hasAll() && empty.hasNone());
    assert.deepEqual(empty.toWire(), new Uint8Array());
  });

  test('fromWire copies, counts and checks length and spare bits', () => {
    const bytes = hex('a5 c0');
    const b = Bitfield.fromWire(bytes, 10);
    bytes.fill(0);
    assert.equal(b.count(), 6);
    assert.deepEqual([...b.setIndexes()], [0, 2, 5, 7, 8, 9]);
    assert.deepEqual(Bitfield.fromWire(hex('ff ff'), 16).count(), 16);
    assert.throws(() => Bitfield.fromWire(hex('ff e0'), 10), badMessage, 'spare bit set');
    assert.throws(() => Bitfield.fromWire(hex('ff'), 10), badMessage, 'one byte short');
    assert.throws(() => Bitfield.fromWire(hex('ff c0 00'), 10), badMessage, 'one byte long');
    assert.doesNotThrow(() => validateBitfield(new Uint8Array(), 0));
    assert.throws(() => validateBitfield(hex('00'), 0), badMessage);
  });

  test('out-of-range indexes are programmer errors', () => {
    const b = new Bitfield(8);
    assert.throws(() => b.get(8), RangeError);
    assert.throws(() => b.set(-1), RangeError);
    assert.throws(() => b.get(1.5), RangeError);
    assert.throws(() => new Bitfield(-1), RangeError);
  });
});
