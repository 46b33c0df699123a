/**
 * A bounds-checked reader over Bitcoin's serialization: little-endian integers, CompactSize
 * lengths (minimal encodings only), length-prefixed byte strings and 32-byte hashes.
 *
 * Every read that would pass the end throws `BtcTruncated` with the offset it started at; a
 * CompactSize that is not minimally encoded throws `BtcNonCanonical` (Bitcoin Core refuses them
 * too: "non-canonical ReadCompactSize()"). Byte fields are views of the input, not copies: a
 * decoder that keeps them past the input's life must own the input (the frame decoder does).
 */
import { ErrorCode } from '../../shared/errors.js';
import { BtcError } from '../errors.js';

/** Largest value a CompactSize may carry when read as a JavaScript number. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class ByteReader {
  readonly bytes: Uint8Array;
  readonly end: number;
  #pos: number;
  readonly #view: DataView;

  /** Reads `bytes[start, end)`. */
  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    if (start < 0 || end > bytes.length || start > end) {
      throw new RangeError(`reader span [${start}, ${end}) outside ${bytes.length} bytes`);
    }
    this.bytes = bytes;
    this.end = end;
    this.#pos = start;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Offset of the next byte to read, from the start of `bytes`. */
  get offset(): number {
    return this.#pos;
  }

  /** Bytes left before `end`. */
  get remaining(): number {
    return this.end - this.#pos;
  }

  #need(n: number, what: string): number {
    const at = this.#pos;
    if (n > this.end - at) {
      throw new BtcError(
        ErrorCode.BtcTruncated,
        `${what}: needs ${n} bytes at offset ${at}, ${this.end - at} left`,
        {
          offset: at,
        },
      );
    }
    this.#pos = at + n;
    return at;
  }

  u8(what = 'u8'): number {
    return this.bytes[this.#need(1, what)]!;
  }

  u16le(what = 'u16'): number {
    return this.#view.getUint16(this.#need(2, what), true);
  }

  /** Big-endian 16 bits: the port of a network address. */
  u16be(what = 'port'): number {
    return this.#view.getUint16(this.#need(2, what), false);
  }

  u32le(what = 'u32'): number {
    return this.#view.getUint32(this.#need(4, what), true);
  }

  i32le(what = 'i32'): number {
    return this.#view.getInt32(this.#need(4, what), true);
  }

  u64le(what = 'u64'): bigint {
    return this.#view.getBigUint64(this.#need(8, what), true);
  }

  i64le(what = 'i64'): bigint {
    return this.#view.getBigInt64(this.#need(8, what), true);
  }

  /** A CompactSize as a bigint (64 bits; service flags in `addrv2`). */
  compactSizeBig(what = 'CompactSize'): bigint {
    const at = this.#pos;
    const first = this.u8(what);
    let v: bigint;
    let min: bigint;
    if (first < 0xfd) return BigInt(first);
    if (first === 0xfd) {
      v = BigInt(this.u16le(what));
      min = 0xfdn;
    } else if (first === 0xfe) {
      v = BigInt(this.u32le(what));
      min = 0x10000n;
    } else {
      v = this.u64le(what);
      min = 0x100000000n;
    }
    if (v < min) {
      throw new BtcError(ErrorCode.BtcNonCanonical, `${what}: non-minimal CompactSize at offset ${at}`, {
        offset: at,
      });
    }
    return v;
  }

  /**
   * A CompactSize as a number, refused above `max` with `BtcTooLarge` (a count or a length: always
   * bound it by the protocol's limit or by what the remaining bytes could hold).
   */
  compactSize(max: number, what = 'CompactSize'): number {
    const at = this.#pos;
    const v = this.compactSizeBig(what);
    if (v > BigInt(Math.min(max, MAX_SAFE))) {
      throw new BtcError(
        ErrorCode.BtcTooLarge,
        `${what}: ${v} exceeds the maximum of ${max} (offset ${at})`,
        {
          offset: at,
        },
      );
    }
    return Number(v);
  }

  /**
   * A count of items each at least `minItemBytes` long: refused above `max`, and above what the
   * remaining bytes could hold, so a lying count never makes a decoder allocate.
   */
  count(max: number, minItemBytes: number, what: string): number {
    const at = this.#pos;
    const n = this.compactSize(max, what);
    if (minItemBytes > 0 && n > Math.floor(this.remaining / minItemBytes)) {
      throw new BtcError(
        ErrorCode.BtcTruncated,
        `${what}: ${n} items of at least ${minItemBytes} bytes cannot fit in ${this.remaining} bytes (offset ${at})`,
        { offset: at },
      );
    }
    return n;
  }

  /** `n` bytes, as a view of the input. */
  bytesView(n: number, what = 'bytes'): Uint8Array {
    const at = this.#need(n, what);
    return this.bytes.subarray(at, at + n);
  }

  /** A 32-byte hash in internal byte order, as a view. */
  hash(what = 'hash'): Uint8Array {
    return this.bytesView(32, what);
  }

  /** A CompactSize-prefixed byte string of at most `max` bytes, as a view. */
  varBytes(max: number, what = 'var bytes'): Uint8Array {
    const n = this.compactSize(max, what);
    return this.bytesView(n, what);
  }

  /** A CompactSize-prefixed string of at most `max` bytes, decoded as UTF-8 (invalid bytes become U+FFFD). */
  varString(max: number, what = 'var string'): string {
    return Buffer.from(this.varBytes(max, what)).toString('utf8');
  }

  /** Moves forward `n` bytes without reading them. */
  skip(n: number, what = 'skip'): void {
    this.#need(n, what);
  }

  /** Throws `BtcTrailingData` when bytes are left before `end`. */
  expectEnd(what = 'payload'): void {
    if (this.#pos !== this.end) {
      throw new BtcError(
        ErrorCode.BtcTrailingData,
        `${what}: ${this.end - this.#pos} unexpected bytes after offset ${this.#pos}`,
        { offset: this.#pos },
      );
    }
  }
}
