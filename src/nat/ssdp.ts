/**
 * SSDP (UPnP Device Architecture 1.1 §1.3): the M-SEARCH request that looks for an Internet
 * Gateway Device, and the parser of its unicast answers (an HTTP/1.1 200 response over UDP).
 */
import { MAX_SSDP_MESSAGE_BYTES } from '../shared/limits.js';
import { badMessage, tooLarge } from './errors.js';

/** The SSDP multicast group and port. */
export const SSDP_ADDRESS = '239.255.255.250';
/** @default 1900 */
export const SSDP_PORT = 1900;

/** The device types searched for: IGD v1 and v2 (a v2 device answers v1 searches too). */
export const IGD_SEARCH_TARGETS = [
  'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
  'urn:schemas-upnp-org:device:InternetGatewayDevice:2',
] as const;

/** An M-SEARCH datagram for `target`; `mx` is the answer spread the device may use, in seconds. */
export function encodeMSearch(target: string, mx = 2): Uint8Array {
  const text =
    'M-SEARCH * HTTP/1.1\r\n' +
    `HOST: ${SSDP_ADDRESS}:${SSDP_PORT}\r\n` +
    'MAN: "ssdp:discover"\r\n' +
    `MX: ${mx}\r\n` +
    `ST: ${target}\r\n\r\n`;
  return new TextEncoder().encode(text);
}

/** The fields of an M-SEARCH answer that port mapping uses. */
export interface SsdpResponse {
  /** The device description URL (`LOCATION`). */
  readonly location: string;
  /** The search target answered (`ST`). */
  readonly st: string;
  readonly usn?: string;
  readonly server?: string;
}

/**
 * Parses one SSDP answer. Throws `NatError` if it is longer than {@link MAX_SSDP_MESSAGE_BYTES},
 * is not an `HTTP/1.x 200` response, or lacks an `http://` LOCATION or an ST.
 */
export function parseSsdpResponse(bytes: Uint8Array): SsdpResponse {
  if (bytes.length > MAX_SSDP_MESSAGE_BYTES) throw tooLarge('ssdp', `SSDP message of ${bytes.length} bytes`);
  // latin1: header bytes are ASCII; anything else only ends up in values we then validate.
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  const lines = text.split('\r\n');
  if (!/^HTTP\/1\.[01] 200\b/.test(lines[0] ?? '')) throw badMessage('ssdp', 'not an HTTP 200 answer');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) throw badMessage('ssdp', 'malformed header line');
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  const location = headers.get('location');
  const st = headers.get('st');
  if (!location || !st) throw badMessage('ssdp', 'answer without LOCATION or ST');
  if (!/^http:\/\/[\x21-\x7e]+$/i.test(location)) throw badMessage('ssdp', 'LOCATION is not an http URL');
  try {
    new URL(location);
  } catch {
    throw badMessage('ssdp', 'LOCATION is not a URL');
  }
  const usn = headers.get('usn');
  const server = headers.get('server');
  return { location, st, ...(usn !== undefined && { usn }), ...(server !== undefined && { server }) };
}
