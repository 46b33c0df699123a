/**
 * DEV DOCS — the IP blocklist: parsers for the common list formats and a compact set of address
 * ranges with O(log n) lookup. Pure: text in, a list and a report out (the file loader is
 * blocklist-file.ts).
 *
 * Formats, told apart line by line (a file may mix them):
 * - PeerGuardian text (`.p2p`): `description:first-last`, IPv4 only; the description may
 *   contain `:` and `,` — the range is what follows the last `:`.
 * - eMule `ipfilter.dat`: `first - last , level , description` (IPv4 or IPv6; addresses may be
 *   zero-padded, `001.002.003.004`, read as decimal). A level ≥ {@link DAT_ALLOW_LEVEL} allows
 *   the range: the line is counted as `allowed` and blocks nothing.
 * - CIDR `1.2.3.0/24`, `2001:db8::/32` (host bits past the prefix are ignored), a plain range
 *   `first-last`, or one address.
 * - `#`, `//` and `;` start comments; blank lines are skipped.
 *
 * A line that fits no format (or a range whose end precedes its start, or mixes families) is
 * *malformed*: counted, the first {@link MAX_BLOCKLIST_ERRORS_KEPT} kept with their line number,
 * never fatal. Bounds: text over {@link MAX_BLOCKLIST_BYTES} characters or more than
 * {@link MAX_BLOCKLIST_RANGES} ranges is refused with `SHOAL_ERR_NET_BLOCKLIST`.
 *
 * The list keeps IPv4 ranges merged and sorted in two `Uint32Array`s (8 bytes per range) and
 * IPv6 ranges as sorted `bigint` pairs; `has(address)` is a binary search.
 */
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { MAX_BLOCKLIST_BYTES, MAX_BLOCKLIST_ERRORS_KEPT, MAX_BLOCKLIST_RANGES } from '../shared/limits.js';
import { ipv6ToBigInt, mappedIpv4, parseIpv4, parseIpv6 } from './ip-address.js';

/** eMule `ipfilter.dat`: ranges with this access level or more are allowed, not blocked. */
export const DAT_ALLOW_LEVEL = 128;

/** One malformed line, for the report. */
export interface BlocklistLineError {
  /** 1-based line number. */
  readonly line: number;
  readonly reason: string;
}

/** What parsing a list found. */
export interface BlocklistReport {
  /** Lines read (comments and blank ones included). */
  readonly lines: number;
  /** Ranges read (before merging overlaps). */
  readonly ranges: number;
  /** `ipfilter.dat` lines whose access level allows the range (not blocked). */
  readonly allowed: number;
  /** Lines that fit no format. */
  readonly malformed: number;
  /** The first malformed lines (at most MAX_BLOCKLIST_ERRORS_KEPT). */
  readonly errors: readonly BlocklistLineError[];
}

type V6Range = { readonly first: bigint; readonly last: bigint };

/**
 * Sort keys pack an IPv4 range's first address with its index: first·2²¹ + index is exact in a
 * double (below 2⁵³) as long as there are fewer than 2²¹ ranges, so a native typed-array sort
 * orders them without a comparator or a BigInt.
 */
const INDEX_BITS = 2 ** 21;
if (MAX_BLOCKLIST_RANGES >= INDEX_BITS) throw new Error('MAX_BLOCKLIST_RANGES must stay below 2^21');

/** IPv4 ranges as they are read: two growable arrays, no object per range. */
class V4Ranges {
  first = new Uint32Array(1024);
  last = new Uint32Array(1024);
  length = 0;

  push(a: number, b: number): void {
    if (this.length === this.first.length) {
      const f = new Uint32Array(this.length * 2);
      const l = new Uint32Array(this.length * 2);
      f.set(this.first);
      l.set(this.last);
      this.first = f;
      this.last = l;
    }
    this.first[this.length] = a;
    this.last[this.length] = b;
    this.length++;
  }
}

/** A set of blocked address ranges; see the module notes. */
export class IpBlocklist {
  readonly #v4First: Uint32Array;
  readonly #v4Last: Uint32Array;
  readonly #v6First: readonly bigint[];
  readonly #v6Last: readonly bigint[];

  /** Builds the list from ranges, merged here: overlapping and adjacent ranges become one. */
  private constructor(v4: V4Ranges, v6: V6Range[]) {
    const keys = new Float64Array(v4.length);
    for (let i = 0; i < v4.length; i++) keys[i] = v4.first[i]! * INDEX_BITS + i;
    keys.sort();
    const first = new Uint32Array(v4.length);
    const last = new Uint32Array(v4.length);
    let n = 0;
    for (const key of keys) {
      const i = key % INDEX_BITS;
      const a = v4.first[i]!;
      const b = v4.last[i]!;
      if (n > 0 && a <= last[n - 1]! + 1) {
        if (b > last[n - 1]!) last[n - 1] = b;
      } else {
        first[n] = a;
        last[n] = b;
        n++;
      }
    }
    this.#v4First = first.slice(0, n);
    this.#v4Last = last.slice(0, n);
    v6.sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0));
    const f6: bigint[] = [];
    const l6: bigint[] = [];
    for (const r of v6) {
      const k = f6.length - 1;
      if (k >= 0 && r.first <= l6[k]! + 1n) {
        if (r.last > l6[k]!) l6[k] = r.last;
      } else {
        f6.push(r.first);
        l6.push(r.last);
      }
    }
    this.#v6First = f6;
    this.#v6Last = l6;
  }

  /** @internal built by {@link parseBlocklist} */
  static build(v4: V4Ranges, v6: V6Range[]): IpBlocklist {
    return new IpBlocklist(v4, v6);
  }

  /** A list that blocks nothing. */
  static empty(): IpBlocklist {
    return new IpBlocklist(new V4Ranges(), []);
  }

  /** Ranges after merging (IPv4 + IPv6). */
  get rangeCount(): number {
    return this.#v4First.length + this.#v6First.length;
  }

  /**
   * True when `address` (IPv4, IPv6 or IPv4-mapped IPv6 text) is in a blocked range. Text that is
   * not an address is never blocked.
   */
  has(address: string): boolean {
    const v4 = parseIpv4(address);
    if (v4 !== undefined) return this.#hasV4(v4);
    const v6 = parseIpv6(address);
    if (v6 === undefined) return false;
    const mapped = mappedIpv4(v6);
    if (mapped !== undefined) return this.#hasV4(mapped);
    return this.#hasV6(ipv6ToBigInt(v6));
  }

  #hasV4(ip: number): boolean {
    const first = this.#v4First;
    // The last range starting at or before ip.
    let lo = 0;
    let hi = first.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (first[mid]! <= ip) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return at >= 0 && this.#v4Last[at]! >= ip;
  }

  #hasV6(ip: bigint): boolean {
    const first = this.#v6First;
    let lo = 0;
    let hi = first.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (first[mid]! <= ip) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return at >= 0 && this.#v6Last[at]! >= ip;
  }
}

/** The result of {@link parseBlocklist}. */
export interface ParsedBlocklist {
  readonly list: IpBlocklist;
  readonly report: BlocklistReport;
}

/**
 * Parses blocklist text (any mix of the formats in the module notes). Throws `ShoalError`
 * (`SHOAL_ERR_NET_BLOCKLIST`) only for lists past the bounds; malformed lines are reported.
 */
export function parseBlocklist(text: string): ParsedBlocklist {
  if (text.length > MAX_BLOCKLIST_BYTES)
    throw new ShoalError(
      ErrorCode.NetBlocklist,
      `blocklist of ${text.length} characters exceeds ${MAX_BLOCKLIST_BYTES}`,
      { size: text.length },
    );
  const v4 = new V4Ranges();
  const v6: V6Range[] = [];
  const errors: BlocklistLineError[] = [];
  let lines = 0;
  let allowed = 0;
  let malformed = 0;
  const out: LineOut = { first: 0, last: 0, first6: 0n, last6: 0n };
  for (let at = 0; at < text.length; ) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const line = text.slice(at, end).trim();
    at = end + 1;
    lines++;
    const r = parseLine(line, out);
    if (r === SKIP) continue;
    if (r === ALLOWED) {
      allowed++;
      continue;
    }
    if (typeof r === 'string') {
      malformed++;
      if (errors.length < MAX_BLOCKLIST_ERRORS_KEPT) errors.push({ line: lines, reason: r });
      continue;
    }
    if (v4.length + v6.length >= MAX_BLOCKLIST_RANGES)
      throw new ShoalError(
        ErrorCode.NetBlocklist,
        `blocklist has more than ${MAX_BLOCKLIST_RANGES} ranges (line ${lines})`,
        { line: lines },
      );
    if (r === V4) v4.push(out.first, out.last);
    else v6.push({ first: out.first6, last: out.last6 });
  }
  return {
    list: IpBlocklist.build(v4, v6),
    report: { lines, ranges: v4.length + v6.length, allowed, malformed, errors },
  };
}

/**
 * Where a line's range goes (the parser writes into one reused object instead of allocating
 * one per line: a million-line list would otherwise spend most of its time collecting garbage).
 */
interface LineOut {
  first: number;
  last: number;
  first6: bigint;
  last6: bigint;
}

const V4 = 4;
const V6 = 6;
const SKIP = 0;
const ALLOWED = 1;
/** A parsed line: V4 / V6 (the range is in `out`), SKIP, ALLOWED, or why it is malformed. */
type LineResult = typeof V4 | typeof V6 | typeof SKIP | typeof ALLOWED | string;

/** PeerGuardian: what follows the description's last `:` is `a.b.c.d-e.f.g.h`. */
const P2P_RANGE = /^\s*(\d{1,3}(?:\.\d{1,3}){3})\s*-\s*(\d{1,3}(?:\.\d{1,3}){3})\s*$/;

/** One trimmed line; see {@link LineResult}. */
function parseLine(line: string, out: LineOut): LineResult {
  if (line === '') return SKIP;
  const c0 = line.charCodeAt(0);
  // '#', ';', '//'
  if (c0 === 35 || c0 === 59 || (c0 === 47 && line.charCodeAt(1) === 47)) return SKIP;
  const colon = line.lastIndexOf(':');
  // A '.' after the last ':' can only be a p2p range (or an IPv6 address ending in a dotted quad).
  if (colon >= 0 && line.indexOf('.', colon) > 0) {
    const m = P2P_RANGE.exec(line.slice(colon + 1));
    if (m !== null) return range(m[1]!, m[2]!, true, out);
  }
  const comma = line.indexOf(',');
  if (comma >= 0) {
    // eMule: range , level , description
    const comma2 = line.indexOf(',', comma + 1);
    const levelText = line.slice(comma + 1, comma2 >= 0 ? comma2 : line.length).trim();
    if (!/^\d{1,5}$/.test(levelText)) return `bad access level "${clip(levelText)}"`;
    const r = plainRange(line.slice(0, comma).trim(), true, out);
    if (typeof r === 'string') return r;
    return Number(levelText) >= DAT_ALLOW_LEVEL ? ALLOWED : r;
  }
  // A CIDR or plain line may end with a comment.
  const hash = line.indexOf('#');
  const body = hash >= 0 ? line.slice(0, hash).trim() : line;
  const slash = body.indexOf('/');
  if (slash >= 0) return cidr(body.slice(0, slash).trim(), body.slice(slash + 1).trim(), out);
  return plainRange(body, false, out);
}

/** `a-b`, `a - b` or one address (IPv4 or IPv6). */
function plainRange(text: string, leadingZeros: boolean, out: LineOut): LineResult {
  // IPv6 text has no '-', so the first '-' splits the range.
  const dash = text.indexOf('-');
  if (dash < 0) return range(text, text, leadingZeros, out);
  return range(text.slice(0, dash).trim(), text.slice(dash + 1).trim(), leadingZeros, out);
}

function range(a: string, b: string, leadingZeros: boolean, out: LineOut): LineResult {
  const a4 = parseIpv4(a, leadingZeros);
  const b4 = a === b ? a4 : parseIpv4(b, leadingZeros);
  if (a4 !== undefined && b4 !== undefined) {
    if (a4 > b4) return `range ends before it starts (${clip(a)} - ${clip(b)})`;
    out.first = a4;
    out.last = b4;
    return V4;
  }
  const a6 = parseIpv6(a);
  const b6 = parseIpv6(b);
  if (a6 !== undefined && b6 !== undefined) {
    const first = ipv6ToBigInt(a6);
    const last = ipv6ToBigInt(b6);
    if (first > last) return `range ends before it starts (${clip(a)} - ${clip(b)})`;
    out.first6 = first;
    out.last6 = last;
    return V6;
  }
  if ((a4 !== undefined && b6 !== undefined) || (a6 !== undefined && b4 !== undefined))
    return 'range mixes IPv4 and IPv6';
  return `not an address range: "${clip(a === b ? a : `${a} - ${b}`)}"`;
}

function cidr(addr: string, prefixText: string, out: LineOut): LineResult {
  const prefix = prefixText.length > 0 && prefixText.length <= 3 ? Number(prefixText) : Number.NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || !/^\d+$/.test(prefixText))
    return `bad prefix length "/${clip(prefixText)}"`;
  const v4 = parseIpv4(addr);
  if (v4 !== undefined) {
    if (prefix > 32) return `prefix /${prefix} is longer than 32`;
    const size = 2 ** (32 - prefix);
    out.first = v4 - (v4 % size);
    out.last = out.first + size - 1;
    return V4;
  }
  const v6 = parseIpv6(addr);
  if (v6 === undefined) return `not an address: "${clip(addr)}"`;
  if (prefix > 128) return `prefix /${prefix} is longer than 128`;
  const host = (1n << BigInt(128 - prefix)) - 1n;
  out.first6 = ipv6ToBigInt(v6) & ~host;
  out.last6 = out.first6 | host;
  return V6;
}

/** Untrusted text quoted in a report, kept short. */
function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
