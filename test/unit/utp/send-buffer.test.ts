import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteRing, InFlight } from '../../../src/utp/index.js';

describe('ByteRing', () => {
  test('holds at most its capacity, and wraps without corrupting bytes as it grows', () => {
    const r = new ByteRing(100_000);
    const src = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    let written = 0;
    let released = 0;
    const out = new Uint8Array(300_000);
    let read = 0;
    while (read < src.length) {
      written += r.write(src.subarray(written, Math.min(src.length, written + 7_777)));
      assert.ok(r.heldBytes <= r.capacity);
      const n = Math.min(r.uncutBytes, 3000);
      const start = r.cut(n);
      r.copyOut(start, n, out, read);
      read += n;
      released = Math.max(released, read - 50_000);
      r.release(released);
    }
    assert.deepEqual(out, src);
    const free = r.freeBytes;
    assert.equal(r.write(new Uint8Array(r.capacity + 1)), free);
    assert.equal(r.heldBytes, r.capacity);
  });

  test('write accepts only what fits', () => {
    const r = new ByteRing(10);
    assert.equal(r.write(new Uint8Array(25)), 10);
    assert.equal(r.write(new Uint8Array(1)), 0);
    r.release(r.cut(4) + 4);
    assert.equal(r.write(new Uint8Array(25)), 4);
  });
});

describe('InFlight', () => {
  test('counts across the sequence wrap', () => {
    const f = new InFlight(8);
    f.reset(65534);
    for (let i = 0; i < 8; i++) f.push(i, 1, 0);
    assert.equal(f.count, 8);
    assert.equal(f.isFull, true);
    assert.equal(f.next, 6);
    assert.equal(f.contains(65535), true);
    assert.equal(f.contains(6), false);
  });
});
