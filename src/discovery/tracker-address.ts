/**
 * IP address text ⇄ bytes, and the compact peer formats of BEP 23 (IPv4: 4-byte address +
 * 2-byte port, big endian) and BEP 7 (IPv6: 16-byte address + 2-byte port) as trackers send
 * them. Pure: no I/O. Unlike the strict PEX codec of `src/wire/`, tracker replies are read
 * leniently (a trailing partial entry is ignored, port 0 entries are skipped) and peers carry
 * their family.
 */
import { formatIpv6 } from '../shared/ip-text.js';
import { COMPACT_PEER4_BYTES, COMPACT_PEER6_BYTES } from '../wire/index.js';
import type { TrackerPeer } from './tracker-types.js';

/** RFC 5952 text of 16 IPv6 bytes (IPv4-mapped addresses as `::ffff:a.b.c.d`). */
export { formatIpv6 };

/** An IP address as bytes: 4 for IPv4, 16 for IPv6. */
export interface IpBytes {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** Parses dotted-quad IPv4 text to an unsigned 32-bit number, or `undefined`. */
export function parseIpv4(text: string): number | undefined {
  let value = 0;
  let part = -1;
  let parts = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (part < 0 || parts === 4) return undefined;
      value = value * 256 + part;
      parts++;
      part = -1;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      // Leading zeros are refused: "010" is octal to some parsers and decimal to others.
      if (digits === 1 && part === 0) return undefined;
      part = Math.max(part, 0) * 10 + (c - 0x30);
      if (part > 255 || ++digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value : undefined;
}

/** Dotted-quad text of an unsigned 32-bit IPv4 number. */
export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function parseHexGroups(text: string, out: number[]): boolean {
  if (text === '') return true;
  for (const g of text.split(':')) {
    if (g.length === 0 || g.length > 4 || !/^[0-9a-fA-F]+$/.test(g)) return false;
    out.push(Number.parseInt(g, 16));
  }
  return true;
}

/** Parses IPv6 text (with `::`, an embedded IPv4 tail, no zone) to 16 bytes, or `undefined`. */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length > 45 || text.includes('%')) return undefined;
  let body = text;
  let tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (lastColon >= 0 && body.includes('.', lastColon)) {
    const v4 = parseIpv4(body.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >>> 16, v4 & 0xffff];
    body = body.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::" and "a::1.2.3.4" leaves "a::"; a single trailing ':' belongs to the tail.
    if (body.endsWith(':') && !body.endsWith('::')) body = body.slice(0, -1);
  }
  const head: number[] = [];
  const rest: number[] = [];
  const dbl = body.indexOf('::');
  if (dbl >= 0) {
    if (body.indexOf('::', dbl + 1) >= 0) return undefined;
    if (!parseHexGroups(body.slice(0, dbl), head) || !parseHexGroups(body.slice(dbl + 2), rest)) {
      return undefined;
    }
    if (head.length + rest.length + tail.length > 7) return undefined;
  } else {
    if (!parseHexGroups(body, head)) return undefined;
    if (head.length + tail.length !== 8) return undefined;
  }
  const groups = [...head];
  const fill = 8 - head.length - rest.length - tail.length;
  for (let i = 0; i < fill; i++) groups.push(0);
  groups.push(...rest, ...tail);
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >>> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  return out;
}

/**
 * Parses an IP address text. IPv4-mapped IPv6 (`::ffff:a.b.c.d`, what a dual-stack socket
 * reports for an IPv4 client) yields the IPv4 address.
 */
export function parseIpAddress(text: string): IpBytes | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) {
    return { family: 4, bytes: new Uint8Array([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]) };
  }
  const v6 = parseIpv6(text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text);
  if (v6 === undefined) return undefined;
  if (isV4Mapped(v6)) return { family: 4, bytes: v6.slice(12) };
  return { family: 6, bytes: v6 };
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * Appends the peers of a compact string (BEP 23 for family 4, BEP 7 for family 6) to `out`,
 * stopping when `out` holds `max` peers. Entries with port 0 are skipped; a trailing partial
 * entry is ignored. Returns the number of entries not taken because of `max`.
 */
export function decodeTrackerPeers(
  bytes: Uint8Array,
  family: 4 | 6,
  out: TrackerPeer[],
  max: number,
): number {
  const stride = family === 4 ? COMPACT_PEER4_BYTES : COMPACT_PEER6_BYTES;
  const count = Math.floor(bytes.length / stride);
  let i = 0;
  for (; i < count && out.length < max; i++) {
    const at = i * stride;
    const port = (bytes[at + stride - 2]! << 8) | bytes[at + stride - 1]!;
    if (port === 0) continue;
    const host =
      family === 4
        ? `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`
        : formatIpv6(bytes, at);
    out.push({ host, port, family });
  }
  return count - i;
}

/**
 * Encodes peers of one family as a compact string (BEP 23 / BEP 7); peers of the other family
 * or with unparsable hosts are left out.
 */
export function encodeTrackerPeers(peers: readonly TrackerPeer[], family: 4 | 6): Uint8Array {
  const stride = family === 4 ? COMPACT_PEER4_BYTES : COMPACT_PEER6_BYTES;
  const parts: Uint8Array[] = [];
  for (const p of peers) {
    const ip = parseIpAddress(p.host);
    if (ip === undefined || ip.family !== family) continue;
    const e = new Uint8Array(stride);
    e.set(ip.bytes, 0);
    e[stride - 2] = (p.port >>> 8) & 255;
    e[stride - 1] = p.port & 255;
    parts.push(e);
  }
  const out = new Uint8Array(parts.length * stride);
  parts.forEach((p, i) => {
    out.set(p, i * stride);
  });
  return out;
}
