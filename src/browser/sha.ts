/**
 * SHA-1 and SHA-256 (FIPS 180-4) in plain TypeScript, synchronous and incremental: the pure core
 * takes a synchronous {@link Hasher} (piece checks, info-hashes, merkle trees), and a web page has
 * only the asynchronous `crypto.subtle`. The browser bundle maps `node:crypto`'s `createHash` to
 * this (see shims/crypto.ts). About 100 MiB/s in Chromium 156 here (SHA-1 101, SHA-256 113). The
 * block functions are shared/sha-blocks.ts (the Bitcoin layer hashes with them too).
 */
import { SHA1_IV, SHA256_IV, sha1Block, sha256Block, shaPad, shaState } from '../shared/sha-blocks.js';

export type ShaAlgorithm = 'sha1' | 'sha256';

/** One incremental digest. */
export class Sha {
  readonly algorithm: ShaAlgorithm;
  readonly #h: Int32Array;
  readonly #w: Int32Array;
  readonly #block: (h: Int32Array, w: Int32Array, b: Uint8Array, at: number) => void;
  /** The message's unhashed tail, and room for its padding. */
  readonly #tail = new Uint8Array(128);
  #fill = 0;
  /** Bytes hashed so far (a JS number is exact up to 2^53). */
  #length = 0;

  constructor(algorithm: ShaAlgorithm) {
    this.algorithm = algorithm;
    const sha1 = algorithm === 'sha1';
    this.#h = Int32Array.from(sha1 ? SHA1_IV : SHA256_IV);
    this.#w = new Int32Array(sha1 ? 80 : 64);
    this.#block = sha1 ? sha1Block : sha256Block;
  }

  update(data: Uint8Array): this {
    this.#length += data.length;
    let i = 0;
    if (this.#fill > 0) {
      const n = Math.min(64 - this.#fill, data.length);
      this.#tail.set(data.subarray(0, n), this.#fill);
      this.#fill += n;
      i = n;
      if (this.#fill < 64) return this;
      this.#block(this.#h, this.#w, this.#tail, 0);
      this.#fill = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.#block(this.#h, this.#w, data, i);
    if (i < data.length) {
      this.#tail.set(data.subarray(i), 0);
      this.#fill = data.length - i;
    }
    return this;
  }

  digest(): Uint8Array {
    const end = shaPad(this.#tail, this.#fill, this.#length);
    this.#block(this.#h, this.#w, this.#tail, 0);
    if (end === 128) this.#block(this.#h, this.#w, this.#tail, 64);
    this.#fill = 0;
    return shaState(this.#h);
  }
}

/** Digest of the concatenation of `parts`. */
export function shaDigest(algorithm: ShaAlgorithm, ...parts: Uint8Array[]): Uint8Array {
  const h = new Sha(algorithm);
  for (const p of parts) h.update(p);
  return h.digest();
}
