/**
 * Protocol and resource bounds. Every bound Shoal enforces on untrusted input is a named
 * constant here, listed in docs/LIMITS.md, and crossed by at least one test.
 */

// --- codec and metainfo ---
/** Deepest nesting of bencoded lists/dictionaries accepted (libtorrent uses the same). */
export const MAX_BENCODE_DEPTH = 100;
/** Most values (integers, strings, lists, dicts) one bencode document may hold. */
export const MAX_BENCODE_ITEMS = 2_000_000;
/** Longest accepted .torrent file, in bytes. */
export const MAX_TORRENT_FILE_BYTES = 64 * 1024 * 1024;
/** Largest total payload a torrent may declare (1 PiB); beyond it the file is rejected. */
export const MAX_TORRENT_TOTAL_BYTES = 2 ** 50;
/** Most files one torrent may list. */
export const MAX_TORRENT_FILES = 1_000_000;
/** Deepest directory nesting in a torrent's file list. */
export const MAX_PATH_DEPTH = 64;
/** Longest single path component, in bytes (the usual file-system limit). */
export const MAX_PATH_COMPONENT_BYTES = 255;
/** Size of a block, the unit of transfer and of v2 merkle leaves (BEP 3, BEP 52). */
export const BLOCK_BYTES = 16 * 1024;
/** Smallest piece length accepted in a torrent (v2 requires at least one block). */
export const MIN_PIECE_BYTES = BLOCK_BYTES;
/** Largest piece length accepted in a torrent. */
export const MAX_PIECE_BYTES = 256 * 1024 * 1024;
/** Longest accepted magnet URI, in characters. */
export const MAX_MAGNET_LENGTH = 64 * 1024;

// --- wire: peer protocol (BEP 3, 6, 9, 10, 11, 52) ---
/**
 * Largest block accepted in a `piece` message, in bytes. Shoal only ever requests
 * {@link BLOCK_BYTES}-sized blocks, so a larger `piece` is a protocol violation (BEP 3 §peer messages:
 * "All current implementations use 2^14 (16 kiB)").
 */
export const MAX_BLOCK_BYTES = BLOCK_BYTES;
/**
 * Longest `bitfield` payload accepted before the piece count is known, in bytes: one bit for each of
 * {@link MAX_TORRENT_PIECES} (4,194,304) pieces. Once the piece count is known the payload must be
 * exactly ceil(pieces / 8) bytes.
 */
export const MAX_BITFIELD_BYTES = 512 * 1024;
/**
 * Longest BEP 10 `extended` payload accepted (after the extended message id), in bytes. The largest
 * legitimate one is a `ut_metadata` data message (a 16 KiB metadata piece plus a small dictionary)
 * or a first `ut_pex` message listing every connected peer (19 bytes per IPv4 peer): 128 KiB leaves
 * room for about 6,900 such peers while a peer cannot make us buffer more than this per connection.
 */
export const MAX_EXTENDED_PAYLOAD_BYTES = 128 * 1024;
/**
 * Most hashes one BEP 52 `hashes` message may carry: the 512 base-layer hashes a request "SHOULD NOT"
 * exceed, plus one uncle hash per proof layer (at most 64 layers).
 */
export const MAX_HASHES_PER_MESSAGE = 512 + 64;
/**
 * Default largest length prefix a peer-wire frame may carry, in bytes (the id byte and payload,
 * without the 4-byte prefix): the largest legal frame, a {@link MAX_BITFIELD_BYTES} bitfield. Frames
 * of unknown id up to this size are skipped without being buffered.
 */
export const MAX_WIRE_MESSAGE_BYTES = 1 + MAX_BITFIELD_BYTES;
/** Most entries read from the `m` dictionary of a BEP 10 extended handshake; more is a bad message. */
export const MAX_EXTENSION_NAMES = 128;
/** Longest extension name kept from an extended handshake's `m` dictionary, in bytes; longer names are ignored. */
export const MAX_EXTENSION_NAME_BYTES = 64;
/** Longest `v` (client name and version) kept from an extended handshake, in bytes; a longer one is ignored. */
export const MAX_CLIENT_VERSION_BYTES = 256;
/** Size of one BEP 9 metadata piece; every piece but the last is exactly this long. */
export const METADATA_PIECE_BYTES = 16 * 1024;
/**
 * Largest info dictionary fetched from peers with BEP 9 `ut_metadata`, in bytes (1,024 metadata
 * pieces). Holds a v1 info dict of about 800,000 piece hashes; larger `metadata_size` / `total_size`
 * values are rejected, because a peer could otherwise make us hold that much unverified data.
 */
export const MAX_METADATA_BYTES = 16 * 1024 * 1024;
/**
 * Most peers taken from each list (`added`, `added6`, `dropped`, `dropped6`) of one BEP 11 `ut_pex`
 * message; the rest are ignored. BEP 11 asks for at most 50 after the first message.
 */
export const MAX_PEX_PEERS_PER_MESSAGE = 200;
/**
 * BEP 55 `rendezvous` requests one peer may have us forward (each costs two `connect`
 * messages) per {@link HOLEPUNCH_WINDOW_MS}; the rest are dropped unanswered.
 */
export const HOLEPUNCH_RELAY_PER_PEER = 10;
/** BEP 55 `rendezvous` requests a torrent forwards per {@link HOLEPUNCH_WINDOW_MS}, all peers together. */
export const HOLEPUNCH_RELAY_TOTAL = 60;
/**
 * BEP 55 `connect` messages a torrent acts on (each starts a uTP dial to an address a relay
 * chose) per {@link HOLEPUNCH_WINDOW_MS}; the rest are ignored.
 */
export const HOLEPUNCH_CONNECTS = 20;
/** BEP 55 `rendezvous` requests a torrent sends per {@link HOLEPUNCH_WINDOW_MS}. */
export const HOLEPUNCH_RENDEZVOUS = 20;
/** Distinct peers whose BEP 10 `yourip` must agree before Shoal adopts that external address. */
export const YOURIP_VOTES_NEEDED = 4;
/** Peers whose latest BEP 10 `yourip` vote is remembered (per address family); the oldest go first. */
export const MAX_YOURIP_VOTES = 32;
/** The window of the BEP 55 rate limits, in ms. */
export const HOLEPUNCH_WINDOW_MS = 60_000;
/** Time before a torrent asks a relay again to introduce it to the same address, in ms. */
export const HOLEPUNCH_RETRY_MS = 60_000;
/** Addresses a torrent remembers asking a relay about (for {@link HOLEPUNCH_RETRY_MS}); the oldest go first. */
export const MAX_HOLEPUNCH_TARGETS = 256;
/**
 * Most pieces one torrent may have (2^22). A 1 PiB torrent fits with 256 MiB pieces, and a v1
 * torrent within MAX_TORRENT_FILE_BYTES can never reach it; it bounds v2 torrents whose piece
 * layers are not present (metadata fetched from peers) and every per-piece array built from them.
 */
export const MAX_TORRENT_PIECES = 4 * 1024 * 1024;
/** Most warnings kept for one parsed torrent; the rest are counted in a final warning. */
export const MAX_METAINFO_WARNINGS = 100;
/** Most file indices a magnet's `so` parameter (BEP 53) may expand to, ranges included. */
export const MAX_MAGNET_SELECT_INDICES = 100_000;

// --- wire: message stream encryption (MSE/PE) ---
/**
 * Longest padding accepted or sent in an MSE handshake, in bytes: the spec bounds PadA, PadB, PadC
 * and PadD to 0-512 bytes. A longer PadC/PadD (their length is on the wire) is refused; a longer
 * PadA/PadB shows as a missing synchronisation pattern (see the two sync bounds).
 */
export const MSE_MAX_PAD_BYTES = 512;
/**
 * The responder's synchronisation window, in bytes from the connection's first byte:
 * HASH('req1', S) must end within Ya (96) + PadA (at most {@link MSE_MAX_PAD_BYTES}) + the hash
 * (20) = 628 bytes, the spec's "within 628 bytes after the connection start".
 */
export const MSE_MAX_REQ1_SYNC_BYTES = 96 + MSE_MAX_PAD_BYTES + 20;
/**
 * The initiator's synchronisation window, in bytes from the connection's first byte: the
 * encrypted VC must end within Yb (96) + PadB (at most {@link MSE_MAX_PAD_BYTES}) + VC (8) = 616
 * bytes. (One copy of the spec reads 516 there, which would forbid a PadB over 412 bytes that the
 * same spec allows; 616 is what its padding bound implies.)
 */
export const MSE_MAX_VC_SYNC_BYTES = 96 + MSE_MAX_PAD_BYTES + 8;
/**
 * Longest initial payload (IA) accepted in an MSE handshake, in bytes; the wire allows 65,535.
 * IA carries the initiator's first protocol bytes: a 68-byte BitTorrent handshake, sometimes an
 * extension handshake or a bitfield after it (a bitfield of 130,000 pieces fits). The responder
 * holds IA until it is complete, so a bound below the wire's keeps a half-open connection to
 * about 17 KiB.
 */
export const MSE_MAX_IA_BYTES = 16 * 1024;

// --- engine: peers' behaviour (BEP 3, 6) ---
/**
 * Most unrequested blocks tolerated from a peer without the BEP 6 fast extension before it is
 * dropped (with BEP 6 the first one closes: "if a peer receives a piece that was never requested,
 * the peer MUST close the connection"). Blocks answering requests we cancelled are not counted.
 */
export const MAX_UNREQUESTED_BLOCKS = 8;
/**
 * Most requests a peer may send while we choke it (per choke period) before it is dropped; with
 * BEP 6 each one is rejected until then. BEP 6 allows closing on "an excessive number", and warns
 * that requests keep arriving for a few seconds after a choke.
 */
export const MAX_REQUESTS_WHILE_CHOKED = 1000;
/**
 * Most invalid requests (a piece outside the torrent or that we lack, bytes past the piece end,
 * or longer than {@link MAX_BLOCK_BYTES}) tolerated from a peer; BEP 6 peers get a reject for each.
 */
export const MAX_INVALID_REQUESTS = 32;
/**
 * Most requests from one peer queued for serving. Advertised as our BEP 10 `reqq`; a BEP 6 peer's
 * further requests are rejected, another peer is dropped.
 */
export const MAX_QUEUED_PEER_REQUESTS = 2000;
/** Most BEP 6 rejects of requests we never sent tolerated from a peer (BEP 6: SHOULD close). */
export const MAX_UNEXPECTED_REJECTS = 32;
/** Most BEP 6 allowed-fast pieces remembered per peer; further `allowed fast` messages are ignored. */
export const MAX_PEER_ALLOWED_FAST = 64;
/** Most BEP 6 suggested pieces remembered per peer; a newer suggestion evicts the oldest. */
export const MAX_PEER_SUGGESTED_PIECES = 16;
/** Most pieces remembered per peer as refused by it (not asked again for a while); the oldest go first. */
export const MAX_PEER_REFUSED_PIECES = 256;

// --- storage ---
/** Most file handles one storage pool keeps open at once. */
export const MAX_OPEN_FILES = 64;
/** Largest fast-resume record accepted when loading, in bytes. */
export const MAX_RESUME_BYTES = 16 * 1024 * 1024;

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
// --- utp (BEP 29) ---
/** Most extension headers read from one uTP packet; a longer chain is a `UtpTooManyExtensions` error. */
export const MAX_UTP_EXTENSIONS = 8;
/** Smallest uTP datagram we send, in bytes: the IPv4 minimum MTU (576) less the IP and UDP headers. */
export const UTP_MIN_DATAGRAM_BYTES = 576 - 20 - 8;
/** Largest uTP datagram we send or probe for, in bytes: the largest IPv4 UDP payload. */
export const UTP_MAX_DATAGRAM_BYTES = 65_507;
/** Default ceiling of path-MTU probing, in datagram bytes: an Ethernet MTU less the IP and UDP headers. */
export const UTP_DEFAULT_MAX_DATAGRAM_BYTES = 1500 - 20 - 8;
/**
 * Ceiling of path-MTU probing toward a loopback address whose peer declares it takes large
 * datagrams (the loopback MTU, 65536, less the IPv4 and UDP headers, capped at the largest UDP
 * payload), in bytes.
 */
export const UTP_LOOPBACK_DATAGRAM_BYTES = 65_507;
/** Bytes of free send buffers a uTP transport keeps for reuse, whatever the datagram size. */
export const UTP_SEND_POOL_BYTES = 1024 * 1024;
/** Default bytes one uTP connection accepts from its writer before `write` accepts no more. */
export const UTP_SEND_BUFFER_BYTES = 1024 * 1024;
/** Default receive buffer of one uTP connection, in bytes: the most we advertise and buffer for a reader. */
export const UTP_RECEIVE_BUFFER_BYTES = 1024 * 1024;
/** Most uTP packets one connection keeps in flight (sent, not acknowledged); a power of two. */
export const MAX_UTP_PACKETS_IN_FLIGHT = 2048;
/** Most received packets one connection buffers (out of order, or in order for a paused reader); a power of two. */
export const MAX_UTP_RECEIVE_PACKETS = 2048;
/** Smallest retransmission timeout, in ms (BEP 29: "the minimum timeout for a packet is 1/2 second"). */
export const UTP_MIN_RTO_MS = 500;
/** Largest retransmission timeout after back-off, in ms. */
export const UTP_MAX_RTO_MS = 60_000;
/** Retransmission timeout before any round-trip sample, in ms (BEP 29). */
export const UTP_INITIAL_RTO_MS = 1000;
/** Times a SYN is resent before the dial fails with `UtpTimeout`. */
export const MAX_UTP_SYN_RESENDS = 4;
/** Consecutive retransmission timeouts (no ack in between) after which a connection fails with `UtpTimeout`. */
export const MAX_UTP_TIMEOUTS = 8;
/** Idle time after which a connection sends an ST_STATE keep-alive, in ms (below common NAT UDP timeouts). */
export const UTP_KEEPALIVE_MS = 29_000;
/** Time without any packet from the peer after which a connection fails with `UtpTimeout`, in ms. */
export const UTP_IDLE_TIMEOUT_MS = 300_000;
/** Time an accepted connection waits for the dialler's first packet after the SYN, in ms (a half-open bound). */
export const UTP_SYN_RECV_TIMEOUT_MS = 30_000;
/** Time a connection whose FIN was acknowledged waits for the peer's FIN, counted from the peer's last packet, before it closes, in ms (above {@link UTP_MAX_RTO_MS}, so a peer in retransmission back-off is not cut off). */
export const UTP_FIN_LINGER_MS = 90_000;
/**
 * How long a connection that ended cleanly keeps answering the peer's resends with ACKs, counted
 * from the last one, in ms (TCP's TIME-WAIT; the peer may not have our last ACK, and its resends
 * come at most {@link UTP_MAX_RTO_MS} apart). Its buffers are freed meanwhile; a full table
 * evicts such connections first.
 */
export const UTP_TIME_WAIT_MS = 60_000;
/** LEDBAT target queuing delay, in ms (BEP 29 CCONTROL_TARGET). */
export const UTP_TARGET_DELAY_MS = 100;
/** LEDBAT gain: the most the window grows per round trip at zero queuing delay, in bytes. */
export const UTP_GAIN_BYTES_PER_RTT = 3000;
/** How long a base (minimum) one-way delay is remembered, in ms (BEP 29: "the last two minutes"). */
export const UTP_BASE_DELAY_WINDOW_MS = 120_000;
/** Most connections one uTP endpoint (UDP port) holds; further SYNs are refused with ST_RESET. */
export const MAX_UTP_CONNECTIONS = 1024;
/** Most accepted connections that have not yet heard from the dialler after the SYN (SYN_RECV). */
export const MAX_UTP_HALF_OPEN = 64;
/** Most SYNs accepted from one IP address per second; more are dropped. */
export const MAX_UTP_SYNS_PER_IP_PER_SECOND = 20;
/** Most IP addresses the per-IP SYN limiter tracks at once; beyond it, unknown addresses are refused. */
export const MAX_UTP_SYN_RATE_IPS = 4096;
/** Most ST_RESET answers to unknown connections an endpoint sends per second. */
export const MAX_UTP_RESETS_PER_SECOND = 100;

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

// --- net / session ---
/** Time a peer has to complete the handshake, in ms. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Time to establish an outgoing TCP connection, in ms. */
export const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Time a dial may take when another transport would be tried after it (uTP before TCP under
 * `utp-first`), in ms: a peer without uTP costs this once (its address then remembers TCP). Two
 * SYNs at the initial uTP timeout; libtorrent waits as long.
 */
export const UTP_FALLBACK_CONNECT_TIMEOUT_MS = 3_000;
/** A keep-alive is sent after this long without sending anything (BEP 3: two minutes). */
export const KEEP_ALIVE_INTERVAL_MS = 90_000;
/** A peer that sent nothing for this long is disconnected. */
export const PEER_IDLE_TIMEOUT_MS = 180_000;
/**
 * Connections per torrent, both directions. Every connection costs HAVE, PEX and choking work
 * for each piece; 40 neighbours are plenty for rarest first (Transmission and µTorrent default to
 * 50). In the swarm lab at N = 100 (all sessions in one process), 80 took 95 s and 40 took 45–49 s.
 */
export const MAX_CONNECTIONS_PER_TORRENT = 40;
/**
 * Incoming connections a torrent accepts beyond `maxConnectionsPerTorrent` (libtorrent has the
 * same, `connections_slack`); it never dials while at its limit. Without it, in a flash crowd the
 * first peers fill each other's places and a peer that starts a second later finds every door
 * closed: in the 50-peer lab, 9 late starters stayed at 9–12 neighbours (the others at 40) and
 * finished last by seconds.
 */
export const INCOMING_CONNECTION_SLACK = 10;
/**
 * Burst of a global rate limit (`downloadRateLimit`, `uploadRateLimit`), as ms of its rate (at
 * least one 16 KiB block): the tokens a limiter starts with and holds at most. With a whole
 * second of burst, a limited transfer moved up to twice (measured up to three times) the limit
 * in its first second; with 100 ms it moves at most the limit plus a tenth, plus one block.
 */
export const RATE_LIMIT_BURST_MS = 100;
/** Connections per session, both directions. */
export const MAX_CONNECTIONS_TOTAL = 400;
/** Outgoing connection attempts in progress per torrent. */
export const MAX_HALF_OPEN_PER_TORRENT = 16;
/** Known (not necessarily connected) peer addresses kept per torrent. */
export const MAX_KNOWN_PEERS_PER_TORRENT = 4000;
/**
 * Connections a torrent holds to one remote address (IP), whatever the ports and peer ids. A
 * host that opens many connections under different peer ids would otherwise take the places of
 * honest peers; several honest peers behind one NAT still fit. Tests that run many peers on one
 * loopback address raise it (`maxConnectionsPerAddress`).
 */
export const MAX_CONNECTIONS_PER_ADDRESS = 4;
/** Outgoing connection attempts in progress for the whole node. */
export const MAX_HALF_OPEN_TOTAL = 64;
/**
 * Share of a torrent's known addresses that may come from peer exchange (BEP 11), the weakest
 * source: a flood of made-up addresses fills at most this share and never pushes out an address
 * from a tracker, the DHT, LSD or the user.
 */
export const PEX_ADDRESS_SHARE = 0.5;
/** Banned addresses remembered by a node (the oldest ban is forgotten past it). */
export const MAX_BANNED_ADDRESSES = 10_000;
/**
 * Time a SOCKS5 proxy has to answer (TCP connect, greeting, authentication and the reply to
 * CONNECT or UDP ASSOCIATE) when tunnelling a tracker request, in ms. Peer dials use the dial's
 * own timeout (CONNECT_TIMEOUT_MS).
 */
export const SOCKS5_HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * Characters of blocklist text parsed (a PeerGuardian list of ~250 000 ranges is ~15 MB); a
 * longer list is refused with `SHOAL_ERR_NET_BLOCKLIST`.
 */
export const MAX_BLOCKLIST_BYTES = 64 * 1024 * 1024;
/** Address ranges in one blocklist (8 bytes each once merged); more is refused. */
export const MAX_BLOCKLIST_RANGES = 1_000_000;
/** Malformed blocklist lines quoted in the parse report (all are counted). */
export const MAX_BLOCKLIST_ERRORS_KEPT = 10;
/** Entries of a torrent's peer log (connects, disconnects, hash failures, bans) kept. */
export const MAX_PEER_LOG_ENTRIES = 500;
/**
 * Bytes read from an accepted connection before a protocol must have claimed it (the plaintext
 * BitTorrent handshake is known after 20, a Bitcoin magic after 4); past it the connection closes.
 */
export const MAX_INBOUND_SNIFF_BYTES = 68;
/** Unverified block bytes being written to disk per torrent before peers are paused. */
export const MAX_PENDING_WRITE_BYTES = 16 * 1024 * 1024;
/**
 * Share of a torrent's piece assembly buffers (MAX_PENDING_WRITE_BYTES of them) that complete
 * pieces waiting for their hash check and write may hold before peers are paused. The rest stay
 * free for pieces being assembled. Without the pause, a leecher whose hashing and writing fall
 * behind the network sent 60 % of a 1 GiB download to disk block by block (and read it back to
 * check it): 2 CPU-s more per GiB.
 */
export const VERIFY_BACKLOG_SHARE = 0.75;

// --- nat: port mapping (UPnP IGD, NAT-PMP, PCP) ---
/** Longest SSDP datagram (an M-SEARCH answer) read, in bytes; a longer one is refused. Real answers are under 1 KiB. */
export const MAX_SSDP_MESSAGE_BYTES = 4096;
/** Most SSDP answers read during one discovery; later ones are ignored, so a flood costs nothing more. */
export const MAX_SSDP_RESPONSES = 16;
/** Longest IGD device description fetched, in bytes; a router's is a few KiB. */
export const MAX_DEVICE_DESCRIPTION_BYTES = 64 * 1024;
/** Longest SOAP response read from an IGD control URL, in bytes; the real ones are under 1 KiB. */
export const MAX_SOAP_RESPONSE_BYTES = 16 * 1024;
/** Deepest element nesting the bounded XML reader accepts (device descriptions nest about 8 deep). */
export const MAX_XML_DEPTH = 32;
/** Most elements the bounded XML reader builds from one document. */
export const MAX_XML_ELEMENTS = 4096;
/** Longest NAT-PMP / PCP datagram read, in bytes (RFC 6887 caps PCP messages at 1100 bytes). */
export const MAX_PCP_MESSAGE_BYTES = 1100;
// --- net: WebRTC data channels ---
/**
 * Data-channel buffered bytes above which writes report back-pressure; `drain` follows when the
 * buffer falls to half of it. The same as TCP's (the wire checks `writableLength` against
 * that): a larger one would let the wire wait for a drain that never comes.
 */
export const WEBRTC_WRITE_HIGH_WATER_BYTES = 256 * 1024;
/** Largest binary message we send, in bytes (also capped by the channel's negotiated maximum). */
export const WEBRTC_MESSAGE_BYTES = 64 * 1024;
/** Bytes a paused stream keeps before it fails (reads cannot be paused on a data channel). */
export const MAX_WEBRTC_PAUSED_BYTES = 16 * 1024 * 1024;
/** Longest SDP description accepted from a peer, in bytes. */
export const MAX_SDP_BYTES = 16 * 1024;
/** Time to gather our ICE candidates for a description, ms. */
export const WEBRTC_GATHER_TIMEOUT_MS = 10_000;
/** Time from a description exchange to an open data channel, ms. */
export const WEBRTC_CONNECT_TIMEOUT_MS = 20_000;
/** Live peer connections (offers waiting, handshakes and open streams) one node keeps. */
export const MAX_WEBRTC_PEER_CONNECTIONS = 256;

// --- browser: the web-page bundle (src/browser) ---
/** Largest torrent a page holds (its whole piece space is one in-memory buffer), in bytes. */
export const MAX_BROWSER_TORRENT_BYTES = 512 * 1024 * 1024;
/** Peers one browser torrent keeps connected (data channels are costly in a page). */
export const MAX_BROWSER_PEERS = 30;

// --- discovery: WebSocket tracker client (WebTorrent protocol) ---
/** Longest WebSocket tracker message read (either side), in bytes. */
export const MAX_WS_TRACKER_MESSAGE_BYTES = 64 * 1024;
/** Most offers taken from one announce; more are ignored. WebTorrent sends at most 10. */
export const MAX_WS_OFFERS_PER_ANNOUNCE = 10;
/** Most info-hashes in one scrape request. */
export const MAX_WS_SCRAPE_HASHES = 64;
/** An offer not answered in this time is dropped, ms (WebTorrent waits 50 s). */
export const WS_OFFER_TIMEOUT_MS = 50_000;
/** Shortest re-announce interval honoured, s. */
export const WS_MIN_ANNOUNCE_INTERVAL_S = 30;
/** Delay before a closed tracker socket is reopened, ms. */
export const WS_RECONNECT_MS = 15_000;
/** Offers made per announce (WebTorrent makes up to 10; each costs a peer connection). */
export const WS_OFFERS_PER_ANNOUNCE = 5;

// --- tracker server: WebSocket (WebTorrent protocol) ---
/** Most WebRTC peers in one swarm; a new one beyond is refused. */
export const WS_TRACKER_MAX_PEERS_PER_SWARM = 1000;
/** Most WebRTC swarms (info-hashes) tracked. */
export const WS_TRACKER_MAX_SWARMS = 10_000;
/** Most swarms one WebSocket may join. */
export const WS_TRACKER_MAX_SWARMS_PER_SOCKET = 64;
/** Messages one WebSocket may send per {@link WS_TRACKER_WINDOW_MS}; beyond, it is closed. */
export const WS_TRACKER_MESSAGES_PER_WINDOW = 200;
/** The rate window of {@link WS_TRACKER_MESSAGES_PER_WINDOW}, ms. */
export const WS_TRACKER_WINDOW_MS = 10_000;
/** Re-announce interval told to WebSocket clients, s. */
export const WS_TRACKER_INTERVAL_S = 120;

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
