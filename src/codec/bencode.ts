/**
 * Bencode (BEP 3), strict by construction.
 *
 * Grammar accepted by {@link decode}:
 *
 *   value   := integer | string | list | dict
 *   integer := 'i' ( '0' | '-'? [1-9] [0-9]* ) 'e'      -- no leading zeros, no "-0", no "i-e"
 *   string  := ( '0' | [1-9] [0-9]* ) ':' byte{length}   -- length must fit in the input
 *   list    := 'l' value* 'e'
 *   dict    := 'd' ( string value )* 'e'                 -- keys sorted by raw bytes, no duplicates
 *
 * Decoding keeps the byte span of every dictionary value, so a caller can hash the original
 * bytes of `info` (the info-hash is over the bytes as sent, not over a re-encoding).
 *
 * Modes: `strict` rejects unsorted and duplicated dictionary keys; `lenient` accepts them and
 * records a warning. Everything else (leading zeros, bad lengths, trailing bytes, excessive
 * depth) is rejected in both modes. Callers parsing input from the wild (.torrent files, tracker
 * replies, KRPC, extension messages) use lenient mode, because real clients emit unsorted keys;
 * the raw span keeps hashing exact either way.
 *
 * Integers are `number` when they are safe integers and `bigint` beyond that, up to the signed
 * 64-bit range; anything larger is rejected.
 */

import { ErrorCode } from '../shared/errors.js';
import { toHex } from '../shared/hash.js';
import { MAX_BENCODE_DEPTH, MAX_BENCODE_ITEMS } from '../shared/limits.js';
import { BencodeError } from './errors.js';

/** A decoded bencode value. Strings are raw bytes. */
export type BencodeValue = Uint8Array | number | bigint | BencodeValue[] | BencodeDict;

/** One key/value pair of a decoded dictionary, with the value's byte span in the source. */
export interface BencodeEntry {
  readonly key: Uint8Array;
  readonly value: BencodeValue;
  /** Offset of the value's first byte in the decoded buffer. */
  readonly start: number;
  /** Offset one past the value's last byte. */
  readonly end: number;
}

const latin1 = new TextDecoder('latin1');
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function keyString(key: Uint8Array): string {
  // latin1 maps each byte to one code unit, so it is a lossless index key for raw byte keys.
  let s = '';
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
}

function toKeyBytes(key: string | Uint8Array): Uint8Array {
  return typeof key === 'string' ? utf8Encoder.encode(key) : key;
}

/**
 * A bencoded dictionary: entries in their original order, keys as raw bytes, and the byte span
 * of each value when it came from {@link decode}.
 */
export class BencodeDict {
  readonly entries: readonly BencodeEntry[];
  /** The buffer the entries' spans refer to, when decoded. */
  readonly source: Uint8Array | undefined;
  #index: Map<string, BencodeEntry> | undefined;

  constructor(entries: readonly BencodeEntry[], source?: Uint8Array) {
    this.entries = entries;
    this.source = source;
  }

  /** Builds a dictionary from plain pairs (for encoding). String keys are UTF-8. */
  static from(pairs: Iterable<readonly [string | Uint8Array, BencodeValue]>): BencodeDict {
    const entries: BencodeEntry[] = [];
    for (const [k, v] of pairs) entries.push({ key: toKeyBytes(k), value: v, start: -1, end: -1 });
    return new BencodeDict(entries);
  }

  get size(): number {
    return this.entries.length;
  }

  #lookup(key: string | Uint8Array): BencodeEntry | undefined {
    if (this.#index === undefined) {
      this.#index = new Map();
      // First occurrence wins when a lenient decode kept duplicates.
      for (const e of this.entries) {
        const k = keyString(e.key);
        if (!this.#index.has(k)) this.#index.set(k, e);
      }
    }
    return this.#index.get(keyString(toKeyBytes(key)));
  }

  /** The value under `key` (a UTF-8 string or raw bytes). */
  get(key: string | Uint8Array): BencodeValue | undefined {
    return this.#lookup(key)?.value;
  }

  has(key: string | Uint8Array): boolean {
    return this.#lookup(key) !== undefined;
  }

  /** The original encoded bytes of the value under `key` (a view, not a copy), when decoded. */
  raw(key: string | Uint8Array): Uint8Array | undefined {
    const e = this.#lookup(key);
    if (e === undefined || this.source === undefined || e.start < 0) return undefined;
    return this.source.subarray(e.start, e.end);
  }

  /** Keys decoded as UTF-8 where possible (for display and errors). */
  keys(): string[] {
    return this.entries.map((e) => bytesToText(e.key));
  }
}

/** A warning recorded by a lenient decode. */
export interface BencodeWarning {
  readonly code: typeof ErrorCode.BencodeKeyOrder | typeof ErrorCode.BencodeDuplicateKey;
  readonly offset: number;
  readonly message: string;
}

export interface DecodeOptions {
  /** `strict` rejects unsorted/duplicate keys; `lenient` records a warning. @default 'strict' */
  readonly mode?: 'strict' | 'lenient';
  /** Deepest nesting accepted. @default MAX_BENCODE_DEPTH */
  readonly maxDepth?: number;
  /** Most values accepted in one document. @default MAX_BENCODE_ITEMS */
  readonly maxItems?: number;
  /** Accept bytes after the first complete value (they are reported in `end`). @default false */
  readonly allowTrailing?: boolean;
}

export interface DecodeResult {
  readonly value: BencodeValue;
  /** Offset one past the decoded value. */
  readonly end: number;
  readonly warnings: readonly BencodeWarning[];
}

const CH_i = 0x69;
const CH_l = 0x6c;
const CH_d = 0x64;
const CH_e = 0x65;
const CH_colon = 0x3a;
const CH_minus = 0x2d;
const CH_0 = 0x30;
const CH_9 = 0x39;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

class Decoder {
  pos = 0;
  items = 0;
  readonly warnings: BencodeWarning[] = [];
  readonly buf: Uint8Array;
  readonly strict: boolean;
  readonly maxDepth: number;
  readonly maxItems: number;

  constructor(buf: Uint8Array, opts: DecodeOptions) {
    this.buf = buf;
    this.strict = (opts.mode ?? 'strict') === 'strict';
    this.maxDepth = opts.maxDepth ?? MAX_BENCODE_DEPTH;
    this.maxItems = opts.maxItems ?? MAX_BENCODE_ITEMS;
  }

  fail(code: ErrorCode, message: string, offset = this.pos): never {
    throw new BencodeError(code, `${message} at byte ${offset}`, offset);
  }

  peek(): number {
    if (this.pos >= this.buf.length) this.fail(ErrorCode.BencodeUnexpectedEnd, 'unexpected end of input');
    return this.buf[this.pos]!;
  }

  value(depth: number): BencodeValue {
    if (++this.items > this.maxItems) {
      this.fail(ErrorCode.BencodeTooManyItems, `more than ${this.maxItems} values`);
    }
    const c = this.peek();
    if (c === CH_i) return this.integer();
    if (c >= CH_0 && c <= CH_9) return this.string();
    if (c === CH_l || c === CH_d) {
      if (depth >= this.maxDepth) this.fail(ErrorCode.BencodeTooDeep, `nesting deeper than ${this.maxDepth}`);
      return c === CH_l ? this.list(depth + 1) : this.dict(depth + 1);
    }
    return this.fail(ErrorCode.BencodeInvalidByte, `unexpected byte 0x${c.toString(16).padStart(2, '0')}`);
  }

  integer(): number | bigint {
    const start = this.pos;
    this.pos++; // 'i'
    let neg = false;
    if (this.peek() === CH_minus) {
      neg = true;
      this.pos++;
    }
    const digitsStart = this.pos;
    while (true) {
      const c = this.peek();
      if (c === CH_e) break;
      if (c < CH_0 || c > CH_9) this.fail(ErrorCode.BencodeInvalidInteger, 'non-digit in integer');
      this.pos++;
      if (this.pos - digitsStart > 20) this.fail(ErrorCode.BencodeIntegerRange, 'integer too long', start);
    }
    const ndigits = this.pos - digitsStart;
    if (ndigits === 0) this.fail(ErrorCode.BencodeInvalidInteger, 'integer without digits', start);
    if (ndigits > 1 && this.buf[digitsStart] === CH_0) {
      this.fail(ErrorCode.BencodeInvalidInteger, 'integer with a leading zero', start);
    }
    if (neg && this.buf[digitsStart] === CH_0)
      this.fail(ErrorCode.BencodeInvalidInteger, 'negative zero', start);
    this.pos++; // 'e'
    if (ndigits <= 15) {
      let n = 0;
      for (let i = digitsStart; i < digitsStart + ndigits; i++) n = n * 10 + (this.buf[i]! - CH_0);
      return neg ? -n : n;
    }
    let big = BigInt(latin1.decode(this.buf.subarray(digitsStart, digitsStart + ndigits)));
    if (neg) big = -big;
    if (big > INT64_MAX || big < INT64_MIN) {
      this.fail(ErrorCode.BencodeIntegerRange, 'integer outside the signed 64-bit range', start);
    }
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big;
  }

  string(): Uint8Array {
    const start = this.pos;
    let len = 0;
    while (true) {
      const c = this.peek();
      if (c === CH_colon) break;
      if (c < CH_0 || c > CH_9) this.fail(ErrorCode.BencodeInvalidLength, 'non-digit in string length');
      len = len * 10 + (c - CH_0);
      this.pos++;
      if (this.pos - start > 15) this.fail(ErrorCode.BencodeInvalidLength, 'string length too long', start);
    }
    if (this.pos - start > 1 && this.buf[start] === CH_0) {
      this.fail(ErrorCode.BencodeInvalidLength, 'string length with a leading zero', start);
    }
    this.pos++; // ':'
    if (len > this.buf.length - this.pos) {
      this.fail(ErrorCode.BencodeUnexpectedEnd, `string of ${len} bytes runs past the end`, start);
    }
    const s = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  list(depth: number): BencodeValue[] {
    this.pos++; // 'l'
    const out: BencodeValue[] = [];
    while (this.peek() !== CH_e) out.push(this.value(depth));
    this.pos++;
    return out;
  }

  dict(depth: number): BencodeDict {
    this.pos++; // 'd'
    const entries: BencodeEntry[] = [];
    let prev: Uint8Array | undefined;
    while (this.peek() !== CH_e) {
      const keyAt = this.pos;
      const c = this.peek();
      if (c < CH_0 || c > CH_9) this.fail(ErrorCode.BencodeInvalidByte, 'dictionary key is not a string');
      if (++this.items > this.maxItems) {
        this.fail(ErrorCode.BencodeTooManyItems, `more than ${this.maxItems} values`);
      }
      const key = this.string();
      if (prev !== undefined) {
        const cmp = compareBytes(prev, key);
        if (cmp >= 0) {
          const dup = cmp === 0;
          const code = dup ? ErrorCode.BencodeDuplicateKey : ErrorCode.BencodeKeyOrder;
          const message = dup
            ? `duplicate dictionary key "${bytesToText(key)}"`
            : `dictionary key "${bytesToText(key)}" out of order`;
          if (this.strict) this.fail(code, message, keyAt);
          this.warnings.push({ code, offset: keyAt, message: `${message} at byte ${keyAt}` });
        }
      }
      prev = key;
      const start = this.pos;
      const value = this.value(depth);
      entries.push({ key, value, start, end: this.pos });
    }
    this.pos++;
    return new BencodeDict(entries, this.buf);
  }
}

/**
 * Decodes one bencoded value. Throws {@link BencodeError} (with the byte offset) on any
 * malformed input; never anything else for any byte string.
 */
export function decodeWithInfo(buf: Uint8Array, opts: DecodeOptions = {}): DecodeResult {
  const d = new Decoder(buf, opts);
  const value = d.value(0);
  if (d.pos !== buf.length && opts.allowTrailing !== true) {
    d.fail(ErrorCode.BencodeTrailingData, `${buf.length - d.pos} trailing bytes`);
  }
  return { value, end: d.pos, warnings: d.warnings };
}

/** Decodes one bencoded value (see {@link decodeWithInfo}). */
export function decode(buf: Uint8Array, opts: DecodeOptions = {}): BencodeValue {
  return decodeWithInfo(buf, opts).value;
}

/**
 * Bytes that already are one bencoded value, written verbatim by {@link encode}. For values whose
 * exact bytes matter and must not be re-encoded (BEP 44: a DHT item's `v` is signed and hashed as
 * it appeared on the wire). Only wrap bytes that came from {@link decode} (a raw span) or from
 * {@link encode}: the encoder does not check them.
 */
export class BencodeRaw {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

/**
 * Values {@link encode} accepts: decoded values, plus strings (encoded as UTF-8), Maps and
 * plain objects as dictionaries, and {@link BencodeRaw} spans. `undefined` members of objects
 * are skipped.
 */
export type Encodable =
  | BencodeValue
  | BencodeRaw
  | string
  | boolean
  | readonly Encodable[]
  | ReadonlyMap<string | Uint8Array, Encodable>
  | { readonly [key: string]: Encodable | undefined };

/** Growable output buffer used by the encoder. */
class Writer {
  buf = new Uint8Array(256);
  len = 0;

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  ascii(s: string): void {
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

function encodeInto(w: Writer, v: Encodable, depth: number): void {
  if (depth > MAX_BENCODE_DEPTH) {
    throw new BencodeError(
      ErrorCode.BencodeTooDeep,
      `cannot encode nesting deeper than ${MAX_BENCODE_DEPTH}`,
      -1,
    );
  }
  if (v instanceof Uint8Array) {
    w.ascii(`${v.length}:`);
    w.bytes(v);
  } else if (v instanceof BencodeRaw) {
    w.bytes(v.bytes);
  } else if (typeof v === 'string') {
    const b = utf8Encoder.encode(v);
    w.ascii(`${b.length}:`);
    w.bytes(b);
  } else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw new BencodeError(ErrorCode.BencodeUnencodable, `cannot encode non-integer number ${v}`, -1);
    }
    w.ascii(`i${Object.is(v, -0) ? 0 : v}e`);
  } else if (typeof v === 'bigint') {
    w.ascii(`i${v}e`);
  } else if (typeof v === 'boolean') {
    w.ascii(v ? 'i1e' : 'i0e');
  } else if (Array.isArray(v)) {
    w.ascii('l');
    for (const item of v as readonly Encodable[]) encodeInto(w, item, depth + 1);
    w.ascii('e');
  } else {
    const pairs: [Uint8Array, Encodable][] = [];
    if (v instanceof BencodeDict) {
      for (const e of v.entries) pairs.push([e.key, e.value]);
    } else if (v instanceof Map) {
      for (const [k, val] of v as ReadonlyMap<string | Uint8Array, Encodable>)
        pairs.push([toKeyBytes(k), val]);
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, val] of Object.entries(v as { [key: string]: Encodable | undefined })) {
        if (val !== undefined) pairs.push([utf8Encoder.encode(k), val]);
      }
    } else {
      throw new BencodeError(ErrorCode.BencodeUnencodable, `cannot encode ${typeof v}`, -1);
    }
    pairs.sort((a, b) => compareBytes(a[0], b[0]));
    w.ascii('d');
    for (let i = 0; i < pairs.length; i++) {
      const [k, val] = pairs[i]!;
      if (i > 0 && compareBytes(pairs[i - 1]![0], k) === 0) {
        throw new BencodeError(ErrorCode.BencodeDuplicateKey, `duplicate key "${bytesToText(k)}"`, -1);
      }
      w.ascii(`${k.length}:`);
      w.bytes(k);
      encodeInto(w, val, depth + 1);
    }
    w.ascii('e');
  }
}

/** Encodes deterministically: dictionary keys sorted by raw bytes. */
export function encode(v: Encodable): Uint8Array {
  const w = new Writer();
  encodeInto(w, v, 0);
  return w.buf.slice(0, w.len);
}

/** Decodes bytes as UTF-8, or returns `undefined` when they are not valid UTF-8. */
export function bytesToUtf8(b: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(b);
  } catch {
    return undefined;
  }
}

/** Bytes as text for messages: UTF-8 when valid, else hex. */
export function bytesToText(b: Uint8Array): string {
  return bytesToUtf8(b) ?? `0x${toHex(b)}`;
}

/** Structural equality of two decoded values (dictionary entries compared in order). */
export function bencodeEqual(a: BencodeValue, b: BencodeValue): boolean {
  if (a instanceof Uint8Array) return b instanceof Uint8Array && compareBytes(a, b) === 0;
  if (typeof a === 'number' || typeof a === 'bigint') return typeof b === typeof a && a === b;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => bencodeEqual(x, b[i]!));
  }
  if (!(b instanceof BencodeDict) || a.size !== b.size) return false;
  return a.entries.every((e, i) => {
    const f = b.entries[i]!;
    return compareBytes(e.key, f.key) === 0 && bencodeEqual(e.value, f.value);
  });
}

export { compareBytes };
