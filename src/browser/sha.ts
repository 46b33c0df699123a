/**
 * SHA-1 and SHA-256 (FIPS 180-4) in plain TypeScript, synchronous and incremental: the pure core
 * takes a synchronous {@link Hasher} (piece checks, info-hashes, merkle trees), and a web page has
 * only the asynchronous `crypto.subtle`. The browser bundle maps `node:crypto`'s `createHash` to
 * this (see shims/crypto.ts). About 100 MiB/s in Chromium 156 here (SHA-1 101, SHA-256 113).
 */

export type ShaAlgorithm = 'sha1' | 'sha256';

const K256 = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));
const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** One incremental digest. */
export class Sha {
  readonly algorithm: ShaAlgorithm;
  // Int32Array, not Uint32Array: its values stay 32-bit integers for the JIT (SHA-256 4x faster).
  readonly #h: Int32Array;
  readonly #w: Int32Array;
  readonly #block = new Uint8Array(64);
  #fill = 0;
  /** Bytes hashed so far (a JS number is exact up to 2^53). */
  #length = 0;

  constructor(algorithm: ShaAlgorithm) {
    this.algorithm = algorithm;
    this.#h =
      algorithm === 'sha1'
        ? new Int32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0])
        : new Int32Array([
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
          ]);
    this.#w = new Int32Array(algorithm === 'sha1' ? 80 : 64);
  }

  update(data: Uint8Array): this {
    this.#length += data.length;
    let i = 0;
    if (this.#fill > 0) {
      const n = Math.min(64 - this.#fill, data.length);
      this.#block.set(data.subarray(0, n), this.#fill);
      this.#fill += n;
      i = n;
      if (this.#fill < 64) return this;
      this.#compress(this.#block, 0);
      this.#fill = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.#compress(data, i);
    if (i < data.length) {
      this.#block.set(data.subarray(i), 0);
      this.#fill = data.length - i;
    }
    return this;
  }

  digest(): Uint8Array {
    const bits = this.#length * 8;
    const pad = new Uint8Array((this.#fill < 56 ? 56 : 120) - this.#fill + 8);
    pad[0] = 0x80;
    const end = pad.length;
    // The 64-bit big-endian length; the high word from a float division (exact below 2^53).
    const hi = Math.floor(bits / 0x100000000);
    const lo = bits >>> 0;
    pad[end - 8] = hi >>> 24;
    pad[end - 7] = hi >>> 16;
    pad[end - 6] = hi >>> 8;
    pad[end - 5] = hi;
    pad[end - 4] = lo >>> 24;
    pad[end - 3] = lo >>> 16;
    pad[end - 2] = lo >>> 8;
    pad[end - 1] = lo;
    const length = this.#length;
    this.update(pad);
    this.#length = length;
    const out = new Uint8Array(this.#h.length * 4);
    for (let i = 0; i < this.#h.length; i++) {
      const v = this.#h[i] as number;
      out[i * 4] = v >>> 24;
      out[i * 4 + 1] = v >>> 16;
      out[i * 4 + 2] = v >>> 8;
      out[i * 4 + 3] = v;
    }
    return out;
  }

  #compress(b: Uint8Array, at: number): void {
    const w = this.#w;
    for (let t = 0; t < 16; t++) {
      const j = at + t * 4;
      w[t] =
        ((b[j] as number) << 24) |
        ((b[j + 1] as number) << 16) |
        ((b[j + 2] as number) << 8) |
        (b[j + 3] as number);
    }
    if (this.algorithm === 'sha1') this.#sha1(w);
    else this.#sha256(w);
  }

  #sha1(w: Int32Array): void {
    for (let t = 16; t < 80; t++)
      w[t] = rotl(
        (w[t - 3] as number) ^ (w[t - 8] as number) ^ (w[t - 14] as number) ^ (w[t - 16] as number),
        1,
      );
    const h = this.#h;
    let a = h[0] as number;
    let b = h[1] as number;
    let c = h[2] as number;
    let d = h[3] as number;
    let e = h[4] as number;
    for (let t = 0; t < 80; t++) {
      let f: number;
      let k: number;
      if (t < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const tmp = (rotl(a, 5) + f + e + k + (w[t] as number)) | 0;
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = tmp;
    }
    h[0] = (h[0] as number) + a;
    h[1] = (h[1] as number) + b;
    h[2] = (h[2] as number) + c;
    h[3] = (h[3] as number) + d;
    h[4] = (h[4] as number) + e;
  }

  #sha256(w: Int32Array): void {
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15] as number;
      const y = w[t - 2] as number;
      const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
      const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
      w[t] = (w[t - 16] as number) + s0 + (w[t - 7] as number) + s1;
    }
    const h = this.#h;
    let a = h[0] as number;
    let b = h[1] as number;
    let c = h[2] as number;
    let d = h[3] as number;
    let e = h[4] as number;
    let f = h[5] as number;
    let g = h[6] as number;
    let hh = h[7] as number;
    for (let t = 0; t < 64; t++) {
      const S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + (K256[t] as number) + (w[t] as number)) | 0;
      const S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = (h[0] as number) + a;
    h[1] = (h[1] as number) + b;
    h[2] = (h[2] as number) + c;
    h[3] = (h[3] as number) + d;
    h[4] = (h[4] as number) + e;
    h[5] = (h[5] as number) + f;
    h[6] = (h[6] as number) + g;
    h[7] = (h[7] as number) + hh;
  }
}

/** Digest of the concatenation of `parts`. */
export function shaDigest(algorithm: ShaAlgorithm, ...parts: Uint8Array[]): Uint8Array {
  const h = new Sha(algorithm);
  for (const p of parts) h.update(p);
  return h.digest();
}
