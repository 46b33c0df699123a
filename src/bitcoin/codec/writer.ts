/**
 * A growable writer of Bitcoin's serialization, the mirror of {@link ByteReader}: little-endian
 * integers, minimal CompactSize lengths, length-prefixed byte strings. The buffer doubles as it
 * fills, so writing n bytes costs O(n).
 */
const MAX_U64 = 0xffff_ffff_ffff_ffffn;

export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  constructor(initialBytes = 256) {
    this.#buf = new Uint8Array(Math.max(16, initialBytes));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  #room(n: number): number {
    const at = this.#len;
    if (at + n > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < at + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#len = at + n;
    return at;
  }

  u8(v: number): this {
    const at = this.#room(1);
    this.#buf[at] = v & 0xff;
    return this;
  }

  u16le(v: number): this {
    const at = this.#room(2);
    this.#view.setUint16(at, v, true);
    return this;
  }

  /** Big-endian 16 bits: the port of a network address. */
  u16be(v: number): this {
    const at = this.#room(2);
    this.#view.setUint16(at, v, false);
    return this;
  }

  u32le(v: number): this {
    const at = this.#room(4);
    this.#view.setUint32(at, v >>> 0, true);
    return this;
  }

  i32le(v: number): this {
    const at = this.#room(4);
    this.#view.setInt32(at, v | 0, true);
    return this;
  }

  u64le(v: bigint | number): this {
    const at = this.#room(8);
    this.#view.setBigUint64(at, BigInt.asUintN(64, BigInt(v)), true);
    return this;
  }

  i64le(v: bigint | number): this {
    const at = this.#room(8);
    this.#view.setBigInt64(at, BigInt.asIntN(64, BigInt(v)), true);
    return this;
  }

  /** A minimal CompactSize. */
  compactSize(v: number | bigint): this {
    const n = BigInt(v);
    if (n < 0n || n > MAX_U64) throw new RangeError(`CompactSize out of range: ${n}`);
    if (n < 0xfdn) return this.u8(Number(n));
    if (n <= 0xffffn) return this.u8(0xfd).u16le(Number(n));
    if (n <= 0xffff_ffffn) return this.u8(0xfe).u32le(Number(n));
    return this.u8(0xff).u64le(n);
  }

  bytes(b: Uint8Array): this {
    const at = this.#room(b.length);
    this.#buf.set(b, at);
    return this;
  }

  /** A CompactSize length followed by the bytes. */
  varBytes(b: Uint8Array): this {
    return this.compactSize(b.length).bytes(b);
  }

  /** A CompactSize length followed by the UTF-8 bytes of `s`. */
  varString(s: string): this {
    return this.varBytes(new TextEncoder().encode(s));
  }

  /** The bytes written, as a fresh array of exactly their length. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** Size in bytes of the minimal CompactSize encoding of `n`. */
export function compactSizeLength(n: number): number {
  if (n < 0xfd) return 1;
  if (n <= 0xffff) return 3;
  if (n <= 0xffff_ffff) return 5;
  return 9;
}
