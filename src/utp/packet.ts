/**
 * The uTP packet codec (BEP 29 §header format): the 20-byte version 1 header and the extension
 * chain behind it. Decoding fills a caller-owned {@link UtpPacket} (no allocation per datagram)
 * and points into the input for the selective-ACK bitmask and the payload; encoding writes into a
 * caller-supplied buffer.
 *
 * ```
 *  0       4       8               16              24              32
 *  +-------+-------+---------------+---------------+---------------+
 *  | type  | ver   | extension     | connection_id                 |
 *  +-------+-------+---------------+---------------+---------------+
 *  | timestamp_microseconds                                        |
 *  | timestamp_difference_microseconds                             |
 *  | wnd_size                                                      |
 *  | seq_nr                        | ack_nr                        |
 *  +---------------+---------------+---------------+---------------+
 *  then while `extension` ≠ 0:  [next extension: u8][len: u8][len bytes]
 *  then the payload.
 * ```
 * All fields are big-endian. Extension 1 is the selective ACK (a bitmask; BEP 29 asks for a
 * multiple of 4 bytes, libtorrent sends any length, so any non-empty one is read); extension 0x53
 * is Shoal's datagram-size declaration ({@link EXTENSION_DATAGRAM_SIZE}); other unknown extensions (libutp's 8-byte extension 2 on SYNs, libtorrent's close reason) are
 * skipped by their length. At most {@link MAX_UTP_EXTENSIONS} are read.
 */
import { ErrorCode } from '../shared/errors.js';
import { MAX_UTP_EXTENSIONS } from '../shared/limits.js';
import { UtpError } from './errors.js';

/** Packet types (BEP 29 §type). */
export const PacketType = {
  /** A data packet; always carries a payload. */
  Data: 0,
  /** The last packet of a direction; its seq_nr is the end of the stream (`eof_pkt`). */
  Fin: 1,
  /** An ACK without data; does not advance seq_nr. */
  State: 2,
  /** Forceful termination: the sender has no state for this connection. */
  Reset: 3,
  /** Connection request. */
  Syn: 4,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

/** The protocol version this codec speaks. */
export const UTP_VERSION = 1;
/** Size of the fixed header, in bytes. */
export const UTP_HEADER_BYTES = 20;
/** Extension type of the selective ACK. */
export const EXTENSION_SACK = 1;
/** Extension type of libutp's 8 bytes of extension bits (sent on SYNs; we send them zero). */
export const EXTENSION_BITS = 2;
/**
 * Extension type of Shoal's datagram-size declaration: a 16-bit big-endian count, the largest
 * datagram its sender accepts, in bytes. Sent on a SYN and on the answer to a SYN that carried it,
 * behind an all-zero {@link EXTENSION_BITS} (libutp as in Transmission 3.00 takes a packet whose
 * first extension type is 3 or more for an old-format one and never answers it; later types in
 * the chain it skips, as libtorrent does). BEP 29 has no such field: without it a sender cannot
 * know that a peer takes datagrams above an Ethernet MTU (libtorrent 2.0.8 drops those), and a
 * probe cannot be resent smaller.
 */
export const EXTENSION_DATAGRAM_SIZE = 0x53;
/** Bytes of the {@link EXTENSION_DATAGRAM_SIZE} payload. */
export const DATAGRAM_SIZE_EXTENSION_BYTES = 2;
/** Bytes of a whole declaration: the zero extension bits, then the datagram size, with their headers. */
export const DATAGRAM_SIZE_DECLARATION_BYTES = 2 + 8 + 2 + DATAGRAM_SIZE_EXTENSION_BYTES;

/**
 * A decoded packet. One instance is reused for every datagram, so its fields are only valid until
 * the next {@link decodePacket} into it; `bytes` is the decoded input (borrowed, not copied).
 */
export class UtpPacket {
  type: PacketType = PacketType.Data;
  connectionId = 0;
  /** The sender's clock when it sent the packet, µs modulo 2³². */
  timestampUs = 0;
  /** The sender's latest one-way delay sample of our packets to it, µs modulo 2³² (0: none yet). */
  timestampDiffUs = 0;
  /** Bytes the sender can still receive. */
  wndSize = 0;
  seqNr = 0;
  ackNr = 0;
  /** Offset of the selective-ACK bitmask in `bytes`, or -1 when there is none. */
  sackOffset = -1;
  /** Length of the selective-ACK bitmask, in bytes (0 when there is none). */
  sackLength = 0;
  /** The largest datagram the sender declares it accepts ({@link EXTENSION_DATAGRAM_SIZE}), or 0. */
  datagramBytes = 0;
  /** Offset of the payload in `bytes`. */
  payloadOffset = UTP_HEADER_BYTES;
  /** Length of the payload, in bytes. */
  payloadLength = 0;
  /** The datagram this packet was decoded from. */
  bytes: Uint8Array = new Uint8Array(0);
}

/**
 * True when `bytes` looks like a uTP datagram: at least a header, version 1, a known type. Lets
 * one UDP socket be shared with the DHT (KRPC starts with `d` = 0x64: version 4) and UDP tracker
 * replies (a 32-bit action 0 … 3 starts with 0x00: version 0).
 */
export function isUtpDatagram(bytes: Uint8Array): boolean {
  if (bytes.length < UTP_HEADER_BYTES) return false;
  const b0 = bytes[0]!;
  return (b0 & 0x0f) === UTP_VERSION && b0 >> 4 <= PacketType.Syn;
}

/**
 * Decodes `bytes` into `out` (reused), or throws a {@link UtpError}: `UtpTruncated` (shorter than
 * its header and extensions), `UtpBadVersion`, `UtpBadType`, `UtpBadExtension` (an empty
 * selective ACK), `UtpTooManyExtensions`.
 */
export function decodePacket(bytes: Uint8Array, out: UtpPacket = new UtpPacket()): UtpPacket {
  const n = bytes.length;
  if (n < UTP_HEADER_BYTES) throw new UtpError(ErrorCode.UtpTruncated, 'shorter than the uTP header', n);
  const b0 = bytes[0]!;
  if ((b0 & 0x0f) !== UTP_VERSION) throw new UtpError(ErrorCode.UtpBadVersion, `version ${b0 & 0x0f}`, 0);
  const type = b0 >> 4;
  if (type > PacketType.Syn) throw new UtpError(ErrorCode.UtpBadType, `type ${type}`, 0);
  out.type = type as PacketType;
  out.connectionId = (bytes[2]! << 8) | bytes[3]!;
  out.timestampUs = readU32(bytes, 4);
  out.timestampDiffUs = readU32(bytes, 8);
  out.wndSize = readU32(bytes, 12);
  out.seqNr = (bytes[16]! << 8) | bytes[17]!;
  out.ackNr = (bytes[18]! << 8) | bytes[19]!;
  out.sackOffset = -1;
  out.sackLength = 0;
  out.datagramBytes = 0;
  out.bytes = bytes;
  let ext = bytes[1]!;
  let at = UTP_HEADER_BYTES;
  let count = 0;
  while (ext !== 0) {
    if (++count > MAX_UTP_EXTENSIONS) {
      throw new UtpError(ErrorCode.UtpTooManyExtensions, `more than ${MAX_UTP_EXTENSIONS} extensions`, at);
    }
    if (at + 2 > n) throw new UtpError(ErrorCode.UtpTruncated, 'truncated extension header', at);
    const next = bytes[at]!;
    const len = bytes[at + 1]!;
    if (at + 2 + len > n) throw new UtpError(ErrorCode.UtpTruncated, 'truncated extension', at);
    if (ext === EXTENSION_SACK) {
      // BEP 29 says "at least 4, and in multiples of 4", but libtorrent 2.0 sends masks of any
      // whole number of bytes (1, 2, 3 …): accept every non-empty mask.
      if (len === 0) throw new UtpError(ErrorCode.UtpBadExtension, 'empty selective ACK', at);
      // A second selective ACK in one packet is meaningless; the first one counts.
      if (out.sackOffset < 0) {
        out.sackOffset = at + 2;
        out.sackLength = len;
      }
    } else if (ext === EXTENSION_DATAGRAM_SIZE && len >= DATAGRAM_SIZE_EXTENSION_BYTES) {
      out.datagramBytes = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    }
    at += 2 + len;
    ext = next;
  }
  out.payloadOffset = at;
  out.payloadLength = n - at;
  return out;
}

/** The header fields an encoder writes. */
export interface UtpHeaderFields {
  type: PacketType;
  connectionId: number;
  timestampUs: number;
  timestampDiffUs: number;
  wndSize: number;
  seqNr: number;
  ackNr: number;
}

/**
 * Writes the 20-byte header into `buf` at offset 0, with `extension` as the first extension type
 * (0: none). Returns {@link UTP_HEADER_BYTES}.
 */
export function encodeHeader(buf: Uint8Array, h: UtpHeaderFields, extension = 0): number {
  buf[0] = (h.type << 4) | UTP_VERSION;
  buf[1] = extension;
  buf[2] = (h.connectionId >>> 8) & 0xff;
  buf[3] = h.connectionId & 0xff;
  writeU32(buf, 4, h.timestampUs);
  writeU32(buf, 8, h.timestampDiffUs);
  writeU32(buf, 12, h.wndSize);
  buf[16] = (h.seqNr >>> 8) & 0xff;
  buf[17] = h.seqNr & 0xff;
  buf[18] = (h.ackNr >>> 8) & 0xff;
  buf[19] = h.ackNr & 0xff;
  return UTP_HEADER_BYTES;
}

/**
 * Writes an extension header (`next` type, `len`) at `at`, to be followed by `len` bytes of the
 * extension. Returns the offset of those bytes.
 */
export function encodeExtensionHeader(buf: Uint8Array, at: number, next: number, len: number): number {
  buf[at] = next;
  buf[at + 1] = len;
  return at + 2;
}

/**
 * Writes a datagram-size declaration of `bytes` at `at` (the header's extension type must be
 * {@link EXTENSION_BITS}; `next` is the type of the extension after it, 0: none). Returns the
 * offset after it ({@link DATAGRAM_SIZE_DECLARATION_BYTES} on).
 */
export function encodeDatagramSizeDeclaration(
  buf: Uint8Array,
  at: number,
  next: number,
  bytes: number,
): number {
  let p = encodeExtensionHeader(buf, at, EXTENSION_DATAGRAM_SIZE, 8);
  buf.fill(0, p, p + 8);
  p = encodeExtensionHeader(buf, p + 8, next, DATAGRAM_SIZE_EXTENSION_BYTES);
  buf[p] = (bytes >>> 8) & 0xff;
  buf[p + 1] = bytes & 0xff;
  return p + DATAGRAM_SIZE_EXTENSION_BYTES;
}

/** True when the selective ACK in `p` marks `ackNr + 2 + index` as received (BEP 29 bit order). */
export function sackBit(p: UtpPacket, index: number): boolean {
  if (p.sackOffset < 0 || index >= p.sackLength * 8) return false;
  return (p.bytes[p.sackOffset + (index >> 3)]! & (1 << (index & 7))) !== 0;
}

/**
 * Builds a whole packet in a new buffer (for tests, fuzz seeds and rare control packets; the
 * connection's hot path encodes into reused buffers instead). `sack` is the bitmask, whose length
 * must be a multiple of 4.
 */
export function encodePacket(h: UtpHeaderFields, payload?: Uint8Array, sack?: Uint8Array): Uint8Array {
  const sackBytes = sack === undefined ? 0 : 2 + sack.length;
  const out = new Uint8Array(UTP_HEADER_BYTES + sackBytes + (payload?.length ?? 0));
  let at = encodeHeader(out, h, sack === undefined ? 0 : EXTENSION_SACK);
  if (sack !== undefined) {
    at = encodeExtensionHeader(out, at, 0, sack.length);
    out.set(sack, at);
    at += sack.length;
  }
  if (payload !== undefined) out.set(payload, at);
  return out;
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}
