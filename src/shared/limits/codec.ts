/**
 * Bounds of the codec and metainfo layers: bencode, .torrent files and magnet URIs.
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
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
