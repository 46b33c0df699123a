/**
 * Rate accounting and rate limiting, pure: every call takes the clock value `now` (ms).
 *
 * - {@link RateMeter}: bytes per second over a sliding window, fed with `(bytes, now)`. The
 *   choker reads peers' rates over ~20 s, the request scheduler a shorter window.
 * - {@link TokenBucket}: a rate limiter for global or per-torrent upload/download limits. It
 *   never waits itself: the net layer asks it how much it may send now, or how long to wait,
 *   and arms its own timer.
 */
import { BLOCK_BYTES, RATE_LIMIT_BURST_MS } from '../shared/limits.js';

/** Default sliding window of a {@link RateMeter}, in ms (the choker's "last ~20 s"). */
export const DEFAULT_RATE_WINDOW_MS = 20_000;
/** Default bucket width of a {@link RateMeter}, in ms. */
export const DEFAULT_RATE_BUCKET_MS = 1_000;

/** Options of a {@link RateMeter}. */
export interface RateMeterOptions {
  /** Width of the sliding window, in ms. @default DEFAULT_RATE_WINDOW_MS */
  readonly windowMs?: number;
  /** Resolution: the window is kept as buckets this wide, in ms. @default DEFAULT_RATE_BUCKET_MS */
  readonly bucketMs?: number;
}

/**
 * Bytes per second over a sliding window, kept as a ring of fixed-width buckets (constant memory
 * and O(1) per sample). A young meter divides by its age (at least one bucket) rather than by
 * the whole window, so a fresh peer's rate is not underestimated.
 */
export class RateMeter {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly #buckets: Float64Array;
  /** Absolute bucket number (`floor(now / bucketMs)`) of the newest bucket. */
  #head: number;
  readonly #startMs: number;
  #total = 0;

  /** @param now the clock value when measuring starts, in ms. */
  constructor(now: number, options: RateMeterOptions = {}) {
    this.bucketMs = Math.max(1, options.bucketMs ?? DEFAULT_RATE_BUCKET_MS);
    this.windowMs = Math.max(this.bucketMs, options.windowMs ?? DEFAULT_RATE_WINDOW_MS);
    this.#buckets = new Float64Array(Math.ceil(this.windowMs / this.bucketMs));
    this.#head = Math.floor(now / this.bucketMs);
    this.#startMs = now;
  }

  /** All bytes ever recorded. */
  get total(): number {
    return this.#total;
  }

  /** Records `bytes` transferred at time `now`. */
  add(bytes: number, now: number): void {
    this.#advance(now);
    const n = this.#buckets.length;
    const slot = ((this.#head % n) + n) % n;
    this.#buckets[slot] = (this.#buckets[slot] ?? 0) + bytes;
    this.#total += bytes;
  }

  /** The average rate over the window ending at `now`, in bytes per second. */
  rate(now: number): number {
    this.#advance(now);
    let sum = 0;
    for (const b of this.#buckets) sum += b;
    const age = Math.max(this.bucketMs, now - this.#startMs);
    return (sum * 1000) / Math.min(this.windowMs, age);
  }

  #advance(now: number): void {
    const bucket = Math.floor(now / this.bucketMs);
    if (bucket <= this.#head) return; // same bucket, or a clock that went backwards
    const n = this.#buckets.length;
    const steps = Math.min(n, bucket - this.#head);
    for (let i = 1; i <= steps; i++) {
      const slot = (((this.#head + i) % n) + n) % n;
      this.#buckets[slot] = 0;
    }
    this.#head = bucket;
  }
}

/** The answer of {@link TokenBucket.take}. */
export interface TakeResult {
  /** Bytes granted now, `0 ≤ granted ≤ n`. The caller may transfer exactly this many. */
  readonly granted: number;
  /** When `granted < n`: ms until the rest (at most one burst) is available; else 0. */
  readonly waitMs: number;
}

/**
 * A token bucket: tokens accrue at `rateBytesPerSec` up to `burstBytes`; transferring n bytes
 * takes n tokens. A rate of 0 (or Infinity) means unlimited.
 *
 * It starts full, so the burst bounds what passes before the rate does: by default
 * {@link RATE_LIMIT_BURST_MS} of the rate (at least one block), so any first second — and any
 * second after an idle spell — carries at most the rate plus that burst, not twice the rate.
 */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #lastMs: number;

  /**
   * @param rateBytesPerSec refill rate; 0 = unlimited.
   * @param burstBytes bucket capacity. @default RATE_LIMIT_BURST_MS of the rate (at least one 16 KiB block)
   * @param now the clock value, in ms.
   */
  constructor(rateBytesPerSec: number, burstBytes?: number, now = 0) {
    this.#rate = 0;
    this.#burst = 0;
    this.#tokens = 0;
    this.#lastMs = now;
    this.setRate(rateBytesPerSec, burstBytes, now);
    this.#tokens = this.#burst;
  }

  /** True when the bucket does not limit. */
  get isUnlimited(): boolean {
    return !(this.#rate > 0 && Number.isFinite(this.#rate));
  }

  /** The refill rate, bytes/s (0 = unlimited). */
  get rateBytesPerSec(): number {
    return this.isUnlimited ? 0 : this.#rate;
  }

  /** Changes the limit; tokens already accrued are kept up to the new burst. */
  setRate(rateBytesPerSec: number, burstBytes: number | undefined, now: number): void {
    this.#refill(now);
    this.#rate = rateBytesPerSec;
    this.#burst = Math.max(1, burstBytes ?? defaultBurst(rateBytesPerSec));
    this.#tokens = Math.min(this.#tokens, this.#burst);
  }

  /** Tokens available at `now`. Infinity when unlimited. */
  available(now: number): number {
    if (this.isUnlimited) return Number.POSITIVE_INFINITY;
    this.#refill(now);
    return Math.floor(this.#tokens);
  }

  /** Takes up to `n` tokens (partial grants allowed). */
  take(n: number, now: number): TakeResult {
    if (this.isUnlimited || n <= 0) return { granted: Math.max(0, n), waitMs: 0 };
    this.#refill(now);
    const granted = Math.max(0, Math.min(n, Math.floor(this.#tokens)));
    this.#tokens -= granted;
    if (granted === n) return { granted, waitMs: 0 };
    return { granted, waitMs: this.#waitFor(Math.min(n - granted, this.#burst)) };
  }

  /** Takes exactly `n` tokens if available (`n` is clamped to the burst); else takes nothing. */
  tryTake(n: number, now: number): boolean {
    if (this.isUnlimited) return true;
    this.#refill(now);
    const need = Math.min(n, this.#burst);
    if (this.#tokens < need) return false;
    this.#tokens -= need;
    return true;
  }

  /**
   * Takes `n` tokens unconditionally, letting the bucket go into debt, and returns the ms until
   * the debt is repaid (0 when there was enough). For traffic that already happened — bytes
   * read from a socket — so that the next read waits for what this one cost.
   */
  charge(n: number, now: number): number {
    if (this.isUnlimited || n <= 0) return 0;
    this.#refill(now);
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#rate);
  }

  /** Ms until `n` tokens (clamped to the burst) are available; 0 when they already are. */
  waitMs(n: number, now: number): number {
    if (this.isUnlimited) return 0;
    this.#refill(now);
    return this.#waitFor(Math.min(n, this.#burst));
  }

  #waitFor(need: number): number {
    const missing = need - this.#tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.#rate);
  }

  #refill(now: number): void {
    if (now > this.#lastMs) {
      if (!this.isUnlimited) {
        this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#lastMs) * this.#rate) / 1000);
      }
      this.#lastMs = now;
    }
  }
}

/** {@link RATE_LIMIT_BURST_MS} of `rate`, and never less than one block (a whole block must fit). */
function defaultBurst(rate: number): number {
  return Math.max(BLOCK_BYTES, Math.ceil((rate * RATE_LIMIT_BURST_MS) / 1000));
}
