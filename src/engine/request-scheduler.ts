/**
 * The download side of one peer connection: which block requests are outstanding, how many may
 * be (the pipeline depth), and when they have waited too long.
 *
 * - **Depth** adapts to the measured download rate, like libtorrent's `request_queue_time`:
 *   enough requests to cover {@link REQUEST_QUEUE_TIME_MS} of transfer at the current rate,
 *   `depth ≈ rate × queueTime / 16 KiB`, clamped to `[MIN_REQUEST_QUEUE, min(reqq, MAX_REQUEST_QUEUE)]`
 *   where `reqq` is what the peer advertised in its BEP 10 handshake. Because the rate is
 *   measured over a short window divided by the meter's age, depth grows quickly from the
 *   minimum (a natural slow start).
 * - **Timeouts**: a request with no block from the peer for {@link REQUEST_TIMEOUT_MS} times out;
 *   the engine cancels it and returns the block to the picker so others may request it, and the
 *   peer's depth drops to 1 until it delivers again.
 * - **Snubbing**: no block for {@link SNUB_TIMEOUT_MS} while we wait for some → the peer is
 *   snubbed (depth 1, and the choker leaves it out of the tit-for-tat slots) until a block arrives.
 * - **Cancelled memory**: requests we cancelled or dropped (timeout, choke without BEP 6) are
 *   remembered for a while, so a block or a reject that crosses our cancel on the wire is not
 *   mistaken for an unrequested one. Asking for the block again keeps the memory: the peer may
 *   then answer twice (the cancelled request and the new one), and a reject that comes while
 *   both are open answers the cancelled one, which the peer saw first.
 *
 * Pure: time is passed in; the owner (the torrent engine) sends the messages.
 */
import { BLOCK_BYTES } from '../shared/limits.js';
import type { BlockRef } from './piece-layout.js';
import { RateMeter } from './rate.js';

/** Seconds-worth of transfer kept in flight per peer, in ms (libtorrent `request_queue_time`). @default 3000 */
export const REQUEST_QUEUE_TIME_MS = 3_000;
/** Smallest pipeline depth of a peer that is not snubbed. @default 2 */
export const MIN_REQUEST_QUEUE = 2;
/** Largest pipeline depth, whatever the peer's `reqq`. @default 500 */
export const MAX_REQUEST_QUEUE = 500;
/**
 * Depth assumed when the peer did not send a BEP 10 `reqq`. BEP 10 notes libtorrent's default
 * of 250. @default 250
 */
export const DEFAULT_PEER_REQQ = 250;
/** A request times out when the peer has delivered nothing for this long, in ms. @default 20000 */
export const REQUEST_TIMEOUT_MS = 20_000;
/** A peer that delivered nothing for this long while we waited is snubbed, in ms. @default 60000 */
export const SNUB_TIMEOUT_MS = 60_000;
/** Window of the rate measurement that sets the depth, in ms. @default 5000 */
export const REQUEST_RATE_WINDOW_MS = 5_000;
/** Cancelled/dropped requests remembered per peer to recognise late answers. @default 1024 */
export const CANCELLED_MEMORY = 1024;

/** Options of a {@link RequestScheduler}. */
export interface RequestSchedulerOptions {
  /** @default REQUEST_QUEUE_TIME_MS */
  readonly queueTimeMs?: number;
  /** @default MIN_REQUEST_QUEUE */
  readonly minQueue?: number;
  /** @default MAX_REQUEST_QUEUE */
  readonly maxQueue?: number;
  /** @default REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
  /** @default SNUB_TIMEOUT_MS */
  readonly snubTimeoutMs?: number;
}

/** A request on the wire. */
export interface OutstandingRequest extends BlockRef {
  /** When it was sent, ms. */
  readonly sentAt: number;
}

/** How an incoming block or reject matches our requests. */
export type RequestMatch =
  /** It answers an outstanding request (now removed). */
  | 'requested'
  /** It answers a request we cancelled or dropped recently. */
  | 'cancelled'
  /** We never asked for it. */
  | 'unrequested';

/** The outcome of {@link RequestScheduler.checkTimeouts}. */
export interface TimeoutResult {
  /** Requests that timed out (removed; cancel them and release them in the picker). */
  readonly timedOut: readonly OutstandingRequest[];
  /** True when the peer became snubbed on this check. */
  readonly becameSnubbed: boolean;
}

/** Numeric key of an aligned block (a piece has at most 2^14 blocks). */
function blockKey(piece: number, offset: number): number {
  return piece * 16_384 + offset / BLOCK_BYTES;
}

/** The key of a block from the wire, or undefined when it cannot be one we asked for. */
function validKey(block: BlockRef): number | undefined {
  const ok =
    Number.isInteger(block.piece) &&
    block.piece >= 0 &&
    block.offset >= 0 &&
    block.offset % BLOCK_BYTES === 0;
  return ok ? blockKey(block.piece, block.offset) : undefined;
}

/** The per-peer request pipeline; see the module notes. */
export class RequestScheduler {
  readonly #queueTimeMs: number;
  readonly #minQueue: number;
  readonly #maxQueue: number;
  readonly #timeoutMs: number;
  readonly #snubMs: number;
  #reqq = DEFAULT_PEER_REQQ;
  readonly #outstanding = new Map<number, OutstandingRequest>();
  readonly #cancelled = new Set<number>();
  #meter: RateMeter;
  /** Last time the peer delivered a block (or the connection start). */
  #lastBlockAt: number;
  /** Since when we have waited for a block without getting one (undefined: not waiting). */
  #idleSince: number | undefined;
  #timedOut = false;
  #snubbed = false;

  constructor(now: number, options: RequestSchedulerOptions = {}) {
    this.#queueTimeMs = options.queueTimeMs ?? REQUEST_QUEUE_TIME_MS;
    this.#minQueue = options.minQueue ?? MIN_REQUEST_QUEUE;
    this.#maxQueue = options.maxQueue ?? MAX_REQUEST_QUEUE;
    this.#timeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.#snubMs = options.snubTimeoutMs ?? SNUB_TIMEOUT_MS;
    this.#meter = new RateMeter(now, { windowMs: REQUEST_RATE_WINDOW_MS, bucketMs: 250 });
    this.#lastBlockAt = now;
  }

  /** The peer's BEP 10 `reqq` (most outstanding requests it accepts). */
  setPeerReqq(reqq: number): void {
    if (Number.isInteger(reqq) && reqq > 0) this.#reqq = reqq;
  }

  /** Number of requests on the wire. */
  get outstanding(): number {
    return this.#outstanding.size;
  }

  /** True after {@link SNUB_TIMEOUT_MS} without a block while we waited; cleared by a block. */
  get isSnubbed(): boolean {
    return this.#snubbed;
  }

  /** True after a request timed out, until the peer delivers a block again. */
  get isTimedOut(): boolean {
    return this.#timedOut;
  }

  /** The requests on the wire, oldest first. */
  requests(): IterableIterator<OutstandingRequest> {
    return this.#outstanding.values();
  }

  /** True when `block` is on the wire. */
  has(block: BlockRef): boolean {
    const key = validKey(block);
    const r = key === undefined ? undefined : this.#outstanding.get(key);
    return r !== undefined && r.length === block.length;
  }

  /** Download rate from this peer over the short window, bytes/s. */
  rate(now: number): number {
    return this.#meter.rate(now);
  }

  /** The pipeline depth wanted now. */
  targetDepth(now: number): number {
    if (this.#snubbed || this.#timedOut) return 1;
    const byRate = Math.ceil((this.#meter.rate(now) * this.#queueTimeMs) / 1000 / BLOCK_BYTES);
    const cap = Math.max(1, Math.min(this.#reqq, this.#maxQueue));
    return Math.max(Math.min(this.#minQueue, cap), Math.min(byRate, cap));
  }

  /** How many more requests may be sent now. */
  freeSlots(now: number): number {
    return Math.max(0, this.targetDepth(now) - this.#outstanding.size);
  }

  /** Records a request put on the wire. */
  onRequestSent(block: BlockRef, now: number): void {
    // A pipeline that was idle (e.g. choked for a while) starts its rate window afresh, so the
    // depth grows from the rate the peer really gives now, not averaged with idle time.
    if (this.#outstanding.size === 0 && this.#meter.rate(now) === 0) {
      this.#meter = new RateMeter(now, { windowMs: REQUEST_RATE_WINDOW_MS, bucketMs: 250 });
    }
    const key = blockKey(block.piece, block.offset);
    if (this.#outstanding.size === 0 && this.#idleSince === undefined) this.#idleSince = now;
    this.#outstanding.set(key, {
      piece: block.piece,
      offset: block.offset,
      length: block.length,
      sentAt: now,
    });
  }

  /** A block arrived; removes the matching request. Data of any match counts toward the rate. */
  onBlock(block: BlockRef, now: number): RequestMatch {
    const m = this.#match(block, 'requested');
    if (m === 'unrequested') return m;
    this.#meter.add(block.length, now);
    this.#lastBlockAt = now;
    this.#timedOut = false;
    this.#snubbed = false;
    this.#idleSince = this.#outstanding.size > 0 ? now : undefined;
    return m;
  }

  /** A BEP 6 reject arrived; removes the matching request. */
  onReject(block: BlockRef): RequestMatch {
    const m = this.#match(block, 'cancelled');
    if (this.#outstanding.size === 0) this.#idleSince = undefined;
    return m;
  }

  /** We cancel `block` (endgame, or the piece is no longer wanted). False when not outstanding. */
  cancel(block: BlockRef): boolean {
    const key = blockKey(block.piece, block.offset);
    if (!this.#outstanding.delete(key)) return false;
    this.#remember(key);
    if (this.#outstanding.size === 0) this.#idleSince = undefined;
    return true;
  }

  /**
   * Drops every outstanding request (a choke without BEP 6, or the connection closes) and
   * returns them; late blocks for them are still recognised as 'cancelled'.
   */
  dropAll(): OutstandingRequest[] {
    const all = [...this.#outstanding.values()];
    for (const key of this.#outstanding.keys()) this.#remember(key);
    this.#outstanding.clear();
    this.#idleSince = undefined;
    return all;
  }

  /**
   * Times out requests the peer left unanswered for the request timeout (counted from the later
   * of the request and the peer's last block) and detects snubbing.
   */
  checkTimeouts(now: number): TimeoutResult {
    const timedOut: OutstandingRequest[] = [];
    for (const [key, r] of this.#outstanding) {
      if (Math.max(r.sentAt, this.#lastBlockAt) + this.#timeoutMs > now) continue;
      timedOut.push(r);
      this.#outstanding.delete(key);
      this.#remember(key);
    }
    if (timedOut.length > 0) this.#timedOut = true;
    let becameSnubbed = false;
    if (!this.#snubbed && this.#idleSince !== undefined && now - this.#idleSince >= this.#snubMs) {
      this.#snubbed = true;
      becameSnubbed = true;
    }
    // A timed-out peer with nothing on the wire is still waited for (snub detection goes on).
    return { timedOut, becameSnubbed };
  }

  /** The next time {@link checkTimeouts} has something to do, ms; undefined when idle. */
  nextDeadline(): number | undefined {
    let at: number | undefined;
    const first = this.#outstanding.values().next();
    if (!first.done) at = Math.max(first.value.sentAt, this.#lastBlockAt) + this.#timeoutMs;
    if (!this.#snubbed && this.#idleSince !== undefined) {
      const snubAt = this.#idleSince + this.#snubMs;
      at = at === undefined ? snubAt : Math.min(at, snubAt);
    }
    return at;
  }

  /**
   * Matches an answer and removes what it answers. When the block is both outstanding and
   * recently cancelled (asked again after a cancel), `first` says which of the two it answers:
   * a block is taken as the new request's (its bytes are the same either way, and a second copy
   * then matches the cancelled one), a reject as the cancelled request's (the peer answered it
   * before it saw the new one).
   */
  #match(block: BlockRef, first: 'requested' | 'cancelled'): RequestMatch {
    const key = validKey(block);
    if (key === undefined) return 'unrequested';
    const r = this.#outstanding.get(key);
    const requested = r !== undefined && r.length === block.length;
    const cancelled = this.#cancelled.has(key);
    if (cancelled && (first === 'cancelled' || !requested)) {
      this.#cancelled.delete(key);
      return 'cancelled';
    }
    if (requested) {
      this.#outstanding.delete(key);
      return 'requested';
    }
    return 'unrequested';
  }

  #remember(key: number): void {
    this.#cancelled.delete(key);
    this.#cancelled.add(key);
    if (this.#cancelled.size > CANCELLED_MEMORY) {
      const oldest = this.#cancelled.values().next();
      if (!oldest.done) this.#cancelled.delete(oldest.value);
    }
  }
}
