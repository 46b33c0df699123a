/**
 * The header file's format, as pure encode/decode (the writer that appends and truncates the
 * file lives in the runtime).
 *
 * Layout:
 *
 *   file header (16 bytes): "SHHC" | format version u16 LE (1) | reserved u16 (0) | network magic [4]
 *                           | height of the first record u32 LE
 *   record (84 bytes):      the 80 header bytes | the first 4 bytes of the block hash (SHA-256d)
 *
 * Records are the best chain in height order, so a record's height is its position. The 4 check
 * bytes detect a torn or damaged record without a separate checksum: they are the hash the record
 * must have. A reorganisation truncates the file at the fork height and appends; a crash mid-write
 * leaves at most one partial record, which decoding reports and the writer cuts off.
 */
import { ErrorCode } from '../../shared/errors.js';
import { sha256d } from '../crypto/hashes.js';
import { BtcError } from '../errors.js';
import { HEADER_BYTES } from './header.js';
import type { ChainParams } from './params.js';

/** Size of the file header, in bytes. */
export const RECORD_FILE_HEADER_BYTES = 16;
/** Size of one header record, in bytes. */
export const HEADER_RECORD_BYTES = HEADER_BYTES + 4;
/** The current format version. */
export const HEADER_FILE_VERSION = 1;
const FILE_MAGIC = Uint8Array.of(0x53, 0x48, 0x48, 0x43); // "SHHC"

/** The 16-byte file header for `params`, whose first record is at `startHeight`. */
export function encodeHeaderFileHeader(params: ChainParams, startHeight: number): Uint8Array {
  const out = new Uint8Array(RECORD_FILE_HEADER_BYTES);
  const v = new DataView(out.buffer);
  out.set(FILE_MAGIC, 0);
  v.setUint16(4, HEADER_FILE_VERSION, true);
  out.set(params.magic, 8);
  v.setUint32(12, startHeight, true);
  return out;
}

/** The 84-byte record of an 80-byte header. */
export function encodeHeaderRecord(header: Uint8Array): Uint8Array {
  if (header.length !== HEADER_BYTES) throw new RangeError(`a header is ${HEADER_BYTES} bytes`);
  const out = new Uint8Array(HEADER_RECORD_BYTES);
  writeHeaderRecord(out, 0, header, sha256d(header));
  return out;
}

/**
 * Writes the record of `header` into `out` at `at` (a batch of records in one buffer), its check
 * bytes taken from `hash`, the header's hash the caller already has (a wrong one makes a record
 * that fails its check on reading).
 */
export function writeHeaderRecord(out: Uint8Array, at: number, header: Uint8Array, hash: Uint8Array): void {
  if (header.length !== HEADER_BYTES) throw new RangeError(`a header is ${HEADER_BYTES} bytes`);
  out.set(header, at);
  out.set(hash.subarray(0, 4), at + HEADER_BYTES);
}

/** Byte offset of the record at `height` in a file starting at `startHeight`: where a writer truncates. */
export function headerRecordOffset(startHeight: number, height: number): number {
  if (height < startHeight) throw new RangeError(`height ${height} is below the file's start ${startHeight}`);
  return RECORD_FILE_HEADER_BYTES + (height - startHeight) * HEADER_RECORD_BYTES;
}

/** A decoded header file. */
export interface DecodedHeaderFile {
  readonly startHeight: number;
  /** The headers, in height order (views of the input). */
  readonly headers: Uint8Array[];
  /**
   * Bytes of the file that hold whole, sound records (with the file header): the writer truncates
   * the file to this length before appending.
   */
  readonly validBytes: number;
  /** True when bytes after `validBytes` were dropped: a torn last record, or a record whose check bytes fail. */
  readonly damaged: boolean;
}

/**
 * Decodes a header file for `params`. A file of another format, version or network throws
 * `BtcBadRecord`; a bad record ends the decoding there (`damaged`), as a torn write would.
 */
export function decodeHeaderFile(bytes: Uint8Array, params: ChainParams): DecodedHeaderFile {
  const bad = (why: string): never => {
    throw new BtcError(ErrorCode.BtcBadRecord, `header file: ${why}`, { offset: 0 });
  };
  if (bytes.length < RECORD_FILE_HEADER_BYTES) bad('shorter than its 16-byte header');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < 4; i++) if (bytes[i] !== FILE_MAGIC[i]) bad('not a Shoal header file');
  if (v.getUint16(4, true) !== HEADER_FILE_VERSION)
    bad(`format version ${v.getUint16(4, true)} is not supported`);
  for (let i = 0; i < 4; i++)
    if (bytes[8 + i] !== params.magic[i]) bad(`written for another network than ${params.name}`);
  const startHeight = v.getUint32(12, true);
  const headers: Uint8Array[] = [];
  let at = RECORD_FILE_HEADER_BYTES;
  while (at + HEADER_RECORD_BYTES <= bytes.length) {
    const header = bytes.subarray(at, at + HEADER_BYTES);
    const check = sha256d(header);
    let ok = true;
    for (let i = 0; i < 4; i++) if (bytes[at + HEADER_BYTES + i] !== check[i]) ok = false;
    if (!ok) break;
    headers.push(header);
    at += HEADER_RECORD_BYTES;
  }
  return { startHeight, headers, validBytes: at, damaged: at !== bytes.length };
}
