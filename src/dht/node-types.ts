/**
 * The public contract of a {@link DhtNode}: what it is given (`DhtNodeDeps`, `DhtNodeInit`) and
 * what it hands back (`DhtAction`s to perform, `DhtEvent`s to report, `DhtStats`).
 */
import type { Hasher } from '../shared/hash.js';
import type { Address, AddressFamily } from './address.js';
import type { DhtItem } from './item.js';
import type { ItemStoreInit } from './item-store.js';
import type { NodeContact } from './krpc.js';
import type { LookupKind } from './lookup.js';
import type { Random } from './random.js';

/** Injected dependencies of a node. */
export interface DhtNodeDeps {
  /** Randomness (node id, transaction ids, token secrets, samples). */
  readonly random: Random;
  /** SHA-1 for tokens. @default nodeHasher */
  readonly hasher?: Hasher;
}

/** Options of a node; every field is optional. */
export interface DhtNodeInit {
  /** Our node id (20 bytes). @default from `savedState`, else generated (BEP 42 when `externalIp` is known) */
  readonly id?: Uint8Array;
  /** Which DHT this node serves (BEP 32). @default 4 */
  readonly family?: AddressFamily;
  /** Our external IP, when known: the generated id conforms to BEP 42 for it. */
  readonly externalIp?: string;
  /** BEP 43 read-only: send `ro=1`, answer no queries. @default false */
  readonly readOnly?: boolean;
  /** A routing table saved by {@link DhtNode.saveState}; a corrupt one throws `DhtBadState`. */
  readonly savedState?: Uint8Array;
  /**
   * BEP 42: `prefer` keeps conforming nodes over others in full buckets; `enforce` also ignores
   * non-conforming nodes for lookup termination and announces. @default 'prefer'
   */
  readonly nodeIdPolicy?: 'prefer' | 'enforce';
  /** Bucket size. @default DHT_K (8) */
  readonly k?: number;
  /** Parallel queries per lookup. @default DHT_ALPHA (3) */
  readonly alpha?: number;
  /** A query unanswered this long has failed, in ms. @default DHT_QUERY_TIMEOUT_MS */
  readonly queryTimeoutMs?: number;
  /** A lookup query unanswered this long frees its slot, in ms. @default DHT_QUERY_STALL_MS */
  readonly queryStallMs?: number;
  /** Table maintenance period, in ms. @default DHT_MAINTENANCE_INTERVAL_MS */
  readonly maintenanceIntervalMs?: number;
  /** Incoming queries per second per source IP. @default DHT_RATE_PER_IP */
  readonly ratePerIp?: number;
  /** Burst of incoming queries per source IP. @default DHT_BURST_PER_IP */
  readonly burstPerIp?: number;
  /** Incoming queries per second over all sources. @default DHT_RATE_GLOBAL */
  readonly rateGlobal?: number;
  /** Burst of incoming queries over all sources. @default DHT_BURST_GLOBAL */
  readonly burstGlobal?: number;
  /** Most lookups at once. @default MAX_DHT_LOOKUPS */
  readonly maxLookups?: number;
  /** Our `v` (client version), or `null` to send none. @default DHT_CLIENT_VERSION */
  readonly version?: Uint8Array | null;
  /** Bounds of the BEP 44 item store (sizes, expiry, put rates). @default see ItemStoreInit */
  readonly items?: ItemStoreInit;
}

/** A datagram for the driver to send. */
export interface DhtSendAction {
  readonly type: 'send';
  readonly to: Address;
  readonly bytes: Uint8Array;
}

/** Everything a node asks its driver to do. */
export type DhtAction = DhtSendAction;

/** Why a lookup runs. */
export type LookupPurpose = 'user' | 'bootstrap' | 'refresh';

/** New peers found by a `get_peers` or announce lookup. */
export interface DhtPeersFoundEvent {
  readonly type: 'lookup:peers-found';
  readonly lookupId: number;
  readonly infoHash: Uint8Array;
  readonly peers: readonly Address[];
}

/** A lookup ended (converged, exhausted, or hit its query bound). */
export interface DhtLookupFinishedEvent {
  readonly type: 'lookup:finished';
  readonly lookupId: number;
  readonly kind: LookupKind;
  readonly purpose: LookupPurpose;
  readonly target: Uint8Array;
  /** Distinct peers found. */
  readonly peersFound: number;
  /** Queries sent (the cost of the lookup). */
  readonly queries: number;
  readonly responses: number;
  /** Nodes that acknowledged our `announce_peer` (announce lookups) or `put` (put lookups). */
  readonly announcedTo: number;
  /**
   * BEP 44 `get`/`put` lookups: the best item the nodes returned that hashes to the target and,
   * for a mutable item, whose signature verifies (the highest seq).
   */
  readonly item?: DhtItem;
  /** BEP 44 put lookups: the nodes that refused the `put`, by reason. */
  readonly putRefusals?: DhtPutRefusals;
  /** The k closest nodes that answered, closest first. */
  readonly closest: readonly NodeContact[];
}

/** Why nodes refused a BEP 44 `put`, counted. */
export interface DhtPutRefusals {
  /** Error 301: the `cas` did not match their seq (another writer was first). */
  readonly casMismatch: number;
  /** Error 302: they hold a newer (or same-seq, different) item. */
  readonly seqTooLow: number;
  /** Any other error (bad token, rate limit, store full, …). */
  readonly other: number;
}

/**
 * A put lookup without an item ended its search: `current` is the best item found (absent when
 * none). The driver answers with `completePut(lookupId, item, now, cas)` or `cancel(lookupId)`.
 */
export interface DhtPutReadyEvent {
  readonly type: 'put:ready';
  readonly lookupId: number;
  readonly target: Uint8Array;
  readonly current?: DhtItem;
}

/** A `ping` finished. */
export interface DhtPingFinishedEvent {
  readonly type: 'ping:finished';
  readonly pingId: number;
  readonly to: Address;
  readonly ok: boolean;
  /** The node's id, when it answered. */
  readonly id?: Uint8Array;
  readonly rttMs: number;
}

/**
 * Enough nodes (BEP 42 `ip` votes) agree on our external IP, and it differs from what we knew.
 * When `idConforms` is false the driver should restart the node with `externalIp: host`.
 */
export interface DhtExternalAddressEvent {
  readonly type: 'external-address:changed';
  readonly host: string;
  readonly idConforms: boolean;
}

/** Everything a node reports. */
export type DhtEvent =
  | DhtPeersFoundEvent
  | DhtLookupFinishedEvent
  | DhtPutReadyEvent
  | DhtPingFinishedEvent
  | DhtExternalAddressEvent;

/** Counters and sizes of a node. */
export interface DhtStats {
  readonly nodes: number;
  readonly goodNodes: number;
  readonly replacementNodes: number;
  readonly buckets: number;
  readonly lookupsActive: number;
  readonly lookupsDone: number;
  readonly queriesIn: number;
  readonly queriesOut: number;
  readonly responsesIn: number;
  readonly errorsIn: number;
  readonly errorsOut: number;
  readonly timeouts: number;
  readonly rateLimited: number;
  readonly malformed: number;
  readonly unexpected: number;
  readonly pendingQueries: number;
  readonly storedPeers: number;
  readonly storedInfoHashes: number;
  readonly rateLimitSources: number;
  readonly eventsDropped: number;
  readonly sendsDropped: number;
  /** BEP 44 items held for others, and the bytes they are charged for. */
  readonly storedItems: number;
  readonly storedItemBytes: number;
  /** BEP 44 puts refused by our item store (any reason). */
  readonly itemPutsRefused: number;
  /** Items in `get` answers that did not hash to the target or whose signature failed. */
  readonly forgedItems: number;
}

/** The event counters of a node (the counting part of {@link DhtStats}). */
export type DhtCounters = {
  -readonly [K in
    | 'queriesIn'
    | 'queriesOut'
    | 'responsesIn'
    | 'errorsIn'
    | 'errorsOut'
    | 'timeouts'
    | 'rateLimited'
    | 'malformed'
    | 'unexpected'
    | 'eventsDropped'
    | 'sendsDropped']: number;
};

/** Every counter at zero. */
export function newDhtCounters(): DhtCounters {
  return {
    queriesIn: 0,
    queriesOut: 0,
    responsesIn: 0,
    errorsIn: 0,
    errorsOut: 0,
    timeouts: 0,
    rateLimited: 0,
    malformed: 0,
    unexpected: 0,
    eventsDropped: 0,
    sendsDropped: 0,
  };
}
