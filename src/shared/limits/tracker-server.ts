/**
 * Bounds of the built-in tracker server.
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

// --- tracker server ---
/** Most torrents (swarms) the built-in tracker tracks at once; announces for more get a `failure reason`. */
export const TRACKER_MAX_TORRENTS = 100_000;
/** Most peers the built-in tracker tracks at once over all swarms. */
export const TRACKER_MAX_PEERS = 1_000_000;
/** Peers returned when an announce does not say `numwant` (BEP 3). */
export const TRACKER_DEFAULT_NUMWANT = 50;
/** Most peers returned to one announce, whatever `numwant` asks. */
export const TRACKER_MAX_NUMWANT = 200;
/** Most info-hashes answered in one HTTP scrape. */
export const TRACKER_MAX_SCRAPE_HASHES = 100;
/** Longest HTTP request target (path and query) the built-in tracker parses, in bytes. */
export const TRACKER_MAX_QUERY_BYTES = 8192;
/** Most query parameters the built-in tracker parses in one HTTP request. */
export const TRACKER_MAX_QUERY_PARAMS = 128;
/** Largest UDP datagram the built-in tracker reads; larger ones are dropped unanswered. */
export const TRACKER_MAX_UDP_PACKET_BYTES = 2048;
/**
 * Largest UDP reply payload the built-in tracker sends, in bytes: one unfragmented datagram on the
 * IPv6 minimum MTU (1280 − 40 − 8). Caps an announce reply at 202 IPv4 or 67 IPv6 peers.
 */
export const TRACKER_MAX_UDP_REPLY_BYTES = 1232;
/** How often the built-in tracker's UDP connection-id secret rotates, in ms (BEP 15 ids live 1–2 min). */
export const TRACKER_SECRET_ROTATE_MS = 60_000;
