/** NodeIdRenewal (src/dht/id-renewal.ts): when a node id follows our external address, on a clock. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeIdRenewal } from '../../../src/dht/index.js';
import { DHT_ID_RENEW_MAX_WAIT_MS, DHT_ID_RENEW_MIN_MS } from '../../../src/shared/limits.js';

test('the first change is at once; a flapping address moves the id at most once per DHT_ID_RENEW_MIN_MS', () => {
  const r = new NodeIdRenewal();
  assert.equal(r.due(0, false), undefined, 'nothing wanted');
  r.want(1000);
  assert.equal(r.due(1000, false), 0);
  r.renewed(1000);
  assert.equal(r.pending, false);
  // The address flaps back a second later: the change waits out the interval.
  r.want(2000);
  assert.equal(r.due(2000, false), DHT_ID_RENEW_MIN_MS - 1000);
  // It flaps again and again meanwhile: still one pending change, due at the same time.
  r.want(5000);
  assert.equal(r.due(5000, false), DHT_ID_RENEW_MIN_MS - 4000);
  assert.equal(r.due(1000 + DHT_ID_RENEW_MIN_MS - 1, false), 1);
  assert.equal(r.due(1000 + DHT_ID_RENEW_MIN_MS, false), 0);
});

test('a change waits for running lookups, but at most DHT_ID_RENEW_MAX_WAIT_MS', () => {
  const r = new NodeIdRenewal();
  r.want(0);
  assert.ok((r.due(0, true) ?? 0) > 0, 'busy: wait');
  assert.ok((r.due(DHT_ID_RENEW_MAX_WAIT_MS - 1, true) ?? 0) > 0);
  assert.equal(r.due(DHT_ID_RENEW_MAX_WAIT_MS, true), 0, 'waited long enough');
  assert.equal(r.due(10, false), 0, 'idle: at once');
});

test('cancel: the address came back to one the id conforms to', () => {
  const r = new NodeIdRenewal({ minIntervalMs: 100, maxWaitMs: 10 });
  r.want(0);
  r.cancel();
  assert.equal(r.due(0, false), undefined);
  assert.equal(r.pending, false);
});
