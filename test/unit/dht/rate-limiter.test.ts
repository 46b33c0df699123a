import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RateLimiter } from '../../../src/dht/index.js';
import { MAX_DHT_RATE_LIMIT_IPS } from '../../../src/shared/limits.js';

const init = { ratePerSec: 10, burst: 20, globalRatePerSec: 1000, globalBurst: 1000 };

describe('RateLimiter', () => {
  test('a source gets its burst, then its rate', () => {
    const r = new RateLimiter(init, 0);
    let ok = 0;
    for (let i = 0; i < 100; i++) if (r.allow('a', 0)) ok++;
    assert.equal(ok, 20);
    assert.equal(r.allow('a', 99), false);
    assert.equal(r.allow('a', 100), true, '10/s: one token per 100 ms');
    assert.equal(r.allow('b', 100), true, 'other sources are unaffected');
  });

  test('the global bucket bounds the sum of all sources', () => {
    const r = new RateLimiter({ ...init, globalRatePerSec: 5, globalBurst: 5 }, 0);
    let ok = 0;
    for (let i = 0; i < 100; i++) if (r.allow(`s${i}`, 0)) ok++;
    assert.equal(ok, 5);
  });

  test('MAX_DHT_RATE_LIMIT_IPS bounds the table; purge empties it when idle', () => {
    const r = new RateLimiter(init, 0);
    for (let i = 0; i < MAX_DHT_RATE_LIMIT_IPS + 500; i++) r.allow(`ip${i}`, 0);
    assert.equal(r.size, MAX_DHT_RATE_LIMIT_IPS);
    r.purge(50);
    assert.ok(r.size > 0, 'buckets not yet refilled are kept');
    r.purge(10_000);
    assert.equal(r.size, 0);
  });
});
