import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RateMeter, SeededRandom, shuffle, TokenBucket } from '../../../src/engine/index.js';
import { BLOCK_BYTES, RATE_LIMIT_BURST_MS } from '../../../src/shared/limits.js';

describe('RateMeter', () => {
  test('averages over the sliding window', () => {
    const m = new RateMeter(0, { windowMs: 10_000, bucketMs: 1_000 });
    for (let t = 0; t < 10_000; t += 100) m.add(1_000, t); // 10 kB/s for 10 s
    assert.ok(Math.abs(m.rate(9_999) - 10_000) < 10, String(m.rate(9_999)));
    assert.equal(m.total, 100_000);
    // after the window passes with no data the rate falls to zero
    assert.equal(m.rate(25_000), 0);
    assert.equal(m.total, 100_000);
  });

  test('a young meter divides by its age, not by the whole window', () => {
    const m = new RateMeter(1_000, { windowMs: 20_000, bucketMs: 1_000 });
    m.add(4_000, 2_500);
    assert.equal(m.rate(3_000), 2_000); // 4000 bytes over 2 s
    // never divides by less than one bucket
    const n = new RateMeter(0, { windowMs: 20_000, bucketMs: 1_000 });
    n.add(500, 1);
    assert.equal(n.rate(1), 500);
  });

  test('old buckets expire one by one', () => {
    const m = new RateMeter(0, { windowMs: 4_000, bucketMs: 1_000 });
    m.add(4_000, 0);
    m.add(4_000, 3_500);
    assert.equal(m.rate(3_500), 8_000 / 3.5);
    assert.equal(m.rate(4_200), 1_000); // the first bucket left the window
    assert.equal(m.rate(3_000), 4_000 / 3, 'a clock going backwards does not resurrect data');
  });
});

describe('TokenBucket', () => {
  test('grants up to the burst, then at the rate', () => {
    const b = new TokenBucket(1_000, 2_000, 0);
    assert.deepEqual(b.take(1_500, 0), { granted: 1_500, waitMs: 0 });
    assert.deepEqual(b.take(1_000, 0), { granted: 500, waitMs: 500 });
    assert.equal(b.available(0), 0);
    assert.equal(b.waitMs(1_000, 0), 1_000);
    assert.equal(b.available(250), 250);
    assert.equal(b.tryTake(300, 250), false);
    assert.equal(b.tryTake(250, 250), true);
    assert.equal(b.available(100_000), 2_000, 'never more than the burst');
  });

  test('requests larger than the burst wait for one burst only', () => {
    const b = new TokenBucket(1_000, 1_000, 0);
    b.take(1_000, 0);
    assert.equal(b.waitMs(5_000, 0), 1_000);
    assert.equal(b.tryTake(5_000, 1_000), true);
  });

  test('the first second carries the rate plus a bounded burst, not twice the rate', () => {
    const rate = 1024 * 1024;
    const bound = rate + Math.max(BLOCK_BYTES, (rate * RATE_LIMIT_BURST_MS) / 1000);
    // A greedy sender (the upload gate): whole blocks whenever the tokens are there.
    const up = new TokenBucket(rate, undefined, 0);
    let sent = 0;
    for (let t = 0; t <= 1000; t++) while (up.tryTake(BLOCK_BYTES, t)) sent += BLOCK_BYTES;
    assert.ok(sent <= bound, `sent ${sent} bytes in the first second at ${rate}/s`);
    assert.ok(sent >= rate * 0.95, `and still about the rate: ${sent}`);
    // A greedy reader (the download side): reads 64 KiB chunks whenever out of debt.
    const down = new TokenBucket(rate, undefined, 0);
    let read = 0;
    let resumeAt = 0;
    for (let t = 0; t <= 1000; t++) {
      if (t < resumeAt) continue;
      read += 65_536;
      resumeAt = t + down.charge(65_536, t);
    }
    assert.ok(read <= bound + 65_536, `read ${read} bytes in the first second at ${rate}/s`);
    // After an idle spell the same holds: the bucket never holds more than its burst.
    let later = 0;
    for (let t = 60_000; t <= 61_000; t++) while (up.tryTake(BLOCK_BYTES, t)) later += BLOCK_BYTES;
    assert.ok(later <= bound, `sent ${later} bytes in a second after idling`);
  });

  test('rate 0 is unlimited, and the rate can change', () => {
    const b = new TokenBucket(0, undefined, 0);
    assert.equal(b.isUnlimited, true);
    assert.deepEqual(b.take(1e9, 0), { granted: 1e9, waitMs: 0 });
    b.setRate(100, 100, 0);
    assert.equal(b.isUnlimited, false);
    assert.equal(b.available(0), 100, 'starts with a full burst');
    b.take(100, 0);
    assert.equal(b.available(500), 50);
    assert.equal(b.rateBytesPerSec, 100);
  });
});

describe('SeededRandom', () => {
  test('is deterministic per seed and uniform enough', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const xs = Array.from({ length: 100 }, () => a.int(10));
    assert.deepEqual(
      xs,
      Array.from({ length: 100 }, () => b.int(10)),
    );
    assert.notDeepEqual(
      xs,
      Array.from({ length: 100 }, () => new SeededRandom(43).int(10)),
    );
    const counts = new Array<number>(10).fill(0);
    const r = new SeededRandom(7);
    for (let i = 0; i < 10_000; i++) counts[r.int(10)]!++;
    assert.ok(
      counts.every((c) => c > 850 && c < 1150),
      String(counts),
    );
    assert.equal(r.bytes(7).length, 7);
    assert.equal(r.int(1), 0);
  });

  test('shuffle permutes', () => {
    const s = shuffle([1, 2, 3, 4, 5, 6], new SeededRandom(3));
    assert.deepEqual([...s].sort(), [1, 2, 3, 4, 5, 6]);
  });
});

test('TokenBucket.charge takes everything, going into debt, and reports the wait to repay it', () => {
  const b = new TokenBucket(1000, 1000, 0);
  assert.equal(b.charge(600, 0), 0);
  assert.equal(b.charge(900, 0), 500, '500 tokens of debt at 1000/s');
  assert.equal(b.available(0), -500);
  assert.equal(b.charge(0, 500), 0);
  assert.equal(b.available(500), 0);
  assert.equal(new TokenBucket(0).charge(1e9, 0), 0, 'unlimited');
});
