/**
 * Bounds of the daemon's HTTP API.
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

// --- daemon: HTTP API ---
/**
 * Largest .torrent file the daemon's API accepts, in bytes: a raw `application/x-bittorrent`
 * upload, a base64 `torrent` field once decoded, or the body of a torrent URL the daemon fetches.
 * 16 MiB holds a v1 torrent of about 800,000 pieces; larger requests get 413.
 */
export const MAX_API_TORRENT_BYTES = 16 * 1024 * 1024;
/**
 * Largest JSON request body the daemon's API accepts, in bytes: room for a base64-encoded
 * {@link MAX_API_TORRENT_BYTES} torrent plus the other fields. Larger bodies get 413.
 */
export const MAX_API_JSON_BODY_BYTES = Math.ceil(MAX_API_TORRENT_BYTES / 3) * 4 + 64 * 1024;
/** Longest torrent URL (`url` field of an add request) the API accepts, in characters. */
export const MAX_API_URL_LENGTH = 8192;
/** Longest folder path (`downloadDir`) an API request may name, in characters. */
export const MAX_API_PATH_LENGTH = 4096;
/** Time allowed to fetch a .torrent from a URL named in an add request (all redirects included), in ms. */
export const TORRENT_URL_FETCH_TIMEOUT_MS = 30_000;
/** Most HTTP redirects followed when fetching a .torrent from a URL. */
export const MAX_TORRENT_URL_REDIRECTS = 5;
/** Most Server-Sent Events listeners (`/api/v1/events`) at once; more get 503. */
export const MAX_SSE_CLIENTS = 32;
/**
 * Bytes an SSE listener may leave unread in its socket buffer: above it, periodic snapshots are
 * skipped for that listener (counted as dropped); above four times it, the listener is disconnected.
 */
export const MAX_SSE_BUFFERED_BYTES = 1024 * 1024;
/** Most `/stream/…` responses served at once over all torrents; more get 503. */
export const MAX_CONCURRENT_STREAMS = 16;
/** Most `/webseed/…` (BEP 19 serving) responses at once over all torrents; more get 503 with `Retry-After`. */
export const MAX_WEB_SEED_SERVE_REQUESTS = 32;
/** `Retry-After` of a `/webseed/…` answer whose bytes are not verified yet (or that is over the bound), in s. */
export const WEB_SEED_SERVE_RETRY_S = 30;
/** Largest daemon state file (`state.json`) read at start, in bytes. */
export const MAX_DAEMON_STATE_BYTES = 64 * 1024 * 1024;
/**
 * Most .torrent files of the watch folder followed at once while they settle (or after a
 * failure that waits for the file to change); more are picked up by later scans.
 */
export const MAX_WATCH_PENDING_FILES = 256;
