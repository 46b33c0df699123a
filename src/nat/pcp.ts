/**
 * PCP (RFC 6887): the MAP request and response, IPv4 only (addresses as IPv4-mapped IPv6).
 * A NAT-PMP-only server answers a PCP request with a NAT-PMP "unsupported version" (version 0,
 * result 1), which {@link decodePcpResponse} reports as `SHOAL_ERR_NAT_REFUSED` with
 * `details.protocol === 'natpmp'`, so the caller falls back to NAT-PMP (RFC 6887 §9).
 */
import { MAX_PCP_MESSAGE_BYTES } from '../shared/limits.js';
import { badMessage, refused, tooLarge } from './errors.js';
import { decodeNatPmpResponse } from './natpmp.js';
import { isIpv4 } from './soap.js';

export const PCP_VERSION = 2;
const OP_MAP = 1;
/** Length of a PCP MAP nonce, in bytes. */
export const PCP_NONCE_BYTES = 12;

/** PCP result codes (RFC 6887 §7.4) that the runtime looks at. */
export const PcpResult = {
  Success: 0,
  UnsupportedVersion: 1,
  NotAuthorized: 2,
  NoResources: 8,
  CannotProvideExternal: 11,
} as const;

function putMappedIpv4(b: Uint8Array, at: number, ip: string): void {
  if (!isIpv4(ip)) throw badMessage('pcp', 'not an IPv4 address');
  b[at + 10] = 0xff;
  b[at + 11] = 0xff;
  ip.split('.').forEach((p, k) => {
    b[at + 12 + k] = Number(p);
  });
}

/** What a MAP request asks for. */
export interface PcpMapRequest {
  /** 12 random bytes; the response must echo them (a spoofed answer cannot). */
  readonly nonce: Uint8Array;
  readonly protocol: 'TCP' | 'UDP';
  readonly internalPort: number;
  /** Suggested external port (0 lets the server choose); with lifetime 0, the mapping deleted. */
  readonly externalPort: number;
  /** Requested lifetime, in seconds; 0 deletes the mapping. */
  readonly lifetimeSeconds: number;
  /** Our own address on the LAN (dotted IPv4): PCP servers compare it with the packet's source. */
  readonly clientIp: string;
}

/** Encodes a 60-byte MAP request. */
export function encodePcpMapRequest(r: PcpMapRequest): Uint8Array {
  if (r.nonce.length !== PCP_NONCE_BYTES) throw badMessage('pcp', 'nonce must be 12 bytes');
  const b = new Uint8Array(60);
  const v = new DataView(b.buffer);
  b[0] = PCP_VERSION;
  b[1] = OP_MAP;
  v.setUint32(4, r.lifetimeSeconds);
  putMappedIpv4(b, 8, r.clientIp);
  b.set(r.nonce, 24);
  b[36] = r.protocol === 'TCP' ? 6 : 17;
  v.setUint16(40, r.internalPort);
  v.setUint16(42, r.externalPort);
  // Suggested external address: the IPv4-mapped "any" (::ffff:0.0.0.0).
  b[54] = 0xff;
  b[55] = 0xff;
  return b;
}

/** A decoded MAP response. */
export interface PcpMapResponse {
  readonly nonce: Uint8Array;
  readonly protocol: 'TCP' | 'UDP';
  readonly internalPort: number;
  readonly externalPort: number;
  readonly externalIp: string;
  readonly lifetimeSeconds: number;
  /** Server epoch, in seconds: going backwards means the router restarted and lost its state. */
  readonly epoch: number;
}

/** Decodes a MAP response; a non-zero result throws `SHOAL_ERR_NAT_REFUSED` with the result code. */
export function decodePcpResponse(bytes: Uint8Array): PcpMapResponse {
  if (bytes.length > MAX_PCP_MESSAGE_BYTES) throw tooLarge('pcp', `PCP message of ${bytes.length} bytes`);
  if (bytes.length >= 2 && bytes[0] === 0) {
    decodeNatPmpResponse(bytes); // throws (a refusal when the server speaks only NAT-PMP)
    throw badMessage('natpmp', 'a NAT-PMP answer to a PCP request');
  }
  if (bytes.length < 24) throw badMessage('pcp', 'PCP response too short');
  if (bytes[0] !== PCP_VERSION) throw badMessage('pcp', `PCP version ${bytes[0]}`);
  if ((bytes[1]! & 0x80) === 0) throw badMessage('pcp', 'not a PCP response');
  if ((bytes[1]! & 0x7f) !== OP_MAP) throw badMessage('pcp', `PCP opcode ${bytes[1]! & 0x7f}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const result = bytes[3]!;
  if (result !== PcpResult.Success) throw refused('pcp', `PCP result ${result}`, result);
  if (bytes.length < 60) throw badMessage('pcp', 'MAP response too short');
  const proto = bytes[36];
  if (proto !== 6 && proto !== 17) throw badMessage('pcp', `PCP protocol ${proto}`);
  const ext = bytes.subarray(44, 60);
  for (let k = 0; k < 10; k++) if (ext[k] !== 0) throw badMessage('pcp', 'external address is not IPv4');
  if (ext[10] !== 0xff || ext[11] !== 0xff) throw badMessage('pcp', 'external address is not IPv4');
  return {
    nonce: bytes.slice(24, 36),
    protocol: proto === 6 ? 'TCP' : 'UDP',
    internalPort: v.getUint16(40),
    externalPort: v.getUint16(42),
    externalIp: `${ext[12]}.${ext[13]}.${ext[14]}.${ext[15]}`,
    lifetimeSeconds: v.getUint32(4),
    epoch: v.getUint32(8),
  };
}
