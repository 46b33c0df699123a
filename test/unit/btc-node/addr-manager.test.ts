/**
 * The address manager: its size bound, a flood from one source confined to a corner of the new
 * table (it cannot evict what other sources taught us), moves to tried and back, selection.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddrManager, addressGroup } from '../../../src/btc-node/index.js';
import {
  BTC_ADDRMAN_BUCKET_SIZE,
  BTC_ADDRMAN_NEW_BUCKETS,
  BTC_ADDRMAN_TRIED_BUCKETS,
} from '../../../src/shared/limits.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const NOW = 1_800_000_000;
const make = (o: Partial<ConstructorParameters<typeof AddrManager>[0]> = {}) =>
  new AddrManager({ key: new Uint8Array(32).fill(7), random: seeded(1), nowS: () => NOW, ...o });

const addr = (i: number, port = 8333) => ({
  host: `${(i >> 16) & 255 || 1}.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`,
  port,
  services: 1n,
  time: NOW - 60,
});

test('groups: /16 for IPv4, /32 for IPv6', () => {
  assert.equal(addressGroup('198.51.100.7'), '4:198.51');
  assert.equal(addressGroup('2001:db8::1'), '6:2001:0db8');
  assert.equal(addressGroup('2001:0db8:0:0:0:0:0:1'), '6:2001:0db8');
});

test(`never holds more than (new + tried buckets) × bucket size = ${(BTC_ADDRMAN_NEW_BUCKETS + BTC_ADDRMAN_TRIED_BUCKETS) * BTC_ADDRMAN_BUCKET_SIZE} addresses`, () => {
  const m = make({ newBuckets: 8, triedBuckets: 2, bucketSize: 4 });
  assert.equal(m.capacity, 40);
  for (let i = 0; i < 5000; i++) m.add(addr(i * 977), `${i % 250}.${i % 7}.0.1`);
  assert.ok(m.size <= m.capacity, `${m.size}`);
  assert.ok(m.newCount <= 32);
  const real = make();
  assert.equal(
    real.capacity,
    (BTC_ADDRMAN_NEW_BUCKETS + BTC_ADDRMAN_TRIED_BUCKETS) * BTC_ADDRMAN_BUCKET_SIZE,
  );
});

test('a flood from one source fills a corner of the table and evicts nothing others taught us', () => {
  const m = make();
  // Honest addresses from many sources.
  const honest: { host: string; port: number }[] = [];
  for (let i = 0; i < 300; i++) {
    const a = addr(i * 7919 + 3);
    if (m.add(a, `${(i % 200) + 1}.${i % 13}.9.9`)) honest.push(a);
  }
  // 20,000 addresses from one flooding source.
  let taken = 0;
  for (let i = 0; i < 20_000; i++)
    if (m.add(addr(1_000_000 + i, 1000 + (i % 60000)), '203.0.113.66')) taken++;
  assert.ok(taken <= 16 * BTC_ADDRMAN_BUCKET_SIZE, `the flood took ${taken} slots`);
  for (const h of honest) assert.ok(m.get(h.host, h.port), `kept ${h.host}`);
});

test('good() moves an address to tried; the evicted tried occupant goes back to new', () => {
  const m = make({ triedBuckets: 1, bucketSize: 1 });
  const a = addr(11);
  const b = addr(12);
  m.add(a, '1.1.1.1');
  m.add(b, '2.2.2.2');
  m.good(a.host, a.port);
  assert.equal(m.get(a.host, a.port)?.tried, true);
  assert.equal(m.triedCount, 1);
  m.good(b.host, b.port);
  assert.equal(m.get(b.host, b.port)?.tried, true);
  assert.equal(m.triedCount, 1);
  // a went back to new (or was dropped if its new slot was taken), never lost silently while tried.
  assert.ok(m.get(a.host, a.port) === undefined || m.get(a.host, a.port)?.tried === false);
});

test('select() prefers addresses that did not just fail, and honours exclusions', () => {
  const m = make();
  const a = addr(21);
  const b = addr(22);
  m.add(a, '1.1.1.1');
  m.add(b, '5.5.5.5');
  for (let i = 0; i < 5; i++) m.attempt(a.host, a.port);
  let picksA = 0;
  for (let i = 0; i < 200; i++) if (m.select()?.host === a.host) picksA++;
  assert.ok(picksA < 20, `picked the failing address ${picksA} times`);
  assert.equal(m.select((h) => h === b.host)?.host, a.host);
  assert.equal(
    m.select(() => true),
    undefined,
  );
  m.remove(a.host, a.port);
  assert.equal(m.get(a.host, a.port), undefined);
});

test('refuses what is not an IP address or a port', () => {
  const m = make();
  assert.equal(m.add({ host: 'example.com', port: 8333, services: 1n, time: NOW }, '1.1.1.1'), false);
  assert.equal(m.add({ host: '1.2.3.4', port: 0, services: 1n, time: NOW }, '1.1.1.1'), false);
  assert.equal(m.add({ host: '1.2.3.4', port: 8333, services: 1n, time: NOW }, '1.1.1.1'), true);
  assert.equal(m.add({ host: '1.2.3.4', port: 8333, services: 8n, time: NOW }, '1.1.1.1'), false);
  assert.equal(m.get('1.2.3.4', 8333)?.services, 9n);
});
