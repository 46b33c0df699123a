/**
 * The session's upload limit as a first-come, first-served queue.
 *
 * Every block a torrent sends waits here for its tokens. Blocks are granted in the order they
 * asked: a block that found the bucket empty is not overtaken by blocks that ask later. (Polling
 * the bucket instead, each waiter on its own timer, lets a fresh waiter win against older
 * ones, whose timers were set when fewer tokens were due: a peer with a deep request pipeline
 * then starves one that asked for a single block, for as long as the pipeline stays full.)
 */
import type { TokenBucket } from '../engine/index.js';

/** What the gate uses of a token bucket. */
export type Bucket = Pick<TokenBucket, 'tryTake' | 'waitMs'>;

interface Waiter {
  readonly bytes: number;
  /** True when the block is no longer wanted (its torrent closed): skipped, no tokens taken. */
  readonly cancelled: () => boolean;
  readonly resolve: () => void;
}

export class UploadGate {
  readonly #bucket: Bucket;
  readonly #now: () => number;
  /** Waiters in arrival order; `#head` is the first not yet granted. */
  #queue: (Waiter | undefined)[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(bucket: Bucket, now: () => number) {
    this.#bucket = bucket;
    this.#now = now;
  }

  /** Blocks waiting for tokens. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Takes `bytes` tokens: undefined when granted at once (nobody waits and the bucket has them),
   * else a promise that resolves once they are granted in turn — or, without tokens, when
   * `cancelled()` turned true or the gate closed (the caller checks its own state after).
   */
  acquire(bytes: number, cancelled: () => boolean): Promise<void> | undefined {
    if (this.#closed) return undefined;
    if (this.waiting === 0 && this.#bucket.tryTake(bytes, this.#now())) return undefined;
    return new Promise<void>((resolve) => {
      this.#queue.push({ bytes, cancelled, resolve });
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
    const rest = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    for (const w of rest) w?.resolve();
  }

  #drain(): void {
    const now = this.#now();
    while (this.#head < this.#queue.length) {
      const w = this.#queue[this.#head]!;
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
      this.#queue[this.#head++] = undefined;
      w.resolve();
      if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    }
    this.#queue = [];
    this.#head = 0;
  }
}
