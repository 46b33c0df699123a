/**
 * Narrowing helpers for decoded bencode: each returns the value when it has the expected
 * shape and `undefined` otherwise, so parsers of untrusted input decide what a mismatch means.
 */
import { BencodeDict, type BencodeValue, bytesToUtf8 } from './bencode.js';

export function asBytes(v: BencodeValue | undefined): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

/** A safe-integer `number`; bigints beyond the safe range yield `undefined`. */
export function asInt(v: BencodeValue | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** An integer of either representation, as bigint. */
export function asBigInt(v: BencodeValue | undefined): bigint | undefined {
  if (typeof v === 'number') return BigInt(v);
  return typeof v === 'bigint' ? v : undefined;
}

export function asList(v: BencodeValue | undefined): BencodeValue[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

export function asDict(v: BencodeValue | undefined): BencodeDict | undefined {
  return v instanceof BencodeDict ? v : undefined;
}

/** A byte string that is valid UTF-8, as text. */
export function asUtf8(v: BencodeValue | undefined): string | undefined {
  const b = asBytes(v);
  return b === undefined ? undefined : bytesToUtf8(b);
}
