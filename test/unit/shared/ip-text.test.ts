/**
 * The one RFC 5952 formatter (src/shared/ip-text.ts) that the DHT, compact peers, trackers and
 * the connection layer print IPv6 addresses with.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatIpv6, formatIpv6Groups } from '../../../src/shared/ip-text.js';

const bytes = (...groups: number[]): Uint8Array => {
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
};

test('RFC 5952 examples: lowercase, no leading zeros, the longest zero run (first on a tie) as ::', () => {
  assert.equal(formatIpv6Groups(bytes(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)), '2001:db8::1');
  assert.equal(
    formatIpv6Groups(bytes(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1)),
    '2001:db8:0:1:1:1:1:1',
    'one zero group stays',
  );
  assert.equal(formatIpv6Groups(bytes(0x2001, 0, 0, 1, 0, 0, 0, 1)), '2001:0:0:1::1', 'the longer run');
  assert.equal(
    formatIpv6Groups(bytes(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)),
    '2001:db8::1:0:0:1',
    'the first on a tie',
  );
  assert.equal(formatIpv6Groups(bytes(0xabcd, 0xef, 0, 0, 0, 0, 0, 0)), 'abcd:ef::');
  assert.equal(formatIpv6Groups(new Uint8Array(16)), '::');
  assert.equal(formatIpv6Groups(bytes(0, 0, 0, 0, 0, 0, 0, 1)), '::1');
});

test('IPv4-mapped: dotted with formatIpv6 (RFC 5952 §5), hex groups with formatIpv6Groups', () => {
  const mapped = bytes(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201);
  assert.equal(formatIpv6(mapped), '::ffff:192.0.2.1');
  assert.equal(formatIpv6Groups(mapped), '::ffff:c000:201');
  assert.equal(formatIpv6(bytes(0, 0, 0, 0, 1, 0xffff, 0xc000, 0x0201)), '::1:ffff:c000:201', 'not mapped');
});

test('an offset reads the 16 bytes there', () => {
  const buf = new Uint8Array(20).fill(0xee);
  buf.set(bytes(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 3);
  assert.equal(formatIpv6Groups(buf, 3), '2001:db8::1');
  assert.equal(formatIpv6(buf, 3), '2001:db8::1');
});

test('any 16 bytes (zero-heavy, so runs and ties come up): the same text as the WHATWG URL serializer', () => {
  const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      const b = bytes(...groups);
      const oracle = new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname.slice(
        1,
        -1,
      );
      assert.equal(formatIpv6Groups(b), oracle);
    }),
    { numRuns: 2_000 },
  );
});
