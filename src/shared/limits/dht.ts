/**
 * Bounds of the DHT (BEP 5, 32, 42, 43) and of its stored items (BEP 44, 46).
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

// --- dht (BEP 5, 32, 42, 43) ---
/** Largest KRPC datagram read, in bytes; a longer one is a `DhtBadMessage` and is dropped. */
export const MAX_KRPC_DATAGRAM_BYTES = 2048;
/**
 * Largest KRPC reply payload sent, in bytes (BEP 32: at most 1024 octets). `get_peers` replies
 * drop `values` until they fit, so a small query never draws a large answer (no amplification).
 */
export const MAX_KRPC_REPLY_BYTES = 1024;
/** Most contacts read from one `nodes` or `nodes6` string; the rest are ignored. */
export const MAX_KRPC_NODES_PER_REPLY = 16;
/** Most peers read from one `values` list, and most peers sent in one `get_peers` reply. */
export const MAX_KRPC_VALUES_PER_REPLY = 100;
/** Longest `token` accepted, in bytes; a longer one makes the message a `DhtBadMessage`. */
export const MAX_KRPC_TOKEN_BYTES = 32;
/** Longest transaction id `t` accepted, in bytes; a message with a longer one is dropped unanswered. */
export const MAX_KRPC_TRANSACTION_ID_BYTES = 16;
/** Longest client version `v` kept, in bytes; a longer one is ignored. */
export const MAX_KRPC_VERSION_BYTES = 16;
/** Most of our own queries awaiting an answer at once; further queries wait for a free slot. */
export const MAX_DHT_PENDING_QUERIES = 1024;
/** Most lookups (`find_node`, `get_peers`, announces) running at once on one node. */
export const MAX_DHT_LOOKUPS = 64;
/** Most candidate nodes one lookup keeps, closest first; farther ones are forgotten. */
export const MAX_DHT_LOOKUP_CANDIDATES = 64;
/** Most queries one lookup sends before it stops, whatever the replies say. */
export const MAX_DHT_LOOKUP_QUERIES = 200;
/** Most distinct peers one `get_peers` lookup collects. */
export const MAX_DHT_LOOKUP_PEERS = 1000;
/** Most bootstrap addresses a node remembers. */
export const MAX_DHT_BOOTSTRAP_NODES = 32;
/** Most source addresses the per-IP query rate limiter tracks; the least recently seen is evicted. */
export const MAX_DHT_RATE_LIMIT_IPS = 4096;
/** Most info-hashes the DHT peer store holds announces for; announces for more are ignored. */
export const MAX_DHT_INFOHASHES = 2000;
/** Most peers stored per info-hash; a new announce evicts the oldest. */
export const MAX_DHT_PEERS_PER_INFOHASH = 500;
/** Most peers stored over all info-hashes; announces beyond it are ignored. */
export const MAX_DHT_STORED_PEERS = 50_000;
/** Most nodes read back from a saved routing table. */
export const MAX_DHT_SAVED_NODES = 1280;
/** Largest saved routing table accepted, in bytes. */
export const MAX_DHT_STATE_BYTES = 64 * 1024;
/** Most events a DHT node queues for its driver; further events are counted as dropped. */
export const MAX_DHT_EVENT_QUEUE = 4096;
/** Most datagrams a DHT node queues for its driver; further sends are counted as dropped. */
export const MAX_DHT_SEND_QUEUE = 4096;
/** Most recent BEP 42 `ip` votes kept to decide our external address. */
export const MAX_DHT_IP_VOTES = 32;
/**
 * Largest DHT state file read back (both families' saved routing tables plus framing), in bytes;
 * a larger file is treated as corrupt and the node starts with an empty table.
 */
export const MAX_DHT_STATE_FILE_BYTES = 2 * MAX_DHT_STATE_BYTES + 1024;
/**
 * Largest local service discovery datagram accepted (BEP 14: a multi-hash announce "should not
 * exceed 1400 bytes"), in bytes; longer ones are dropped as `LsdBadMessage`.
 */
export const MAX_LSD_MESSAGE_BYTES = 1400;
/** Sustained LSD datagrams processed per second over all senders; the rest are dropped unread. */
export const LSD_RECEIVE_RATE_PER_SEC = 20;
/** Burst of LSD datagrams processed before {@link LSD_RECEIVE_RATE_PER_SEC} applies. */
export const LSD_RECEIVE_BURST = 40;
/**
 * Shortest time between two node-id changes (BEP 42: the id follows our external address), in
 * ms: an address that flaps moves the id at most this often, so the routing table is not rebuilt
 * again and again.
 */
export const DHT_ID_RENEW_MIN_MS = 10 * 60_000;
/**
 * Longest wait for the user's lookups to end before the node id changes anyway (they are then
 * failed with `SHOAL_ERR_DHT_ID_CHANGED`), in ms.
 */
export const DHT_ID_RENEW_MAX_WAIT_MS = 60_000;

// --- dht items (BEP 44, 46) ---
/**
 * Largest bencoded `v` of a DHT item, in bytes (BEP 44: "it's not safe to assume storing more
 * than 1000 bytes will succeed"). A larger `put` is refused with error 205.
 */
export const MAX_DHT_ITEM_VALUE_BYTES = 1000;
/** Longest `salt` of a mutable item, in bytes (BEP 44: MUST NOT be longer than 64); error 207 beyond. */
export const MAX_DHT_ITEM_SALT_BYTES = 64;
/**
 * Deepest nesting of lists and dictionaries inside an item's `v`; a KRPC message nested deeper is
 * a `DhtBadMessage`. A 1000-byte value could nest 500 deep; real items (BEP 46 `{ih}`) nest 1.
 */
export const MAX_DHT_ITEM_VALUE_DEPTH = 16;
/** Most items one node stores for others; a new item then displaces the one farthest from our id. */
export const MAX_DHT_ITEMS = 2000;
/**
 * Most bytes of stored items (value, key, salt and signature) one node holds for others; a new
 * item then displaces the ones farthest from our id, or is refused.
 */
export const MAX_DHT_ITEM_STORE_BYTES = 1024 * 1024;
/** A stored item not put again for this long is forgotten, in ms (BEP 44: items "MAY expire in 2 hours"). */
export const DHT_ITEM_TTL_MS = 2 * 60 * 60_000;
/** Sustained `put` queries accepted per source IP, per second (each may cost a signature check). */
export const DHT_PUT_RATE_PER_IP = 2;
/** Burst of `put` queries accepted per source IP; beyond it a `put` is refused with error 202. */
export const DHT_PUT_BURST_PER_IP = 20;
/** Sustained `put` queries accepted over all sources, per second. */
export const DHT_PUT_RATE_GLOBAL = 100;
/** Burst of `put` queries accepted over all sources. */
export const DHT_PUT_BURST_GLOBAL = 400;
/**
 * Largest reply to a `get` that carries an item, in bytes: a 1000-byte value, key, signature and
 * eight IPv6 contacts fit. `nodes` are trimmed from the end when a reply would be larger; replies
 * without an item stay within {@link MAX_KRPC_REPLY_BYTES}.
 */
export const MAX_KRPC_ITEM_REPLY_BYTES = 1600;
