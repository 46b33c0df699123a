/**
 * A virtual clock for simulations: a priority queue of callbacks by time. Nothing waits on real
 * time; `runUntil` jumps from one event to the next, so an hour of DHT traffic runs in seconds.
 */
import { MinHeap } from '../dht/min-heap.js';

interface ClockEvent {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A discrete-event clock. Time is in ms and starts at `start`. */
export class FakeClock {
  #now: number;
  #seq = 0;
  readonly #queue = new MinHeap<ClockEvent>();

  constructor(start = 0) {
    this.#now = start;
  }

  /** The current virtual time (ms). */
  get now(): number {
    return this.#now;
  }

  /** Events waiting to run. */
  get pending(): number {
    return this.#queue.size;
  }

  /** Runs `fn` at time `at` (or now, if `at` is in the past). Same-time events run in order. */
  schedule(at: number, fn: () => void): void {
    this.#queue.push({ at: Math.max(at, this.#now), seq: ++this.#seq, fn });
  }

  /** Runs `fn` after `ms`. */
  after(ms: number, fn: () => void): void {
    this.schedule(this.#now + ms, fn);
  }

  /** Runs the next event; false when none is left. */
  step(): boolean {
    const e = this.#queue.pop();
    if (e === undefined) return false;
    this.#now = e.at;
    e.fn();
    return true;
  }

  /** Runs every event up to and including time `t`, then sets the clock to `t`. */
  runUntil(t: number): void {
    for (let e = this.#queue.peek(); e !== undefined && e.at <= t; e = this.#queue.peek()) this.step();
    this.#now = Math.max(this.#now, t);
  }

  /** Runs for `ms` of virtual time. */
  runFor(ms: number): void {
    this.runUntil(this.#now + ms);
  }

  /**
   * Runs events until `done()` holds, the queue is empty, or the next event is later than
   * `limit`; returns `done()`.
   */
  runUntilDone(done: () => boolean, limit: number): boolean {
    while (!done()) {
      const e = this.#queue.peek();
      if (e === undefined || e.at > limit) return false;
      this.step();
    }
    return true;
  }
}
