/**
 * The per-torrent tracker announcer: BEP 12 tiers, BEP 3 events, re-announce timers.
 *
 * DEV NOTES
 * - Owns: one re-announce timer, one AbortController for the round in flight, and (only when
 *   none was given) a {@link UdpTrackerSocket}. `close()` releases all of them.
 * - A "round" walks the tiers in order (BEP 12) and stops at the first tracker that answers; that
 *   tracker moves to the front of its tier and its `interval` (clamped to
 *   [minIntervalMs, maxIntervalMs]) arms the next round. When every tracker fails the round is
 *   retried after an exponential back-off. Rounds never overlap: a request made during a round
 *   (`complete()`, `announce()`) runs right after it.
 * - Events: a tracker that has not yet accepted `started` gets `started` (whatever the round was
 *   for), `completed` is sent once after `complete()`, `stopped` goes to every tracker that
 *   accepted `started`, with a short timeout.
 * - Nothing a tracker does can throw out of here: failures become `tracker:failed` events.
 *   The figures (uploaded/downloaded/left) are read from `getStats()` at each announce.
 */
import { randomInt } from 'node:crypto';
import type { Socks5ProxyOptions } from '../net/socks5-protocol.js';
import { ErrorCode, isShoalError, ShoalError } from '../shared/errors.js';
import {
  MAX_TRACKER_INTERVAL_S,
  MIN_TRACKER_INTERVAL_S,
  TRACKER_DEFAULT_NUMWANT,
  TRACKER_REQUEST_TIMEOUT_MS,
  TRACKER_STOP_TIMEOUT_MS,
} from '../shared/limits.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { TrackerError } from './errors.js';
import { createTrackerTransport, type TrackerTransport } from './tracker-client.js';
import { TrackerTierList } from './tracker-tiers.js';
import type {
  AnnounceRequest,
  AnnounceResponse,
  ScrapeEntry,
  TrackerEvent,
  TrackerPeer,
} from './tracker-types.js';
import { UdpTrackerSocket, type UdpTrackerSocketOptions } from './tracker-udp.js';

/** Transfer figures reported to trackers, in bytes. */
export interface AnnouncerStats {
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
}

/** What an {@link Announcer} announces, and its timing. */
export interface AnnouncerInit {
  /** 20-byte info-hash (v2: truncated to 20 bytes, BEP 52). */
  readonly infoHash: Uint8Array;
  /** 20-byte peer id. */
  readonly peerId: Uint8Array;
  /**
   * TCP port peers can reach us on: behind a NAT, the router's mapped external port. A function
   * is read at every announce (the mapping may come, or move, later).
   */
  readonly port: number | (() => number);
  /** BEP 12 tiers (`announce-list`, or `[[announce]]`). */
  readonly trackers: readonly (readonly string[])[];
  /** Read at every announce. */
  getStats(): AnnouncerStats;
  /** Called with the peers of each successful announce (also emitted as `peers:received`). */
  readonly onPeers?: (peers: readonly TrackerPeer[], url: string) => void;
  /** Peers asked for. @default TRACKER_DEFAULT_NUMWANT */
  readonly numwant?: number;
  /** The BEP 3 `key`, 32 bits. @default random */
  readonly key?: number;
  /** Deadline of one announce, in ms. @default TRACKER_REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
  /** Deadline of the `stopped` announces, in ms. @default TRACKER_STOP_TIMEOUT_MS */
  readonly stopTimeoutMs?: number;
  /** Shortest re-announce interval, in ms. @default MIN_TRACKER_INTERVAL_S × 1000 */
  readonly minIntervalMs?: number;
  /** Longest re-announce interval, in ms. @default MAX_TRACKER_INTERVAL_S × 1000 */
  readonly maxIntervalMs?: number;
  /** Delay before retrying after a round where every tracker failed; doubles per failed round. @default 60 000 */
  readonly retryBaseMs?: number;
  /** Longest retry delay, in ms. @default 1 800 000 */
  readonly retryMaxMs?: number;
}

/** What an {@link Announcer} uses to reach the world. */
export interface AnnouncerDeps {
  /** A shared UDP tracker socket; without it the announcer opens (and closes) its own. */
  readonly udp?: UdpTrackerSocket;
  /** Options of the announcer's own UDP socket (ignored when `udp` is given). */
  readonly udpOptions?: UdpTrackerSocketOptions;
  /** Replaces HTTP/UDP entirely (tests). */
  readonly transport?: TrackerTransport;
  /**
   * Tunnels HTTP(S) announces through this SOCKS5 proxy, and UDP ones through its UDP relay when
   * the announcer opens its own UDP socket (a shared `udp` socket brings its own proxy option).
   */
  readonly proxy?: Socks5ProxyOptions;
  /** Uniform in [0, 1), for the BEP 12 shuffle. @default Math.random */
  readonly random?: () => number;
}

/** Payload of `tracker:announced`. */
export interface TrackerAnnounced {
  readonly url: string;
  readonly event: TrackerEvent;
  readonly interval: number;
  readonly complete?: number;
  readonly incomplete?: number;
  readonly peerCount: number;
}

/** Events of an {@link Announcer}. */
export interface AnnouncerEvents {
  'peers:received': { readonly url: string; readonly peers: readonly TrackerPeer[] };
  'tracker:announced': TrackerAnnounced;
  'tracker:failed': { readonly url: string; readonly event: TrackerEvent; readonly error: TrackerError };
  'tracker:warning': { readonly url: string; readonly message: string };
}

/** Public view of one tracker's state. */
export interface TrackerStatus {
  readonly url: string;
  readonly tier: number;
  readonly started: boolean;
  readonly lastError?: string;
  readonly complete?: number;
  readonly incomplete?: number;
  readonly interval?: number;
}

type AnnouncerState = 'idle' | 'running' | 'stopping' | 'stopped' | 'closed';

function asTrackerError(e: unknown, url: string): TrackerError {
  if (e instanceof TrackerError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new TrackerError(
    isShoalError(e) ? e.code : ErrorCode.TrackerRequest,
    `tracker request failed: ${msg}`,
    { url },
    { cause: e },
  );
}

/**
 * Announces one torrent to its trackers (BEP 3, BEP 12, BEP 15) and reports the peers they give.
 * `start()` → regular re-announces → `complete()` → `stop()`; `close()` releases everything.
 */
export class Announcer extends TypedEmitter<AnnouncerEvents> {
  readonly #init: AnnouncerInit;
  readonly #deps: AnnouncerDeps;
  readonly #tiers: TrackerTierList;
  readonly #transport: TrackerTransport;
  readonly #key: number;
  readonly #started = new Set<string>();
  readonly #trackerIds = new Map<string, Uint8Array>();
  readonly #status = new Map<string, Omit<TrackerStatus, 'url' | 'tier' | 'started'>>();
  #ownUdp: UdpTrackerSocket | undefined;
  #state: AnnouncerState = 'idle';
  #completedPending = false;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<boolean> | undefined;
  #again = false;
  #abort = new AbortController();
  #nextAnnounceAt: number | undefined;

  constructor(init: AnnouncerInit, deps: AnnouncerDeps = {}) {
    super();
    if (init.infoHash.length !== 20 || init.peerId.length !== 20) {
      throw new ShoalError(ErrorCode.SessionInvalidArgument, 'info-hash and peer id must be 20 bytes', {});
    }
    this.#init = init;
    this.#deps = deps;
    this.#tiers = new TrackerTierList(init.trackers, deps.random ?? Math.random);
    this.#key = init.key ?? randomInt(0, 2 ** 32);
    this.#transport =
      deps.transport ??
      createTrackerTransport(() => this.#udp(), deps.proxy !== undefined ? { proxy: deps.proxy } : {});
  }

  /** Trackers in the order they are tried now (BEP 12), with their last results. */
  get trackers(): TrackerStatus[] {
    return this.#tiers.order().map(({ url, tier }) => ({
      url,
      tier,
      started: this.#started.has(url),
      ...this.#status.get(url),
    }));
  }

  /** `Date.now()` of the next scheduled announce, if one is scheduled. */
  get nextAnnounceAt(): number | undefined {
    return this.#nextAnnounceAt;
  }

  /** Starts announcing: `started` now, then every `interval`. Idempotent while running. */
  start(): void {
    this.#assertOpen();
    if (this.#state === 'running') return;
    this.#state = 'running';
    this.#abort = new AbortController();
    void this.#kick();
  }

  /** The download finished: sends `completed` now (once). */
  complete(): void {
    this.#assertOpen();
    this.#completedPending = true;
    if (this.#state === 'running') void this.#kick();
  }

  /**
   * Announces now (event `none`, or whatever event is due) instead of waiting for the timer.
   * Resolves to whether a tracker answered.
   */
  announce(): Promise<boolean> {
    this.#assertOpen();
    if (this.#state !== 'running') return Promise.resolve(false);
    return this.#kick();
  }

  /** Scrapes the first tracker (in BEP 12 order) that answers a scrape; `undefined` when none does. */
  async scrape(): Promise<ScrapeEntry | undefined> {
    for (const { url } of this.#tiers.order()) {
      try {
        const entries = await this.#transport.scrape(url, [this.#init.infoHash], {
          timeoutMs: this.#init.requestTimeoutMs ?? TRACKER_REQUEST_TIMEOUT_MS,
          signal: this.#abort.signal,
        });
        const e = entries.find((x) => Buffer.compare(x.infoHash, this.#init.infoHash) === 0) ?? entries[0];
        if (e !== undefined) return e;
      } catch (e) {
        this.emit('tracker:failed', { url, event: 'none', error: asTrackerError(e, url) });
      }
    }
    return undefined;
  }

  /**
   * Stops announcing and sends `stopped` to every tracker that accepted `started`, waiting at
   * most `stopTimeoutMs`. Failures are reported as `tracker:failed`, never thrown.
   */
  async stop(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'stopped' || this.#state === 'idle') return;
    this.#state = 'stopping';
    this.#cancelRound();
    await this.#round?.catch(() => false);
    const timeoutMs = this.#init.stopTimeoutMs ?? TRACKER_STOP_TIMEOUT_MS;
    const signal = this.#abort.signal;
    await Promise.all(
      [...this.#started].map(async (url) => {
        try {
          await this.#transport.announce(url, this.#request(url, 'stopped', 0), { timeoutMs, signal });
          this.emit('tracker:announced', { url, event: 'stopped', interval: 0, peerCount: 0 });
        } catch (e) {
          this.emit('tracker:failed', { url, event: 'stopped', error: asTrackerError(e, url) });
        }
      }),
    );
    this.#started.clear();
    if (this.#state === 'stopping') this.#state = 'stopped';
  }

  /** Releases timers, requests in flight and the announcer's own UDP socket. Sends nothing. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#cancelRound();
    this.#abort.abort();
    await this.#round?.catch(() => false);
    const own = this.#ownUdp;
    this.#ownUdp = undefined;
    await own?.close();
  }

  #assertOpen(): void {
    if (this.#state === 'closed') throw new ShoalError(ErrorCode.SessionClosed, 'announcer is closed', {});
  }

  #udp(): UdpTrackerSocket {
    if (this.#deps.udp !== undefined) return this.#deps.udp;
    this.#ownUdp ??= new UdpTrackerSocket(
      this.#deps.proxy !== undefined
        ? { ...this.#deps.udpOptions, proxy: this.#deps.proxy }
        : this.#deps.udpOptions,
    );
    return this.#ownUdp;
  }

  #cancelRound(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextAnnounceAt = undefined;
    this.#again = false;
    this.#abort.abort();
    this.#abort = new AbortController();
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    if (this.#state !== 'running') return;
    this.#nextAnnounceAt = Date.now() + delayMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#kick();
    }, delayMs);
  }

  #kick(): Promise<boolean> {
    if (this.#round !== undefined) {
      this.#again = true;
      return this.#round;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const run = async (): Promise<boolean> => {
      let ok = await this.#runRound();
      while (this.#again && this.#state === 'running') {
        this.#again = false;
        ok = await this.#runRound();
      }
      return ok;
    };
    const round = run().finally(() => {
      if (this.#round === round) this.#round = undefined;
    });
    this.#round = round;
    return round;
  }

  #request(url: string, event: TrackerEvent, numwant: number): AnnounceRequest {
    const stats = this.#init.getStats();
    const trackerId = this.#trackerIds.get(url);
    return {
      infoHash: this.#init.infoHash,
      peerId: this.#init.peerId,
      // No BEP 3 `ip` / BEP 15 `IP address` (0: the source address): a tracker on the internet
      // sees our external address as the source, which is right by definition, and one on our
      // side of the NAT serves peers that should dial our LAN address. Any address we put there
      // could only be wrong (a router behind another NAT, a stale vote) and be handed out.
      port: typeof this.#init.port === 'function' ? this.#init.port() : this.#init.port,
      uploaded: Math.max(0, Math.floor(stats.uploaded)),
      downloaded: Math.max(0, Math.floor(stats.downloaded)),
      left: Math.max(0, Math.floor(stats.left)),
      event,
      numwant,
      key: this.#key,
      ...(trackerId !== undefined ? { trackerId } : {}),
    };
  }

  #succeeded(url: string, event: TrackerEvent, res: AnnounceResponse): void {
    this.#completedPending = false;
    if (res.trackerId !== undefined) this.#trackerIds.set(url, res.trackerId);
    this.#tiers.promote(url);
    this.#failures = 0;
    this.#status.set(url, {
      interval: res.interval,
      ...(res.complete !== undefined ? { complete: res.complete } : {}),
      ...(res.incomplete !== undefined ? { incomplete: res.incomplete } : {}),
    });
    const minMs = this.#init.minIntervalMs ?? MIN_TRACKER_INTERVAL_S * 1000;
    const maxMs = this.#init.maxIntervalMs ?? MAX_TRACKER_INTERVAL_S * 1000;
    this.#schedule(Math.min(maxMs, Math.max(minMs, res.interval * 1000)));
    this.emit('tracker:announced', {
      url,
      event,
      interval: res.interval,
      peerCount: res.peers.length,
      ...(res.complete !== undefined ? { complete: res.complete } : {}),
      ...(res.incomplete !== undefined ? { incomplete: res.incomplete } : {}),
    });
    if (res.warning !== undefined) this.emit('tracker:warning', { url, message: res.warning });
    if (res.peers.length > 0) {
      this.emit('peers:received', { url, peers: res.peers });
      this.#init.onPeers?.(res.peers, url);
    }
  }

  async #runRound(): Promise<boolean> {
    const signal = this.#abort.signal;
    for (const { url } of this.#tiers.order()) {
      if (this.#state !== 'running' || signal.aborted) return false;
      const event: TrackerEvent = !this.#started.has(url)
        ? 'started'
        : this.#completedPending
          ? 'completed'
          : 'none';
      let req: AnnounceRequest;
      try {
        req = this.#request(url, event, this.#init.numwant ?? TRACKER_DEFAULT_NUMWANT);
      } catch (e) {
        this.emit('tracker:failed', { url, event, error: asTrackerError(e, url) });
        continue;
      }
      let res: AnnounceResponse;
      try {
        res = await this.#transport.announce(url, req, {
          timeoutMs: this.#init.requestTimeoutMs ?? TRACKER_REQUEST_TIMEOUT_MS,
          signal,
        });
      } catch (e) {
        if (signal.aborted) return false;
        const error = asTrackerError(e, url);
        this.#status.set(url, { ...this.#status.get(url), lastError: error.message });
        this.emit('tracker:failed', { url, event, error });
        continue;
      }
      // A `started` that landed while we were stopping still needs its `stopped`.
      this.#started.add(url);
      if (this.#state !== 'running' || signal.aborted) return false;
      this.#succeeded(url, event, res);
      return true;
    }
    if (this.#state === 'running' && !signal.aborted) {
      this.#failures++;
      const base = this.#init.retryBaseMs ?? 60_000;
      const max = this.#init.retryMaxMs ?? 1_800_000;
      this.#schedule(Math.min(max, base * 2 ** Math.min(20, this.#failures - 1)));
    }
    return false;
  }
}
