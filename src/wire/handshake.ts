/**
 * The peer-wire handshake (BEP 3 §peer protocol) and its reserved bits.
 *
 * Layout, 68 bytes:
 *
 *   offset  size  field
 *   0       1     pstrlen = 19
 *   1       19    pstr = "BitTorrent protocol"
 *   20      8     reserved (extension bits, see {@link ReservedBit})
 *   28      20    info_hash (v1 SHA-1, or a v2 SHA-256 truncated to 20 bytes, BEP 52)
 *   48      20    peer_id
 */
import { ErrorCode } from '../shared/errors.js';
import { WireError } from './errors.js';

/** Length of a handshake on the wire, in bytes. */
export const HANDSHAKE_BYTES = 68;
/** Length of the info-hash and of the peer id in a handshake, in bytes. */
export const HANDSHAKE_ID_BYTES = 20;
/** Number of reserved bytes in a handshake. */
export const RESERVED_BYTES = 8;

/** The protocol string "BitTorrent protocol" (BEP 3), without its length prefix. */
export const PROTOCOL_STRING: Uint8Array = new TextEncoder().encode('BitTorrent protocol');

/** A decoded handshake. All fields are fresh copies, safe to keep. */
export interface Handshake {
  /** The 8 reserved bytes; test them with {@link hasReservedBit}. */
  readonly reserved: Uint8Array;
  /** 20-byte info-hash. */
  readonly infoHash: Uint8Array;
  /** 20-byte peer id. */
  readonly peerId: Uint8Array;
}

/** One reserved bit: the byte index (0–7) in the reserved field and the mask within it. */
export interface ReservedBitPosition {
  readonly byte: number;
  readonly mask: number;
}

/** The reserved bits Shoal knows. */
export const ReservedBit = {
  /** BEP 10 extension protocol: `reserved[5] & 0x10`. */
  Extended: { byte: 5, mask: 0x10 },
  /** BEP 6 fast extension: `reserved[7] & 0x04`. */
  Fast: { byte: 7, mask: 0x04 },
  /** BEP 5 DHT (the peer accepts `port` messages): `reserved[7] & 0x01`. */
  Dht: { byte: 7, mask: 0x01 },
  /** BEP 52 upgrade to v2 for hybrid torrents: `reserved[7] & 0x10`. */
  V2: { byte: 7, mask: 0x10 },
} as const satisfies Record<string, ReservedBitPosition>;

/** True when `bit` is set in the 8 reserved bytes. */
export function hasReservedBit(reserved: Uint8Array, bit: ReservedBitPosition): boolean {
  return ((reserved[bit.byte] ?? 0) & bit.mask) !== 0;
}

/** Sets `bit` in `reserved` (mutates it) and returns it. */
export function setReservedBit(reserved: Uint8Array, bit: ReservedBitPosition): Uint8Array {
  if (reserved.length !== RESERVED_BYTES) throw new RangeError('reserved must be 8 bytes');
  reserved[bit.byte] = reserved[bit.byte]! | bit.mask;
  return reserved;
}

/** Which extensions to announce in our own handshake. */
export interface ReservedFlags {
  /** BEP 10 extension protocol. @default false */
  readonly extended?: boolean;
  /** BEP 6 fast extension. @default false */
  readonly fast?: boolean;
  /** BEP 5 DHT. @default false */
  readonly dht?: boolean;
  /** BEP 52 v2 upgrade. @default false */
  readonly v2?: boolean;
}

/** Builds the 8 reserved bytes announcing `flags`. */
export function makeReserved(flags: ReservedFlags): Uint8Array {
  const r = new Uint8Array(RESERVED_BYTES);
  if (flags.extended === true) setReservedBit(r, ReservedBit.Extended);
  if (flags.fast === true) setReservedBit(r, ReservedBit.Fast);
  if (flags.dht === true) setReservedBit(r, ReservedBit.Dht);
  if (flags.v2 === true) setReservedBit(r, ReservedBit.V2);
  return r;
}

/** The extensions a peer's reserved bytes announce. */
export function readReserved(reserved: Uint8Array): Required<ReservedFlags> {
  return {
    extended: hasReservedBit(reserved, ReservedBit.Extended),
    fast: hasReservedBit(reserved, ReservedBit.Fast),
    dht: hasReservedBit(reserved, ReservedBit.Dht),
    v2: hasReservedBit(reserved, ReservedBit.V2),
  };
}

/**
 * Writes the 68-byte handshake into `out` at `offset` (or into a fresh buffer) and returns the
 * buffer written to. Throws a RangeError when a field has the wrong length (a programmer error).
 */
export function encodeHandshake(h: Handshake, out?: Uint8Array, offset = 0): Uint8Array {
  if (h.reserved.length !== RESERVED_BYTES) throw new RangeError('reserved must be 8 bytes');
  if (h.infoHash.length !== HANDSHAKE_ID_BYTES) throw new RangeError('infoHash must be 20 bytes');
  if (h.peerId.length !== HANDSHAKE_ID_BYTES) throw new RangeError('peerId must be 20 bytes');
  const b = out ?? new Uint8Array(HANDSHAKE_BYTES);
  if (b.length - offset < HANDSHAKE_BYTES) throw new RangeError('output buffer too small for a handshake');
  b[offset] = PROTOCOL_STRING.length;
  b.set(PROTOCOL_STRING, offset + 1);
  b.set(h.reserved, offset + 20);
  b.set(h.infoHash, offset + 28);
  b.set(h.peerId, offset + 48);
  return b;
}

/**
 * Checks the bytes of a handshake prefix received so far: returns the index of the first byte that
 * breaks the `pstrlen`/`pstr` header, or -1 when the prefix is still plausible. Lets a stream
 * decoder reject a non-BitTorrent (or encrypted) connection at its first byte.
 */
export function handshakeHeaderMismatch(bytes: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to && i < 20; i++) {
    const want = i === 0 ? PROTOCOL_STRING.length : PROTOCOL_STRING[i - 1]!;
    if (bytes[i] !== want) return i;
  }
  return -1;
}

/**
 * Decodes a handshake from the 68 bytes at `offset`. Throws {@link WireError} `WireBadHandshake`
 * when fewer than 68 bytes are there, or `pstrlen`/`pstr` are not 19 / "BitTorrent protocol".
 */
export function decodeHandshake(bytes: Uint8Array, offset = 0): Handshake {
  if (bytes.length - offset < HANDSHAKE_BYTES) {
    throw new WireError(ErrorCode.WireBadHandshake, `handshake needs ${HANDSHAKE_BYTES} bytes`, { offset });
  }
  const view = bytes.subarray(offset, offset + HANDSHAKE_BYTES);
  const bad = handshakeHeaderMismatch(view, 0, 20);
  if (bad >= 0) {
    throw new WireError(
      ErrorCode.WireBadHandshake,
      bad === 0
        ? `handshake pstrlen is ${view[0]}, not 19`
        : `handshake protocol string is not "BitTorrent protocol" (byte ${bad})`,
      { offset: offset + bad },
    );
  }
  return {
    reserved: view.slice(20, 28),
    infoHash: view.slice(28, 48),
    peerId: view.slice(48, 68),
  };
}
