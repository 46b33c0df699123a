/**
 * Protocol and resource bounds. Every bound Shoal enforces on untrusted input is a named
 * constant in src/shared/limits/, re-exported here, listed in docs/LIMITS.md, and crossed by at
 * least one test. scripts/gen-docs.mjs reads the files in the order of the exports below.
 */

// biome-ignore-all assist/source/organizeImports: scripts/gen-docs.mjs writes docs/LIMITS.md in this order
export * from './limits/codec.js';
export * from './limits/wire.js';
export * from './limits/engine.js';
export * from './limits/tracker-client.js';
export * from './limits/web-seed.js';
export * from './limits/tracker-server.js';
export * from './limits/dht.js';
export * from './limits/utp.js';
export * from './limits/feeds.js';
export * from './limits/net.js';
export * from './limits/webrtc.js';
export * from './limits/daemon.js';
export * from './limits/btc.js';
