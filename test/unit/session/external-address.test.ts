/**
 * Our external address (src/session/external-address.ts): BEP 10 `yourip` votes (a majority of
 * distinct peers elects; liars in a minority cannot), the DHT's choice and the router's, with one
 * precedence (router, then peers, then DHT), on a clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExternalAddress } from '../../../src/session/external-address.js';
import { MAX_YOURIP_VOTES, YOURIP_VOTES_NEEDED } from '../../../src/shared/limits.js';

const ip4 = (s: string) => Uint8Array.from(s.split('.').map(Number));

/** An ExternalAddress on a clock the test moves. */
function withClock(): { ext: ExternalAddress; tick(ms: number): void } {
  let now = 0;
  return {
    ext: new ExternalAddress(() => now),
    tick: (ms) => {
      now += ms;
    },
  };
}

test(`YOURIP_VOTES_NEEDED (${YOURIP_VOTES_NEEDED}) distinct peers elect; one peer voting again counts once`, () => {
  const { ext, tick } = withClock();
  for (let i = 0; i < 10; i++) assert.equal(ext.vote('198.51.100.1', ip4('203.0.113.7')), undefined);
  assert.equal(ext.current(), undefined);
  for (let i = 2; i < YOURIP_VOTES_NEEDED; i++) ext.vote(`198.51.100.${i}`, ip4('203.0.113.7'));
  assert.equal(ext.current(), undefined);
  tick(1234);
  const change = ext.vote(`198.51.100.${YOURIP_VOTES_NEEDED}`, ip4('203.0.113.7'));
  assert.deepEqual(change, {
    family: 4,
    choice: { family: 4, address: '203.0.113.7', source: 'peers', since: 1234 },
  });
  assert.equal(ext.current(), '203.0.113.7');
  assert.equal(ext.current(6), undefined);
});

test('a minority of lying peers cannot move the elected address; a later honest majority can', () => {
  const { ext, tick } = withClock();
  const honest = 2 * YOURIP_VOTES_NEEDED;
  for (let i = 0; i < honest; i++) ext.vote(`198.51.100.${i + 1}`, ip4('203.0.113.7'));
  assert.equal(ext.current(), '203.0.113.7');
  tick(60_000);
  // Liars, fewer than the honest peers, all agreeing on another address (as many as the honest
  // ones is a tie, which is no majority either).
  for (let i = 0; i < honest; i++) assert.equal(ext.vote(`192.0.2.${i + 1}`, ip4('192.0.2.66')), undefined);
  assert.equal(ext.current(), '203.0.113.7');
  assert.equal(ext.choice()?.since, 0, 'unchanged since the first election');
  tick(60_000);
  // The address really changed (a new lease): most peers now say so.
  let moved: string | undefined;
  for (let i = 0; i < MAX_YOURIP_VOTES; i++)
    moved ??= ext.vote(`203.0.113.${100 + i}`, ip4('203.0.113.8'))?.choice?.address;
  assert.equal(moved, '203.0.113.8');
  assert.equal(ext.current(), '203.0.113.8');
  assert.equal(ext.choice()?.since, 120_000);
});

test('IPv4 peers on a dual-stack listener (::ffff:a.b.c.d) vote for IPv4', () => {
  const ext = new ExternalAddress();
  for (let i = 1; i <= YOURIP_VOTES_NEEDED; i++) ext.vote(`::ffff:198.51.100.${i}`, ip4('203.0.113.7'));
  assert.equal(ext.current(4), '203.0.113.7');
});

test('a vote for the other family than the voter`s is ignored; IPv6 is elected apart', () => {
  const ext = new ExternalAddress();
  const v6 = new Uint8Array(16);
  v6.set([0x20, 0x01, 0x0d, 0xb8], 0);
  v6[15] = 9;
  for (let i = 1; i <= YOURIP_VOTES_NEEDED; i++) ext.vote(`198.51.100.${i}`, v6);
  assert.equal(ext.current(6), undefined);
  for (let i = 1; i <= YOURIP_VOTES_NEEDED; i++) ext.vote(`2001:db8::${i}`, v6);
  assert.equal(ext.current(6), '2001:db8::9');
  assert.equal(ext.current(4), undefined);
});

test('precedence: the router`s address wins over votes, votes over the DHT; each falls back', () => {
  const { ext } = withClock();
  assert.equal(ext.setDht('203.0.113.30')?.choice?.source, 'dht');
  for (let i = 1; i <= YOURIP_VOTES_NEEDED; i++) ext.vote(`198.51.100.${i}`, ip4('203.0.113.20'));
  assert.deepEqual([ext.current(), ext.choice()?.source], ['203.0.113.20', 'peers']);
  assert.equal(ext.setRouter('203.0.113.10')?.choice?.address, '203.0.113.10');
  assert.equal(ext.choice()?.source, 'router');
  // A minority of peers lying cannot move it, and neither can a majority: the router knows.
  for (let i = 1; i <= MAX_YOURIP_VOTES; i++) ext.vote(`192.0.2.${i}`, ip4('192.0.2.66'));
  assert.equal(ext.current(), '203.0.113.10');
  // The mapping is gone: the votes decide again (their majority moved meanwhile).
  assert.equal(ext.setRouter(undefined)?.choice?.address, '192.0.2.66');
  assert.equal(ext.choice()?.source, 'peers');
});

test('a router behind another NAT (private or CGNAT address) is not believed', () => {
  const ext = new ExternalAddress();
  assert.equal(ext.setRouter('100.64.1.2'), undefined);
  assert.equal(ext.setRouter('127.0.0.2'), undefined); // private and loopback: isLocalIp
  assert.equal(ext.setRouter('0.0.0.0'), undefined);
  assert.equal(ext.current(), undefined);
  assert.equal(ext.setDht('203.0.113.30')?.choice?.address, '203.0.113.30');
  assert.equal(ext.setRouter('100.100.0.1'), undefined);
  assert.equal(ext.current(), '203.0.113.30');
});

test('the same address from a stronger source is no change; losing every source is one', () => {
  const ext = new ExternalAddress();
  ext.setDht('203.0.113.30');
  assert.equal(ext.setRouter('203.0.113.30'), undefined);
  assert.equal(ext.choice()?.source, 'router');
  assert.equal(ext.setRouter(undefined), undefined, 'the DHT still says so');
  assert.equal(ext.choice()?.source, 'dht');
  const ext2 = new ExternalAddress();
  ext2.setRouter('203.0.113.10');
  assert.deepEqual(ext2.setRouter(undefined), { family: 4, choice: undefined });
  assert.equal(ext2.current(), undefined);
});
