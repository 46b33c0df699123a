/** Big-endian integer access on byte arrays (BEP 3: "All later integers ... four bytes big-endian"). */

/** Reads an unsigned 32-bit big-endian integer at `at`; the caller guarantees 4 bytes are there. */
export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Reads an unsigned 16-bit big-endian integer at `at`. */
export function readU16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

/** Writes `v` (0 ≤ v < 2³²) big-endian at `at`. */
export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** Writes `v` (0 ≤ v < 2¹⁶) big-endian at `at`. */
export function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

/** Throws a RangeError (a programmer error, not untrusted input) unless `v` is a uint32. */
export function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`${what} must be an integer in [0, 2^32), got ${v}`);
  }
}
