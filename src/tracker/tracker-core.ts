/**
 * The protocol-independent heart of the built-in tracker: configuration, swarm state, UDP
 * connection ids and counters, shared by the HTTP and UDP front ends. No sockets here, so the
 * front ends' handlers can be tested with a fake clock and crafted requests.
 */
import { TRACKER_DEFAULT_NUMWANT, TRACKER_MAX_NUMWANT } from '../shared/limits.js';
import { ConnectionIds } from './connection-ids.js';
import { SwarmState, type TrackerClock } from './swarm-state.js';

/** Tracker behaviour options (shared by {@link TrackerCore} and `startTracker`). */
export interface TrackerCoreOptions {
  /** `interval` sent to clients, in seconds. @default 1800 */
  readonly intervalS?: number;
  /** `min interval` sent to HTTP clients, in seconds. @default intervalS / 2 */
  readonly minIntervalS?: number;
  /** A peer silent for this long is dropped, in ms. @default intervalS × 1.5 s */
  readonly peerTimeoutMs?: number;
  /** Peers returned when the client does not say. @default TRACKER_DEFAULT_NUMWANT */
  readonly defaultNumwant?: number;
  /** Most peers returned. @default TRACKER_MAX_NUMWANT */
  readonly maxNumwant?: number;
  /** @default TRACKER_MAX_TORRENTS */
  readonly maxTorrents?: number;
  /** @default TRACKER_MAX_PEERS */
  readonly maxPeers?: number;
  /** Info-hashes (20 bytes) allowed; every torrent when absent (an open tracker). */
  readonly whitelist?: Iterable<Uint8Array>;
  /** Rotation period of the UDP connection-id secret, in ms. @default TRACKER_SECRET_ROTATE_MS */
  readonly secretRotateMs?: number;
  /** Monotonic ms. @default performance.now */
  readonly clock?: TrackerClock;
  /** Uniform in [0, 1), for peer sampling. @default Math.random */
  readonly random?: () => number;
}

/** Request counters, for `/stats`. */
export interface TrackerCounters {
  httpAnnounces: number;
  httpScrapes: number;
  httpFailures: number;
  udpConnects: number;
  udpAnnounces: number;
  udpScrapes: number;
  udpFailures: number;
  /** Datagrams dropped unanswered (malformed, oversized, bad connection id). */
  udpDropped: number;
}

function whitelistKeys(hashes: Iterable<Uint8Array>): Set<string> {
  const keys = new Set<string>();
  for (const h of hashes) keys.add(Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('latin1'));
  return keys;
}

/** Shared state and settings of one tracker. */
export class TrackerCore {
  readonly state: SwarmState;
  readonly ids: ConnectionIds;
  readonly clock: TrackerClock;
  readonly intervalS: number;
  readonly minIntervalS: number;
  readonly defaultNumwant: number;
  readonly maxNumwant: number;
  readonly startedAt: number;
  readonly counters: TrackerCounters = {
    httpAnnounces: 0,
    httpScrapes: 0,
    httpFailures: 0,
    udpConnects: 0,
    udpAnnounces: 0,
    udpScrapes: 0,
    udpFailures: 0,
    udpDropped: 0,
  };
  #whitelist: Set<string> | undefined;

  constructor(opts: TrackerCoreOptions = {}) {
    this.clock = opts.clock ?? (() => performance.now());
    this.intervalS = Math.max(1, Math.floor(opts.intervalS ?? 1800));
    this.minIntervalS = Math.max(1, Math.floor(opts.minIntervalS ?? this.intervalS / 2));
    this.maxNumwant = opts.maxNumwant ?? TRACKER_MAX_NUMWANT;
    this.defaultNumwant = Math.min(this.maxNumwant, opts.defaultNumwant ?? TRACKER_DEFAULT_NUMWANT);
    this.#whitelist = opts.whitelist === undefined ? undefined : whitelistKeys(opts.whitelist);
    this.state = new SwarmState(this.clock, {
      peerTimeoutMs: opts.peerTimeoutMs ?? this.intervalS * 1500,
      ...(opts.maxTorrents !== undefined ? { maxTorrents: opts.maxTorrents } : {}),
      ...(opts.maxPeers !== undefined ? { maxPeers: opts.maxPeers } : {}),
      ...(opts.random !== undefined ? { random: opts.random } : {}),
      isAllowed: (key) => this.#whitelist === undefined || this.#whitelist.has(key),
    });
    this.ids = new ConnectionIds(
      this.clock,
      opts.secretRotateMs !== undefined ? { rotateMs: opts.secretRotateMs } : {},
    );
    this.startedAt = this.clock();
  }

  /** Whether `key` (a 20-char latin1 info-hash) may be tracked under the whitelist. */
  isAllowed(key: string): boolean {
    return this.#whitelist === undefined || this.#whitelist.has(key);
  }

  /** Replaces the whitelist (`undefined`: open tracker). Peers already tracked stay until they expire. */
  setWhitelist(hashes: Iterable<Uint8Array> | undefined): void {
    this.#whitelist = hashes === undefined ? undefined : whitelistKeys(hashes);
  }

  /** Whether the tracker is private (has a whitelist), and its size. */
  get whitelistSize(): number | undefined {
    return this.#whitelist?.size;
  }

  /** The `numwant` to serve: the client's wish (negative or absent: the default), capped. */
  numwant(asked: number | undefined): number {
    if (asked === undefined || asked < 0) return this.defaultNumwant;
    return Math.min(asked, this.maxNumwant);
  }
}
