/**
 * The periodic upkeep of a DHT node (part of {@link DhtNode}, sans I/O): every maintenance
 * interval it rotates the token secret, purges the rate limiter, and once a minute the peer and
 * item stores; probes the table entries due for a check (a confirmed node with `ping`, one never
 * confirmed with a `find_node` for our own id, which also tells us about our neighbourhood);
 * bootstraps again while the table holds fewer than k nodes (at most once a minute, from the
 * remembered bootstrap addresses); and otherwise refreshes one stale bucket with a lookup for a
 * random id inside it (one refresh lookup at a time).
 *
 * It also keeps the bootstrap addresses (at most MAX_DHT_BOOTSTRAP_NODES, the newest kept),
 * which seed a lookup whenever the table is short of nodes.
 */
import { MAX_DHT_BOOTSTRAP_NODES } from '../shared/limits.js';
import { binaryToBytes } from './address.js';
import { DHT_BUCKET_REFRESH_MS, DHT_MAINTENANCE_PINGS } from './constants.js';
import type { ItemStore } from './item-store.js';
import type { KrpcQueryArgs } from './krpc.js';
import type { LookupKind } from './lookup.js';
import type { LookupHost, LookupRunner } from './lookup-runner.js';
import { randomIdWithPrefix } from './node-id.js';
import type { LookupPurpose } from './node-types.js';
import type { PeerStore } from './peer-store.js';
import type { Random } from './random.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RoutingTable } from './routing-table.js';
import type { TokenStore } from './token-store.js';

/** Least time between two bootstraps started by maintenance (the table short of nodes). */
export const REBOOTSTRAP_MS = 60_000;
/** Time between two purges of expired peers and items. */
export const PEER_PURGE_MS = 60_000;

/** The arguments of a `ping` query (shared: they never change). */
export const PING: KrpcQueryArgs = { method: 'ping' };

/** What maintenance works on: the node's parts, and its way to send a query or start a lookup. */
export interface MaintenanceHost {
  readonly ownId: Uint8Array;
  readonly k: number;
  readonly random: Random;
  readonly table: RoutingTable;
  readonly tokens: TokenStore;
  readonly limiter: RateLimiter;
  readonly peers: PeerStore;
  readonly items: ItemStore;
  readonly lookups: LookupRunner;
  /** Sends a query (as the lookups do). */
  query: LookupHost['query'];
  start(
    kind: LookupKind,
    target: Uint8Array,
    purpose: LookupPurpose,
    now: number,
    seedBootstrap: boolean,
  ): number;
}

/** See the module notes. */
export class TableMaintenance {
  readonly #host: MaintenanceHost;
  readonly #intervalMs: number;
  #bootstrapAddrs: string[] = [];
  #nextRound: number;
  #nextPeerPurge: number;
  #lastBootstrap = Number.NEGATIVE_INFINITY;
  #refreshLookup: number | undefined;

  constructor(host: MaintenanceHost, intervalMs: number, now: number) {
    this.#host = host;
    this.#intervalMs = intervalMs;
    this.#nextRound = now + intervalMs;
    this.#nextPeerPurge = now + PEER_PURGE_MS;
  }

  /** When the next round is due (ms). */
  get nextRound(): number {
    return this.#nextRound;
  }

  /** The remembered bootstrap addresses (address keys), oldest first. */
  get bootstrapAddrs(): readonly string[] {
    return this.#bootstrapAddrs;
  }

  /** Remembers bootstrap addresses (keys of our family) and notes that a bootstrap starts now. */
  addBootstrap(keys: readonly string[], now: number): void {
    for (const key of keys) if (!this.#bootstrapAddrs.includes(key)) this.#bootstrapAddrs.push(key);
    if (this.#bootstrapAddrs.length > MAX_DHT_BOOTSTRAP_NODES) {
      this.#bootstrapAddrs = this.#bootstrapAddrs.slice(-MAX_DHT_BOOTSTRAP_NODES);
    }
    this.#lastBootstrap = now;
  }

  /** A lookup was cancelled: if it was the refresh, another may start. */
  onCancel(lookupId: number): void {
    if (lookupId === this.#refreshLookup) this.#refreshLookup = undefined;
  }

  /** Runs a round if one is due at `now`. */
  tick(now: number): void {
    if (now < this.#nextRound) return;
    this.#nextRound = now + this.#intervalMs;
    this.#round(now);
  }

  #round(now: number): void {
    const h = this.#host;
    h.tokens.rotate(now);
    h.limiter.purge(now);
    if (now >= this.#nextPeerPurge) {
      this.#nextPeerPurge = now + PEER_PURGE_MS;
      h.peers.purge(now);
      h.items.purge(now);
    }
    for (const e of h.table.dueForPing(now, DHT_MAINTENANCE_PINGS)) {
      // A node that never answered is probed with a find_node for our own id (as libtorrent
      // does): the answer confirms it and tells us about more of our neighbourhood.
      const q: KrpcQueryArgs = e.confirmed ? PING : { method: 'find_node', target: h.ownId };
      h.query(e.addr, q, now, 'maintenance', e.id, -1);
    }
    if (h.lookups.size >= h.lookups.maxLookups) return;
    if (
      h.table.size < h.k &&
      this.#bootstrapAddrs.length > 0 &&
      now - this.#lastBootstrap >= REBOOTSTRAP_MS
    ) {
      this.#lastBootstrap = now;
      h.start('find_node', h.ownId, 'bootstrap', now, true);
      return;
    }
    if (this.#refreshLookup !== undefined && h.lookups.has(this.#refreshLookup)) return;
    const idx = h.table.dueForRefresh(now, DHT_BUCKET_REFRESH_MS);
    if (idx === undefined) return;
    const exact = idx < h.table.bucketCount - 1;
    const target = binaryToBytes(randomIdWithPrefix(h.table.ownKey, idx, h.random, exact));
    this.#refreshLookup = h.start('find_node', target, 'refresh', now, false);
  }
}
