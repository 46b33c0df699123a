/**
 * Bounds of the peer wire protocol and its message stream encryption (MSE/PE).
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

import { BLOCK_BYTES } from './codec.js';

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
