/**
 * RC4 (the "ARCFOUR" keystream generator), as MSE/PE uses it to encrypt a whole BitTorrent
 * connection. It runs on every byte of an encrypted transfer, so it is written for V8's JIT:
 *
 * - the state is a `Uint8Array(256)` and `i`/`j` live in locals during a call;
 * - all index math is Int32 (`& 255`), never a modulo or a float;
 * - the body XORs 8 bytes per iteration through an `Int32Array` view of the data (4 keystream
 *   bytes packed little-endian into one word), which halves the loads and stores of the data
 *   and lets V8 drop most bounds checks. The head and tail that are not word-aligned go byte by
 *   byte. On a big-endian host the word path is off and every byte goes through the byte loop.
 *
 * The word view is cached per `ArrayBuffer`, so a stream that decrypts into one reused read
 * buffer allocates nothing per call.
 *
 * Runs of at least {@link RC4_WASM_MIN_BYTES} go through a WebAssembly loop instead (rc4-wasm.ts),
 * where the engine has one; the loops here remain for short runs and as the fallback.
 *
 * RC4 is not a secure cipher by today's standards; MSE uses it for obfuscation (see
 * `handshake.ts`). Test vectors: RFC 6229.
 */

import { RC4_WASM_CHUNK_BYTES, rc4Wasm } from './rc4-wasm.js';

/**
 * From this many bytes a run goes through the WebAssembly loop (rc4-wasm.ts): below it, copying
 * the 258-byte state in and out costs more than the faster loop saves.
 */
export const RC4_WASM_MIN_BYTES = 1024;

/** Bytes of keystream MSE discards after keying RC4 (the spec's "discard the first 1024 bytes"). */
export const MSE_RC4_DISCARD_BYTES = 1024;

/** True on little-endian hosts, where a 4-byte keystream word can be XORed as one Int32. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Below this many bytes the word path's set-up costs more than it saves. */
const WORD_PATH_MIN_BYTES = 32;

/** An RC4 keystream: each byte processed is XORed with the next keystream byte. */
export class Rc4 {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;
  /** The last `ArrayBuffer` processed and an Int32 view of all its whole words. */
  #words: Int32Array | undefined;

  /**
   * Keys the generator (the RC4 key schedule), then discards `discardBytes` of keystream.
   * @param key 1 to 256 bytes.
   * @param discardBytes keystream bytes thrown away first. @default 0
   */
  constructor(key: Uint8Array, discardBytes = 0) {
    if (key.length < 1 || key.length > 256) throw new RangeError('RC4 key must be 1 to 256 bytes');
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    let j = 0;
    const n = key.length;
    for (let i = 0; i < 256; i++) {
      const t = s[i]!;
      j = (j + t + key[i % n]!) & 255;
      s[i] = s[j]!;
      s[j] = t;
    }
    this.skip(discardBytes);
  }

  /** Advances the keystream by `n` bytes without using them (to discard, or to skip padding). */
  skip(n: number): void {
    const s = this.#s;
    let i = this.#i;
    let j = this.#j;
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 255;
      const si = s[i]!;
      j = (j + si) & 255;
      s[i] = s[j]!;
      s[j] = si;
    }
    this.#i = i;
    this.#j = j;
  }

  /**
   * Encrypts or decrypts `buf[start, end)` in place. Only those bytes are touched.
   * @param start first byte. @default 0
   * @param end one past the last byte. @default buf.length
   */
  process(buf: Uint8Array, start = 0, end: number = buf.length): void {
    if (start < 0 || end > buf.length || start > end) throw new RangeError('RC4 range out of bounds');
    if (end - start >= RC4_WASM_MIN_BYTES) {
      const wasm = rc4Wasm();
      if (wasm !== undefined) {
        this.#wasm(wasm, buf, start, end);
        return;
      }
    }
    let k = start;
    if (LITTLE_ENDIAN && end - start >= WORD_PATH_MIN_BYTES) {
      // Byte loop up to the first 4-byte-aligned address, the word loop, then the tail.
      const base = buf.byteOffset;
      const head = Math.min(end, start + ((4 - ((base + start) & 3)) & 3));
      this.#bytes(buf, k, head);
      k = head;
      const words = (end - k) >> 2;
      if (words > 0) {
        this.#wordLoop(this.#view(buf.buffer), (base + k) >> 2, words);
        k += words << 2;
      }
    }
    this.#bytes(buf, k, end);
  }

  /**
   * Writes `src[srcStart, srcEnd)` XORed with the keystream into `dst` at `dstStart`, leaving
   * `src` untouched (for encrypting bytes the caller may still share). `dst` may be `src`.
   * @param srcStart @default 0
   * @param srcEnd @default src.length
   * @param dstStart @default 0
   */
  processTo(src: Uint8Array, dst: Uint8Array, srcStart = 0, srcEnd: number = src.length, dstStart = 0): void {
    if (srcStart < 0 || srcEnd > src.length || srcStart > srcEnd) {
      throw new RangeError('RC4 source range out of bounds');
    }
    const n = srcEnd - srcStart;
    if (dstStart < 0 || dstStart + n > dst.length) throw new RangeError('RC4 destination too small');
    // A copy is a memcpy, an order of magnitude faster than the cipher: copy, then run in place.
    if (src !== dst || srcStart !== dstStart) dst.set(src.subarray(srcStart, srcEnd), dstStart);
    this.process(dst, dstStart, dstStart + n);
  }

  /** An independent generator in the same state (the same keystream from here on). */
  clone(): Rc4 {
    const c = new Rc4(Uint8Array.of(0));
    c.#s.set(this.#s);
    c.#i = this.#i;
    c.#j = this.#j;
    return c;
  }

  /** The run through the WebAssembly loop: state and bytes copied in, run, copied back. */
  #wasm(wasm: NonNullable<ReturnType<typeof rc4Wasm>>, buf: Uint8Array, start: number, end: number): void {
    const mem = wasm.memory;
    mem.set(this.#s, 0);
    mem[256] = this.#i;
    mem[257] = this.#j;
    for (let at = start; at < end; at += RC4_WASM_CHUNK_BYTES) {
      const n = Math.min(RC4_WASM_CHUNK_BYTES, end - at);
      mem.set(buf.subarray(at, at + n), wasm.dataAt);
      wasm.run(wasm.dataAt, n);
      buf.set(mem.subarray(wasm.dataAt, wasm.dataAt + n), at);
    }
    this.#s.set(mem.subarray(0, 256));
    this.#i = mem[256]!;
    this.#j = mem[257]!;
  }

  #view(buffer: ArrayBufferLike): Int32Array {
    const w = this.#words;
    // The length check catches a resizable ArrayBuffer that grew since the view was made.
    if (w !== undefined && w.buffer === buffer && w.length === buffer.byteLength >> 2) return w;
    const fresh = new Int32Array(buffer, 0, buffer.byteLength >> 2);
    this.#words = fresh;
    return fresh;
  }

  #bytes(buf: Uint8Array, from: number, to: number): void {
    const s = this.#s;
    let i = this.#i;
    let j = this.#j;
    for (let k = from; k < to; k++) {
      i = (i + 1) & 255;
      const si = s[i]!;
      j = (j + si) & 255;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      buf[k]! ^= s[(si + sj) & 255]!;
    }
    this.#i = i;
    this.#j = j;
  }

  /** XORs `count` whole words of `w` from word index `at`, 8 bytes per iteration. */
  #wordLoop(w: Int32Array, at: number, count: number): void {
    const s = this.#s;
    let i = this.#i;
    let j = this.#j;
    let q = at;
    const pairsEnd = at + (count & ~1);
    for (; q < pairsEnd; q += 2) {
      let si: number;
      let sj: number;
      i = (i + 1) & 255;
      si = s[i]!;
      j = (j + si) & 255;
      sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      let x = s[(si + sj) & 255]!;
      i = (i + 1) & 255;
      si = s[i]!;
      j = (j + si) & 255;
      sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      x |= s[(si + sj) & 255]! << 8;
      i = (i + 1) & 255;
      si = s[i]!;
      j = (j + si) & 255;
      sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      x |= s[(si + sj) & 255]! << 16;
      i = (i + 1) & 255;
      si = s[i]!;
      j = (j + si) & 255;
      sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      x |= s[(si + sj) & 255]! << 24;
      i = (i + 1) & 255;
      si = s[i]!;
      j = (j + si) & 255;
      sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      let y = s[(si + sj) & 255]!;
      i = (i + 1) & 255;
      si = s[i]!;
      j = (j + si) & 255;
      sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      y |= s[(si + sj) & 255]! << 8;
      i = (i + 1) & 255;
      si = s[i]!;
      j = (j + si) & 255;
      sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      y |= s[(si + sj) & 255]! << 16;
      i = (i + 1) & 255;
      si = s[i]!;
      j = (j + si) & 255;
      sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      y |= s[(si + sj) & 255]! << 24;
      w[q]! ^= x;
      w[q + 1]! ^= y;
    }
    if (q < at + count) {
      let x = 0;
      for (let shift = 0; shift < 32; shift += 8) {
        i = (i + 1) & 255;
        const si = s[i]!;
        j = (j + si) & 255;
        const sj = s[j]!;
        s[i] = sj;
        s[j] = si;
        x |= s[(si + sj) & 255]! << shift;
      }
      w[q]! ^= x;
    }
    this.#i = i;
    this.#j = j;
  }
}
