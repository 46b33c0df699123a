/**
 * BEP 55 `ut_holepunch`: a relay introduces two peers so that both open a uTP connection to
 * the other at once, which crosses NATs that keep an endpoint-independent mapping.
 *
 *   msg_type  1 byte   0 rendezvous, 1 connect, 2 error
 *   addr_type 1 byte   0 IPv4, 1 IPv6
 *   addr      6 or 18  compact endpoint (BEP 23 layout)
 *   err_code  4 bytes  big-endian; 0 unless msg_type is error
 *
 * Binary, not bencoded. Untrusted: a payload of the wrong length for its address type, an
 * unknown message or address type, or port 0 is a `WireBadMessage`. An error code we do not
 * know is kept as a number (BEP 55 may add codes); bytes after the message are refused.
 * libtorrent 2.0.8 leaves `err_code` out of `rendezvous` and `connect` (8 bytes for IPv4), so a
 * missing `err_code` reads as 0; we always send it, as BEP 55 lays out (libtorrent accepts it).
 */
import { readU32, writeU32 } from '../bytes.js';
import {
  COMPACT_PEER4_BYTES,
  COMPACT_PEER6_BYTES,
  type CompactPeer,
  decodeCompactPeers,
  encodeCompactPeers,
} from './compact-peers.js';
import { badPayload } from './payload.js';

/** BEP 55 message types. */
export const HolepunchType = {
  /** To the relay: introduce me to `addr`. */
  Rendezvous: 0,
  /** From the relay: open a uTP connection to `addr` now. */
  Connect: 1,
  /** From the relay: the rendezvous for `addr` could not be done. */
  Error: 2,
} as const;

/** BEP 55 error codes. */
export const HolepunchErrorCode = {
  /** The endpoint is invalid. */
  NoSuchPeer: 1,
  /** The relay is not connected to that peer. */
  NotConnected: 2,
  /** That peer does not support `ut_holepunch`. */
  NoSupport: 3,
  /** The endpoint is the relay's own. */
  NoSelf: 4,
} as const;

/** A `ut_holepunch` message. */
export type HolepunchMessage =
  | { readonly type: 'rendezvous'; readonly addr: CompactPeer }
  | { readonly type: 'connect'; readonly addr: CompactPeer }
  | { readonly type: 'error'; readonly addr: CompactPeer; readonly error: number };

const EXTENSION = 'ut_holepunch';
const NAMES = ['rendezvous', 'connect', 'error'] as const;
/** Bytes of a message around its address: type, address type, error code. */
const OVERHEAD = 6;
const ERR_CODE_BYTES = 4;

/** Decodes a `ut_holepunch` payload (after the extended sub-id byte). Throws {@link WireError}. */
export function decodeUtHolepunch(payload: Uint8Array): HolepunchMessage {
  if (payload.length < 2) throw badPayload(EXTENSION, `${payload.length} bytes is too short`, 0);
  const type = payload[0]!;
  const addrType = payload[1]!;
  if (type > HolepunchType.Error) throw badPayload(EXTENSION, `unknown message type ${type}`, 0);
  if (addrType > 1) throw badPayload(EXTENSION, `unknown address type ${addrType}`, 1);
  const addrBytes = addrType === 0 ? COMPACT_PEER4_BYTES : COMPACT_PEER6_BYTES;
  const full = OVERHEAD + addrBytes;
  if (payload.length !== full && payload.length !== full - ERR_CODE_BYTES)
    throw badPayload(EXTENSION, `${payload.length} bytes for address type ${addrType}`, 0);
  const addr = decodeCompactPeers(payload.subarray(2, 2 + addrBytes), addrType === 0 ? 4 : 6, 1)![0]!;
  if (addr.port === 0) throw badPayload(EXTENSION, 'port 0', 2 + addrBytes - 2);
  const error = payload.length === full ? readU32(payload, 2 + addrBytes) : 0;
  const name = NAMES[type]!;
  if (name === 'error') return { type: name, addr, error };
  return { type: name, addr };
}

/**
 * Encodes a `ut_holepunch` payload. Throws a RangeError on a host that is not an IP address, a
 * port out of range, or an error code outside 32 bits (programmer errors).
 */
export function encodeUtHolepunch(msg: HolepunchMessage): Uint8Array {
  const addr = encodeCompactPeers([msg.addr], msg.addr.family);
  const error = msg.type === 'error' ? msg.error : 0;
  if (!Number.isInteger(error) || error < 0 || error > 0xffffffff) throw new RangeError(`error ${error}`);
  const out = new Uint8Array(OVERHEAD + addr.length);
  out[0] =
    HolepunchType[msg.type === 'rendezvous' ? 'Rendezvous' : msg.type === 'connect' ? 'Connect' : 'Error'];
  out[1] = msg.addr.family === 4 ? 0 : 1;
  out.set(addr, 2);
  writeU32(out, 2 + addr.length, error);
  return out;
}
