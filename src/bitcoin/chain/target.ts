/**
 * Targets, their compact `nBits` form, and the work a target represents.
 *
 * A compact value is a base-256 float: the top byte is the size in bytes, the low 23 bits the
 * mantissa, bit 23 a sign (never valid for a target). Decoding and encoding follow Bitcoin
 * Core's arith_uint256 SetCompact / GetCompact exactly, including which encodings count as
 * negative or overflowing: a header whose bits decode so is invalid, whatever its hash.
 */

/** A decoded compact value. */
export interface DecodedBits {
  readonly target: bigint;
  readonly negative: boolean;
  readonly overflow: boolean;
}

const TWO_256 = 1n << 256n;

/** Decodes a compact `nBits` value. */
export function bitsToTarget(bits: number): DecodedBits {
  const size = bits >>> 24;
  let word = bits & 0x007fffff;
  let target: bigint;
  if (size <= 3) {
    word >>>= 8 * (3 - size);
    target = BigInt(word);
  } else {
    target = BigInt(word) << BigInt(8 * (size - 3));
  }
  const negative = word !== 0 && (bits & 0x00800000) !== 0;
  const overflow = word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
  // A 256-bit register drops what overflows; the flag already marks such values invalid.
  return { target: target % TWO_256, negative, overflow };
}

/** Encodes a non-negative target below 2^256 as compact `nBits` (lossy: keeps 3 significant bytes). */
export function targetToBits(target: bigint): number {
  if (target < 0n || target >= TWO_256) throw new RangeError('target out of range');
  let size = byteLength(target);
  let compact: number;
  if (size <= 3) compact = Number(target) << (8 * (3 - size));
  else compact = Number(target >> BigInt(8 * (size - 3)));
  // The mantissa's top bit is the sign: move one byte up instead.
  if (compact & 0x00800000) {
    compact >>>= 8;
    size++;
  }
  return (compact | (size << 24)) >>> 0;
}

function byteLength(v: bigint): number {
  return v === 0n ? 0 : Math.ceil(v.toString(16).length / 2);
}

/** The target of valid bits, or undefined when they are negative, zero, overflowing or above `powLimit`. */
export function validTarget(bits: number, powLimit: bigint): bigint | undefined {
  const d = bitsToTarget(bits);
  if (d.negative || d.overflow || d.target === 0n || d.target > powLimit) return undefined;
  return d.target;
}

/** A 32-byte hash in internal byte order read as the little-endian 256-bit integer it is compared as. */
export function hashToBigInt(hash: Uint8Array): bigint {
  if (hash.length === 0) return 0n;
  // One hex parse is several times faster than 32 BigInt shifts.
  return BigInt(`0x${Buffer.from(hash).reverse().toString('hex')}`);
}

/**
 * Expected number of hashes to find a block at `bits`: 2^256 / (target + 1). Zero for bits
 * that are negative, zero or overflowing (they never make valid headers).
 */
export function workForBits(bits: number): bigint {
  const d = bitsToTarget(bits);
  if (d.negative || d.overflow || d.target === 0n) return 0n;
  return TWO_256 / (d.target + 1n);
}
