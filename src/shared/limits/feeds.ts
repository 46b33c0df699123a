/**
 * Bounds of feeds: publish and follow (BEP 46).
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

// --- feeds: publish and follow (BEP 46) ---
/** Largest feed key file read (`shoal key generate` writes about 200 bytes), in bytes. */
export const MAX_FEED_KEY_FILE_BYTES = 4096;
/**
 * Largest feed state file read (a follower's `.shoal/feed.json`, a publisher's
 * `<key>.state.json`), in bytes; a larger one is refused as corrupt.
 */
export const MAX_FEED_STATE_BYTES = 1024 * 1024;
/** Versions a follower remembers (seq, info-hash, when seen and when switched to); older entries are dropped. */
export const MAX_FEED_VERSIONS_KEPT = 1000;
/** Feeds one daemon follows at most; a further follow request is refused with 409. */
export const MAX_FOLLOWED_FEEDS = 256;
/** Gateway (`/site/…`) responses served at once over all feeds; more get 503. */
export const MAX_CONCURRENT_SITE_RESPONSES = 64;
