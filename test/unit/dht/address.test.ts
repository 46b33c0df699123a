import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addressFromKey,
  addressKey,
  decodeCompactAddress,
  encodeCompactAddress,
  formatIp,
  ipFamily,
  isLocalIp,
  parseIp,
} from '../../../src/dht/index.js';

describe('IP addresses', () => {
  test('IPv4 parse and format', () => {
    assert.deepEqual(parseIp('1.2.3.4'), Uint8Array.of(1, 2, 3, 4));
    assert.equal(formatIp(Uint8Array.of(255, 0, 10, 1)), '255.0.10.1');
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', 'a.b.c.d', '', '1.2.3.4 ']) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });

  test('IPv6 parse and RFC 5952 format', () => {
    const cases: [string, string][] = [
      ['::1', '::1'],
      ['::', '::'],
      ['2001:db8::1', '2001:db8::1'],
      ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['[2001:db8::2]', '2001:db8::2'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ];
    for (const [input, out] of cases) assert.equal(formatIp(parseIp(input)!), out, input);
    for (const bad of [':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7']) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });

  test('IPv4-mapped IPv6 (dual-stack sockets) becomes IPv4', () => {
    assert.deepEqual(parseIp('::ffff:1.2.3.4'), Uint8Array.of(1, 2, 3, 4));
    assert.equal(ipFamily('::ffff:1.2.3.4'), 4);
    assert.equal(ipFamily('::1'), 6);
    assert.equal(ipFamily('example.com'), undefined);
  });

  test('compact peers round trip (BEP 5, BEP 32)', () => {
    const v4 = { host: '10.0.0.1', port: 6881 };
    assert.deepEqual(encodeCompactAddress(v4), Uint8Array.of(10, 0, 0, 1, 0x1a, 0xe1));
    assert.deepEqual(decodeCompactAddress(encodeCompactAddress(v4)!), v4);
    const v6 = { host: '2001:db8::7', port: 65535 };
    assert.equal(encodeCompactAddress(v6)!.length, 18);
    assert.deepEqual(decodeCompactAddress(encodeCompactAddress(v6)!), v6);
    assert.deepEqual(addressFromKey(addressKey(v6)!), v6);
    assert.equal(decodeCompactAddress(new Uint8Array(7)), undefined);
    assert.equal(encodeCompactAddress({ host: '1.2.3.4', port: 70000 }), undefined);
    assert.equal(encodeCompactAddress({ host: 'host', port: 1 }), undefined);
  });

  test('local addresses', () => {
    for (const ip of [
      '10.0.0.1',
      '127.0.0.1',
      '172.16.5.5',
      '192.168.0.1',
      '169.254.1.1',
      '::1',
      'fc00::1',
      'fe80::9',
    ]) {
      assert.equal(isLocalIp(parseIp(ip)!), true, ip);
    }
    for (const ip of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '2001:db8::1', '::2']) {
      assert.equal(isLocalIp(parseIp(ip)!), false, ip);
    }
  });
});
