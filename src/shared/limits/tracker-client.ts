/**
 * Bounds of the tracker client (BEP 3, 12, 15, 23).
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

// --- discovery: tracker client (BEP 3, 12, 15, 23) ---
/** Largest tracker HTTP reply body read, in bytes; a longer body is a `TrackerBadResponse`. */
export const MAX_TRACKER_RESPONSE_BYTES = 1024 * 1024;
/** Most peers taken from one tracker reply (`peers` + `peers6`); the rest are ignored. */
export const MAX_TRACKER_PEERS_PER_RESPONSE = 2000;
/** Most HTTP redirects followed for one tracker request. */
export const MAX_TRACKER_REDIRECTS = 3;
/** Longest tracker `failure reason` / `warning message` / UDP error text kept, in bytes. */
export const MAX_TRACKER_MESSAGE_BYTES = 1024;
/** Default time allowed for one tracker request (HTTP exchange, or UDP with its retransmissions), in ms. */
export const TRACKER_REQUEST_TIMEOUT_MS = 60_000;
/** Time allowed for the `stopped` announce sent when a torrent stops, in ms. */
export const TRACKER_STOP_TIMEOUT_MS = 5_000;
/** Shortest re-announce interval obeyed, in seconds: a tracker's smaller `interval` is raised to it. */
export const MIN_TRACKER_INTERVAL_S = 60;
/** Longest re-announce interval obeyed, in seconds: a tracker's larger `interval` is lowered to it. */
export const MAX_TRACKER_INTERVAL_S = 24 * 3600;
/** BEP 15: a UDP tracker connection id may be used this long after it was received, in ms. */
export const UDP_TRACKER_CONNECTION_ID_LIFETIME_MS = 60_000;
/** BEP 15: the first UDP tracker retransmission timeout (the `15` in 15·2ⁿ s), in ms. */
export const UDP_TRACKER_RETRANSMIT_BASE_MS = 15_000;
/** BEP 15: the largest `n` of the 15·2ⁿ s UDP retransmission back-off. */
export const UDP_TRACKER_MAX_RETRANSMITS = 8;
/** BEP 15: most info-hashes in one UDP scrape (about what fits in one datagram). */
export const MAX_UDP_SCRAPE_HASHES = 74;
