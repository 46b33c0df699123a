/**
 * Protocol parameters of the Mainline DHT (BEP 5) and the defaults of a node's tunables.
 * Bounds on untrusted input live in src/shared/limits.ts; these are timings and sizes the
 * protocol defines or that a node may tune (each default is overridable in `DhtNodeInit`).
 */

/** Bytes in a node id or an info-hash (160 bits, BEP 5). */
export const NODE_ID_BYTES = 20;
/** Bits in a node id: the routing table has at most this many buckets. */
export const NODE_ID_BITS = 160;
/** Bucket size `k` (BEP 5: "currently eight"), also the nodes returned per reply. */
export const DHT_K = 8;
/** Parallel queries per lookup, Kademlia's α. */
export const DHT_ALPHA = 3;
/** Nodes waiting in a full bucket's replacement cache. */
export const DHT_REPLACEMENT_CACHE_SIZE = 4;
/** A node without activity for this long becomes questionable (BEP 5: 15 minutes), in ms. */
export const DHT_NODE_QUESTIONABLE_MS = 15 * 60_000;
/** A node that failed this many queries in a row is bad (BEP 5: "multiple queries in a row"). */
export const DHT_NODE_MAX_FAILURES = 2;
/** A bucket unchanged for this long is refreshed with a `find_node` (BEP 5: 15 minutes), in ms. */
export const DHT_BUCKET_REFRESH_MS = 15 * 60_000;
/** A questionable node is pinged again at most this often, in ms. */
export const DHT_PING_INTERVAL_MS = 60_000;
/** Token secret rotation (BEP 5: "a secret that changes every five minutes"), in ms. */
export const DHT_TOKEN_ROTATE_MS = 5 * 60_000;
/** Bytes of each write token we hand out (a truncated SHA-1; tokens are opaque, BEP 5). */
export const DHT_TOKEN_BYTES = 8;
/** Announced peers are forgotten after this long without a re-announce, in ms. */
export const DHT_PEER_TTL_MS = 30 * 60_000;
/** A query unanswered for this long has failed, in ms. */
export const DHT_QUERY_TIMEOUT_MS = 5_000;
/**
 * A lookup query unanswered for this long is "stalled": it stays outstanding but no longer counts
 * against α, so the lookup opens another query instead of waiting for a dead node, in ms.
 */
export const DHT_QUERY_STALL_MS = 1_000;
/** How often `tick` runs table maintenance (pings, refresh, purges), in ms. */
export const DHT_MAINTENANCE_INTERVAL_MS = 5_000;
/** Most maintenance pings sent by one maintenance round. */
export const DHT_MAINTENANCE_PINGS = 8;
/** Sustained incoming queries answered per source IP, per second. */
export const DHT_RATE_PER_IP = 10;
/** Burst of incoming queries answered per source IP. */
export const DHT_BURST_PER_IP = 20;
/** Sustained incoming queries answered over all sources, per second. */
export const DHT_RATE_GLOBAL = 500;
/** Burst of incoming queries answered over all sources. */
export const DHT_BURST_GLOBAL = 1000;
/** Agreeing BEP 42 `ip` votes (from distinct nodes) needed before we trust an external address. */
export const DHT_IP_VOTES_NEEDED = 5;
/** Our `v` (client version, BEP 5 / BEP 20 style): "SH" and a two-byte version. */
export const DHT_CLIENT_VERSION: Uint8Array = Uint8Array.of(0x53, 0x48, 0x00, 0x01);
