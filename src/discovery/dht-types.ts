/**
 * The public contract of a {@link DhtRuntime} (src/discovery/dht-runtime.ts): its options, the
 * results of its operations, its statistics, its events, and the timing defaults it uses.
 */
import type { BencodeValue, Encodable } from '../codec/index.js';
import type {
  Address,
  AddressFamily,
  DhtItem,
  DhtNodeInit,
  DhtPutRefusals,
  DhtStats,
  Ed25519KeyPair,
  NodeIdRenewalBounds,
  Random,
} from '../dht/index.js';
import type { SharedUdpSocket } from '../net/udp-socket.js';
import type { Hasher } from '../shared/hash.js';
import type { DhtEndpoint, DhtResolver } from './dht-bootstrap.js';

/** The BEP 44 item types the runtime's `get` and `put` speak, for users of this layer. */
export type {
  DhtItem,
  DhtPutRefusals,
  Ed25519KeyPair,
  ImmutableItem,
  MutableItem,
} from '../dht/index.js';

/** How often the routing table is written to the state file while running, in ms. */
export const DHT_STATE_SAVE_INTERVAL_MS = 5 * 60_000;
/** Socket send failures are reported at most this often per family (the rest are counted), in ms. */
export const DHT_SEND_ERROR_REPORT_MS = 10_000;
/**
 * First delay before joining again when a bootstrap left fewer than k nodes in the table (a
 * router that only knows fresh, unconfirmed nodes answers with few), in ms; it doubles on each
 * try up to {@link DHT_REBOOTSTRAP_MAX_MS} and resets once the table holds k nodes.
 */
export const DHT_REBOOTSTRAP_FIRST_MS = 2_000;
/** Longest delay between two bootstrap retries, in ms. */
export const DHT_REBOOTSTRAP_MAX_MS = 5 * 60_000;

/** The node tunables a runtime passes through to each `DhtNode` (see `DhtNodeInit`). */
export type DhtRuntimeNodeOptions = Pick<
  DhtNodeInit,
  | 'id'
  | 'externalIp'
  | 'readOnly'
  | 'nodeIdPolicy'
  | 'k'
  | 'alpha'
  | 'queryTimeoutMs'
  | 'queryStallMs'
  | 'maintenanceIntervalMs'
  | 'ratePerIp'
  | 'burstPerIp'
  | 'rateGlobal'
  | 'burstGlobal'
  | 'maxLookups'
  | 'version'
  | 'items'
>;

/** Options of a {@link DhtRuntime}; every field is optional. */
export interface DhtRuntimeOptions {
  /** UDP port of both sockets; 0 picks a free port (IPv6 then tries the same one). @default 0 */
  readonly port?: number;
  /** Local address of the IPv4 socket. @default '0.0.0.0' */
  readonly host?: string;
  /**
   * A bound UDP socket shared with uTP and UDP trackers (the session's): the IPv4 DHT runs on it
   * (it gets the KRPC datagrams) instead of binding its own, `port` is its port, and the runtime
   * leaves it open at close.
   */
  readonly socket4?: SharedUdpSocket;
  /**
   * Local address of the IPv6 socket (BEP 32), or `false` for no IPv6 DHT.
   * @default '::' when `host` is '0.0.0.0', else false
   */
  readonly host6?: string | false;
  /**
   * Nodes to join through: names are resolved with DNS, IP literals used as they are. Tests
   * always pass local nodes; `[]` joins only through the saved routing table.
   * @default DHT_DEFAULT_BOOTSTRAP (the public routers)
   */
  readonly bootstrap?: readonly DhtEndpoint[];
  /** The state file (saved routing tables), read on start, written on close and periodically. */
  readonly statePath?: string;
  /** Period of the state saves while running, in ms. @default DHT_STATE_SAVE_INTERVAL_MS */
  readonly saveIntervalMs?: number;
  /** First bootstrap retry delay while the table is small, in ms. @default DHT_REBOOTSTRAP_FIRST_MS */
  readonly rebootstrapMs?: number;
  /**
   * How often the node id may follow our external address (BEP 42), per family.
   * @default DHT_ID_RENEW_MIN_MS apart, waiting at most DHT_ID_RENEW_MAX_WAIT_MS for lookups
   */
  readonly idRenewal?: NodeIdRenewalBounds;
  /** Node tunables (ids, rate limits, timeouts), the same for both families. */
  readonly node?: DhtRuntimeNodeOptions;
  /** Randomness for the nodes. @default cryptoRandom */
  readonly random?: Random;
  /** SHA-1 for tokens. @default nodeHasher */
  readonly hasher?: Hasher;
  /** Host name resolution for the bootstrap list and `ping`. @default defaultDhtResolver */
  readonly resolve?: DhtResolver;
}

/** Progress of a `get_peers` lookup ({@link DhtRuntime.getPeers}), per address family. */
export type DhtLookupProgress =
  | {
      /** New peers (never repeated within one lookup). */
      readonly type: 'peers';
      readonly family: AddressFamily;
      readonly peers: readonly Address[];
    }
  | {
      /** This family's lookup ended; the iteration ends after the last family's. */
      readonly type: 'finished';
      readonly family: AddressFamily;
      readonly peersFound: number;
      /** Queries sent: the lookup's cost. */
      readonly queries: number;
      readonly responses: number;
    };

/** What {@link DhtRuntime.announce} achieved, summed over the families. */
export interface DhtAnnounceResult {
  /** Nodes that acknowledged our `announce_peer`. */
  readonly announcedTo: number;
  /** Peers the lookup found on the way (bounded by `MAX_DHT_LOOKUP_PEERS` per family). */
  readonly peers: readonly Address[];
  readonly queries: number;
}

/**
 * What {@link DhtRuntime.get} looks up (BEP 44): an immutable item by its 20-byte target (SHA-1 of
 * its bencoded value), or a mutable item by its publisher's 32-byte public key and optional salt
 * (at most 64 bytes; what a BEP 46 magnet link names).
 */
export type DhtGetTarget = Uint8Array | { readonly publicKey: Uint8Array; readonly salt?: Uint8Array };

/** An item {@link DhtRuntime.get} found: verified against its target and, if mutable, its key. */
export interface DhtGetResult {
  /** The 20-byte target it is stored under. */
  readonly target: Uint8Array;
  /** The item as the nodes returned it (value bytes, and key, salt, seq, signature if mutable): put it again to keep it alive. */
  readonly item: DhtItem;
  /** The value, decoded. */
  readonly value: BencodeValue;
  /** Queries sent: the lookup's cost. */
  readonly queries: number;
  readonly responses: number;
}

/** The current item a read-modify-write put builds on. */
export interface DhtItemCurrent {
  readonly value: BencodeValue;
  /** The value's bencoded bytes. */
  readonly encoded: Uint8Array;
  readonly seq: bigint;
}

/**
 * What {@link DhtRuntime.put} stores (BEP 44), one of:
 * - `{ value }`: an immutable item (stored under SHA-1 of the bencoded value);
 * - `{ keyPair, salt?, value, seq, cas? }`: a mutable item signed with `keyPair` at `seq`
 *   (`cas`: the seq it replaces; nodes holding a different seq refuse it with 301);
 * - `{ keyPair, salt?, update }`: read-modify-write: the current item is looked up, `update`
 *   computes the next value from it (undefined when there is none) and it is put as seq + 1 with
 *   `cas` = the current seq (seq 1 when there was none);
 * - `{ item }`: an item already signed, e.g. one {@link DhtRuntime.get} returned, to keep it alive.
 * Values are at most `MAX_DHT_ITEM_VALUE_BYTES` bencoded, salts at most `MAX_DHT_ITEM_SALT_BYTES`.
 */
export type DhtPutRequest =
  | { readonly value: Encodable }
  | {
      readonly keyPair: Ed25519KeyPair;
      readonly salt?: Uint8Array;
      readonly value: Encodable;
      readonly seq: number | bigint;
      readonly cas?: number | bigint;
    }
  | {
      readonly keyPair: Ed25519KeyPair;
      readonly salt?: Uint8Array;
      readonly update: (current: DhtItemCurrent | undefined) => Encodable;
    }
  | { readonly item: DhtItem };

/** What {@link DhtRuntime.put} achieved, summed over the address families. */
export interface DhtPutResult {
  /** The 20-byte target the item is stored under. */
  readonly target: Uint8Array;
  /** The item put (for `update`: with the value and seq it computed). */
  readonly item: DhtItem;
  /** Nodes that acknowledged the put (the k closest that answered, per family). */
  readonly storedTo: number;
  /** Nodes that refused it, by reason (a `cas` race: `casMismatch`; an older seq: `seqTooLow`). */
  readonly refused: DhtPutRefusals;
  /** Queries sent by the lookups. */
  readonly queries: number;
}

/** A node answered {@link DhtRuntime.ping}. */
export interface DhtPingResult {
  readonly host: string;
  readonly port: number;
  /** The node's id (20 bytes). */
  readonly id: Uint8Array;
  readonly rttMs: number;
}

/** Counters of one socket. */
export interface DhtSocketStats {
  readonly datagramsIn: number;
  readonly datagramsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly sendErrors: number;
}

/** Counters and sizes of a runtime: per family, the node's stats and the socket's. */
export interface DhtRuntimeStats {
  readonly port: number;
  /** Our node id (hex) per family. */
  readonly ids: { readonly ipv4?: string; readonly ipv6?: string };
  readonly ipv4?: DhtStats & DhtSocketStats;
  readonly ipv6?: DhtStats & DhtSocketStats;
  /** Nodes in the routing tables, both families. */
  readonly nodes: number;
  /** User operations running (lookups, announces, pings). */
  readonly operations: number;
}

/** Events of a {@link DhtRuntime} (STYLE §3: `noun:verb-past`). */
export interface DhtRuntimeEvents {
  /** A bootstrap `find_node` lookup ended; `nodes` is the routing table's size after it. */
  'bootstrap:finished': {
    readonly type: 'bootstrap:finished';
    readonly family: AddressFamily;
    readonly nodes: number;
  };
  /** A bootstrap host name could not be resolved (the others are still used). */
  'bootstrap:unresolved': {
    readonly type: 'bootstrap:unresolved';
    readonly host: string;
    readonly message: string;
  };
  /** A socket failed (bind, send or receive). Send failures are reported at most every 10 s. */
  'socket:failed': {
    readonly type: 'socket:failed';
    readonly family: AddressFamily;
    readonly op: 'bind' | 'send' | 'receive';
    readonly message: string;
    readonly code?: string;
    /** Failures of the same kind not reported since the last event. */
    readonly suppressed: number;
  };
  /** The state file was written. */
  'state:saved': { readonly type: 'state:saved'; readonly path: string; readonly nodes: number };
  /** The state file could not be read (then ignored) or written. */
  'state:failed': {
    readonly type: 'state:failed';
    readonly path: string;
    readonly op: 'load' | 'save';
    readonly message: string;
  };
  /**
   * Nodes agree on our external address (BEP 42 `ip` votes). When `idConforms` is false, a
   * runtime restarted with `node.externalIp` set gets a conforming id.
   */
  'external-address:changed': {
    readonly type: 'external-address:changed';
    readonly family: AddressFamily;
    readonly host: string;
    readonly idConforms: boolean;
  };
  /** The node got a new id for our external address (BEP 42), and joins again. */
  'node-id:changed': {
    readonly type: 'node-id:changed';
    readonly family: AddressFamily;
    readonly id: Uint8Array;
  };
}
