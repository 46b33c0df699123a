import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  UTP_DEFAULT_MAX_DATAGRAM_BYTES,
  UTP_LOOPBACK_DATAGRAM_BYTES,
  UTP_MAX_DATAGRAM_BYTES,
} from '../../../src/shared/limits.js';
import {
  DATAGRAM_SIZE_DECLARATION_BYTES,
  decodePacket,
  EXTENSION_BITS,
  EXTENSION_SACK,
  encodeDatagramSizeDeclaration,
  encodeHeader,
  UtpConnection,
  UtpEndpoint,
  type UtpHeaderFields,
  type UtpPacket,
} from '../../../src/utp/index.js';
import { Capture, PacketType, peerPacket, record } from './helpers.js';

/** A packet from the scripted peer declaring `declared` bytes (Shoal's extension). */
function declaring(h: Partial<UtpHeaderFields> & { type: PacketType }, declared: number): UtpPacket {
  const buf = new Uint8Array(40);
  const at = encodeHeader(
    buf,
    { connectionId: 0, timestampUs: 1, timestampDiffUs: 0, wndSize: 1 << 20, seqNr: 0, ackNr: 0, ...h },
    EXTENSION_BITS,
  );
  const end = encodeDatagramSizeDeclaration(buf, at, 0, declared);
  return decodePacket(buf.subarray(0, end));
}

describe('uTP datagram-size declaration (Shoal extension 0x53, behind the extension bits of libutp)', () => {
  test('codec: the extension round-trips beside a selective ACK; absent, it reads 0', () => {
    const buf = new Uint8Array(64);
    let at = encodeHeader(
      buf,
      {
        type: PacketType.State,
        connectionId: 9,
        timestampUs: 1,
        timestampDiffUs: 2,
        wndSize: 3,
        seqNr: 4,
        ackNr: 5,
      },
      EXTENSION_BITS,
    );
    at = encodeDatagramSizeDeclaration(buf, at, EXTENSION_SACK, 65_507);
    assert.equal(at, 20 + DATAGRAM_SIZE_DECLARATION_BYTES);
    buf[at] = 0;
    buf[at + 1] = 4;
    buf[at + 2] = 0b101;
    const p = decodePacket(buf.subarray(0, at + 6));
    assert.equal(p.datagramBytes, 65_507);
    assert.equal(p.sackLength, 4);
    assert.equal(p.bytes[p.sackOffset], 0b101);
    assert.equal(p.payloadLength, 0);
    // The header names the extension bits first: old libutp reads a first type of 3 or more as
    // an old-format packet.
    assert.equal(buf[1], EXTENSION_BITS);
    assert.equal(decodePacket(buf.subarray(0, at + 6), p).datagramBytes, 65_507);
    assert.equal(peerPacket({ type: PacketType.State }).datagramBytes, 0);
  });

  test('a SYN declares what we accept; a dialler raises its ceiling only for a declaring answer', () => {
    for (const declared of [0, 40_000]) {
      const out = new Capture();
      const c = new UtpConnection({ recvId: 10, sendId: 11, initialSeq: 100 }, out, 0, {
        largeDatagramBytes: UTP_LOOPBACK_DATAGRAM_BYTES,
      });
      record(c);
      c.connect(0);
      const syn = out.take()[0]!;
      assert.equal(syn.type, PacketType.Syn);
      assert.equal(syn.datagramBytes, UTP_MAX_DATAGRAM_BYTES, 'a 1 MiB receive buffer takes the largest');
      const answer = { type: PacketType.State, connectionId: 10, seqNr: 5001, ackNr: 100 } as const;
      c.onPacket(declared === 0 ? peerPacket(answer) : declaring(answer, declared), 5);
      assert.equal(c.state, 'connected');
      // libtorrent and libutp never declare: they keep the interoperable ceiling.
      assert.equal(c.mtuCeiling, declared === 0 ? UTP_DEFAULT_MAX_DATAGRAM_BYTES : declared);
    }
  });

  test('an acceptor answers a declaring SYN with its own declaration, and only such a SYN', () => {
    for (const declared of [0, 9000]) {
      const out = new Capture();
      const c = new UtpConnection({ recvId: 21, sendId: 20, initialSeq: 300 }, out, 0, {
        largeDatagramBytes: UTP_LOOPBACK_DATAGRAM_BYTES,
        receiveBufferBytes: 64 * 1024,
      });
      record(c);
      const syn = { type: PacketType.Syn, connectionId: 20, seqNr: 7 } as const;
      c.accept(declared === 0 ? peerPacket(syn) : declaring(syn, declared), 0);
      c.flush(0);
      const ans = out.take()[0]!;
      assert.equal(ans.type, PacketType.State);
      // A 64 KiB receive buffer takes packets of an eighth of it.
      assert.equal(ans.datagramBytes, declared === 0 ? 0 : 8192);
      assert.equal(c.mtuCeiling, declared === 0 ? UTP_DEFAULT_MAX_DATAGRAM_BYTES : 9000);
    }
  });

  test('without a path that carries more (largeDatagramBytes 0), a declaration changes nothing', () => {
    const out = new Capture();
    const c = new UtpConnection({ recvId: 10, sendId: 11, initialSeq: 100 }, out, 0);
    record(c);
    c.connect(0);
    out.take();
    c.onPacket(declaring({ type: PacketType.State, connectionId: 10, seqNr: 5001, ackNr: 100 }, 65_507), 5);
    assert.equal(c.mtuCeiling, UTP_DEFAULT_MAX_DATAGRAM_BYTES);
  });

  test('two endpoints on a large path probe up to large datagrams and carry the bytes intact', () => {
    type Wire = { bytes: Uint8Array; from: 'a' | 'b' };
    const queue: Wire[] = [];
    const mk = (from: 'a' | 'b') =>
      new UtpEndpoint({
        random: { u32: () => 1234 },
        output: {
          acquire: (n) => new Uint8Array(n),
          send: (d, length) => queue.push({ bytes: d.slice(0, length), from }),
        },
        largeDatagramBytes: (host) => (host === 'lo' ? UTP_LOOPBACK_DATAGRAM_BYTES : 0),
        onAccept: (c) => {
          const got: number[] = [];
          received = got;
          c.setHandlers({
            data: (b, off, len) => {
              for (let i = 0; i < len; i++) got.push(b[off + i]!);
              c.consumed(len);
            },
            event: () => {},
          });
        },
      });
    let received: number[] = [];
    const a = mk('a');
    const b = mk('b');
    let now = 0;
    const c = a.connect('lo', 2, now);
    c.setHandlers({ data: () => {}, event: () => {} });
    const payload = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
    let written = 0;
    let largest = 0;
    for (let step = 0; step < 20_000 && received.length < payload.length; step++) {
      now += 0.05;
      if (written < payload.length) written += c.write(payload.subarray(written));
      a.flush(now);
      b.flush(now);
      for (const w of queue.splice(0)) {
        if (w.from === 'a') largest = Math.max(largest, w.bytes.length);
        (w.from === 'a' ? b : a).onDatagram(w.bytes, 'lo', w.from === 'a' ? 1 : 2, now);
      }
      a.tick(now);
      b.tick(now);
    }
    assert.equal(received.length, payload.length);
    assert.ok(Buffer.from(received).equals(payload));
    assert.ok(largest > 32_000 && largest <= UTP_LOOPBACK_DATAGRAM_BYTES, `largest datagram ${largest}`);
    assert.ok(c.mtuFloor > 32_000, `floor ${c.mtuFloor}`);
  });
});
