/**
 * IP address text ↔ numbers, for the blocklist and the SOCKS5 client. Pure: no I/O.
 *
 * IPv4 is a uint32 (`number`); IPv6 is 16 bytes or a `bigint`. Parsers return `undefined` for
 * anything that is not an address (no exceptions on untrusted text).
 */

import { formatIpv6Groups } from '../shared/ip-text.js';

/** 16 bytes as RFC 5952 text (lowercase, the longest run of zero groups as `::`; IPv4-mapped in hex). */
export function formatIpv6(bytes: Uint8Array): string {
  return formatIpv6Groups(bytes);
}

/**
 * Parses a dotted quad into a uint32. `leadingZeros` accepts `001.002.003.004` (eMule lists pad
 * with zeros; the parts are decimal, never octal); otherwise a part may not start with 0.
 */
export function parseIpv4(text: string, leadingZeros = false): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  let first = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // a final '.' closes the last part
    if (c === 46) {
      if (digits === 0 || (!leadingZeros && digits > 1 && first === 48)) return undefined;
      if (++parts > 4) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 0) first = c;
      if (++digits > 3) return undefined;
      part = part * 10 + (c - 48);
      if (part > 255) return undefined;
    } else return undefined;
  }
  return parts === 4 ? value : undefined;
}

/**
 * The 4 bytes of an IPv4 address, written plain or IPv4-mapped (`::ffff:a.b.c.d`, as a dual-stack
 * listener reports it); undefined for anything else (BEP 10 `yourip`).
 */
export function ipv4Bytes(text: string): Uint8Array | undefined {
  const v = parseIpv4(text.toLowerCase().startsWith('::ffff:') ? text.slice(7) : text);
  return v === undefined ? undefined : Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
}

/** A uint32 as a dotted quad. */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * Parses an IPv6 address (RFC 4291 §2.2 text forms: hex groups, one `::`, a final dotted quad)
 * into 16 bytes. Zone ids (`%eth0`) and brackets are refused.
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return undefined;
  const head = gap >= 0 ? text.slice(0, gap) : text;
  const tail = gap >= 0 ? text.slice(gap + 2) : '';
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups: number[] = [];
  const read = (parts: string[], last: boolean): boolean => {
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (last && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (v4 === undefined) return false;
        groups.push(v4 >>> 16, v4 & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return false;
      groups.push(Number.parseInt(p, 16));
    }
    return true;
  };
  if (!read(left, gap < 0)) return undefined;
  const leftCount = groups.length;
  if (!read(right, true)) return undefined;
  const rightGroups = groups.splice(leftCount);
  if (gap < 0) {
    if (groups.length !== 8) return undefined;
  } else {
    // `::` stands for at least one zero group.
    if (groups.length + rightGroups.length > 7) return undefined;
    while (groups.length + rightGroups.length < 8) groups.push(0);
  }
  groups.push(...rightGroups);
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >>> 8;
    out[2 * i + 1] = groups[i]! & 255;
  }
  return out;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else undefined. */
export function mappedIpv4(bytes: Uint8Array): number | undefined {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return undefined;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return undefined;
  return ((bytes[12]! << 24) | (bytes[13]! << 16) | (bytes[14]! << 8) | bytes[15]!) >>> 0;
}

/** 16 bytes as a 128-bit integer. */
export function ipv6ToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}
