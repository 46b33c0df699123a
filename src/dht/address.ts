/**
 * Network addresses as the DHT sees them.
 *
 * Layouts (BEP 5 §Contact Encoding, BEP 32):
 *
 *   compact peer (v4)  := ip[4]  port[2]             -- 6 bytes, big endian
 *   compact peer (v6)  := ip[16] port[2]             -- 18 bytes
 *   compact node (v4)  := id[20] ip[4]  port[2]      -- 26 bytes
 *   compact node (v6)  := id[20] ip[16] port[2]      -- 38 bytes
 *
 * Internally the node keeps ids and compact addresses as "binary strings" (one char per byte,
 * 0–255): they are small, immutable, usable as Map keys and concatenate into `nodes` strings.
 */

import { formatIpv6Groups } from '../shared/ip-text.js';

/** A UDP endpoint: an IPv4 dotted quad or an IPv6 address, and a port. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** An address family: the IPv4 DHT or the IPv6 DHT (BEP 32: two distinct DHTs). */
export type AddressFamily = 4 | 6;

/** Bytes of a compact peer address for a family. */
export function compactAddressBytes(family: AddressFamily): number {
  return family === 4 ? 6 : 18;
}

/** A byte string as a binary string (one char per byte). */
export function bytesToBinary(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** A binary string back to bytes. */
export function binaryToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function parseIpv4(s: string): Uint8Array | undefined {
  // Hand-rolled (hot path: every datagram): four decimal parts of 1–3 digits, each ≤ 255.
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part === 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || part !== 3) return undefined;
  out[3] = value;
  return out;
}

function parseIpv6(input: string): Uint8Array | undefined {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.length === 0 || s.length > 45) return undefined;
  const out = new Uint8Array(16);
  // An embedded dotted quad takes the last 32 bits.
  let tail: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    tail = parseIpv4(s.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h.length === 0) return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (g.length === 0 || g.length > 4 || !/^[0-9a-fA-F]+$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  if (halves.length === 1 ? head.length !== 8 : head.length + rest.length > 7) return undefined;
  const all = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i]! >> 8;
    out[2 * i + 1] = all[i]! & 0xff;
  }
  if (tail !== undefined) out.set(tail, 12);
  return out;
}

/**
 * The bytes of an IP address in text form: 4 bytes for IPv4, 16 for IPv6, `undefined` when `host`
 * is not an IP literal. IPv4-mapped IPv6 (`::ffff:a.b.c.d`, as a dual-stack socket reports IPv4
 * senders) yields the 4 IPv4 bytes.
 */
export function parseIp(host: string): Uint8Array | undefined {
  if (host.includes(':')) {
    const v6 = parseIpv6(host);
    if (v6 === undefined) return undefined;
    let mapped = true;
    for (let i = 0; i < 10; i++) if (v6[i] !== 0) mapped = false;
    if (mapped && v6[10] === 0xff && v6[11] === 0xff) return v6.slice(12);
    return v6;
  }
  return parseIpv4(host);
}

/** The text form of 4 or 16 IP bytes (IPv6 in RFC 5952 canonical form). */
export function formatIp(ip: Uint8Array): string {
  if (ip.length === 4) return `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}`;
  return formatIpv6Groups(ip);
}

/** The family of an IP literal, or `undefined` when `host` is not one. */
export function ipFamily(host: string): AddressFamily | undefined {
  const ip = parseIp(host);
  return ip === undefined ? undefined : ip.length === 4 ? 4 : 6;
}

/** Compact peer bytes (BEP 5) of an address, or `undefined` when the host is not an IP literal. */
export function encodeCompactAddress(addr: Address): Uint8Array | undefined {
  const ip = parseIp(addr.host);
  if (ip === undefined || !Number.isInteger(addr.port) || addr.port < 0 || addr.port > 0xffff) {
    return undefined;
  }
  const out = new Uint8Array(ip.length + 2);
  out.set(ip);
  out[ip.length] = addr.port >> 8;
  out[ip.length + 1] = addr.port & 0xff;
  return out;
}

/** The address in 6 or 18 compact peer bytes; `undefined` for any other length. */
export function decodeCompactAddress(b: Uint8Array): Address | undefined {
  if (b.length !== 6 && b.length !== 18) return undefined;
  const n = b.length - 2;
  return { host: formatIp(b.subarray(0, n)), port: (b[n]! << 8) | b[n + 1]! };
}

/** An address from its compact binary-string key. */
export function addressFromKey(key: string): Address {
  const n = key.length - 2;
  const ip = binaryToBytes(key.slice(0, n));
  return { host: formatIp(ip), port: (key.charCodeAt(n) << 8) | key.charCodeAt(n + 1) };
}

/** The compact binary-string key of an address, or `undefined` when the host is not an IP. */
export function addressKey(addr: Address): string | undefined {
  const b = encodeCompactAddress(addr);
  return b === undefined ? undefined : bytesToBinary(b);
}

/**
 * True for addresses exempt from BEP 42 node-id checks and from one-node-per-IP rules: the
 * private, link-local and loopback blocks BEP 42 lists (10/8, 172.16/12, 192.168/16, 169.254/16,
 * 127/8) and their IPv6 counterparts (::1, fc00::/7, fe80::/10).
 */
export function isLocalIp(ip: Uint8Array): boolean {
  if (ip.length === 4) {
    const a = ip[0]!;
    const b = ip[1]!;
    return (
      a === 10 ||
      a === 127 ||
      (a === 172 && (b & 0xf0) === 16) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254)
    );
  }
  if (ip.length !== 16) return false;
  if ((ip[0]! & 0xfe) === 0xfc) return true;
  if (ip[0] === 0xfe && (ip[1]! & 0xc0) === 0x80) return true;
  for (let i = 0; i < 15; i++) if (ip[i] !== 0) return false;
  return ip[15] === 1;
}
