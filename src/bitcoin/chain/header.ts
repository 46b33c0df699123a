/**
 * The 80-byte block header and its two hashes.
 *
 * Layout (all little-endian):
 *
 *   version i32 | prev_block [32] | merkle_root [32] | time u32 | bits u32 | nonce u32
 *
 * The block hash (its id everywhere in the protocol) is SHA-256d of these 80 bytes, on every
 * network. The proof-of-work hash is the same SHA-256d on Bitcoin, and scrypt (N=1024, r=1, p=1,
 * the header as both password and salt, 32 bytes out) on Litecoin.
 */
import { scryptSync } from 'node:crypto';
import { ErrorCode } from '../../shared/errors.js';
import { ByteReader } from '../codec/reader.js';
import { sha256d } from '../crypto/hashes.js';
import { BtcError } from '../errors.js';

/** Size of a serialized block header, in bytes. */
export const HEADER_BYTES = 80;

/** A parsed block header. Hashes are in internal byte order. */
export interface BlockHeader {
  readonly version: number;
  readonly prevHash: Uint8Array;
  readonly merkleRoot: Uint8Array;
  /** Block time, Unix seconds. */
  readonly time: number;
  /** The compact target (`nBits`). */
  readonly bits: number;
  readonly nonce: number;
}

/** Proof-of-work function of a network. */
export type PowAlgorithm = 'sha256d' | 'scrypt';

/** Parses 80 header bytes (from `reader`'s position). Hash fields are copies, safe to keep. */
export function readHeader(reader: ByteReader): BlockHeader {
  const version = reader.i32le('header version');
  const prevHash = reader.hash('header prev_block').slice();
  const merkleRoot = reader.hash('header merkle_root').slice();
  const time = reader.u32le('header time');
  const bits = reader.u32le('header bits');
  const nonce = reader.u32le('header nonce');
  return { version, prevHash, merkleRoot, time, bits, nonce };
}

/** Parses exactly 80 bytes. */
export function decodeHeader(bytes: Uint8Array): BlockHeader {
  if (bytes.length !== HEADER_BYTES) {
    throw new BtcError(
      ErrorCode.BtcBadMessage,
      `a block header is ${HEADER_BYTES} bytes, got ${bytes.length}`,
    );
  }
  return readHeader(new ByteReader(bytes));
}

/** Serializes a header to its 80 bytes. */
export function encodeHeader(h: BlockHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const v = new DataView(out.buffer);
  v.setInt32(0, h.version, true);
  out.set(h.prevHash, 4);
  out.set(h.merkleRoot, 36);
  v.setUint32(68, h.time >>> 0, true);
  v.setUint32(72, h.bits >>> 0, true);
  v.setUint32(76, h.nonce >>> 0, true);
  return out;
}

/** The block hash (SHA-256d of the 80 bytes), internal byte order. */
export function headerHash(headerBytes: Uint8Array): Uint8Array {
  return sha256d(headerBytes);
}

/** The proof-of-work hash of 80 header bytes under `algorithm`, internal byte order. */
export function powHash(headerBytes: Uint8Array, algorithm: PowAlgorithm): Uint8Array {
  if (algorithm === 'sha256d') return sha256d(headerBytes);
  return new Uint8Array(scryptSync(headerBytes, headerBytes, 32, { N: 1024, r: 1, p: 1 }));
}
