/** BEP 10 `yourip` votes (src/session/external-address.ts): a majority of distinct peers elects; liars in a minority cannot. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExternalAddress } from '../../../src/session/external-address.js';
import { MAX_YOURIP_VOTES, YOURIP_VOTES_NEEDED } from '../../../src/shared/limits.js';

const ip4 = (s: string) => Uint8Array.from(s.split('.').map(Number));

test(`YOURIP_VOTES_NEEDED (${YOURIP_VOTES_NEEDED}) distinct peers elect; one peer voting again counts once`, () => {
  const ext = new ExternalAddress();
  for (let i = 0; i < 10; i++) assert.equal(ext.vote('198.51.100.1', ip4('203.0.113.7')), undefined);
  assert.equal(ext.current(), undefined);
  for (let i = 2; i < YOURIP_VOTES_NEEDED; i++) ext.vote(`198.51.100.${i}`, ip4('203.0.113.7'));
  assert.equal(ext.current(), undefined);
  assert.equal(ext.vote(`198.51.100.${YOURIP_VOTES_NEEDED}`, ip4('203.0.113.7')), '203.0.113.7');
  assert.equal(ext.current(), '203.0.113.7');
  assert.equal(ext.current(6), undefined);
});

test('a minority of lying peers cannot move the elected address; a later honest majority can', () => {
  const ext = new ExternalAddress();
  const honest = 2 * YOURIP_VOTES_NEEDED;
  for (let i = 0; i < honest; i++) ext.vote(`198.51.100.${i + 1}`, ip4('203.0.113.7'));
  assert.equal(ext.current(), '203.0.113.7');
  // Liars, fewer than the honest peers, all agreeing on another address.
  for (let i = 0; i < honest - 1; i++) ext.vote(`192.0.2.${i + 1}`, ip4('192.0.2.66'));
  assert.equal(ext.current(), '203.0.113.7');
  // The address really changed (a new lease): most peers now say so.
  for (let i = 0; i < MAX_YOURIP_VOTES; i++) ext.vote(`203.0.113.${100 + i}`, ip4('203.0.113.8'));
  assert.equal(ext.current(), '203.0.113.8');
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
