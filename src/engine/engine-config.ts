/**
 * Configuration and figures of a {@link TorrentEngine}: what it is built from
 * ({@link TorrentEngineInit}), its tunables ({@link TorrentEngineOptions}, each with a default
 * constant) and the torrent-wide {@link TorrentStats} it reports.
 */
import type { Hasher } from '../shared/hash.js';
import { MAX_QUEUED_PEER_REQUESTS } from '../shared/limits.js';
import type { ChokerOptions } from './choker.js';
import type { FileSpan, PieceLayout } from './piece-layout.js';
import type { PiecePickerOptions } from './piece-picker.js';
import type { Random } from './random.js';
import type { RequestSchedulerOptions } from './request-scheduler.js';
import type { TorrentEngine } from './torrent-engine.js';

/** Storage reads in flight per peer (`read-block` actions not yet acknowledged). @default 4 */
export const UPLOAD_READS_IN_FLIGHT = 4;
/** Window of the torrent-wide rates, in ms. @default 5000 */
export const TORRENT_RATE_WINDOW_MS = 5_000;
/** Our BEP 10 `reqq`: the runtime advertises it in the extended handshake. */
export const ADVERTISED_REQQ = MAX_QUEUED_PEER_REQUESTS;

/** Tunables of one torrent's engine; every field is optional. */
export interface TorrentEngineOptions extends ChokerOptions, RequestSchedulerOptions, PiecePickerOptions {
  /** @default RECHOKE_INTERVAL_MS */
  readonly rechokeIntervalMs?: number;
  /** BEP 6 allowed-fast set size offered to each fast peer (0 = none). @default ALLOWED_FAST_SET_SIZE */
  readonly allowedFastSetSize?: number;
  /** @default UPLOAD_READS_IN_FLIGHT */
  readonly uploadReadsInFlight?: number;
  /**
   * BEP 16 super-seeding while we have every piece: new peers are told about a few pieces at a
   * time (`SUPER_SEED_OFFERS_PER_PEER`) instead of all, so an initial seeder uploads little
   * more than one copy. @default false
   */
  readonly superSeed?: boolean;
  /**
   * Fresh-first seeding (fresh-first.ts) while we have every piece and do not super-seed: a
   * request for a piece the swarm already has or is getting from us is refused, with a BEP 6
   * suggestion of a piece nobody has, as long as such a piece exists. @default true
   */
  readonly freshFirst?: boolean;
}

/** Everything a {@link TorrentEngine} is built from. */
export interface TorrentEngineInit {
  /** The 20-byte info-hash peers know the torrent by (for BEP 6 allowed-fast sets). */
  readonly infoHash: Uint8Array;
  /** Piece geometry (a storage `PieceMap` fits). */
  readonly layout: PieceLayout & { readonly pieceLength: number };
  /** Files in the piece space, for file priorities (a metainfo's `files` fit). */
  readonly files?: readonly FileSpan[];
  readonly random: Random;
  /** The clock value at creation, ms. */
  readonly now: number;
  /** @default nodeHasher */
  readonly hasher?: Hasher;
  readonly options?: TorrentEngineOptions;
}

/** Torrent-wide figures for the session, the UI and tracker announces. */
export interface TorrentStats {
  /** Useful payload bytes received. */
  readonly downloadedBytes: number;
  /** Payload bytes sent. */
  readonly uploadedBytes: number;
  /** Payload bytes received but not used: duplicates, unrequested, failed pieces. */
  readonly wastedBytes: number;
  /** Bytes/s over TORRENT_RATE_WINDOW_MS. */
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly pieceCount: number;
  readonly haveCount: number;
  /** Bytes of wanted pieces not verified yet (the tracker's `left`). */
  readonly leftBytes: number;
  readonly isFinished: boolean;
  readonly isComplete: boolean;
  readonly isEndgame: boolean;
  readonly peerCount: number;
  readonly seedCount: number;
  /** Peers we unchoke. */
  readonly uploadSlotsInUse: number;
  readonly hashFailures: number;
}
