/** Small byte helpers of the MSE state machines (internal: not exported from the wire layer). */
import type { RandomBytes } from './handshake.js';

/** `a` xor `b` (same length) into a fresh array. */
export function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k]! ^ b[k]!;
  return out;
}

/** Index of the first occurrence of `pattern` in `hay` at or after `from`, or -1. */
export function indexOfBytes(hay: Uint8Array, pattern: Uint8Array, from: number): number {
  const first = pattern[0]!;
  const last = hay.length - pattern.length;
  outer: for (let p = from; p <= last; p++) {
    if (hay[p] !== first) continue;
    for (let k = 1; k < pattern.length; k++) if (hay[p + k] !== pattern[k]) continue outer;
    return p;
  }
  return -1;
}

/** A random padding: length uniform in [0, max] (up to a negligible bias), bytes from `random`. */
export function randomPadding(random: RandomBytes, max: number): Uint8Array {
  if (max === 0) return new Uint8Array(0);
  const r = random(2);
  const out = new Uint8Array((((r[0] ?? 0) << 8) | (r[1] ?? 0)) % (max + 1));
  if (out.length > 0) out.set(random(out.length).subarray(0, out.length));
  return out;
}

/** Throws a RangeError (a programmer error) unless `v` is an integer in [0, max]. */
export function checkRange(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} must be in [0, ${max}]`);
}
