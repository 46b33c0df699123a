/**
 * Hashes in Bitcoin travel and are hashed in "internal" byte order, but are shown to people
 * reversed (the block explorer form, `000000000019d6…`). These two helpers are the only place that
 * flips them.
 */
import { ErrorCode } from '../../shared/errors.js';
import { BtcError } from '../errors.js';

/** Display hex (reversed) of an internal-order hash. */
export function hashToHex(hash: Uint8Array): string {
  return Buffer.from(hash).reverse().toString('hex');
}

/** Internal-order bytes of a 64-character display hex hash; `BtcInvalidArgument` otherwise. */
export function hashFromHex(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new BtcError(ErrorCode.BtcInvalidArgument, `not a 64-character hex hash: ${hex.slice(0, 80)}`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex').reverse());
}

/** Bytes of plain (not reversed) hex; `BtcInvalidArgument` when `hex` is not even-length hex. */
export function bytesFromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new BtcError(ErrorCode.BtcInvalidArgument, 'not even-length hex');
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Plain (not reversed) hex of bytes. */
export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
