/** `ipv4Bytes`: BEP 10's `yourip` from a peer's address, plain or as a dual-stack listener reports it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipv4Bytes } from '../../../src/net/ip-address.js';

test('ipv4Bytes: plain and IPv4-mapped addresses give 4 bytes; anything else gives none', () => {
  assert.deepEqual(ipv4Bytes('192.0.2.7'), Uint8Array.of(192, 0, 2, 7));
  assert.deepEqual(ipv4Bytes('::ffff:203.0.113.255'), Uint8Array.of(203, 0, 113, 255));
  assert.deepEqual(ipv4Bytes('::FFFF:127.0.0.1'), Uint8Array.of(127, 0, 0, 1));
  for (const bad of ['::1', '2001:db8::1', '256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '', 'host'])
    assert.equal(ipv4Bytes(bad), undefined, bad);
});
