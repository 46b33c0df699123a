/**
 * LEDBAT congestion control of one connection (BEP 29 §congestion control).
 *
 * The peer echoes, in every packet's `timestamp_difference_microseconds`, how long our latest
 * packet took to reach it by its clock. That value is only meaningful against its own minimum:
 * the *base delay* is the smallest sample of the last {@link UTP_BASE_DELAY_WINDOW_MS} (kept as
 * one minimum per minute), and `our_delay = sample − base` is the queuing delay our traffic
 * causes. Each acknowledgement moves the window by
 * `gain · (target − our_delay) / target · acked_bytes / window` (at most {@link
 * UTP_GAIN_BYTES_PER_RTT} per round trip), so the window grows while queues stay under the target
 * ({@link UTP_TARGET_DELAY_MS}) and shrinks when they pass it. A loss halves the window (once per
 * window of packets; the caller decides), a timeout drops it to one packet. Before the first
 * delay rise or loss the window doubles per round trip (slow start, as libtorrent does).
 * The window never goes below one packet nor above the configured maximum. Times in ms, delays
 * in µs.
 */
import { UTP_BASE_DELAY_WINDOW_MS, UTP_GAIN_BYTES_PER_RTT, UTP_TARGET_DELAY_MS } from '../shared/limits.js';

const MINUTE_MS = 60_000;
const BUCKETS = Math.ceil(UTP_BASE_DELAY_WINDOW_MS / MINUTE_MS) + 1;
/** Recent samples whose minimum is the current delay (filters single noisy samples). */
const CUR_DELAY_SAMPLES = 3;
const NONE = -1;

/** Options of a {@link Ledbat} controller. */
export interface LedbatOptions {
  /** Window at start, in bytes. */
  readonly initialWindowBytes: number;
  /** Largest window, in bytes. */
  readonly maxWindowBytes: number;
  /** Target queuing delay, in ms. @default UTP_TARGET_DELAY_MS */
  readonly targetDelayMs?: number;
}

/** The congestion window of one connection. */
export class Ledbat {
  /** The congestion window (`max_window`), in bytes. */
  windowBytes: number;
  /** Doubling the window per round trip until the first delay rise, loss or timeout. */
  slowStart = true;
  /** Window at which slow start ends, in bytes. */
  slowStartThresholdBytes = Number.POSITIVE_INFINITY;
  readonly #maxWindow: number;
  readonly #targetUs: number;
  // One minimum per minute: the base delay is the minimum over the buckets.
  readonly #bucketMin = new Float64Array(BUCKETS).fill(NONE);
  #bucketMinute = -1;
  readonly #recent = new Float64Array(CUR_DELAY_SAMPLES).fill(NONE);
  #recentAt = 0;
  #baseUs = NONE;

  constructor(opts: LedbatOptions) {
    this.windowBytes = opts.initialWindowBytes;
    this.#maxWindow = opts.maxWindowBytes;
    this.#targetUs = (opts.targetDelayMs ?? UTP_TARGET_DELAY_MS) * 1000;
  }

  /** The base one-way delay, in µs modulo 2³² (-1 before the first sample). */
  get baseDelayUs(): number {
    return this.#baseUs;
  }

  /**
   * The current queuing delay, in µs: the smallest of the last few samples less the base delay
   * (0 before any sample).
   */
  get ourDelayUs(): number {
    if (this.#baseUs === NONE) return 0;
    let cur = Number.POSITIVE_INFINITY;
    for (let i = 0; i < CUR_DELAY_SAMPLES; i++) {
      const v = this.#recent[i]!;
      if (v === NONE) continue;
      const d = (v - this.#baseUs) >>> 0;
      // A sample "below" the base modulo 2³² is a new minimum not yet folded in: no queuing.
      const q = d >= 0x80000000 ? 0 : d;
      if (q < cur) cur = q;
    }
    return cur === Number.POSITIVE_INFINITY ? 0 : cur;
  }

  /** Feeds one `timestamp_difference_microseconds` from the peer (0 means "no sample yet"). */
  onDelaySample(sampleUs: number, nowMs: number): void {
    if (sampleUs === 0) return;
    const minute = Math.floor(nowMs / MINUTE_MS);
    if (minute !== this.#bucketMinute) {
      // Clear the buckets of the minutes that passed (all of them after a long silence).
      const steps = this.#bucketMinute < 0 ? BUCKETS : Math.min(BUCKETS, minute - this.#bucketMinute);
      for (let i = 1; i <= steps; i++)
        this.#bucketMin[(this.#bucketMinute + i + BUCKETS * 2) % BUCKETS] = NONE;
      this.#bucketMinute = minute;
      this.#recomputeBase();
    }
    const slot = minute % BUCKETS;
    const cur = this.#bucketMin[slot]!;
    if (cur === NONE || isBefore(sampleUs, cur)) this.#bucketMin[slot] = sampleUs;
    if (this.#baseUs === NONE || isBefore(sampleUs, this.#baseUs)) this.#baseUs = sampleUs;
    this.#recent[this.#recentAt] = sampleUs;
    this.#recentAt = (this.#recentAt + 1) % CUR_DELAY_SAMPLES;
  }

  #recomputeBase(): void {
    let base = NONE;
    for (let i = 0; i < BUCKETS; i++) {
      const v = this.#bucketMin[i]!;
      if (v !== NONE && (base === NONE || isBefore(v, base))) base = v;
    }
    this.#baseUs = base;
  }

  /**
   * Adjusts the window for `ackedBytes` newly acknowledged. `windowLimited` says whether the
   * sender was held back by the window (an application-limited sender does not grow it);
   * `minRttMs` bounds the queuing delay (a one-way delay cannot exceed the round trip).
   */
  onAck(ackedBytes: number, packetBytes: number, windowLimited: boolean, minRttMs: number): void {
    if (ackedBytes <= 0) return;
    let delayUs = this.ourDelayUs;
    const rttUs = minRttMs * 1000;
    if (Number.isFinite(rttUs) && delayUs > rttUs) delayUs = rttUs;
    const offTarget = (this.#targetUs - delayUs) / this.#targetUs;
    const gain = (UTP_GAIN_BYTES_PER_RTT * offTarget * ackedBytes) / this.windowBytes;
    if (this.slowStart) {
      if (delayUs > this.#targetUs / 2) {
        this.slowStart = false;
        this.slowStartThresholdBytes = this.windowBytes;
      } else if (windowLimited) {
        this.windowBytes += Math.max(ackedBytes, gain);
        if (this.windowBytes >= this.slowStartThresholdBytes) this.slowStart = false;
      }
    } else if (gain < 0 || windowLimited) {
      this.windowBytes += gain;
    }
    this.#clamp(packetBytes);
  }

  /** A packet was lost: halve the window (BEP 29: "multiplied by 0.5") and leave slow start. */
  onLoss(packetBytes: number): void {
    this.windowBytes /= 2;
    this.slowStart = false;
    this.slowStartThresholdBytes = this.windowBytes;
    this.#clamp(packetBytes);
  }

  /** A retransmission timeout: one packet, then slow start up to half the old window. */
  onTimeout(packetBytes: number): void {
    this.slowStartThresholdBytes = Math.max(packetBytes, this.windowBytes / 2);
    this.slowStart = true;
    this.windowBytes = packetBytes;
  }

  #clamp(packetBytes: number): void {
    if (this.windowBytes > this.#maxWindow) this.windowBytes = this.#maxWindow;
    if (this.windowBytes < packetBytes) this.windowBytes = packetBytes;
  }
}

/** `a` is earlier than `b` on a 32-bit µs clock that wraps. */
function isBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
