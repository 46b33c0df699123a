/**
 * The public types of feeds (publish and follow, BEP 46): what a publisher and a follower need
 * from their session, their options, their events and what they report.
 */
import type {
  DhtGetResult,
  DhtGetTarget,
  DhtPutRequest,
  DhtPutResult,
  Ed25519KeyPair,
} from '../../discovery/index.js';
import type { MagnetLink, Metainfo, TorrentVersion } from '../../metainfo/index.js';
import type { HashPool } from '../../storage/index.js';
import type { Torrent } from '../torrent.js';
import type { TorrentOptions } from '../torrent-types.js';

/** How often a follower looks the feed up in the DHT (BEP 46: consumers poll), in ms. */
export const FEED_POLL_INTERVAL_MS = 60_000;
/**
 * How often publishers and followers put the newest item again, in ms: DHT nodes may forget an
 * item 2 hours after its last put (BEP 44), and nodes come and go, so twice within that.
 */
export const FEED_REPUT_INTERVAL_MS = 30 * 60_000;
/** First delay before retrying a failed metadata fetch or a failed start of a version, in ms (doubles, up to the poll interval). */
export const FEED_RETRY_MS = 2_000;

/** What feeds need from a session (a `Session` is one). */
export interface FeedHost {
  readonly options: { readonly resumeDir: string | undefined };
  /** Hash threads to create torrents on (a new pool per publication otherwise). */
  readonly hashPool?: HashPool;
  dhtGet(
    target: DhtGetTarget,
    options?: { readonly signal?: AbortSignal },
  ): Promise<DhtGetResult | undefined>;
  dhtPut(request: DhtPutRequest, options?: { readonly signal?: AbortSignal }): Promise<DhtPutResult>;
  fetchMetadata(
    link: MagnetLink,
    options?: { readonly signal?: AbortSignal },
  ): Promise<{ metainfo: Metainfo; peers: { host: string; port: number }[] }>;
  addTorrent(source: Uint8Array | Metainfo, options?: TorrentOptions): Promise<Torrent>;
  removeTorrent(id: string): Promise<void>;
}

/** Options of `session.publish` / {@link publishFeed}. */
export interface PublishOptions {
  /** The folder to publish (its last component is the torrent's name). */
  readonly dir: string;
  readonly keyPair: Ed25519KeyPair;
  /** BEP 44 salt, so one key can publish several feeds (at most 64 bytes). @default none */
  readonly salt?: Uint8Array;
  /**
   * `hybrid` (the `ih` is the 20-byte v1 info-hash, as BEP 46 specifies: any BEP 46 client can
   * follow) or `v2` (the `ih` is the 32-byte v2 info-hash, which Shoal followers accept).
   * Both carry v2 `pieces root`s, which is what lets followers fetch only changed files.
   * @default 'hybrid'
   */
  readonly version?: Extract<TorrentVersion, 'hybrid' | 'v2'>;
  /** Piece length; keep it across versions (followers reuse piece layers). @default automatic */
  readonly pieceLength?: number;
  /** The new seq is at least this (a publisher's own record of what it published). @default 1 */
  readonly minSeq?: bigint;
  /** How often the item is put again while the publication runs, in ms. @default FEED_REPUT_INTERVAL_MS */
  readonly reputIntervalMs?: number;
  /** Hashing progress while the torrent is created. */
  readonly onProgress?: (hashedBytes: number, totalBytes: number) => void;
  readonly signal?: AbortSignal;
}

/** Events of a {@link FeedPublication} (STYLE §3). */
export interface FeedPublicationEvents {
  /** The item was put again (keep-alive). */
  'item:reput': { readonly seq: bigint; readonly storedTo: number };
  /** Something went wrong that does not stop the publication (a failed re-put). */
  warning: { readonly message: string; readonly error?: Error };
}

/** Options of `session.follow` / {@link FeedFollower.open}. */
export interface FollowOptions {
  /** The publisher's ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** The feed's salt. @default none */
  readonly salt?: Uint8Array;
  /** The follower's folder (see version-dir.ts for what goes in it). */
  readonly dir: string;
  /** How often the DHT is asked for a newer version, in ms. @default FEED_POLL_INTERVAL_MS */
  readonly pollIntervalMs?: number;
  /** How often the newest item is put again, in ms; 0 never. @default FEED_REPUT_INTERVAL_MS */
  readonly reputIntervalMs?: number;
}

/** One version of a feed, as a follower reports it. */
export interface FeedVersionInfo {
  readonly seq: bigint;
  /** The BEP 46 `ih`, hex (40 digits: v1 or hybrid; 64: v2). */
  readonly infoHash: string;
  readonly name: string | undefined;
  /** When the follower first saw it, ms since the epoch. */
  readonly seenAt: number;
  /** When all of it was verified on disk. */
  readonly completedAt: number | undefined;
  /** When `DIR/current` was switched to it. */
  readonly switchedAt: number | undefined;
  /** Payload bytes downloaded for it. */
  readonly downloadedBytes: number | undefined;
  readonly reusedFiles: number | undefined;
  readonly fetchedFiles: number | undefined;
  readonly removedFiles: number | undefined;
}

/** Why a follower left an item aside. */
export type FeedIgnoredReason =
  /** Its seq is not above the highest one already seen (a replayed or stale item). */
  | 'old-seq'
  /** Its value is not a BEP 46 `{ih}` dictionary. */
  | 'bad-value';

/** Events of a {@link FeedFollower} (STYLE §3). */
export interface FeedFollowerEvents {
  /** A newer version was found in the DHT (its download starts). */
  'version:found': { readonly seq: bigint; readonly infoHash: string };
  /**
   * The new version's torrent runs (`pendingTorrent()`): its metadata arrived and the files it
   * shares with the current version are in place.
   */
  'version:started': { readonly seq: bigint; readonly infoHash: string; readonly reusedFiles: number };
  /** `DIR/current` now points at this version. */
  'version:switched': FeedVersionInfo & { readonly path: string };
  /** The newest item was put again (keep-alive; BEP 46: followers keep the items they follow alive too). */
  'item:reput': { readonly seq: bigint; readonly storedTo: number };
  /** A verified item was left aside (see {@link FeedIgnoredReason}). */
  'item:ignored': { readonly seq: bigint; readonly reason: FeedIgnoredReason };
  /** Recoverable trouble: the feed not found yet, a fetch that failed and will be retried, … */
  warning: { readonly message: string; readonly error?: Error };
}
