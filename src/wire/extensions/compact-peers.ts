/**
 * Compact peer addresses (BEP 23 layout, used by BEP 11 `ut_pex`): 4-byte IPv4 or 16-byte IPv6
 * address followed by a 2-byte big-endian port, and the text form of those addresses.
 */
import { formatIpv6 } from '../../shared/ip-text.js';
import { readU16, writeU16 } from '../bytes.js';

/** Bytes of one compact IPv4 peer (address and port). */
export const COMPACT_PEER4_BYTES = 6;
/** Bytes of one compact IPv6 peer (address and port). */
export const COMPACT_PEER6_BYTES = 18;

/** A peer address. `host` is dotted IPv4 or RFC 5952 IPv6 text. */
export interface CompactPeer {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** Dotted-quad text of a 4-byte address, or RFC 5952 text of a 16-byte address. */
export function formatIp(ip: Uint8Array): string {
  if (ip.length === 4) return `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}`;
  if (ip.length !== 16) throw new RangeError('an IP address is 4 or 16 bytes');
  // IPv4-mapped addresses keep their dotted tail (RFC 5952 §5).
  return formatIpv6(ip);
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  let s = text;
  let tail: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.includes('.', lastColon)) {
    tail = parseIpv4(s.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) writeU16(out, i * 2, groups[i]!);
  if (tail !== undefined) out.set(tail, 12);
  return out;
}

/** The 4 or 16 bytes of an IPv4 or IPv6 address text, or `undefined` when it is neither. */
export function parseIp(text: string): Uint8Array | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/**
 * Decodes a string of compact peers of one family. Returns `undefined` when its length is not a
 * multiple of the entry size; reads at most `max` entries.
 */
export function decodeCompactPeers(bytes: Uint8Array, family: 4 | 6, max: number): CompactPeer[] | undefined {
  const size = family === 4 ? COMPACT_PEER4_BYTES : COMPACT_PEER6_BYTES;
  if (bytes.length % size !== 0) return undefined;
  const count = Math.min(bytes.length / size, max);
  const out: CompactPeer[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * size;
    out.push({
      host: formatIp(bytes.subarray(at, at + size - 2)),
      port: readU16(bytes, at + size - 2),
      family,
    });
  }
  return out;
}

/**
 * Encodes peers of one family as a compact string. Throws a RangeError when a host is not an
 * address of that family or a port is out of range (programmer errors).
 */
export function encodeCompactPeers(peers: readonly CompactPeer[], family: 4 | 6): Uint8Array {
  const size = family === 4 ? COMPACT_PEER4_BYTES : COMPACT_PEER6_BYTES;
  const out = new Uint8Array(peers.length * size);
  peers.forEach((peer, i) => {
    const ip = parseIp(peer.host);
    if (ip === undefined || ip.length !== size - 2) {
      throw new RangeError(`"${peer.host}" is not an IPv${family} address`);
    }
    if (!Number.isInteger(peer.port) || peer.port < 0 || peer.port > 0xffff) {
      throw new RangeError(`port out of range: ${peer.port}`);
    }
    out.set(ip, i * size);
    writeU16(out, i * size + size - 2, peer.port);
  });
  return out;
}
