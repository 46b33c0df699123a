/**
 * One torrent's own rate limits and its bandwidth priority under the session's (Transmission's
 * per-torrent speed limits and "bandwidth priority"). A received chunk is charged to the
 * torrent's bucket and to the session's, and the connection pauses for the longer of the two
 * waits; a `high` torrent's waits under the session limit are halved and a `low` one's doubled. A
 * block to send waits for the torrent's tokens first, then for the session's, where `high`
 * torrents' blocks go first.
 */
import { TokenBucket } from '../engine/index.js';
import type { SessionContext } from './context.js';
import { type BandwidthPriority, UploadGate } from './upload-gate.js';

/** How a priority scales a torrent's download pauses under the session's limit. */
const DOWN_PAUSE_FACTOR: Readonly<Record<BandwidthPriority, number>> = { high: 0.5, normal: 1, low: 2 };

/** Per-torrent limits as users set them. */
export interface TorrentRateLimits {
  /** Bytes/s; 0 = only the session's limit. */
  readonly download?: number;
  readonly upload?: number;
  readonly priority?: BandwidthPriority;
}

export class TorrentLimits {
  readonly #ctx: SessionContext;
  readonly #down: TokenBucket;
  readonly #up: TokenBucket;
  readonly #upGate: UploadGate;
  #priority: BandwidthPriority;

  constructor(ctx: SessionContext, limits: TorrentRateLimits = {}) {
    this.#ctx = ctx;
    const now = ctx.now();
    this.#down = new TokenBucket(limits.download ?? 0, undefined, now);
    this.#up = new TokenBucket(limits.upload ?? 0, undefined, now);
    this.#upGate = new UploadGate(this.#up, () => ctx.now());
    this.#priority = limits.priority ?? 'normal';
  }

  /** The limits now. */
  get current(): Required<TorrentRateLimits> {
    return {
      download: this.#down.rateBytesPerSec,
      upload: this.#up.rateBytesPerSec,
      priority: this.#priority,
    };
  }

  /** Changes some of the limits (bytes/s, 0 = only the session's), or the priority. */
  set(limits: TorrentRateLimits): void {
    const now = this.#ctx.now();
    if (limits.download !== undefined) this.#down.setRate(limits.download, undefined, now);
    if (limits.upload !== undefined) {
      this.#up.setRate(limits.upload, undefined, now);
      this.#upGate.kick();
    }
    if (limits.priority !== undefined) this.#priority = limits.priority;
  }

  /** `bytes` were received: ms to stop reading that connection for (0: go on). */
  chargeDown(bytes: number): number {
    const own = this.#down.charge(bytes, this.#ctx.now());
    const shared = this.#ctx.throttleDown(bytes) * DOWN_PAUSE_FACTOR[this.#priority];
    return Math.max(own, Math.ceil(shared));
  }

  /**
   * Tokens for a block of `bytes` to send: undefined when granted at once, else a promise that
   * resolves once granted by the torrent's gate, then the session's (or without tokens once
   * `cancelled()`).
   */
  acquireUp(bytes: number, cancelled: () => boolean): Promise<void> | undefined {
    const own = this.#upGate.acquire(bytes, cancelled);
    if (own === undefined) return this.#ctx.acquireUp(bytes, cancelled, this.#priority);
    return own.then(() => (cancelled() ? undefined : this.#ctx.acquireUp(bytes, cancelled, this.#priority)));
  }

  close(): void {
    this.#upGate.close();
  }
}
