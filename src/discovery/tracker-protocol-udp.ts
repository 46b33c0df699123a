/**
 * UDP tracker datagrams (BEP 15), both directions, as pure functions (no I/O). All integers are
 * big endian.
 *
 *   connect request    0 u64 protocol_id=0x41727101980 | 8 u32 action=0 | 12 u32 transaction_id      (16)
 *   connect response   0 u32 action=0 | 4 u32 transaction_id | 8 u64 connection_id                     (16)
 *   announce request   0 u64 connection_id | 8 u32 action=1 | 12 u32 transaction_id | 16 info_hash[20]
 *                      | 36 peer_id[20] | 56 i64 downloaded | 64 i64 left | 72 i64 uploaded
 *                      | 80 u32 event (0 none, 1 completed, 2 started, 3 stopped) | 84 u32 ip=0
 *                      | 88 u32 key | 92 i32 num_want (-1 default) | 96 u16 port                       (98)
 *   announce response  0 u32 action=1 | 4 u32 transaction_id | 8 u32 interval | 12 u32 leechers
 *                      | 16 u32 seeders | 20 peers: 6 bytes each over IPv4, 18 bytes each over IPv6  (20+)
 *   scrape request     0 u64 connection_id | 8 u32 action=2 | 12 u32 transaction_id | 16 info_hash[20]*N
 *   scrape response    0 u32 action=2 | 4 u32 transaction_id | 8 (u32 seeders, u32 completed, u32 leechers)*N
 *   error response     0 u32 action=3 | 4 u32 transaction_id | 8 message (text, to the end)
 *
 * Packets may be longer than these layouts (BEP 15 §Extensions, BEP 41 options): extra bytes are
 * ignored. Responses are untrusted: {@link decodeUdpResponse} returns a bounded value or throws a
 * {@link TrackerError}; requests are untrusted too: {@link decodeUdpRequest} returns `undefined`
 * for anything a tracker should drop without answering.
 */
import { ErrorCode } from '../shared/errors.js';
import {
  MAX_TRACKER_PEERS_PER_RESPONSE,
  MAX_UDP_SCRAPE_HASHES,
  TRACKER_MAX_UDP_PACKET_BYTES,
} from '../shared/limits.js';
import { TrackerError } from './errors.js';
import { decodeTrackerPeers } from './tracker-address.js';
import { checkAnnounceRequest, trackerMessageText } from './tracker-protocol-http.js';
import type { AnnounceRequest, TrackerEvent, TrackerPeer } from './tracker-types.js';

/** BEP 15 magic constant of a connect request. */
export const UDP_PROTOCOL_ID = 0x41727101980n;
/** The protocol id as two 32-bit halves (for allocation-free checks). */
export const UDP_PROTOCOL_ID_HI = 0x417;
export const UDP_PROTOCOL_ID_LO = 0x27101980;

/** BEP 15 actions. */
export const UdpAction = { Connect: 0, Announce: 1, Scrape: 2, Error: 3 } as const;
export type UdpAction = (typeof UdpAction)[keyof typeof UdpAction];

/** BEP 15 event numbers. */
export const UDP_EVENT_CODE: Readonly<Record<TrackerEvent, number>> = {
  none: 0,
  completed: 1,
  started: 2,
  stopped: 3,
};
const EVENT_BY_CODE: readonly TrackerEvent[] = ['none', 'completed', 'started', 'stopped'];

export const UDP_CONNECT_BYTES = 16;
export const UDP_ANNOUNCE_REQUEST_BYTES = 98;
export const UDP_ANNOUNCE_RESPONSE_HEADER_BYTES = 20;
export const UDP_SCRAPE_REQUEST_HEADER_BYTES = 16;
export const UDP_SCRAPE_RESPONSE_HEADER_BYTES = 8;
export const UDP_SCRAPE_ENTRY_BYTES = 12;
export const UDP_ERROR_HEADER_BYTES = 8;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads a non-negative 64-bit field as a number; negative values read as 0 (precision beyond 2^53 is lost). */
function readU64(v: DataView, at: number): number {
  const hi = v.getUint32(at);
  if (hi >= 0x80000000) return 0;
  return hi * 2 ** 32 + v.getUint32(at + 4);
}

function writeU64(v: DataView, at: number, n: number): void {
  v.setUint32(at, Math.floor(n / 2 ** 32));
  v.setUint32(at + 4, n >>> 0);
}

// ---------------------------------------------------------------------------------------------
// Client side.

/** Encodes a connect request. */
export function encodeUdpConnectRequest(transactionId: number): Uint8Array {
  const b = new Uint8Array(UDP_CONNECT_BYTES);
  const v = view(b);
  v.setUint32(0, UDP_PROTOCOL_ID_HI);
  v.setUint32(4, UDP_PROTOCOL_ID_LO);
  v.setUint32(8, UdpAction.Connect);
  v.setUint32(12, transactionId >>> 0);
  return b;
}

/** Encodes an announce request (IPv4 and IPv6 share the layout; the IP field is always 0). */
export function encodeUdpAnnounceRequest(
  connectionId: Uint8Array,
  transactionId: number,
  req: AnnounceRequest,
  url = '',
): Uint8Array {
  checkAnnounceRequest(req, url);
  const b = new Uint8Array(UDP_ANNOUNCE_REQUEST_BYTES);
  const v = view(b);
  b.set(connectionId.subarray(0, 8), 0);
  v.setUint32(8, UdpAction.Announce);
  v.setUint32(12, transactionId >>> 0);
  b.set(req.infoHash, 16);
  b.set(req.peerId, 36);
  writeU64(v, 56, req.downloaded);
  writeU64(v, 64, req.left);
  writeU64(v, 72, req.uploaded);
  v.setUint32(80, UDP_EVENT_CODE[req.event]);
  v.setUint32(84, 0);
  v.setUint32(88, (req.key ?? 0) >>> 0);
  v.setInt32(92, req.numwant === undefined ? -1 : Math.min(0x7fffffff, Math.max(0, Math.floor(req.numwant))));
  v.setUint16(96, req.port);
  return b;
}

/** Encodes a scrape request; at most MAX_UDP_SCRAPE_HASHES hashes of 20 bytes. */
export function encodeUdpScrapeRequest(
  connectionId: Uint8Array,
  transactionId: number,
  infoHashes: readonly Uint8Array[],
  url = '',
): Uint8Array {
  if (infoHashes.length > MAX_UDP_SCRAPE_HASHES || infoHashes.some((h) => h.length !== 20)) {
    throw new TrackerError(
      ErrorCode.TrackerRequest,
      `UDP scrape takes 1 to ${MAX_UDP_SCRAPE_HASHES} info-hashes of 20 bytes`,
      { url },
    );
  }
  const b = new Uint8Array(UDP_SCRAPE_REQUEST_HEADER_BYTES + 20 * infoHashes.length);
  const v = view(b);
  b.set(connectionId.subarray(0, 8), 0);
  v.setUint32(8, UdpAction.Scrape);
  v.setUint32(12, transactionId >>> 0);
  infoHashes.forEach((h, i) => {
    b.set(h, UDP_SCRAPE_REQUEST_HEADER_BYTES + 20 * i);
  });
  return b;
}

/** A decoded UDP tracker response. */
export type UdpTrackerResponse =
  | { readonly action: 'connect'; readonly transactionId: number; readonly connectionId: Uint8Array }
  | {
      readonly action: 'announce';
      readonly transactionId: number;
      readonly interval: number;
      readonly leechers: number;
      readonly seeders: number;
      readonly peers: readonly TrackerPeer[];
    }
  | {
      readonly action: 'scrape';
      readonly transactionId: number;
      readonly entries: readonly { seeders: number; completed: number; leechers: number }[];
    }
  | { readonly action: 'error'; readonly transactionId: number; readonly message: string };

/** The transaction id of a response (bytes 4..8), or `undefined` when it is shorter than 8 bytes. */
export function readUdpTransactionId(b: Uint8Array): number | undefined {
  return b.length < 8 ? undefined : view(b).getUint32(4);
}

/**
 * Decodes a response. `family` is the address family of the socket it arrived on: it decides
 * the peer stride (BEP 15 §IPv6). Throws `TrackerBadResponse` on a short or unknown packet.
 */
export function decodeUdpResponse(
  b: Uint8Array,
  family: 4 | 6,
  url = '',
  maxPeers = MAX_TRACKER_PEERS_PER_RESPONSE,
): UdpTrackerResponse {
  const bad = (what: string): never => {
    throw new TrackerError(ErrorCode.TrackerBadResponse, `UDP tracker reply: ${what}`, { url });
  };
  if (b.length < 8) bad(`${b.length} bytes is too short`);
  const v = view(b);
  const action = v.getUint32(0);
  const transactionId = v.getUint32(4);
  switch (action) {
    case UdpAction.Connect:
      if (b.length < UDP_CONNECT_BYTES) bad('short connect response');
      return { action: 'connect', transactionId, connectionId: new Uint8Array(b.subarray(8, 16)) };
    case UdpAction.Announce: {
      if (b.length < UDP_ANNOUNCE_RESPONSE_HEADER_BYTES) bad('short announce response');
      const peers: TrackerPeer[] = [];
      decodeTrackerPeers(b.subarray(UDP_ANNOUNCE_RESPONSE_HEADER_BYTES), family, peers, maxPeers);
      return {
        action: 'announce',
        transactionId,
        interval: v.getUint32(8),
        leechers: v.getUint32(12),
        seeders: v.getUint32(16),
        peers,
      };
    }
    case UdpAction.Scrape: {
      const n = Math.min(
        MAX_UDP_SCRAPE_HASHES,
        Math.floor((b.length - UDP_SCRAPE_RESPONSE_HEADER_BYTES) / UDP_SCRAPE_ENTRY_BYTES),
      );
      const entries: { seeders: number; completed: number; leechers: number }[] = [];
      for (let i = 0; i < n; i++) {
        const at = UDP_SCRAPE_RESPONSE_HEADER_BYTES + i * UDP_SCRAPE_ENTRY_BYTES;
        entries.push({
          seeders: v.getUint32(at),
          completed: v.getUint32(at + 4),
          leechers: v.getUint32(at + 8),
        });
      }
      return { action: 'scrape', transactionId, entries };
    }
    case UdpAction.Error:
      return {
        action: 'error',
        transactionId,
        message: trackerMessageText(b.subarray(UDP_ERROR_HEADER_BYTES)),
      };
    default:
      return bad(`unknown action ${action}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Server side.

/** A decoded UDP tracker request. Views (`connectionId`, `infoHash`, `peerId`) alias the packet. */
export type UdpTrackerRequest =
  | { readonly action: 'connect'; readonly transactionId: number }
  | {
      readonly action: 'announce';
      readonly connectionId: Uint8Array;
      readonly transactionId: number;
      readonly infoHash: Uint8Array;
      readonly peerId: Uint8Array;
      readonly downloaded: number;
      readonly left: number;
      readonly uploaded: number;
      readonly event: TrackerEvent;
      readonly key: number;
      /** -1 (or any negative) means the tracker's default. */
      readonly numwant: number;
      readonly port: number;
    }
  | {
      readonly action: 'scrape';
      readonly connectionId: Uint8Array;
      readonly transactionId: number;
      readonly infoHashes: readonly Uint8Array[];
    };

/**
 * Decodes a request. Returns `undefined` for anything to drop unanswered: shorter than its
 * layout, longer than TRACKER_MAX_UDP_PACKET_BYTES, a connect without the protocol id, an
 * unknown action or event. A scrape keeps at most MAX_UDP_SCRAPE_HASHES hashes.
 */
export function decodeUdpRequest(b: Uint8Array): UdpTrackerRequest | undefined {
  if (b.length < UDP_CONNECT_BYTES || b.length > TRACKER_MAX_UDP_PACKET_BYTES) return undefined;
  const v = view(b);
  const action = v.getUint32(8);
  const transactionId = v.getUint32(12);
  if (action === UdpAction.Connect) {
    if (v.getUint32(0) !== UDP_PROTOCOL_ID_HI || v.getUint32(4) !== UDP_PROTOCOL_ID_LO) return undefined;
    return { action: 'connect', transactionId };
  }
  if (action === UdpAction.Announce) {
    if (b.length < UDP_ANNOUNCE_REQUEST_BYTES) return undefined;
    const event = EVENT_BY_CODE[v.getUint32(80)];
    if (event === undefined) return undefined;
    return {
      action: 'announce',
      connectionId: b.subarray(0, 8),
      transactionId,
      infoHash: b.subarray(16, 36),
      peerId: b.subarray(36, 56),
      downloaded: readU64(v, 56),
      left: readU64(v, 64),
      uploaded: readU64(v, 72),
      event,
      key: v.getUint32(88),
      numwant: v.getInt32(92),
      port: v.getUint16(96),
    };
  }
  if (action === UdpAction.Scrape) {
    const n = Math.min(MAX_UDP_SCRAPE_HASHES, Math.floor((b.length - UDP_SCRAPE_REQUEST_HEADER_BYTES) / 20));
    const infoHashes: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const at = UDP_SCRAPE_REQUEST_HEADER_BYTES + 20 * i;
      infoHashes.push(b.subarray(at, at + 20));
    }
    return { action: 'scrape', connectionId: b.subarray(0, 8), transactionId, infoHashes };
  }
  return undefined;
}

/** Encodes a connect response. */
export function encodeUdpConnectResponse(transactionId: number, connectionId: Uint8Array): Uint8Array {
  const b = new Uint8Array(UDP_CONNECT_BYTES);
  const v = view(b);
  v.setUint32(0, UdpAction.Connect);
  v.setUint32(4, transactionId >>> 0);
  b.set(connectionId.subarray(0, 8), 8);
  return b;
}

/** Encodes an announce response; `compactPeers` is 6 bytes per IPv4 peer or 18 per IPv6 peer. */
export function encodeUdpAnnounceResponse(
  transactionId: number,
  interval: number,
  leechers: number,
  seeders: number,
  compactPeers: Uint8Array,
): Uint8Array {
  const b = new Uint8Array(UDP_ANNOUNCE_RESPONSE_HEADER_BYTES + compactPeers.length);
  const v = view(b);
  v.setUint32(0, UdpAction.Announce);
  v.setUint32(4, transactionId >>> 0);
  v.setUint32(8, interval >>> 0);
  v.setUint32(12, leechers >>> 0);
  v.setUint32(16, seeders >>> 0);
  b.set(compactPeers, UDP_ANNOUNCE_RESPONSE_HEADER_BYTES);
  return b;
}

/** Encodes a scrape response. */
export function encodeUdpScrapeResponse(
  transactionId: number,
  entries: readonly { seeders: number; completed: number; leechers: number }[],
): Uint8Array {
  const b = new Uint8Array(UDP_SCRAPE_RESPONSE_HEADER_BYTES + UDP_SCRAPE_ENTRY_BYTES * entries.length);
  const v = view(b);
  v.setUint32(0, UdpAction.Scrape);
  v.setUint32(4, transactionId >>> 0);
  entries.forEach((e, i) => {
    const at = UDP_SCRAPE_RESPONSE_HEADER_BYTES + i * UDP_SCRAPE_ENTRY_BYTES;
    v.setUint32(at, e.seeders >>> 0);
    v.setUint32(at + 4, e.completed >>> 0);
    v.setUint32(at + 8, e.leechers >>> 0);
  });
  return b;
}

/** Encodes an error response; the message is cut to `maxBytes` of UTF-8. */
export function encodeUdpErrorResponse(transactionId: number, message: string, maxBytes = 256): Uint8Array {
  const text = new TextEncoder().encode(message).subarray(0, Math.max(0, maxBytes));
  const b = new Uint8Array(UDP_ERROR_HEADER_BYTES + text.length);
  const v = view(b);
  v.setUint32(0, UdpAction.Error);
  v.setUint32(4, transactionId >>> 0);
  b.set(text, UDP_ERROR_HEADER_BYTES);
  return b;
}
