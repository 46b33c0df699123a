/**
 * Bounds of the engine (peers' behaviour) and of storage.
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

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
/**
 * Longest single write call to a file, in bytes: a longer write goes as several. On this
 * project's Linux 6.18 VM, writing 1 GiB to the page cache in 1 MiB calls cost 1.2–2.0 s of
 * kernel time, in 128 KiB calls 0.14–1.9 s, less in every alternated round (large calls get large
 * page-cache folios, probably made of memory that the VM had handed back to its host and must
 * fault in again; `writev` of small parts counts as one large call). 1 MiB calls cost Shoal's
 * web seed download about a second of CPU per GiB (docs/BENCHMARKS.md, "Memory on this VM").
 */
export const MAX_WRITE_CALL_BYTES = 128 * 1024;
/**
 * Longest single write call a hash thread makes when it writes a verified piece, in bytes. Its
 * calls go one after another (no turn of an event loop between them), so short calls cost only
 * system calls: 32 KiB calls beat 128 KiB ones in 11 of 11 alternated 1 GiB web seed downloads
 * on this project's VM (507 against 414 MB/s at the median, up to 0.9 s less kernel time when
 * its memory was slow), 16 KiB calls did too, 4 KiB calls were slower (docs/BENCHMARKS.md).
 */
export const HASH_THREAD_WRITE_CALL_BYTES = 32 * 1024;
/** Largest fast-resume record accepted when loading, in bytes. */
export const MAX_RESUME_BYTES = 16 * 1024 * 1024;
/**
 * Least time between the starts of two routine resume saves, in ms. Pieces verified meanwhile
 * wait for the next save, so a kill loses at most this much more of them; without it a 1 GiB
 * download from one fast source saved its record 178 times (four file operations each).
 */
export const RESUME_SAVE_INTERVAL_MS = 50;
