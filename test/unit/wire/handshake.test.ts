import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import {
  decodeHandshake,
  encodeHandshake,
  HANDSHAKE_BYTES,
  hasReservedBit,
  makeReserved,
  ReservedBit,
  readReserved,
  setReservedBit,
  WireError,
} from '../../../src/wire/index.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const infoHash = hex('aa'.repeat(20));
const peerId = new TextEncoder().encode('-SH0100-abcdefghijkl');

describe('handshake', () => {
  test('encodes the 68 bytes of BEP 3 exactly', () => {
    const bytes = encodeHandshake({
      reserved: makeReserved({ extended: true, fast: true }),
      infoHash,
      peerId,
    });
    const expected = hex(
      `13 ${Buffer.from('BitTorrent protocol').toString('hex')}` +
        ' 00 00 00 00 00 10 00 04' +
        ` ${'aa'.repeat(20)} ${Buffer.from('-SH0100-abcdefghijkl').toString('hex')}`,
    );
    assert.equal(bytes.length, HANDSHAKE_BYTES);
    assert.deepEqual(bytes, expected);
    assert.deepEqual(decodeHandshake(bytes), {
      reserved: hex('0000000000100004'),
      infoHash,
      peerId,
    });
  });

  test('encodes into a caller buffer at an offset', () => {
    const out = new Uint8Array(70).fill(0xee);
    encodeHandshake({ reserved: new Uint8Array(8), infoHash, peerId }, out, 2);
    assert.equal(out[0], 0xee);
    assert.equal(out[2], 19);
    assert.deepEqual(decodeHandshake(out, 2).peerId, peerId);
    assert.throws(
      () => encodeHandshake({ reserved: new Uint8Array(8), infoHash, peerId }, out, 3),
      RangeError,
    );
  });

  test('reserved bits sit where BEP 5, 6, 10 and 52 put them', () => {
    assert.deepEqual(makeReserved({ extended: true }), hex('0000000000100000'));
    assert.deepEqual(makeReserved({ fast: true }), hex('0000000000000004'));
    assert.deepEqual(makeReserved({ dht: true }), hex('0000000000000001'));
    assert.deepEqual(makeReserved({ v2: true }), hex('0000000000000010'));
    assert.deepEqual(readReserved(hex('0000000000100015')), {
      extended: true,
      fast: true,
      dht: true,
      v2: true,
    });
    assert.deepEqual(readReserved(new Uint8Array(8)), {
      extended: false,
      fast: false,
      dht: false,
      v2: false,
    });
    const r = new Uint8Array(8);
    setReservedBit(r, ReservedBit.Fast);
    assert.ok(hasReservedBit(r, ReservedBit.Fast));
    assert.ok(!hasReservedBit(r, ReservedBit.Dht));
  });

  test('a wrong pstrlen, a wrong protocol string or a short input is WireBadHandshake', () => {
    const good = encodeHandshake({ reserved: new Uint8Array(8), infoHash, peerId });
    const cases: [string, Uint8Array][] = [
      ['pstrlen 18', Uint8Array.from(good, (b, i) => (i === 0 ? 18 : b))],
      ['pstrlen 0', Uint8Array.from(good, (b, i) => (i === 0 ? 0 : b))],
      ['lower-case b', Uint8Array.from(good, (b, i) => (i === 1 ? 0x62 : b))],
      ['last pstr byte', Uint8Array.from(good, (b, i) => (i === 19 ? 0x00 : b))],
      ['67 bytes', good.subarray(0, 67)],
      ['empty', new Uint8Array()],
    ];
    for (const [name, bytes] of cases) {
      assert.throws(
        () => decodeHandshake(bytes),
        (e: unknown) => e instanceof WireError && isShoalError(e, ErrorCode.WireBadHandshake),
        name,
      );
    }
    // Reserved, info-hash and peer id bytes are opaque: any value decodes.
    assert.ok(decodeHandshake(Uint8Array.from(good, (b, i) => (i >= 20 ? 0xff : b))));
  });

  test('decoded fields are copies, not views of the input', () => {
    const good = encodeHandshake({ reserved: new Uint8Array(8), infoHash, peerId });
    const h = decodeHandshake(good);
    good.fill(0, 20);
    assert.deepEqual(h.infoHash, infoHash);
  });

  test('programmer errors are RangeErrors', () => {
    assert.throws(() => encodeHandshake({ reserved: new Uint8Array(7), infoHash, peerId }), RangeError);
    assert.throws(
      () => encodeHandshake({ reserved: new Uint8Array(8), infoHash: new Uint8Array(32), peerId }),
      RangeError,
    );
  });
});
