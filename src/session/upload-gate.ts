/**
 * An upload limit (the session's, or one torrent's) as a first-come, first-served queue.
 *
 * Every block a torrent sends waits here for its tokens. Blocks are granted in the order they
 * asked, within their bandwidth priority (a `high` torrent's blocks go before `normal` ones, which
 * go before `low` ones): a block that found the bucket empty is not overtaken by blocks of its
 * priority that ask later. (Polling
 * the bucket instead, each waiter on its own timer, lets a fresh waiter win against older
 * ones, whose timers were set when fewer tokens were due: a peer with a deep request pipeline
 * then starves one that asked for a single block, for as long as the pipeline stays full.)
 */
import type { TokenBucket } from '../engine/index.js';

/** What the gate uses of a token bucket. */
export type Bucket = Pick<TokenBucket, 'tryTake' | 'waitMs'>;

/** Bandwidth priority of a torrent under a shared limit (Transmission's low / normal / high). */
export type BandwidthPriority = 'low' | 'normal' | 'high';
const LEVELS: readonly BandwidthPriority[] = ['high', 'normal', 'low'];

interface Waiter {
  readonly bytes: number;
  /** True when the block is no longer wanted (its torrent closed): skipped, no tokens taken. */
  readonly cancelled: () => boolean;
  readonly resolve: () => void;
}

/** Waiters of one priority in arrival order; `head` is the first not yet granted. */
class Fifo {
  items: (Waiter | undefined)[] = [];
  head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  shift(): void {
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
  }
}

export class UploadGate {
  readonly #bucket: Bucket;
  readonly #now: () => number;
  readonly #queues = new Map<BandwidthPriority, Fifo>(LEVELS.map((l) => [l, new Fifo()]));
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(bucket: Bucket, now: () => number) {
    this.#bucket = bucket;
    this.#now = now;
  }

  /** Blocks waiting for tokens. */
  get waiting(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.size;
    return n;
  }

  /**
   * Takes `bytes` tokens: undefined when granted at once (nobody waits and the bucket has them),
   * else a promise that resolves once they are granted in turn — or, without tokens, when
   * `cancelled()` turned true or the gate closed (the caller checks its own state after).
   */
  acquire(
    bytes: number,
    cancelled: () => boolean,
    priority: BandwidthPriority = 'normal',
  ): Promise<void> | undefined {
    if (this.#closed) return undefined;
    if (this.waiting === 0 && this.#bucket.tryTake(bytes, this.#now())) return undefined;
    return new Promise<void>((resolve) => {
      this.#queues.get(priority)!.items.push({ bytes, cancelled, resolve });
      if (this.#timer === undefined) this.#drain();
    });
  }

  /** The rate changed: grant what the new rate allows now. */
  kick(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#drain();
  }

  /** Releases every waiter (without tokens) and stops the timer. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const q of this.#queues.values()) {
      const rest = q.items.slice(q.head);
      q.items = [];
      q.head = 0;
      for (const w of rest) w?.resolve();
    }
  }

  /** The first waiter of the highest priority that has one. */
  #next(): { q: Fifo; w: Waiter } | undefined {
    for (const l of LEVELS) {
      const q = this.#queues.get(l)!;
      if (q.size > 0) return { q, w: q.items[q.head]! };
    }
    return undefined;
  }

  #drain(): void {
    const now = this.#now();
    for (let next = this.#next(); next !== undefined; next = this.#next()) {
      const { q, w } = next;
      if (!w.cancelled()) {
        if (!this.#bucket.tryTake(w.bytes, now)) {
          const wait = Math.max(1, this.#bucket.waitMs(w.bytes, now));
          this.#timer = setTimeout(() => {
            this.#timer = undefined;
            this.#drain();
          }, wait);
          return;
        }
      }
      q.shift();
      w.resolve();
    }
  }
}
