/**
 * DEV DOCS — one web seed of one torrent (BEP 19 `url-list`, or BEP 17 `httpseeds`).
 *
 * A web seed is a *virtual peer* of the torrent's engine: a `PeerKey` (`webseed#N:<url>`) whose
 * blame id is `webseed:<url>`, that has every piece and never chokes us. The engine asks it for
 * blocks with `request` messages like any peer (its pipeline bounds what is in flight); this
 * runtime gathers them ({@link PendingBlocks}), cuts runs of consecutive blocks into jobs
 * ({@link RangeJob}: one HTTP range per file a run touches, at most `connections` jobs at once,
 * each about a connection's share of the pipeline) and gives the blocks back to the engine as
 * they arrive, the whole blocks of each received chunk in one call (`onBlockRun`: each block
 * counts as a `piece` message, each stretch of them is one write). So its bytes are verified,
 * written, counted and blamed exactly like a peer's: a web seed that was the sole sender of a
 * bad piece, or whose block differs from the copy that passed, is banned by the engine (`ban`
 * with its blame id), which drops it here with the reason.
 *
 * States: `idle` (not attached: the torrent is halted or finished), `active`, `backing-off`
 * (after a failed request: the virtual peer chokes us and rejects what it held, so the picker
 * gives those blocks to other sources; it unchokes after `Retry-After`, else a doubling back-off)
 * and `dropped` (for good: banned, an HTTP status that proves the URL wrong, a redirect loop, or
 * MAX_WEB_SEED_FAILURES failures in a row).
 *
 * Invariants:
 * - a block is handed to the engine only if the engine asked for it on the current attachment
 *   and did not cancel it;
 * - at most `connections` jobs are in flight; the origin's pool holds at most as many connections per host;
 * - detaching aborts every job and clears what was pending; the engine then forgets the virtual
 *   peer (its requests go back to the picker).
 */
import {
  type BanReason,
  type BlockRef,
  type EngineAction,
  type PeerKey,
  RateMeter,
  type TorrentEngine,
} from '../../engine/index.js';
import type { Metainfo } from '../../metainfo/index.js';
import { ErrorCode, isShoalError } from '../../shared/errors.js';
import { MAX_WEB_SEED_RANGE_BYTES, WEB_SEED_REQQ } from '../../shared/limits.js';
import type { EncodableMessage } from '../../wire/index.js';
import { WebSeedError } from './errors.js';
import { backoffMs, type WebSeedProtocol } from './http-rules.js';
import type { HttpOrigin } from './origin.js';
import { RangeJob, type RangeJobHost } from './range-job.js';
import { jobShare, PendingBlocks, type PieceSpace } from './range-plan.js';

/** Where a web seed is; see the module notes. */
export type WebSeedState = 'idle' | 'active' | 'backing-off' | 'dropped';

/** A web seed as the API and the dashboard show it. */
export interface WebSeedInfo {
  readonly url: string;
  readonly protocol: WebSeedProtocol;
  readonly state: WebSeedState;
  /** Useful bytes received from it (this run). */
  readonly downloadedBytes: number;
  /** Bytes/s over the last few seconds. */
  readonly downloadRate: number;
  /** Range requests in flight. */
  readonly requestsInFlight: number;
  /** Requests that failed (this run). */
  readonly errors: number;
  /** The last failure, in words. */
  readonly lastError?: string;
  /** Why it was dropped (state `dropped`). */
  readonly reason?: string;
  /** ms until it is asked again (state `backing-off`). */
  readonly retryInMs?: number;
}

/** The tunables a web seed runs with (from `SessionOptions.webSeeds`). */
export interface WebSeedSettings {
  readonly connections: number;
  readonly onlyBelowPeerRate: number;
  readonly maxFailures: number;
  readonly retryBaseMs: number;
  readonly idleTimeoutMs: number;
}

/** What a web seed needs from its torrent. */
export interface WebSeedHost {
  readonly metainfo: Metainfo;
  readonly space: PieceSpace & { pieceSize(index: number): number };
  /** The current engine (a recheck replaces it). */
  readonly engine: TorrentEngine;
  readonly infoHash: Uint8Array;
  readonly settings: WebSeedSettings;
  /** Monotonic clock, ms. */
  now(): number;
  run(actions: EngineAction[]): void;
  isReadingPaused(): boolean;
  /** Bytes arrived: ms to stop reading for (the rate limits). */
  throttleDown(bytes: number): number;
  /** The virtual peer joined the engine (`true`) or left it. */
  onAttached(seed: WebSeed, key: PeerKey | undefined): void;
  /** It was dropped for good; `ban` holds the blame evidence when it was banned. */
  onDropped(
    seed: WebSeed,
    reason: string,
    ban?: { readonly reason: BanReason; readonly evidence: string },
  ): void;
}

let seq = 0;

/** One web seed; see the module notes. */
export class WebSeed {
  readonly url: string;
  readonly protocol: WebSeedProtocol;
  /** Who answers for its bytes (smart ban), stable across attachments. */
  readonly blameId: string;
  readonly #host: WebSeedHost;
  readonly #origin: HttpOrigin;
  readonly #pending: PendingBlocks;
  readonly #jobs = new Set<RangeJob>();
  readonly #jobHost: RangeJobHost;
  readonly #meter: RateMeter;
  #key: PeerKey | undefined;
  #state: WebSeedState = 'idle';
  #failures = 0;
  #errors = 0;
  #downloaded = 0;
  #lastError: string | undefined;
  #reason: string | undefined;
  #retryAt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #pump: NodeJS.Immediate | undefined;

  constructor(host: WebSeedHost, url: string, protocol: WebSeedProtocol, origin: HttpOrigin) {
    this.#host = host;
    this.url = url;
    this.protocol = protocol;
    this.blameId = `webseed:${url}`;
    this.#origin = origin;
    this.#pending = new PendingBlocks(host.metainfo.pieceLength);
    this.#meter = new RateMeter(host.now(), { windowMs: 5_000, bucketMs: 500 });
    this.#jobHost = {
      origin,
      protocol,
      url,
      metainfo: host.metainfo,
      space: host.space,
      infoHash: host.infoHash,
      deliver: (blocks, data) => this.#deliver(blocks, data),
      throttle: (n) => host.throttleDown(n),
      isPaused: () => host.isReadingPaused(),
    };
  }

  get state(): WebSeedState {
    return this.#state;
  }

  /** The virtual peer's key while attached. */
  get key(): PeerKey | undefined {
    return this.#key;
  }

  /** A snapshot for listings. */
  info(now: number): WebSeedInfo {
    return {
      url: this.url,
      protocol: this.protocol,
      state: this.#state,
      downloadedBytes: this.#downloaded,
      downloadRate: this.#meter.rate(now),
      requestsInFlight: this.#jobs.size,
      errors: this.#errors,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      ...(this.#reason !== undefined ? { reason: this.#reason } : {}),
      ...(this.#state === 'backing-off' ? { retryInMs: Math.max(0, this.#retryAt - now) } : {}),
    };
  }

  /**
   * Housekeeping (about once a second, and when the torrent starts): attaches to the engine when
   * the torrent runs and wants data, and fails jobs that received nothing for too long.
   */
  tick(active: boolean): void {
    if (this.#state === 'dropped') return;
    if (this.#state === 'idle' && active && !this.#host.engine.isFinished) this.#attach();
    const now = performance.now();
    for (const job of this.#jobs) {
      if (job.idleMs(now) > this.#host.settings.idleTimeoutMs)
        job.abort(timeoutError(this.url, this.#host.settings.idleTimeoutMs));
    }
  }

  /** The engine's message to the virtual peer (requests and cancels matter; the rest is ignored). */
  onSend(msg: EncodableMessage): void {
    if (this.#key === undefined) return;
    if (msg.type === 'request') {
      this.#pending.add({ piece: msg.index, offset: msg.begin, length: msg.length });
      this.#schedulePump();
    } else if (msg.type === 'cancel') {
      const b = { piece: msg.index, offset: msg.begin, length: msg.length };
      if (!this.#pending.delete(b)) for (const job of this.#jobs) if (job.cancel(b)) break;
    }
  }

  /** The engine closed the virtual peer (it already forgot it): idle if redundant, else dropped. */
  onEngineClose(reason: string): void {
    this.#detach(false);
    if (reason !== 'redundant') this.#drop(`closed by the engine: ${reason}`);
  }

  /** The engine banned this web seed's blame id (it already forgot the virtual peer). */
  ban(reason: BanReason, evidence: string): void {
    this.#detach(false);
    this.#drop(`${reason}: ${evidence}`, { reason, evidence });
  }

  /** Stops fetching (the torrent halts); it attaches again on a later tick. */
  detach(): void {
    this.#detach(true);
  }

  /** The torrent's reading was paused or resumed: so are the responses. */
  readingChanged(): void {
    for (const job of this.#jobs) job.updatePause();
    if (!this.#host.isReadingPaused()) this.#schedulePump();
  }

  /** Detaches for good (the torrent closes). */
  close(): void {
    this.#detach(true);
    this.#origin.close();
  }

  #attach(): void {
    const key: PeerKey = `webseed#${++seq}:${this.url}`;
    this.#key = key;
    this.#state = 'active';
    const h = this.#host;
    const now = h.now();
    const e = h.engine;
    const s = h.settings;
    h.onAttached(this, key);
    h.run(
      e.addPeer(
        key,
        {
          supportsFast: true,
          supportsExtensions: true,
          blameId: this.blameId,
          webSeed: { onlyBelowPeerRate: s.onlyBelowPeerRate },
        },
        now,
      ),
    );
    // Each step may end the attachment (a finished torrent closes it as redundant).
    if (this.#key === key) h.run(e.onMessage(key, { type: 'have-all' }, now));
    if (this.#key === key) h.run(e.onExtendedHandshake(key, { reqq: WEB_SEED_REQQ }, now));
    if (this.#key === key) h.run(e.onMessage(key, { type: 'unchoke' }, now));
  }

  #detach(forgetInEngine: boolean): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#pump !== undefined) clearImmediate(this.#pump);
    this.#pump = undefined;
    for (const job of this.#jobs) job.abort();
    this.#jobs.clear();
    this.#pending.clear();
    const key = this.#key;
    this.#key = undefined;
    if (this.#state !== 'dropped') this.#state = 'idle';
    if (key === undefined) return;
    this.#host.onAttached(this, undefined);
    if (forgetInEngine) this.#host.run(this.#host.engine.removePeer(key, this.#host.now()));
  }

  #drop(reason: string, ban?: { readonly reason: BanReason; readonly evidence: string }): void {
    if (this.#state === 'dropped') return;
    this.#detach(true);
    this.#state = 'dropped';
    this.#reason = reason;
    this.#host.onDropped(this, reason, ban);
  }

  #schedulePump(): void {
    this.#pump ??= setImmediate(() => {
      this.#pump = undefined;
      this.#startJobs();
    });
  }

  /** Starts jobs within the connection bound, each about a connection's share of the pipeline. */
  #startJobs(): void {
    const h = this.#host;
    const connections = h.settings.connections;
    while (
      this.#state === 'active' &&
      this.#key !== undefined &&
      this.#jobs.size < connections &&
      this.#pending.size > 0 &&
      !h.isReadingPaused()
    ) {
      let inFlight = 0;
      for (const job of this.#jobs) inFlight += job.remainingBytes;
      const share = jobShare(this.#pending.bytes, inFlight, connections, MAX_WEB_SEED_RANGE_BYTES);
      // Jobs still deliver (the engine asks for a block back for each): let the next range grow.
      if (this.#jobs.size > 0 && this.#pending.bytes < share / 2) break;
      const run = this.#pending.takeRun(share, this.protocol === 'bep17');
      const job = new RangeJob(this.#jobHost, run, h.metainfo.pieceLength);
      this.#jobs.add(job);
      const key = this.#key;
      job.run().then(
        () => this.#jobDone(job, key),
        (e: unknown) => this.#jobFailed(job, key, e),
      );
    }
  }

  #deliver(blocks: readonly BlockRef[], data: Uint8Array): boolean {
    const key = this.#key;
    if (key === undefined) return false;
    const now = this.#host.now();
    this.#downloaded += data.length;
    this.#meter.add(data.length, now);
    this.#host.run(this.#host.engine.onBlockRun(key, blocks, data, now));
    return this.#key === key;
  }

  #jobDone(job: RangeJob, key: PeerKey): void {
    if (!this.#jobs.delete(job) || this.#key !== key) return;
    this.#failures = 0;
    this.#schedulePump();
  }

  #jobFailed(job: RangeJob, key: PeerKey, e: unknown): void {
    if (!this.#jobs.delete(job) || this.#key !== key || RangeJob.isDetached(e)) return;
    const err = isShoalError(e) ? (e as WebSeedError) : undefined;
    const message = e instanceof Error ? e.message : String(e);
    this.#errors++;
    this.#lastError = message;
    if (
      err !== undefined &&
      (err.code === ErrorCode.WebSeedStatus ||
        err.code === ErrorCode.WebSeedRedirects ||
        err.code === ErrorCode.WebSeedBadUrl)
    ) {
      this.#drop(message);
      return;
    }
    const undelivered = job.undelivered();
    if (this.#state === 'backing-off') {
      // One failure per back-off: the other jobs were in flight when the first one failed.
      this.#reject(key, undelivered);
      return;
    }
    this.#failures++;
    const s = this.#host.settings;
    if (this.#failures >= s.maxFailures) {
      this.#drop(`${this.#failures} failed requests in a row; the last: ${message}`);
      return;
    }
    const delay = err?.details.retryAfterMs ?? backoffMs(this.#failures, s.retryBaseMs);
    this.#backOff(key, delay, undelivered);
  }

  /**
   * Chokes us and gives back every block not in flight (and `failed`), so other sources take
   * them; unchokes after `delay` ms.
   */
  #backOff(key: PeerKey, delay: number, failed: BlockRef[]): void {
    const h = this.#host;
    this.#state = 'backing-off';
    this.#retryAt = h.now() + delay;
    h.run(h.engine.onMessage(key, { type: 'choke' }, h.now()));
    this.#reject(key, [...failed, ...this.#pending.clear()]);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#key !== key || this.#state !== 'backing-off') return;
      this.#state = 'active';
      h.run(h.engine.onMessage(key, { type: 'unchoke' }, h.now()));
    }, delay);
    this.#retryTimer.unref();
  }

  #reject(key: PeerKey, blocks: BlockRef[]): void {
    const h = this.#host;
    for (const b of blocks) {
      if (this.#key !== key) return;
      h.run(
        h.engine.onMessage(
          key,
          { type: 'reject-request', index: b.piece, begin: b.offset, length: b.length },
          h.now(),
        ),
      );
    }
  }
}

function timeoutError(url: string, ms: number): WebSeedError {
  return new WebSeedError(ErrorCode.WebSeedTimeout, `${url}: nothing received for ${ms} ms`, { url });
}
