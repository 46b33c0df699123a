import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { MAX_UTP_EXTENSIONS } from '../../../src/shared/limits.js';
import {
  decodePacket,
  encodePacket,
  isUtpDatagram,
  PacketType,
  sackBit,
  UTP_HEADER_BYTES,
  type UtpHeaderFields,
  UtpPacket,
} from '../../../src/utp/index.js';

const h: UtpHeaderFields = {
  type: PacketType.Data,
  connectionId: 0xbeef,
  timestampUs: 0xfedcba98,
  timestampDiffUs: 12345,
  wndSize: 1 << 20,
  seqNr: 65535,
  ackNr: 1,
};

function throwsCode(bytes: Uint8Array, code: string): void {
  assert.throws(
    () => decodePacket(bytes),
    (e: unknown) => isShoalError(e) && e.code === code,
  );
}

describe('uTP packet codec (BEP 29 §header format)', () => {
  test('the header round-trips, big-endian, type in the high nibble', () => {
    const bytes = encodePacket(h, Uint8Array.of(1, 2, 3));
    assert.equal(bytes.length, UTP_HEADER_BYTES + 3);
    assert.equal(bytes[0], 0x01, 'ST_DATA, version 1');
    assert.deepEqual([...bytes.subarray(2, 4)], [0xbe, 0xef]);
    const p = decodePacket(bytes);
    assert.equal(p.type, PacketType.Data);
    assert.equal(p.connectionId, 0xbeef);
    assert.equal(p.timestampUs, 0xfedcba98);
    assert.equal(p.timestampDiffUs, 12345);
    assert.equal(p.wndSize, 1 << 20);
    assert.equal(p.seqNr, 65535);
    assert.equal(p.ackNr, 1);
    assert.equal(p.sackOffset, -1);
    assert.deepEqual([...p.bytes.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)], [1, 2, 3]);
  });

  test('a selective ACK decodes with BEP 29 bit order (LSB of byte 0 is ack_nr + 2)', () => {
    const sack = Uint8Array.of(0b0000_0101, 0, 0, 0b1000_0000);
    const bytes = encodePacket({ ...h, type: PacketType.State }, undefined, sack);
    assert.equal(bytes[1], 1, 'first extension: selective ACK');
    const p = decodePacket(bytes);
    assert.equal(p.sackLength, 4);
    const set = [];
    for (let i = 0; i < 32; i++) if (sackBit(p, i)) set.push(i);
    assert.deepEqual(set, [0, 2, 31], 'ack_nr + 2, ack_nr + 4, ack_nr + 33');
    assert.equal(sackBit(p, 32), false, 'past the mask');
    assert.equal(p.payloadLength, 0);
  });

  test('a selective ACK of any whole number of bytes is read (libtorrent 2.0 sends 1-byte masks)', () => {
    const b = new Uint8Array(23);
    b.set(encodePacket({ ...h, type: PacketType.State }));
    b[1] = 1;
    b.set([0, 1, 0b10], 20);
    const p = decodePacket(b);
    assert.equal(p.sackLength, 1);
    assert.equal(sackBit(p, 1), true);
    assert.equal(sackBit(p, 8), false);
  });

  test('unknown extensions are skipped by their length (libutp sends 8-byte extension 2 on SYNs)', () => {
    const bytes = new Uint8Array(UTP_HEADER_BYTES + 10 + 6 + 2);
    bytes.set(encodePacket({ ...h, type: PacketType.Syn }));
    bytes[1] = 2;
    bytes.set([1, 8], 20); // next: SACK, 8 bytes of extension 2
    bytes.set([0, 4, 0xff, 0, 0, 0], 30); // SACK, 4 bytes
    bytes.set([9, 9], 36);
    const p = decodePacket(bytes);
    assert.equal(p.type, PacketType.Syn);
    assert.equal(p.sackOffset, 32);
    assert.equal(sackBit(p, 7), true);
    assert.deepEqual([...bytes.subarray(p.payloadOffset)], [9, 9]);
  });

  test('malformed datagrams are typed errors', () => {
    throwsCode(new Uint8Array(19).fill(0x01), ErrorCode.UtpTruncated);
    const v2 = encodePacket(h);
    v2[0] = 0x02;
    throwsCode(v2, ErrorCode.UtpBadVersion);
    const t5 = encodePacket(h);
    t5[0] = 0x51;
    throwsCode(t5, ErrorCode.UtpBadType);
    const badSack = encodePacket(h, undefined, new Uint8Array(4));
    badSack[21] = 8;
    throwsCode(badSack, ErrorCode.UtpTruncated);
    const sack0 = new Uint8Array(22);
    sack0.set(encodePacket(h));
    sack0[1] = 1;
    sack0.set([0, 0], 20);
    throwsCode(sack0, ErrorCode.UtpBadExtension);
    const cut = encodePacket(h);
    cut[1] = 7;
    throwsCode(cut, ErrorCode.UtpTruncated);
  });

  test(`an extension chain longer than MAX_UTP_EXTENSIONS (${MAX_UTP_EXTENSIONS}) is refused`, () => {
    const make = (n: number) => {
      const b = new Uint8Array(UTP_HEADER_BYTES + 2 * n);
      b.set(encodePacket(h));
      b[1] = 9;
      for (let i = 0; i < n; i++) b.set([i === n - 1 ? 0 : 9, 0], UTP_HEADER_BYTES + 2 * i);
      return b;
    };
    assert.equal(decodePacket(make(MAX_UTP_EXTENSIONS)).payloadLength, 0);
    throwsCode(make(MAX_UTP_EXTENSIONS + 1), ErrorCode.UtpTooManyExtensions);
  });

  test('decoding into a reused packet overwrites every field', () => {
    const p = new UtpPacket();
    decodePacket(encodePacket(h, undefined, new Uint8Array(4).fill(1)), p);
    decodePacket(encodePacket({ ...h, seqNr: 7 }), p);
    assert.equal(p.sackOffset, -1);
    assert.equal(p.seqNr, 7);
  });

  test('isUtpDatagram tells uTP from KRPC and UDP tracker replies', () => {
    assert.equal(isUtpDatagram(encodePacket(h)), true);
    assert.equal(isUtpDatagram(encodePacket({ ...h, type: PacketType.Syn })), true);
    const krpc = new TextEncoder().encode('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe');
    assert.equal(isUtpDatagram(krpc), false);
    const trackerReply = new Uint8Array(20); // action 1 (announce) as a 32-bit big-endian integer
    trackerReply[3] = 1;
    assert.equal(isUtpDatagram(trackerReply), false);
    assert.equal(isUtpDatagram(encodePacket(h).subarray(0, 19)), false);
  });
});
