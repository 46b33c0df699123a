/** The peer log of a torrent and the node's bans in the API's shapes (api-types.ts). */
import type { Session, Torrent } from '../session/index.js';
import type { BanInfo, PeerEventInfo } from './api-types.js';

/** The torrent's recent peer events, oldest first (none without a torrent). */
export function peerEvents(t: Torrent | undefined): PeerEventInfo[] {
  if (t === undefined) return [];
  return t.peerLog().map((e) => ({
    at: e.at,
    type: e.type,
    address: e.address,
    reason: e.reason ?? null,
    client: e.client ?? null,
    transport: e.transport ?? null,
    encrypted: e.encrypted ?? null,
  }));
}

/** Addresses banned for the whole node, oldest first, stamped with wall-clock time. */
export function banInfos(session: Pick<Session, 'pool' | 'now'>): BanInfo[] {
  // The pool stamps bans with the session's monotonic clock.
  const offset = Date.now() - session.now();
  return session.pool
    .bans()
    .map((b) => ({ address: b.address, reason: b.reason, at: Math.round(offset + b.at) }));
}
