/**
 * A fixed-length set of piece indexes in the BEP 3 bitfield layout: piece 0 is the high bit of
 * byte 0, spare bits at the end are zero. Used for the `bitfield` message and by the engine for
 * our own and each peer's pieces.
 */
import { bitfieldBytes, validateBitfield } from './messages.js';

// Set bits per byte value, for count() on wire bytes.
const POPCOUNT = (() => {
  const t = new Uint8Array(256);
  for (let i = 1; i < 256; i++) t[i] = (i & 1) + t[i >> 1]!;
  return t;
})();

/** A fixed-length bitfield with an O(1) count. */
export class Bitfield {
  /** Number of bits (pieces). */
  readonly length: number;
  readonly #bytes: Uint8Array;
  #count: number;

  /** An all-clear bitfield of `length` bits. */
  constructor(length: number) {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`bitfield length must be a non-negative integer, got ${length}`);
    }
    this.length = length;
    this.#bytes = new Uint8Array(bitfieldBytes(length));
    this.#count = 0;
  }

  /**
   * A bitfield from wire bytes (a `bitfield` message payload), copied. Throws {@link WireError}
   * `WireBadMessage` when the length is not ceil(pieceCount / 8) or a spare bit is set (BEP 3).
   */
  static fromWire(bytes: Uint8Array, pieceCount: number): Bitfield {
    validateBitfield(bytes, pieceCount);
    const b = new Bitfield(pieceCount);
    b.#bytes.set(bytes);
    let c = 0;
    for (let i = 0; i < bytes.length; i++) c += POPCOUNT[bytes[i]!]!;
    b.#count = c;
    return b;
  }

  /** A bitfield of `length` bits, all set (a seed, or BEP 6 `have all`). */
  static full(length: number): Bitfield {
    const b = new Bitfield(length);
    b.setAll();
    return b;
  }

  /** The wire bytes (a copy), ready for a `bitfield` message. */
  toWire(): Uint8Array {
    return this.#bytes.slice();
  }

  #check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`bit index ${index} outside [0, ${this.length})`);
    }
  }

  /** Whether bit `index` is set. Throws a RangeError outside [0, length). */
  get(index: number): boolean {
    this.#check(index);
    return (this.#bytes[index >>> 3]! & (0x80 >>> (index & 7))) !== 0;
  }

  /** Sets bit `index` to `value`. Throws a RangeError outside [0, length). */
  set(index: number, value = true): void {
    this.#check(index);
    const at = index >>> 3;
    const mask = 0x80 >>> (index & 7);
    const was = (this.#bytes[at]! & mask) !== 0;
    if (was === value) return;
    if (value) {
      this.#bytes[at] = this.#bytes[at]! | mask;
      this.#count++;
    } else {
      this.#bytes[at] = this.#bytes[at]! & ~mask;
      this.#count--;
    }
  }

  /** Sets every bit (spare bits stay zero). */
  setAll(): void {
    this.#bytes.fill(0xff);
    const spare = this.#bytes.length * 8 - this.length;
    if (spare > 0) this.#bytes[this.#bytes.length - 1] = (0xff << spare) & 0xff;
    this.#count = this.length;
  }

  /** Clears every bit. */
  clearAll(): void {
    this.#bytes.fill(0);
    this.#count = 0;
  }

  /** Number of set bits. */
  count(): number {
    return this.#count;
  }

  /** True when every bit is set (true for a zero-length bitfield). */
  hasAll(): boolean {
    return this.#count === this.length;
  }

  /** True when no bit is set. */
  hasNone(): boolean {
    return this.#count === 0;
  }

  /** Indexes of the set bits, ascending. */
  *setIndexes(): IterableIterator<number> {
    const bytes = this.#bytes;
    for (let i = 0; i < bytes.length; i++) {
      const v = bytes[i]!;
      if (v === 0) continue;
      for (let bit = 0; bit < 8; bit++) if ((v & (0x80 >>> bit)) !== 0) yield i * 8 + bit;
    }
  }
}
