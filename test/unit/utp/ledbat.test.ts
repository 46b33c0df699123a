import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UTP_BASE_DELAY_WINDOW_MS, UTP_GAIN_BYTES_PER_RTT } from '../../../src/shared/limits.js';
import { Ledbat } from '../../../src/utp/index.js';

const PKT = 1000;
const make = (w = 100_000) => {
  const l = new Ledbat({ initialWindowBytes: w, maxWindowBytes: 1_000_000 });
  l.slowStart = false;
  return l;
};

describe('LEDBAT (BEP 29 §congestion control)', () => {
  test('grows by at most the gain per window while the queuing delay is under target', () => {
    const l = make();
    l.onDelaySample(50_000, 0); // base
    l.onDelaySample(50_000, 1);
    const before = l.windowBytes;
    l.onAck(before, PKT, true, 1000); // a whole window acknowledged at zero queuing delay
    assert.equal(l.windowBytes - before, UTP_GAIN_BYTES_PER_RTT);
  });

  test('shrinks when the one-way delay passes the 100 ms target, in proportion', () => {
    const l = make();
    l.onDelaySample(50_000, 0);
    for (let i = 0; i < 3; i++) l.onDelaySample(50_000 + 200_000, 1 + i); // 200 ms of queue
    assert.equal(l.ourDelayUs, 200_000);
    const before = l.windowBytes;
    l.onAck(before, PKT, true, 10_000);
    assert.equal(
      l.windowBytes,
      before - UTP_GAIN_BYTES_PER_RTT,
      'off target by one target: −gain per window',
    );
  });

  test('an application-limited sender does not grow the window', () => {
    const l = make();
    l.onDelaySample(50_000, 0);
    l.onAck(50_000, PKT, false, 1000);
    assert.equal(l.windowBytes, 100_000);
  });

  test('the queuing delay is clamped to the round trip', () => {
    const l = make();
    l.onDelaySample(1000, 0);
    for (let i = 0; i < 3; i++) l.onDelaySample(1000 + 500_000, 1 + i);
    const before = l.windowBytes;
    l.onAck(before, PKT, true, 20); // rtt 20 ms: the delay cannot be 500 ms
    assert.ok(l.windowBytes > before);
  });

  test('loss halves the window, never below one packet; a timeout drops to one packet', () => {
    const l = make(10_000);
    l.onLoss(PKT);
    assert.equal(l.windowBytes, 5000);
    for (let i = 0; i < 10; i++) l.onLoss(PKT);
    assert.equal(l.windowBytes, PKT);
    const t = make(64_000);
    t.onTimeout(PKT);
    assert.equal(t.windowBytes, PKT);
    assert.equal(t.slowStart, true);
    assert.equal(t.slowStartThresholdBytes, 32_000);
  });

  test('slow start doubles per window until the delay rises', () => {
    const l = new Ledbat({ initialWindowBytes: 10_000, maxWindowBytes: 1_000_000 });
    l.onDelaySample(10_000, 0);
    l.onAck(10_000, PKT, true, 100);
    assert.equal(l.windowBytes, 20_000);
    for (let i = 0; i < 3; i++) l.onDelaySample(10_000 + 80_000, 1 + i);
    l.onAck(1000, PKT, true, 1000);
    assert.equal(l.slowStart, false);
  });

  test('the window is capped at its maximum', () => {
    const l = new Ledbat({ initialWindowBytes: 900_000, maxWindowBytes: 1_000_000 });
    l.onDelaySample(10_000, 0);
    l.onAck(900_000, PKT, true, 100);
    assert.equal(l.windowBytes, 1_000_000);
  });

  test(`the base delay is forgotten after UTP_BASE_DELAY_WINDOW_MS (${UTP_BASE_DELAY_WINDOW_MS} ms)`, () => {
    const l = make();
    l.onDelaySample(10_000, 0);
    l.onDelaySample(90_000, 1000);
    assert.equal(l.baseDelayUs, 10_000);
    l.onDelaySample(90_000, UTP_BASE_DELAY_WINDOW_MS / 2);
    assert.equal(l.baseDelayUs, 10_000, 'still inside the window');
    l.onDelaySample(90_000, UTP_BASE_DELAY_WINDOW_MS + 60_001);
    assert.equal(l.baseDelayUs, 90_000, 'a route change (or clock drift) becomes the new base');
  });

  test('delays wrap modulo 2³² µs', () => {
    const l = make();
    l.onDelaySample(0xffff_fff0, 0);
    l.onDelaySample(0x10, 1);
    l.onDelaySample(0x10, 2);
    l.onDelaySample(0x10, 3);
    assert.equal(l.ourDelayUs, 0x20, 'later than the base by 32 µs across the wrap');
  });
});
