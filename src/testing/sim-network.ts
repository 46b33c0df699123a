/**
 * A virtual UDP network for pure nodes (like hyperdht's testnet, but with no sockets and no real
 * time): datagrams are delivered between endpoints after a seeded random latency, or lost with a
 * seeded probability, on a {@link FakeClock}. Each endpoint's timer is armed from its
 * `nextDeadline()`, exactly as a runtime would, so the node code under simulation is the code
 * that runs for real.
 *
 * {@link DhtSimulation} builds a whole DHT on it: N `DhtNode`s with distinct public IPv4
 * addresses and BEP 42 ids, joining one after another through random earlier nodes.
 */
import { type Address, bytesToBinary } from '../dht/address.js';
import { DhtNode } from '../dht/dht-node.js';
import type { DhtItem, DhtItemQuery } from '../dht/item.js';
import type { DhtEvent, DhtLookupFinishedEvent, DhtNodeInit, DhtPutReadyEvent } from '../dht/node-types.js';
import type { Random } from '../dht/random.js';
import { FakeClock } from './fake-clock.js';

/** A seeded, replayable {@link Random} (xoshiro128**). */
export class SeededRandom implements Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    // splitmix32 to spread the seed over the state.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next() | 1;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return r;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const r = this.u32();
      out[i] = r & 0xff;
      if (i + 1 < n) out[i + 1] = (r >>> 8) & 0xff;
      if (i + 2 < n) out[i + 2] = (r >>> 16) & 0xff;
      if (i + 3 < n) out[i + 3] = r >>> 24;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** What the network needs from a node: the sans-I/O driver contract of `DhtNode`. */
export interface SimEndpoint {
  handleDatagram(bytes: Uint8Array, from: Address, now: number): void;
  tick(now: number): void;
  nextDeadline(): number | undefined;
  takeActions(): readonly { readonly type: 'send'; readonly to: Address; readonly bytes: Uint8Array }[];
  takeEvents?(): readonly DhtEvent[];
}

/** Options of a {@link SimNetwork}. */
export interface SimNetworkOptions {
  /** Seed of the latency and loss draws. */
  readonly seed: number;
  /** One-way latency range, in ms. @default [10, 100] */
  readonly latencyMs?: readonly [number, number];
  /** Probability that a datagram is lost. @default 0 */
  readonly lossRate?: number;
  /** The clock to run on. @default a new FakeClock at 0 */
  readonly clock?: FakeClock;
}

interface Attached {
  readonly address: Address;
  readonly endpoint: SimEndpoint;
  readonly onEvents: ((events: readonly DhtEvent[]) => void) | undefined;
  timerAt: number | undefined;
  attached: boolean;
}

/** Counters of a {@link SimNetwork}. */
export interface SimNetworkStats {
  sent: number;
  delivered: number;
  lost: number;
  /** Datagrams to an address with no endpoint (left or never joined). */
  unreachable: number;
  bytes: number;
}

/** The virtual network. */
export class SimNetwork {
  readonly clock: FakeClock;
  readonly stats: SimNetworkStats = { sent: 0, delivered: 0, lost: 0, unreachable: 0, bytes: 0 };
  readonly #random: SeededRandom;
  readonly #latency: readonly [number, number];
  readonly #loss: number;
  readonly #endpoints = new Map<string, Attached>();

  constructor(opts: SimNetworkOptions) {
    this.clock = opts.clock ?? new FakeClock();
    this.#random = new SeededRandom(opts.seed ^ 0x5eed);
    this.#latency = opts.latencyMs ?? [10, 100];
    this.#loss = opts.lossRate ?? 0;
  }

  get now(): number {
    return this.clock.now;
  }

  /** Attaches `endpoint` at `address`; `onEvents` receives whatever it reports. */
  attach(address: Address, endpoint: SimEndpoint, onEvents?: (events: readonly DhtEvent[]) => void): void {
    const key = keyOf(address);
    if (this.#endpoints.has(key)) throw new Error(`address ${address.host}:${address.port} is taken`);
    const a: Attached = { address, endpoint, onEvents, timerAt: undefined, attached: true };
    this.#endpoints.set(key, a);
    this.flush(address);
  }

  /** Detaches the endpoint at `address`: it stops receiving and its timers stop. */
  detach(address: Address): void {
    const a = this.#endpoints.get(keyOf(address));
    if (a === undefined) return;
    a.attached = false;
    this.#endpoints.delete(keyOf(address));
  }

  /**
   * Sends what the endpoint at `address` has queued and re-arms its timer. Call it after calling
   * one of its methods from outside (e.g. `getPeers`), as a runtime would.
   */
  flush(address: Address): void {
    const a = this.#endpoints.get(keyOf(address));
    if (a !== undefined) this.#after(a);
  }

  #after(a: Attached): void {
    for (const action of a.endpoint.takeActions()) this.#transmit(a.address, action.to, action.bytes);
    const events = a.endpoint.takeEvents?.();
    if (events !== undefined && events.length > 0) a.onEvents?.(events);
    const d = a.endpoint.nextDeadline();
    if (d === undefined || (a.timerAt !== undefined && a.timerAt <= d)) return;
    a.timerAt = d;
    this.clock.schedule(d, () => {
      if (!a.attached || a.timerAt !== d) return;
      a.timerAt = undefined;
      a.endpoint.tick(this.clock.now);
      this.#after(a);
    });
  }

  #transmit(from: Address, to: Address, bytes: Uint8Array): void {
    this.stats.sent++;
    this.stats.bytes += bytes.length;
    if (this.#loss > 0 && this.#random.float() < this.#loss) {
      this.stats.lost++;
      return;
    }
    const [lo, hi] = this.#latency;
    const at = this.clock.now + lo + this.#random.float() * (hi - lo);
    this.clock.schedule(at, () => {
      const dst = this.#endpoints.get(keyOf(to));
      if (dst === undefined) {
        this.stats.unreachable++;
        return;
      }
      this.stats.delivered++;
      dst.endpoint.handleDatagram(bytes, from, this.clock.now);
      this.#after(dst);
    });
  }
}

function keyOf(a: Address): string {
  return `${a.host}|${a.port}`;
}

/** One DHT node of a {@link DhtSimulation}. */
export interface SimDhtPeer {
  readonly index: number;
  readonly address: Address;
  readonly node: DhtNode;
  alive: boolean;
  /** `lookup:finished` events by lookup id. */
  readonly finished: Map<number, DhtLookupFinishedEvent>;
  /** `put:ready` events (BEP 44 put lookups waiting for their item) by lookup id. */
  readonly putReady: Map<number, DhtPutReadyEvent>;
}

/** Options of a {@link DhtSimulation}. */
export interface DhtSimulationOptions {
  readonly nodes: number;
  readonly seed: number;
  /** @default [10, 100] */
  readonly latencyMs?: readonly [number, number];
  /** @default 0.01 */
  readonly lossRate?: number;
  /** Time between two joins, in ms. @default 50 */
  readonly joinIntervalMs?: number;
  /** Earlier nodes each newcomer bootstraps from. @default 3 */
  readonly bootstrapFrom?: number;
  /** Extra options for every node. */
  readonly nodeInit?: DhtNodeInit;
}

/** A whole DHT on a {@link SimNetwork}. */
export class DhtSimulation {
  readonly net: SimNetwork;
  readonly random: SeededRandom;
  readonly peers: SimDhtPeer[] = [];
  readonly #opts: DhtSimulationOptions;
  readonly #usedIps = new Set<string>();
  readonly #live: SimDhtPeer[] = [];

  constructor(opts: DhtSimulationOptions) {
    this.#opts = opts;
    this.random = new SeededRandom(opts.seed);
    this.net = new SimNetwork({
      seed: opts.seed,
      latencyMs: opts.latencyMs ?? [10, 100],
      lossRate: opts.lossRate ?? 0.01,
    });
  }

  get now(): number {
    return this.net.now;
  }

  /** A fresh public IPv4 address (outside the BEP 42-exempt local blocks). */
  #newAddress(): Address {
    for (;;) {
      const host = `${11 + this.random.int(89)}.${this.random.int(256)}.${this.random.int(256)}.${1 + this.random.int(254)}`;
      if (this.#usedIps.has(host)) continue;
      this.#usedIps.add(host);
      return { host, port: 6881 };
    }
  }

  /** Creates and attaches a node, bootstrapping it from random live earlier nodes. */
  addNode(): SimDhtPeer {
    const address = this.#newAddress();
    const node = new DhtNode(
      { random: this.random },
      { externalIp: address.host, ...this.#opts.nodeInit },
      this.now,
    );
    const peer: SimDhtPeer = {
      index: this.peers.length,
      address,
      node,
      alive: true,
      finished: new Map(),
      putReady: new Map(),
    };
    const live = this.#live;
    this.peers.push(peer);
    this.net.attach(address, node, (events) => {
      for (const e of events) {
        if (e.type === 'lookup:finished') peer.finished.set(e.lookupId, e);
        else if (e.type === 'put:ready') peer.putReady.set(e.lookupId, e);
      }
    });
    if (live.length > 0) {
      const seeds: Address[] = [];
      const want = Math.min(this.#opts.bootstrapFrom ?? 3, live.length);
      while (seeds.length < want) {
        const s = live[this.random.int(live.length)]!.address;
        if (!seeds.includes(s)) seeds.push(s);
      }
      node.bootstrap(seeds, this.now);
      this.net.flush(address);
    }
    this.#live.push(peer);
    return peer;
  }

  /** Adds all `nodes`, one every `joinIntervalMs`, then runs `settleMs` more. */
  build(settleMs = 60_000): void {
    const interval = this.#opts.joinIntervalMs ?? 50;
    for (let i = 0; i < this.#opts.nodes; i++) {
      this.addNode();
      this.net.clock.runFor(interval);
    }
    this.net.clock.runFor(settleMs);
  }

  /** Removes a node from the network, without warning (as churn does). */
  kill(peer: SimDhtPeer): void {
    if (!peer.alive) return;
    peer.alive = false;
    this.#live.splice(this.#live.indexOf(peer), 1);
    this.net.detach(peer.address);
  }

  /** The live nodes. */
  alive(): SimDhtPeer[] {
    return [...this.#live];
  }

  /** Starts a `get_peers` lookup on `peer`; its result lands in `peer.finished`. */
  getPeers(peer: SimDhtPeer, infoHash: Uint8Array): number {
    const id = peer.node.getPeers(infoHash, this.now);
    this.net.flush(peer.address);
    return id;
  }

  /** Starts an announce from `peer`; its result lands in `peer.finished`. */
  announce(peer: SimDhtPeer, infoHash: Uint8Array, port: number): number {
    const id = peer.node.announce(infoHash, port, this.now);
    this.net.flush(peer.address);
    return id;
  }

  /** Starts a BEP 44 `get` lookup on `peer`; its result (`item`) lands in `peer.finished`. */
  getItem(peer: SimDhtPeer, query: DhtItemQuery): number {
    const id = peer.node.getItem(query, this.now);
    this.net.flush(peer.address);
    return id;
  }

  /**
   * Starts a BEP 44 put from `peer`: with `opts.item` it is put when the lookup ends; without,
   * the lookup stops at `put:ready` (in `peer.putReady`) until {@link completePut}.
   */
  putItem(peer: SimDhtPeer, query: DhtItemQuery, opts: { item?: DhtItem; cas?: bigint } = {}): number {
    const id = peer.node.putItem(query, this.now, opts);
    this.net.flush(peer.address);
    return id;
  }

  /** Hands the item to a put lookup waiting after `put:ready`. */
  completePut(peer: SimDhtPeer, lookupId: number, item: DhtItem, cas?: bigint): void {
    peer.node.completePut(lookupId, item, this.now, cas);
    this.net.flush(peer.address);
  }

  /** Runs until `peer`'s put lookup `lookupId` is waiting for its item (or `limitMs` passed). */
  waitForReady(peer: SimDhtPeer, lookupId: number, limitMs: number): DhtPutReadyEvent | undefined {
    this.net.clock.runUntilDone(() => peer.putReady.has(lookupId), this.now + limitMs);
    return peer.putReady.get(lookupId);
  }

  /** Runs until every listed lookup finished (or `limitMs` of virtual time passed). */
  waitFor(lookups: readonly { peer: SimDhtPeer; lookupId: number }[], limitMs: number): boolean {
    const deadline = this.now + limitMs;
    let i = 0;
    return this.net.clock.runUntilDone(() => {
      while (i < lookups.length && lookups[i]!.peer.finished.has(lookups[i]!.lookupId)) i++;
      return i === lookups.length;
    }, deadline);
  }

  /** Runs `ms` of virtual time. */
  runFor(ms: number): void {
    this.net.clock.runFor(ms);
  }
}

/** A random 20-byte info-hash from a seeded source, with its binary key. */
export function randomInfoHash(random: Random): { bytes: Uint8Array; key: string } {
  const bytes = random.bytes(20);
  return { bytes, key: bytesToBinary(bytes) };
}
