/**
 * The public types of a torrent: its states, its events (STYLE §3: one event map per emitter)
 * and its options.
 */
import { type PeerStats, PiecePriority, type TorrentStats } from '../engine/index.js';
import type { Metainfo } from '../metainfo/index.js';
import type { PeerSource } from '../net/peer-pool.js';
import type { Preallocation } from './disk.js';
import type { PeerLogEntry } from './peers/peer-log.js';
import type { SeedLimitReason } from './seed-limits.js';
import type { BandwidthPriority } from './upload-gate.js';

/**
 * Where a torrent is: `checking` its data (at start or on `recheck()`), `downloading`,
 * `seeding`, `paused` by the user (no connections, no announces), `queued` behind the session's
 * active limits, `moving` its files to another folder, `stopped` (closed) or failed (`error`).
 */
export type TorrentState =
  | 'checking'
  | 'downloading'
  | 'seeding'
  | 'paused'
  | 'queued'
  | 'moving'
  | 'stopped'
  | 'error';

export interface TorrentEvents {
  /** A piece was verified and written. */
  piece: { readonly index: number };
  /** Every wanted piece is verified (data complete on disk). */
  done: { readonly infoHash: string };
  /** A peer connected, disconnected, was refused or banned, or a piece failed (the peer log). */
  peer: PeerLogEntry;
  /** Recoverable trouble: a peer banned, a disk read failed for one request, … */
  warning: { readonly message: string; readonly error?: Error };
  /** The torrent stopped working (e.g. its files cannot be written). */
  error: { readonly error: Error };
  /** A piece failed its hash check. */
  'hash-failed': { readonly index: number };
  /** The torrent's state changed (paused, resumed, checking, queued, …). */
  state: { readonly state: TorrentState };
  /** Seeding stopped at a seed limit (the torrent is paused now). */
  'seed-limit': { readonly reason: SeedLimitReason; readonly ratio: number };
}

export interface TorrentOptions {
  /** Folder the torrent's files go under. @default the session's downloadDir */
  readonly downloadDir?: string;
  /** Per-file priorities (0 skip, 1 normal, 2 high), by file index. */
  readonly filePriorities?: readonly number[];
  /** Hash every piece already on disk at start, ignoring any resume record. @default false */
  readonly recheck?: boolean;
  /**
   * BEP 16 super-seeding while this torrent is complete (an initial seeder reveals pieces a few
   * at a time, so it uploads about one copy). @default the session's `engine.superSeed`, false
   */
  readonly superSeed?: boolean;
  /** Add it paused: its data is checked (or its resume record read), nothing more. @default false */
  readonly paused?: boolean;
  /** This torrent's download limit, bytes/s (0: only the session's). @default 0 */
  readonly downloadRateLimit?: number;
  /** This torrent's upload limit, bytes/s (0: only the session's). @default 0 */
  readonly uploadRateLimit?: number;
  /** Its share of the session's limits: `high` goes first, `low` last. @default 'normal' */
  readonly bandwidthPriority?: BandwidthPriority;
  /**
   * Seeding stops (the torrent pauses) at this upload ratio; 0 = never, for this torrent.
   * @default the session's `seedRatioLimit`
   */
  readonly seedRatioLimit?: number;
  /** Seeding stops after this long without uploading, ms; 0 = never. @default the session's `seedIdleLimitMs` */
  readonly seedIdleLimitMs?: number;
  /**
   * Download into this folder, and move the files to `downloadDir` once every wanted piece is
   * verified (data already complete in `downloadDir` stays there). @default the session's `incompleteDir`
   */
  readonly incompleteDir?: string;
  /** `sparse` (space is used as data arrives) or `full` (files get their whole length at once). @default the session's */
  readonly preallocation?: Preallocation;
}

export interface TorrentPeerInfo extends PeerStats {
  readonly address: string;
  readonly client: string | undefined;
  readonly outgoing: boolean;
  /** What carries the connection (`tcp`, `utp`, …). */
  readonly transport: string;
  /** The connection is encrypted (MSE/PE RC4). */
  readonly encrypted: boolean;
}

/** A known peer address of a torrent (`Torrent.knownPeers()`). */
export interface KnownPeerInfo {
  readonly host: string;
  readonly port: number;
  /** Where it came from (the strongest source that named it). */
  readonly source: PeerSource;
  readonly state: 'idle' | 'dialing' | 'connected';
  /** Failed connection attempts in a row. */
  readonly failures: number;
}

/** File priorities as users give them (0 skip, 1 normal, 2 high, by metainfo file index) for the engine. */
export function piecePriorities(m: Metainfo, p: readonly number[]): PiecePriority[] {
  return m.files.map((_, i) => {
    const v = p[i] ?? PiecePriority.Normal;
    return (
      v <= 0 ? PiecePriority.Skip : v >= 2 ? PiecePriority.High : PiecePriority.Normal
    ) as PiecePriority;
  });
}

/** A torrent's figures: the engine's, plus the runtime's. */
export interface TorrentRunStats extends TorrentStats {
  /** Uploaded over every run (resume records carry the total). */
  readonly totalUploaded: number;
  readonly totalDownloaded: number;
  /**
   * Pieces (since this torrent started) whose blocks went to disk unverified because every
   * assembly buffer was busy, each then verified by reading it back: a sign that more peers
   * send partial pieces at once than the memory budget holds.
   */
  readonly spilledPieces: number;
  /**
   * Peers are not being read right now because writing or hash-checking received pieces is
   * behind (MAX_PENDING_WRITE_BYTES, VERIFY_BACKLOG_SHARE): the disk or the CPU is the limit.
   */
  readonly readingPaused: boolean;
}
