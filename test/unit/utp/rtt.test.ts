import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UTP_INITIAL_RTO_MS, UTP_MAX_RTO_MS, UTP_MIN_RTO_MS } from '../../../src/shared/limits.js';
import { RttEstimator } from '../../../src/utp/index.js';

describe('RTT and retransmission timeout (BEP 29 §timeouts)', () => {
  test('starts at the initial timeout', () => {
    assert.equal(new RttEstimator().rtoMs, UTP_INITIAL_RTO_MS);
  });

  test('follows rtt + 4·rtt_var from samples, with the BEP 29 gains', () => {
    const r = new RttEstimator();
    r.sample(1000);
    assert.equal(r.rttMs, 1000);
    assert.equal(r.rttVarMs, 500);
    assert.equal(r.rtoMs, 3000);
    r.sample(600);
    // delta = 400: var += (400 - 500) / 4 = 475; rtt += (600 - 1000) / 8 = 950
    assert.equal(r.rttVarMs, 475);
    assert.equal(r.rttMs, 950);
    assert.equal(r.rtoMs, 950 + 4 * 475);
    assert.equal(r.minRttMs, 600);
  });

  test(`is never below UTP_MIN_RTO_MS (${UTP_MIN_RTO_MS}) nor above UTP_MAX_RTO_MS (${UTP_MAX_RTO_MS})`, () => {
    const fast = new RttEstimator();
    for (let i = 0; i < 50; i++) fast.sample(1);
    assert.equal(fast.rtoMs, UTP_MIN_RTO_MS);
    const slow = new RttEstimator();
    slow.sample(100_000);
    assert.equal(slow.rtoMs, UTP_MAX_RTO_MS);
  });

  test('doubles per consecutive timeout, up to the maximum', () => {
    const r = new RttEstimator();
    for (let i = 0; i < 50; i++) r.sample(10);
    r.backoff = 1;
    assert.equal(r.rtoMs, 2 * UTP_MIN_RTO_MS);
    r.backoff = 3;
    assert.equal(r.rtoMs, 8 * UTP_MIN_RTO_MS);
    r.backoff = 40;
    assert.equal(r.rtoMs, UTP_MAX_RTO_MS);
  });
});
