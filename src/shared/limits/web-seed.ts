/**
 * Bounds of web seeds (BEP 17, 19).
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

// --- session: web seeds (BEP 17, 19) ---
/** Web seeds one torrent uses at once (url-list, httpseeds, ws= and added ones); more are ignored. */
export const MAX_WEB_SEEDS_PER_TORRENT = 32;
/** Longest web seed URL accepted, in characters. */
export const MAX_WEB_SEED_URL_LENGTH = 2048;
/** Range requests in flight to one web seed at once (its HTTP connections per host), by default. */
export const WEB_SEED_CONNECTIONS = 4;
/** Most range requests in flight to one web seed that the `connections` option may ask for. */
export const MAX_WEB_SEED_CONNECTIONS = 16;
/** Longest torrent byte range one web seed request job covers (it may span several files), in bytes. */
export const MAX_WEB_SEED_RANGE_BYTES = 16 * 1024 * 1024;
/** The BEP 10-like `reqq` given to a web seed's virtual peer: most blocks asked of it at once. */
export const WEB_SEED_REQQ = 500;
/** Most HTTP redirects followed for one web seed request; more is an error for that origin. */
export const MAX_WEB_SEED_REDIRECTS = 5;
/** Failures in a row (no range delivered in between) after which a web seed is dropped. */
export const MAX_WEB_SEED_FAILURES = 5;
/** First back-off after a web seed request failed, in ms (doubled after each failure in a row). */
export const WEB_SEED_RETRY_BASE_MS = 1_000;
/** Longest back-off of a web seed, in ms: a longer `Retry-After` is cut to it. */
export const MAX_WEB_SEED_RETRY_MS = 5 * 60_000;
/** A web seed request that receives nothing for this long fails, in ms. */
export const WEB_SEED_IDLE_TIMEOUT_MS = 30_000;
/** Most bytes read of a web seed's error body (a BEP 17 503 body holds the seconds to wait). */
export const MAX_WEB_SEED_ERROR_BODY_BYTES = 1024;
/** Longest HTTP response head (status line and headers) accepted from a web seed, in bytes. */
export const MAX_WEB_SEED_HEAD_BYTES = 16 * 1024;
/** Most header fields accepted in one HTTP response from a web seed. */
export const MAX_WEB_SEED_HEADERS = 100;
/** Longest chunk-size line (with extensions) or trailer line of a chunked web seed body, in bytes. */
export const MAX_WEB_SEED_CHUNK_LINE_BYTES = 1024;
/**
 * The buffer each plain-HTTP web seed connection reads into (`onread`; its bytes are consumed at
 * once, copied into piece buffers), in bytes.
 */
export const WEB_SEED_READ_BUFFER_BYTES = 256 * 1024;
