/**
 * Bounds of the Bitcoin side: P2P messages, the header chain and the light node runtime.
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

// --- bitcoin: P2P messages (BIP 14, 130, 152, 155, 157) ---
/**
 * Largest payload of one Bitcoin P2P message, in bytes: Bitcoin Core's MAX_PROTOCOL_MESSAGE_LENGTH,
 * which also holds the largest block (4,000,000 bytes serialized). The frame decoder refuses a
 * longer declared length before buffering anything.
 */
export const BTC_MAX_MESSAGE_BYTES = 4_000_000;
/** Most addresses in one `addr` or `addrv2` message (BIP 155: "up to 1,000 addresses"). */
export const BTC_MAX_ADDR_PER_MESSAGE = 1000;
/** Longest address in an `addrv2` entry, in bytes (BIP 155: "a maximum of 512 bytes"). */
export const BTC_MAX_ADDRV2_ADDRESS_BYTES = 512;
/** Most entries in one `inv`, `getdata` or `notfound` message (Bitcoin Core's MAX_INV_SZ). */
export const BTC_MAX_INV_ITEMS = 50_000;
/** Most headers in one `headers` message (Bitcoin Core's MAX_HEADERS_RESULTS). */
export const BTC_MAX_HEADERS_PER_MESSAGE = 2000;
/** Most block locator hashes in one `getheaders` message (Bitcoin Core's MAX_LOCATOR_SZ). */
export const BTC_MAX_LOCATOR_HASHES = 101;
/** Longest `user_agent` in a `version` message, in bytes (Bitcoin Core's MAX_SUBVERSION_LENGTH). */
export const BTC_MAX_USER_AGENT_BYTES = 256;
/** Most filter hashes in one `cfheaders` message (BIP 157: "MUST NOT be greater than 2,000"). */
export const BTC_MAX_CFHEADERS_PER_MESSAGE = 2000;
/** Blocks one `getcfilters` may span (BIP 157: the difference "MUST be strictly less than 1000"). */
export const BTC_MAX_CFILTERS_RANGE = 1000;
/**
 * Most filter headers in one `cfcheckpt` message: one per 1,000 blocks, so a chain of 50 million
 * blocks. BIP 157 sets no bound; without one a peer could declare a count the payload cannot hold.
 */
export const BTC_MAX_CFCHECKPT_HEADERS = 50_000;
/**
 * Most transactions in one block, compact block, `getblocktxn` or `blocktxn`: the block weight
 * limit over the smallest serializable transaction's weight (4,000,000 / 40), as Bitcoin Core bounds
 * a `cmpctblock`.
 */
export const BTC_MAX_BLOCK_TXS = 100_000;

// --- bitcoin: header chain ---
/**
 * Headers whose full data (and side branches) a HeaderChain keeps in memory, counted back from the
 * tip; older best-chain headers keep only their hash in a compact height index. A reorganisation
 * whose fork point is older than this is refused. Must exceed a retarget interval plus 11.
 */
export const BTC_HEADER_WINDOW = 3 * 2016;
/**
 * Most headers kept on side branches (not on the best chain) at once; further side headers are
 * refused until the window moves past the old ones. Regtest proof of work is nearly free, so this
 * bounds what a peer can make us store.
 */
export const BTC_MAX_SIDE_HEADERS = 10_000;

// --- bitcoin: light node runtime (src/btc-node) ---
/** Time a peer has to complete the version handshake (version and verack both ways), in ms. */
export const BTC_HANDSHAKE_TIMEOUT_MS = 15_000;
/** Interval between our pings to a peer, in ms (Bitcoin Core pings every 2 minutes). */
export const BTC_PING_INTERVAL_MS = 60_000;
/** Time a peer has to answer a ping, in ms; past it the connection is closed (not banned). */
export const BTC_PING_TIMEOUT_MS = 60_000;
/**
 * Time a peer has to answer a request we depend on (`getheaders`, `getcfcheckpt`, `getcfheaders`,
 * `getcfilters`, a block), in ms; past it the peer is disconnected as stalling (not banned) and
 * the request goes to another peer.
 */
export const BTC_REQUEST_TIMEOUT_MS = 30_000;
/**
 * Bytes queued for one peer that the socket has not taken yet; past it the peer, which does not
 * read what we send, is disconnected.
 */
export const BTC_MAX_PEER_SEND_QUEUE_BYTES = 8 * 1024 * 1024;
/** Inventory hashes remembered per peer (what it announced or we announced to it); the oldest go first. */
export const BTC_MAX_KNOWN_INV_PER_PEER = 10_000;
/**
 * Addresses a peer may send in a burst before the rate applies (Bitcoin Core's bucket starts at 1
 * and admits a full `addr` answer to our `getaddr`); it refills at {@link BTC_ADDR_RATE_PER_S}.
 */
export const BTC_ADDR_BURST = 1000;
/** Addresses per second a peer may relay once its burst is spent (Bitcoin Core's MAX_ADDR_RATE_PER_SECOND). */
export const BTC_ADDR_RATE_PER_S = 0.1;
/** Addresses beyond the rate a peer may send (they are dropped) before it is banned for flooding. */
export const BTC_ADDR_FLOOD_BAN = 5000;
/** `headers` messages that do not connect to our chain a peer may send before it is banned (Bitcoin Core's MAX_UNCONNECTING_HEADERS). */
export const BTC_MAX_UNCONNECTING_HEADERS = 10;
/** Buckets of the address manager's table of addresses never connected to. */
export const BTC_ADDRMAN_NEW_BUCKETS = 256;
/** Buckets of the address manager's table of addresses that worked. */
export const BTC_ADDRMAN_TRIED_BUCKETS = 64;
/** Addresses per address-manager bucket; the manager holds at most (new + tried buckets) × this many. */
export const BTC_ADDRMAN_BUCKET_SIZE = 64;
/** Blocks requested from one peer and not yet received. */
export const BTC_MAX_BLOCKS_IN_FLIGHT = 16;
/** Transactions requested from one peer (after its `inv`) and not yet received; further announcements are ignored. */
export const BTC_MAX_TX_REQUESTS_PER_PEER = 100;
/** Transactions kept in the light node's mempool (relayed ones, for compact blocks and the wallet); the oldest go first. */
export const BTC_MAX_MEMPOOL_TXS = 5000;
/** Bytes of transactions kept in the light node's mempool. */
export const BTC_MAX_MEMPOOL_BYTES = 32 * 1024 * 1024;
/** Our own transactions being announced until a block confirms them. */
export const BTC_MAX_PENDING_BROADCASTS = 100;
/** Scripts (addresses, descriptor outputs) one wallet watches. */
export const BTC_MAX_WATCHED_SCRIPTS = 10_000;
/** Transactions one watch-only wallet keeps in its history. */
export const BTC_MAX_WALLET_TXS = 100_000;
/** Largest wallet state file read at start, in bytes. */
export const BTC_MAX_WALLET_FILE_BYTES = 256 * 1024 * 1024;
/** Peers asked for filter headers and checkpoints, whose answers are compared. */
export const BTC_MAX_FILTER_PEERS = 4;
/**
 * Most peer addresses the daemon keeps per torrent from `shoal add --peer` and
 * `shoal peer add` (tried again after every restart); adding more forgets the oldest.
 */
export const MAX_SAVED_PEERS_PER_TORRENT = 64;
