/**
 * Bounds of the WebTorrent side: WebRTC data channels, the web-page bundle and the WebSocket
 * tracker (client and server).
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

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
