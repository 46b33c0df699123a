/**
 * Golomb-coded sets (BIP 158 §Golomb-Coded Sets): a compact probabilistic set of byte strings.
 *
 * Building: each distinct item is hashed with SipHash-2-4 (keyed by 16 bytes) and mapped into
 * [0, N·M) by (hash · N·M) >> 64; the sorted values' differences are written Golomb-Rice coded
 * (quotient in unary, P-bit remainder big-endian), padded with zero bits to a byte. Serialized,
 * the set is N as a CompactSize followed by those bytes.
 *
 * Matching decodes the deltas in order and compares them with the sorted hashes of the query
 * items (BIP 158 Appendix B), so one pass answers "does any of these match". A set's declared N
 * is checked against its size (each value takes at least P + 1 bits) before anything is decoded.
 */
import { ErrorCode } from '../../shared/errors.js';
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { type SipKey, siphash24, sipKey } from '../crypto/siphash.js';
import { BtcError } from '../errors.js';

/** The parameters of a Golomb-coded set. */
export interface GcsParams {
  /** Bits of the Golomb-Rice remainder. */
  readonly p: number;
  /** Inverse false-positive rate: values range over [0, N·M). */
  readonly m: number;
}

/** BIP 158 basic filter parameters: P = 19, M = 784931. */
export const BASIC_FILTER_PARAMS: GcsParams = Object.freeze({ p: 19, m: 784931 });

/** BIP 158: N and M must each be below 2^32. */
const MAX_N = 0xffffffff;

function hashToRange(key: SipKey, item: Uint8Array, f: bigint): number {
  return Number((siphash24(key, item) * f) >> 64n);
}

/** Sorted, hashed values of the distinct `items`. */
function hashedSet(items: readonly Uint8Array[], key: SipKey, m: number): number[] {
  const seen = new Set<string>();
  const distinct: Uint8Array[] = [];
  for (const item of items) {
    const k = Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('latin1');
    if (seen.has(k)) continue;
    seen.add(k);
    distinct.push(item);
  }
  const f = BigInt(distinct.length) * BigInt(m);
  return distinct.map((i) => hashToRange(key, i, f)).sort((a, b) => a - b);
}

/** Builds the serialized set (N, then the coded bits) of the distinct `items` under a 16-byte `key`. */
export function buildGcs(items: readonly Uint8Array[], key: Uint8Array, params: GcsParams): Uint8Array {
  const values = hashedSet(items, sipKey(key), params.m);
  if (values.length > MAX_N)
    throw new BtcError(ErrorCode.BtcInvalidArgument, 'a Golomb-coded set holds fewer than 2^32 items');
  const bits = new BitWriter();
  let last = 0;
  for (const v of values) {
    const delta = v - last;
    last = v;
    const q = Math.floor(delta / 2 ** params.p);
    for (let i = 0; i < q; i++) bits.bit(1);
    bits.bit(0);
    bits.bits(delta % 2 ** params.p, params.p);
  }
  return new ByteWriter(values.length * 3 + 9).compactSize(values.length).bytes(bits.finish()).finish();
}

/** A parsed Golomb-coded set, ready to match. */
export class Gcs {
  /** Number of values in the set. */
  readonly n: number;
  readonly params: GcsParams;
  readonly #key: SipKey;
  readonly #data: Uint8Array;

  /** Parses a serialized set (a filter); `BtcBadFilter` when N cannot fit in the bytes. */
  constructor(serialized: Uint8Array, key: Uint8Array, params: GcsParams) {
    let r: ByteReader;
    let n: number;
    try {
      r = new ByteReader(serialized);
      n = r.compactSize(MAX_N, 'filter N');
    } catch (e) {
      throw new BtcError(ErrorCode.BtcBadFilter, `filter: ${(e as Error).message}`, {}, { cause: e });
    }
    const data = serialized.subarray(r.offset);
    if (n * (params.p + 1) > data.length * 8) {
      throw new BtcError(
        ErrorCode.BtcBadFilter,
        `filter declares ${n} items but has only ${data.length} bytes`,
      );
    }
    this.n = n;
    this.params = params;
    this.#key = sipKey(key);
    this.#data = data;
  }

  /** True when `item` is (probably: 1/M false positives) in the set. */
  match(item: Uint8Array): boolean {
    return this.matchAny([item]);
  }

  /** True when any of `items` is (probably) in the set. Throws `BtcBadFilter` on truncated coding. */
  matchAny(items: readonly Uint8Array[]): boolean {
    if (this.n === 0 || items.length === 0) return false;
    const f = BigInt(this.n) * BigInt(this.params.m);
    const targets = items.map((i) => hashToRange(this.#key, i, f)).sort((a, b) => a - b);
    const bits = new BitReader(this.#data);
    let value = 0;
    let t = 0;
    for (let k = 0; k < this.n; k++) {
      value += this.#readDelta(bits);
      while (targets[t]! < value) if (++t === targets.length) return false;
      if (targets[t] === value) return true;
    }
    return false;
  }

  /** Every value of the set, ascending (tests and diagnostics). */
  values(): number[] {
    const bits = new BitReader(this.#data);
    const out: number[] = [];
    let value = 0;
    for (let k = 0; k < this.n; k++) {
      value += this.#readDelta(bits);
      out.push(value);
    }
    return out;
  }

  #readDelta(bits: BitReader): number {
    let q = 0;
    while (bits.bit() === 1) q++;
    return q * 2 ** this.params.p + bits.bits(this.params.p);
  }
}

/** Writes bits most-significant first. */
class BitWriter {
  #bytes: number[] = [];
  #acc = 0;
  #n = 0;

  bit(b: number): void {
    this.#acc = (this.#acc << 1) | b;
    if (++this.#n === 8) {
      this.#bytes.push(this.#acc);
      this.#acc = 0;
      this.#n = 0;
    }
  }

  /** The low `count` bits of `v`, most significant first. */
  bits(v: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) this.bit(Math.floor(v / 2 ** i) % 2);
  }

  finish(): Uint8Array {
    if (this.#n > 0) this.#bytes.push(this.#acc << (8 - this.#n));
    return Uint8Array.from(this.#bytes);
  }
}

/** Reads bits most-significant first; `BtcBadFilter` past the end. */
class BitReader {
  readonly #data: Uint8Array;
  #pos = 0;

  constructor(data: Uint8Array) {
    this.#data = data;
  }

  bit(): number {
    const byte = this.#pos >>> 3;
    if (byte >= this.#data.length)
      throw new BtcError(ErrorCode.BtcBadFilter, 'filter coding runs past its end');
    const b = (this.#data[byte]! >>> (7 - (this.#pos & 7))) & 1;
    this.#pos++;
    return b;
  }

  bits(count: number): number {
    let v = 0;
    for (let i = 0; i < count; i++) v = v * 2 + this.bit();
    return v;
  }
}
