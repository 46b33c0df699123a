import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bep42Crc,
  bytesToBinary,
  commonPrefixBits,
  compareDistance,
  crc32c,
  generateNodeId,
  isValidNodeIdForIp,
  parseIp,
  randomIdWithPrefix,
} from '../../../src/dht/index.js';
import { fromHex } from '../../../src/shared/hash.js';
import { SeededRandom } from '../../../src/testing/sim-network.js';

const hex = (s: string) => fromHex(s.replace(/\s+/g, ''))!;

describe('CRC32C', () => {
  test('the standard check value', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
  });
});

describe('BEP 42 node id rule', () => {
  // The test vectors of BEP 42, verbatim: IP, rand, example node ID.
  const vectors = [
    ['124.31.75.21', 1, '5fbfbf f10c5d6a4ec8a88e4c6ab4c28b95eee4 01'],
    ['21.75.31.124', 86, '5a3ce9 c14e7a08645677bbd1cfe7d8f956d532 56'],
    ['65.23.51.170', 22, 'a5d432 20bc8f112a3d426c84764f8c2a1150e6 16'],
    ['84.124.73.14', 65, '1b0321 dd1bb1fe518101ceef99462b947a01ff 41'],
    ['43.213.53.83', 90, 'e56f6c bf5b7c4be0237986d5243b87aa6d5130 5a'],
  ] as const;

  for (const [ip, rand, id] of vectors) {
    test(`${ip} rand ${rand}`, () => {
      const nodeId = hex(id);
      assert.equal(nodeId.length, 20);
      assert.equal(isValidNodeIdForIp(nodeId, ip), true);
      // The first 21 bits come from crc32c of the masked IP with r = rand & 7.
      const crc = bep42Crc(parseIp(ip)!, rand & 7);
      assert.equal(crc >>> 11, ((nodeId[0]! << 13) | (nodeId[1]! << 5) | (nodeId[2]! >> 3)) >>> 0);
      // Flipping a bit of the prefix, or of r, breaks conformance.
      const bad = nodeId.slice();
      bad[2] = bad[2]! ^ 0x08;
      assert.equal(isValidNodeIdForIp(bad, ip), false);
      const badR = nodeId.slice();
      badR[19] = badR[19]! ^ 0x01;
      assert.equal(isValidNodeIdForIp(badR, ip), false);
      // A different IP does not match.
      assert.equal(isValidNodeIdForIp(nodeId, '8.8.8.8'), false);
    });
  }

  test('generated ids conform, for IPv4 and IPv6', () => {
    const random = new SeededRandom(42);
    for (const ip of ['124.31.75.21', '203.0.113.9', '2001:db8:85a3::8a2e:370:7334', '2a00:1450::1']) {
      for (let i = 0; i < 20; i++) {
        const id = generateNodeId(random, ip);
        assert.equal(id.length, 20);
        assert.equal(isValidNodeIdForIp(id, ip), true, `${ip} #${i}`);
      }
    }
  });

  test('local addresses are exempt; unknown IPs never conform', () => {
    const id = new Uint8Array(20).fill(0xab);
    for (const ip of [
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.1',
      '192.168.1.1',
      '169.254.3.3',
      '127.0.0.1',
      '::1',
      'fd00::1',
      'fe80::1',
    ]) {
      assert.equal(isValidNodeIdForIp(id, ip), true, ip);
    }
    assert.equal(isValidNodeIdForIp(id, '172.32.0.1'), false);
    assert.equal(isValidNodeIdForIp(id, 'not an ip'), false);
    assert.equal(isValidNodeIdForIp(new Uint8Array(19), '10.0.0.1'), false);
    // Without an IP (or with a local one) the id is fully random.
    const random = new SeededRandom(7);
    assert.equal(generateNodeId(random).length, 20);
    assert.equal(generateNodeId(random, '10.0.0.1').length, 20);
  });
});

describe('XOR metric helpers', () => {
  const k = (...bytes: number[]) => bytesToBinary(Uint8Array.from({ length: 20 }, (_, i) => bytes[i] ?? 0));
  test('compareDistance orders by XOR distance to the target', () => {
    const target = k(0x80);
    assert.ok(compareDistance(k(0x81), k(0x00), target) < 0);
    assert.ok(compareDistance(k(0x00), k(0xff), target) > 0); // distances 0x80 vs 0x7f
    assert.equal(compareDistance(k(1, 2), k(1, 2), target), 0);
    assert.ok(compareDistance(k(0x80, 0, 0, 1), k(0x80, 0, 0, 2), target) < 0);
  });

  test('commonPrefixBits', () => {
    assert.equal(commonPrefixBits(k(0), k(0)), 160);
    assert.equal(commonPrefixBits(k(0), k(0x80)), 0);
    assert.equal(commonPrefixBits(k(0), k(0x01)), 7);
    assert.equal(commonPrefixBits(k(0, 0, 0x10), k(0)), 19);
  });

  test('randomIdWithPrefix stays in the bucket', () => {
    const random = new SeededRandom(3);
    const own = bytesToBinary(random.bytes(20));
    for (const bits of [0, 1, 7, 8, 13, 100, 159]) {
      for (let i = 0; i < 10; i++) {
        assert.equal(commonPrefixBits(own, randomIdWithPrefix(own, bits, random, true)), bits);
        assert.ok(commonPrefixBits(own, randomIdWithPrefix(own, bits, random, false)) >= bits);
      }
    }
  });
});
