/**
 * NAT-PMP (RFC 6886): the external-address and mapping requests and their responses. The
 * server is the default gateway, UDP port 5351.
 */
import { MAX_PCP_MESSAGE_BYTES } from '../shared/limits.js';
import { badMessage, refused, tooLarge } from './errors.js';

/** NAT-PMP and PCP server port. @default 5351 */
export const NATPMP_PORT = 5351;

/** NAT-PMP result codes (RFC 6886 §3.5). */
export const NatPmpResult = {
  Success: 0,
  UnsupportedVersion: 1,
  NotAuthorized: 2,
  NetworkFailure: 3,
  OutOfResources: 4,
  UnsupportedOpcode: 5,
} as const;

/** Request for the gateway's external address (opcode 0). */
export function encodeNatPmpExternalRequest(): Uint8Array {
  return new Uint8Array([0, 0]);
}

/**
 * A mapping request (opcode 1 UDP, 2 TCP). `lifetimeSeconds` 0 with `externalPort` 0 deletes the
 * mapping (RFC 6886 §3.4).
 */
export function encodeNatPmpMapRequest(
  protocol: 'TCP' | 'UDP',
  internalPort: number,
  externalPort: number,
  lifetimeSeconds: number,
): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  b[1] = protocol === 'UDP' ? 1 : 2;
  v.setUint16(4, internalPort);
  v.setUint16(6, externalPort);
  v.setUint32(8, lifetimeSeconds);
  return b;
}

/** A decoded NAT-PMP response. */
export type NatPmpResponse =
  | { readonly op: 'external'; readonly epoch: number; readonly externalIp: string }
  | {
      readonly op: 'map';
      readonly protocol: 'TCP' | 'UDP';
      readonly epoch: number;
      readonly internalPort: number;
      readonly externalPort: number;
      readonly lifetimeSeconds: number;
    };

/**
 * Decodes a response. A non-zero result code throws `SHOAL_ERR_NAT_REFUSED` with it (so an
 * unsupported-version answer to a PCP request surfaces as result 1); a short, long or unknown
 * message throws `SHOAL_ERR_NAT_BAD_MESSAGE` / `SHOAL_ERR_NAT_TOO_LARGE`.
 */
export function decodeNatPmpResponse(bytes: Uint8Array): NatPmpResponse {
  if (bytes.length > MAX_PCP_MESSAGE_BYTES)
    throw tooLarge('natpmp', `NAT-PMP message of ${bytes.length} bytes`);
  if (bytes.length < 8) throw badMessage('natpmp', 'NAT-PMP response too short');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== 0) throw badMessage('natpmp', `NAT-PMP version ${bytes[0]}`);
  const op = bytes[1]!;
  if (op < 128 || op > 130) throw badMessage('natpmp', `not a NAT-PMP response (op ${op})`);
  const result = v.getUint16(2);
  if (result !== NatPmpResult.Success) throw refused('natpmp', `NAT-PMP result ${result}`, result);
  const epoch = v.getUint32(4);
  if (op === 128) {
    if (bytes.length < 12) throw badMessage('natpmp', 'external-address response too short');
    return { op: 'external', epoch, externalIp: `${bytes[8]}.${bytes[9]}.${bytes[10]}.${bytes[11]}` };
  }
  if (bytes.length < 16) throw badMessage('natpmp', 'mapping response too short');
  return {
    op: 'map',
    protocol: op === 129 ? 'UDP' : 'TCP',
    epoch,
    internalPort: v.getUint16(8),
    externalPort: v.getUint16(10),
    lifetimeSeconds: v.getUint32(12),
  };
}
