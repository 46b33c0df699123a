/**
 * Bounds of the net and session layers, and of NAT port mapping (UPnP IGD, NAT-PMP, PCP).
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

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
/**
 * Piece assembly buffers kept free for pieces that start (at most all but one). With fewer
 * free while complete pieces are being checked, peers stop being read until a check frees one:
 * otherwise the next piece to start would find no buffer and go to disk block by block. A web
 * seed's 4 ranges in flight hold up to 8 partial pieces; with the backlog share alone, 60–85
 * pieces of a 1 GiB download from nginx went to disk that way.
 */
export const MIN_FREE_ASSEMBLY_BUFFERS = 2;

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
