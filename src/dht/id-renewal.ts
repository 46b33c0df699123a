/**
 * When to give the node a new id after our external address changed (BEP 42: a node's id is tied
 * to its address, and nodes that enforce it ignore our announces while it does not conform).
 * A new id means a new routing table (every contact re-sorted around it) and a new bootstrap, so
 * the change is bounded: at most one per {@link DHT_ID_RENEW_MIN_MS}, so an address that flaps
 * cannot churn the table; and it waits for the user's lookups to end (they run against the old
 * table), at most {@link DHT_ID_RENEW_MAX_WAIT_MS}. Pure: the time is passed in.
 */
import { DHT_ID_RENEW_MAX_WAIT_MS, DHT_ID_RENEW_MIN_MS } from '../shared/limits.js';

/** Bounds of a {@link NodeIdRenewal}, in ms. */
export interface NodeIdRenewalBounds {
  /** @default DHT_ID_RENEW_MIN_MS */
  readonly minIntervalMs?: number;
  /** @default DHT_ID_RENEW_MAX_WAIT_MS */
  readonly maxWaitMs?: number;
}

/** How often a busy node is checked again while a renewal waits for its lookups, in ms. */
const BUSY_RECHECK_MS = 1000;

/** Decides when a wanted node-id change happens (see the module docs). */
export class NodeIdRenewal {
  readonly #minIntervalMs: number;
  readonly #maxWaitMs: number;
  #last = Number.NEGATIVE_INFINITY;
  #wantedSince: number | undefined;

  constructor(bounds: NodeIdRenewalBounds = {}) {
    this.#minIntervalMs = bounds.minIntervalMs ?? DHT_ID_RENEW_MIN_MS;
    this.#maxWaitMs = bounds.maxWaitMs ?? DHT_ID_RENEW_MAX_WAIT_MS;
  }

  /** True while a change is wanted and not yet made. */
  get pending(): boolean {
    return this.#wantedSince !== undefined;
  }

  /** Our address changed at `now` and the id no longer conforms: a change is wanted. */
  want(now: number): void {
    this.#wantedSince ??= now;
  }

  /** The id conforms again (the address came back): nothing is wanted any more. */
  cancel(): void {
    this.#wantedSince = undefined;
  }

  /**
   * 0 when the id should change now; else ms to wait before asking again; undefined when no
   * change is wanted. `busy`: user lookups are running.
   */
  due(now: number, busy: boolean): number | undefined {
    if (this.#wantedSince === undefined) return undefined;
    const earliest = Math.max(this.#wantedSince, this.#last + this.#minIntervalMs);
    if (now < earliest) return earliest - now;
    if (!busy) return 0;
    const deadline = earliest + this.#maxWaitMs;
    return now >= deadline ? 0 : Math.min(BUSY_RECHECK_MS, deadline - now);
  }

  /** The id was changed at `now`. */
  renewed(now: number): void {
    this.#last = now;
    this.#wantedSince = undefined;
  }
}
