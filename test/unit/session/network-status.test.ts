/** NetworkStatus (src/session/network-status.ts): BEP 10 `ipv4`/`ipv6` of the other family only, and its events. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ExternalAddressChanged, NetworkStatus } from '../../../src/session/network-status.js';
import { YOURIP_VOTES_NEEDED } from '../../../src/shared/limits.js';

const v6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);

test('the handshake carries our address of the family the peer cannot see, once voters agree', () => {
  const net = new NetworkStatus({ now: () => 0, listenPort: () => 6881 });
  const events: ExternalAddressChanged[] = [];
  net.on('external-address:changed', (e) => events.push(e));
  assert.deepEqual(net.handshakeFields('198.51.100.7'), {});
  assert.deepEqual(net.handshakeFields('2001:db8::7'), {});
  for (let i = 1; i <= YOURIP_VOTES_NEEDED; i++) net.vote(`2001:db8::${i}`, v6);
  assert.deepEqual(events, [{ family: 6, address: '2001:db8::9', source: 'peers', port: 6881 }]);
  // An IPv4 peer learns our IPv6 address; an IPv6 peer sees it already.
  assert.deepEqual(net.handshakeFields('198.51.100.7'), { ipv6: v6 });
  assert.deepEqual(net.handshakeFields('::ffff:198.51.100.7'), { ipv6: v6 });
  assert.deepEqual(net.handshakeFields('2001:db8::7'), {});
  for (let i = 1; i <= YOURIP_VOTES_NEEDED; i++) net.vote(`198.51.100.${i}`, Uint8Array.of(203, 0, 113, 7));
  assert.deepEqual(net.handshakeFields('2001:db8::7'), { ipv4: Uint8Array.of(203, 0, 113, 7) });
  assert.equal(net.address(4), '203.0.113.7');
  assert.equal(net.source(4), 'peers');
  assert.equal(net.port(), 6881, 'no mapping: the listen port');
});
