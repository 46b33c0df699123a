/**
 * Per-source token buckets for incoming queries: each IP may burst `burst` queries and then
 * `ratePerSec` per second; a global bucket bounds the sum. The table of IPs is bounded by
 * `MAX_DHT_RATE_LIMIT_IPS` (least recently seen evicted) and `purge` drops entries whose bucket
 * has refilled, so an idle node keeps no per-IP state at all.
 */
import { MAX_DHT_RATE_LIMIT_IPS } from '../shared/limits.js';

interface TokenBucket {
  tokens: number;
  at: number;
}

/** Tunables of a rate limiter. */
export interface RateLimiterInit {
  readonly ratePerSec: number;
  readonly burst: number;
  readonly globalRatePerSec: number;
  readonly globalBurst: number;
  /** @default MAX_DHT_RATE_LIMIT_IPS */
  readonly maxSources?: number;
}

/** Answers "may this source be served now?" for incoming DHT queries. */
export class RateLimiter {
  readonly #init: RateLimiterInit;
  readonly #maxSources: number;
  readonly #sources = new Map<string, TokenBucket>();
  readonly #global: TokenBucket;

  constructor(init: RateLimiterInit, now: number) {
    this.#init = init;
    this.#maxSources = init.maxSources ?? MAX_DHT_RATE_LIMIT_IPS;
    this.#global = { tokens: init.globalBurst, at: now };
  }

  /** Sources currently tracked. */
  get size(): number {
    return this.#sources.size;
  }

  #refill(b: TokenBucket, rate: number, burst: number, now: number): void {
    if (now > b.at) {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) * rate) / 1000);
      b.at = now;
    }
  }

  /** Takes one token for `source` (and one global token); false when either bucket is empty. */
  allow(source: string, now: number): boolean {
    const { ratePerSec, burst, globalRatePerSec, globalBurst } = this.#init;
    let b = this.#sources.get(source);
    if (b === undefined) {
      if (this.#sources.size >= this.#maxSources) {
        this.#sources.delete(this.#sources.keys().next().value as string);
      }
      b = { tokens: burst, at: now };
    } else {
      this.#sources.delete(source); // re-inserted below: Map order is least recently seen first
      this.#refill(b, ratePerSec, burst, now);
    }
    this.#sources.set(source, b);
    this.#refill(this.#global, globalRatePerSec, globalBurst, now);
    if (b.tokens < 1 || this.#global.tokens < 1) return false;
    b.tokens -= 1;
    this.#global.tokens -= 1;
    return true;
  }

  /** Drops sources whose bucket is full again (they carry no information). */
  purge(now: number): void {
    const { ratePerSec, burst } = this.#init;
    for (const [k, b] of this.#sources) {
      this.#refill(b, ratePerSec, burst, now);
      if (b.tokens >= burst) this.#sources.delete(k);
    }
  }
}
