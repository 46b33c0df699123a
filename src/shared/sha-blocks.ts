/**
 * The block functions of SHA-1 and SHA-256 (FIPS 180-4) in plain TypeScript, and the final
 * padding, shared by the two places that hash without node:crypto: the Bitcoin layer's short
 * inputs (bitcoin/crypto/sha256.ts: no native buffer per digest) and the browser bundle's
 * synchronous hasher (browser/sha.ts: a page has only the asynchronous `crypto.subtle`).
 *
 * State and message schedule are `Int32Array`s owned by the caller (reused, nothing allocated per
 * block): their values stay 32-bit integers for the JIT, several times faster than
 * `Uint32Array` here.
 */

/** SHA-256 round constants. */
const K256 = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** SHA-256's initial state (copy it into the caller's state array). */
export const SHA256_IV: readonly number[] = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
/** SHA-1's initial state. */
export const SHA1_IV: readonly number[] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];

/** Loads the 16 big-endian words of the block at `b[at…at+64)` into `w[0…16)`. */
function loadBlock(w: Int32Array, b: Uint8Array, at: number): void {
  for (let t = 0; t < 16; t++) {
    const j = at + t * 4;
    w[t] = (b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!;
  }
}

/** One SHA-256 block: `h` (8 words) absorbs `b[at…at+64)`; `w` is a 64-word scratch array. */
export function sha256Block(h: Int32Array, w: Int32Array, b: Uint8Array, at: number): void {
  loadBlock(w, b, at);
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = h[0]!;
  let bb = h[1]!;
  let c = h[2]!;
  let d = h[3]!;
  let e = h[4]!;
  let f = h[5]!;
  let g = h[6]!;
  let hh = h[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (hh + S1 + ch + K256[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & bb) ^ (a & c) ^ (bb & c);
    const t2 = (S0 + maj) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + bb) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
  h[5] = (h[5]! + f) | 0;
  h[6] = (h[6]! + g) | 0;
  h[7] = (h[7]! + hh) | 0;
}

/** One SHA-1 block: `h` (5 words) absorbs `b[at…at+64)`; `w` is an 80-word scratch array. */
export function sha1Block(h: Int32Array, w: Int32Array, b: Uint8Array, at: number): void {
  loadBlock(w, b, at);
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
    w[t] = (x << 1) | (x >>> 31);
  }
  let a = h[0]!;
  let b1 = h[1]!;
  let c = h[2]!;
  let d = h[3]!;
  let e = h[4]!;
  for (let t = 0; t < 80; t++) {
    let f: number;
    let k: number;
    if (t < 20) {
      f = (b1 & c) | (~b1 & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b1 ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b1 & c) | (b1 & d) | (c & d);
      k = 0x8f1bbcdc | 0;
    } else {
      f = b1 ^ c ^ d;
      k = 0xca62c1d6 | 0;
    }
    const tmp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]!) | 0;
    e = d;
    d = c;
    c = (b1 << 30) | (b1 >>> 2);
    b1 = a;
    a = tmp;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b1) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
}

/**
 * Writes the final padding of a message of `length` bytes whose last `fill` (< 64) bytes are
 * already at `tail[0…fill)`: the 0x80 byte, zeros, and the 64-bit big-endian bit length. Returns
 * the bytes of `tail` to hash (64 or 128; `tail` must hold 128).
 */
export function shaPad(tail: Uint8Array, fill: number, length: number): 64 | 128 {
  const end = fill + 9 <= 64 ? 64 : 128;
  tail.fill(0, fill, end);
  tail[fill] = 0x80;
  // The high word from a float division: exact for lengths below 2^53 bits.
  const bits = length * 8;
  const hi = Math.floor(bits / 0x100000000);
  const lo = bits >>> 0;
  tail[end - 8] = hi >>> 24;
  tail[end - 7] = hi >>> 16;
  tail[end - 6] = hi >>> 8;
  tail[end - 5] = hi;
  tail[end - 4] = lo >>> 24;
  tail[end - 3] = lo >>> 16;
  tail[end - 2] = lo >>> 8;
  tail[end - 1] = lo;
  return end;
}

/** The state words, big-endian, as a new digest. */
export function shaState(h: Int32Array): Uint8Array {
  const out = new Uint8Array(h.length * 4);
  for (let i = 0; i < h.length; i++) {
    const v = h[i]!;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = v >>> 16;
    out[i * 4 + 2] = v >>> 8;
    out[i * 4 + 3] = v;
  }
  return out;
}
