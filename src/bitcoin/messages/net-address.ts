/** IP addresses in the 16-byte form of the P2P protocol (IPv4 mapped into ::ffff:0:0/96). */
import { ErrorCode } from '../../shared/errors.js';
import { BtcError } from '../errors.js';

/** The 16-byte form of a dotted IPv4 address. */
export function ipv4Mapped(dotted: string): Uint8Array {
  const parts = dotted.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new BtcError(ErrorCode.BtcInvalidArgument, `not an IPv4 address: ${dotted.slice(0, 64)}`);
  }
  return Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...parts.map(Number));
}

/** True for an IPv4-mapped 16-byte address. */
export function isIpv4Mapped(ip: Uint8Array): boolean {
  if (ip.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

/** Text form: dotted IPv4 for mapped addresses, otherwise eight hex groups (not compressed). */
export function ipToString(ip: Uint8Array): string {
  if (isIpv4Mapped(ip)) return [...ip.subarray(12)].join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < ip.length; i += 2) groups.push(((ip[i]! << 8) | ip[i + 1]!).toString(16));
  return groups.join(':');
}
