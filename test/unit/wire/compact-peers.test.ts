import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeCompactPeers, encodeCompactPeers, formatIp, parseIp } from '../../../src/wire/index.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('compact peers', () => {
  test('formatIp writes dotted IPv4 and RFC 5952 IPv6', () => {
    const cases: [string, string][] = [
      ['01020304', '1.2.3.4'],
      ['20010db8000000000000000000000001', '2001:db8::1'],
      ['00000000000000000000000000000000', '::'],
      ['00000000000000000000000000000001', '::1'],
      ['00010000000000000000000000000000', '1::'],
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
      ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
      ['20010db8000000000abcdef0000000ff', '2001:db8::abc:def0:0:ff'],
    ];
    for (const [bytes, text] of cases) {
      assert.equal(formatIp(hex(bytes)), text);
      assert.deepEqual(parseIp(text), hex(bytes), text);
    }
  });

  test('parseIp rejects what is not an address', () => {
    for (const bad of [
      '',
      '1.2.3',
      '256.1.1.1',
      '01.1.1.1',
      '1.2.3.4.5',
      '1:2:3:4:5:6:7:8:9',
      ':::',
      '1::2::3',
      'g::',
      '::1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7',
      'a.b.c.d',
      '::ffff:1.2.3.256',
    ]) {
      assert.equal(parseIp(bad), undefined, bad);
    }
    assert.deepEqual(parseIp('1:2:3:4:5:6:7:8'), hex('00010002000300040005000600070008'));
  });

  test('compact lists decode, encode and are capped', () => {
    const v4 = hex('01020304 1ae1 05060708 0050');
    assert.deepEqual(decodeCompactPeers(v4, 4, 10), [
      { host: '1.2.3.4', port: 6881, family: 4 },
      { host: '5.6.7.8', port: 80, family: 4 },
    ]);
    assert.deepEqual(decodeCompactPeers(v4, 4, 1), [{ host: '1.2.3.4', port: 6881, family: 4 }]);
    assert.equal(decodeCompactPeers(v4.subarray(1), 4, 10), undefined);
    assert.equal(decodeCompactPeers(v4, 6, 10), undefined);
    assert.deepEqual(encodeCompactPeers(decodeCompactPeers(v4, 4, 10)!, 4), v4);
    const v6 = hex('20010db8000000000000000000000001 1ae1');
    assert.deepEqual(decodeCompactPeers(v6, 6, 10), [{ host: '2001:db8::1', port: 6881, family: 6 }]);
    assert.throws(() => encodeCompactPeers([{ host: '::1', port: 1, family: 4 }], 4), RangeError);
    assert.throws(() => encodeCompactPeers([{ host: '1.2.3.4', port: 70000, family: 4 }], 4), RangeError);
  });
});
