/**
 * DEV DOCS — the address manager: every Bitcoin peer address the node has heard of, in two
 * bounded tables of buckets, after the design Bitcoin Core uses against address-flooding attacks
 * (an attacker who controls what we hear should not control whom we dial).
 *
 * - **new**: addresses heard of but never connected to. An address's bucket depends on the
 *   address's group (/16 for IPv4, /32 for IPv6) *and* on the group of the peer that told us,
 *   through a secret key: one source group can reach at most {@link SOURCE_SPREAD} of the
 *   {@link BTC_ADDRMAN_NEW_BUCKETS} buckets, so a flood from one peer fills a small corner of the
 *   table and cannot evict what the others taught us.
 * - **tried**: addresses we connected to. A bucket depends on the address only (spread over
 *   {@link TRIED_SPREAD} buckets per group).
 * - Within a bucket, an address has one slot (from the key, the bucket and the address). A
 *   newcomer whose slot is taken is dropped unless the occupant is "terrible" (not heard of for
 *   {@link HORIZON_S}, or failed {@link MAX_FAILURES} times without ever working). An address moving
 *   to tried evicts the occupant of its tried slot back to new.
 *
 * Size is bounded by (new + tried buckets) × {@link BTC_ADDRMAN_BUCKET_SIZE}. Selection is random
 * (injected), half from each table, favouring addresses that did not fail recently.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { sha256 } from '../bitcoin/index.js';
import {
  BTC_ADDRMAN_BUCKET_SIZE,
  BTC_ADDRMAN_NEW_BUCKETS,
  BTC_ADDRMAN_TRIED_BUCKETS,
} from '../shared/limits.js';

/** New buckets one source group can reach. */
const SOURCE_SPREAD = 16;
/** Tried buckets one address group can reach. */
const TRIED_SPREAD = 8;
/** An address not heard of for this long is terrible (Core's ADDRMAN_HORIZON: 30 days), s. */
const HORIZON_S = 30 * 24 * 60 * 60;
/** Failures without a success that make an address terrible. */
const MAX_FAILURES = 3;

const ENCODER = new TextEncoder();

/** One known address. */
export interface AddrInfo {
  readonly host: string;
  readonly port: number;
  services: bigint;
  /** When the network last said it was alive, Unix seconds. */
  time: number;
  /** The group of the peer that told us. */
  readonly sourceGroup: string;
  attempts: number;
  /** Last dial, Unix seconds (0: never). */
  lastTry: number;
  /** Last successful connection, Unix seconds (0: never). */
  lastSuccess: number;
  tried: boolean;
}

export interface AddrManagerInit {
  /** 32 secret bytes: where addresses land cannot be predicted by others. */
  readonly key: Uint8Array;
  /** Uniform random in [0, 1). */
  readonly random: () => number;
  /** Clock, Unix seconds. */
  readonly nowS: () => number;
  readonly newBuckets?: number;
  readonly triedBuckets?: number;
  readonly bucketSize?: number;
}

/** The group of an address: /16 for IPv4, /32 for IPv6, the host itself otherwise. */
export function addressGroup(host: string): string {
  if (isIPv4(host)) return `4:${host.split('.').slice(0, 2).join('.')}`;
  if (isIPv6(host)) {
    const full = expandIpv6(host);
    return `6:${full.slice(0, 2).join(':')}`;
  }
  return `h:${host}`;
}

function expandIpv6(host: string): string[] {
  const [head, tail] = host.split('::') as [string, string | undefined];
  const a = head === '' ? [] : head.split(':');
  const b = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array(8 - a.length - b.length).fill('0');
  return [...a, ...fill, ...b].map((g) => g.padStart(4, '0').toLowerCase());
}

function key(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The address tables; see the module notes. */
export class AddrManager {
  readonly newBuckets: number;
  readonly triedBuckets: number;
  readonly bucketSize: number;
  readonly #init: AddrManagerInit;
  readonly #info = new Map<string, AddrInfo>();
  /** Slot → address key, per table. */
  readonly #newSlots: (string | undefined)[];
  readonly #triedSlots: (string | undefined)[];
  /** Address key → its slot, per table. */
  readonly #slotOf = new Map<string, number>();
  /** Keys per table, for uniform random selection. */
  readonly #newKeys: string[] = [];
  readonly #triedKeys: string[] = [];

  constructor(init: AddrManagerInit) {
    if (init.key.length !== 32) throw new RangeError('the address manager key is 32 bytes');
    this.#init = init;
    this.newBuckets = init.newBuckets ?? BTC_ADDRMAN_NEW_BUCKETS;
    this.triedBuckets = init.triedBuckets ?? BTC_ADDRMAN_TRIED_BUCKETS;
    this.bucketSize = init.bucketSize ?? BTC_ADDRMAN_BUCKET_SIZE;
    this.#newSlots = new Array(this.newBuckets * this.bucketSize).fill(undefined);
    this.#triedSlots = new Array(this.triedBuckets * this.bucketSize).fill(undefined);
  }

  /** Addresses held. */
  get size(): number {
    return this.#info.size;
  }

  get newCount(): number {
    return this.#newKeys.length;
  }

  get triedCount(): number {
    return this.#triedKeys.length;
  }

  /** Most addresses this manager can hold. */
  get capacity(): number {
    return this.#newSlots.length + this.#triedSlots.length;
  }

  /** The address at `host:port`, if known. */
  get(host: string, port: number): AddrInfo | undefined {
    return this.#info.get(key(host, port));
  }

  /** Every address held (for saving), tried ones first. */
  entries(): AddrInfo[] {
    return [...this.#triedKeys, ...this.#newKeys].map((k) => this.#info.get(k)!);
  }

  /**
   * Learns an address from a peer in `sourceHost`'s group (or a DNS seed, or the user). Returns
   * true when it was stored; false when already known (its time and services are refreshed) or
   * its slot is held by a better address.
   */
  add(entry: { host: string; port: number; services: bigint; time: number }, sourceHost: string): boolean {
    if (!Number.isInteger(entry.port) || entry.port <= 0 || entry.port > 65535) return false;
    if (!isIPv4(entry.host) && !isIPv6(entry.host)) return false;
    const k = key(entry.host, entry.port);
    const nowS = this.#init.nowS();
    const time = Math.min(entry.time, nowS + 600);
    const existing = this.#info.get(k);
    if (existing !== undefined) {
      if (time > existing.time) existing.time = time;
      existing.services |= entry.services;
      return false;
    }
    const info: AddrInfo = {
      host: entry.host,
      port: entry.port,
      services: entry.services,
      time,
      sourceGroup: addressGroup(sourceHost),
      attempts: 0,
      lastTry: 0,
      lastSuccess: 0,
      tried: false,
    };
    return this.#placeNew(k, info);
  }

  /** A dial to the address is starting. */
  attempt(host: string, port: number): void {
    const info = this.#info.get(key(host, port));
    if (info === undefined) return;
    info.attempts++;
    info.lastTry = this.#init.nowS();
  }

  /** A connection to the address completed its handshake: it moves to the tried table. */
  good(host: string, port: number): void {
    const k = key(host, port);
    const info = this.#info.get(k);
    if (info === undefined) return;
    const nowS = this.#init.nowS();
    info.attempts = 0;
    info.lastSuccess = nowS;
    info.time = nowS;
    if (info.tried) return;
    this.#removeFrom(k, false);
    const slot = this.#triedSlot(info);
    const occupant = this.#triedSlots[slot];
    if (occupant !== undefined) {
      // The occupant goes back to new (where it may not find room).
      const old = this.#info.get(occupant)!;
      this.#removeFrom(occupant, true);
      this.#info.delete(occupant);
      old.tried = false;
      this.#placeNew(occupant, old);
    }
    info.tried = true;
    this.#info.set(k, info);
    this.#triedSlots[slot] = k;
    this.#slotOf.set(k, slot);
    this.#triedKeys.push(k);
  }

  /** Forgets an address (it was banned). */
  remove(host: string, port: number): void {
    const k = key(host, port);
    const info = this.#info.get(k);
    if (info === undefined) return;
    this.#removeFrom(k, info.tried);
    this.#info.delete(k);
  }

  /**
   * A random address to dial, or undefined when none is held; addresses that failed recently are
   * picked less often. `exclude` filters out those already connected or being dialled.
   */
  select(exclude: (host: string, port: number) => boolean = () => false): AddrInfo | undefined {
    const r = this.#init.random;
    const nowS = this.#init.nowS();
    for (let round = 0; round < 200; round++) {
      const useTried = this.#triedKeys.length > 0 && (this.#newKeys.length === 0 || r() < 0.5);
      const keys = useTried ? this.#triedKeys : this.#newKeys;
      if (keys.length === 0) return undefined;
      const info = this.#info.get(keys[Math.floor(r() * keys.length)]!)!;
      if (exclude(info.host, info.port)) continue;
      // Core's chance: 0.66 per failed attempt, and 1% for one tried in the last 10 minutes.
      let chance = 0.66 ** Math.min(info.attempts, 8);
      if (nowS - info.lastTry < 600) chance *= 0.01;
      if (r() < chance) return info;
    }
    // Unlucky or nearly everything excluded: the first eligible one.
    for (const k of [...this.#triedKeys, ...this.#newKeys]) {
      const info = this.#info.get(k)!;
      if (!exclude(info.host, info.port)) return info;
    }
    return undefined;
  }

  #placeNew(k: string, info: AddrInfo): boolean {
    const slot = this.#newSlot(info);
    const occupant = this.#newSlots[slot];
    if (occupant !== undefined) {
      const old = this.#info.get(occupant)!;
      if (!this.#isTerrible(old)) return false;
      this.#removeFrom(occupant, false);
      this.#info.delete(occupant);
    }
    this.#info.set(k, info);
    this.#newSlots[slot] = k;
    this.#slotOf.set(k, slot);
    this.#newKeys.push(k);
    return true;
  }

  #removeFrom(k: string, tried: boolean): void {
    const slot = this.#slotOf.get(k);
    if (slot === undefined) return;
    const slots = tried ? this.#triedSlots : this.#newSlots;
    if (slots[slot] === k) slots[slot] = undefined;
    this.#slotOf.delete(k);
    const keys = tried ? this.#triedKeys : this.#newKeys;
    const i = keys.indexOf(k);
    if (i >= 0) {
      keys[i] = keys[keys.length - 1]!;
      keys.pop();
    }
  }

  #isTerrible(info: AddrInfo): boolean {
    const nowS = this.#init.nowS();
    if (info.time < nowS - HORIZON_S) return true;
    return info.lastSuccess === 0 && info.attempts >= MAX_FAILURES;
  }

  #hash(...parts: (string | number)[]): number {
    const text = ENCODER.encode(parts.join('|'));
    const h = sha256(this.#init.key, text);
    return new DataView(h.buffer, h.byteOffset, 4).getUint32(0, true);
  }

  #newSlot(info: AddrInfo): number {
    const group = addressGroup(info.host);
    const spread = this.#hash('n1', group, info.sourceGroup) % SOURCE_SPREAD;
    const bucket = this.#hash('n2', info.sourceGroup, spread) % this.newBuckets;
    const pos = this.#hash('p', 'new', bucket, key(info.host, info.port)) % this.bucketSize;
    return bucket * this.bucketSize + pos;
  }

  #triedSlot(info: AddrInfo): number {
    const k = key(info.host, info.port);
    const spread = this.#hash('t1', k) % TRIED_SPREAD;
    const bucket = this.#hash('t2', addressGroup(info.host), spread) % this.triedBuckets;
    const pos = this.#hash('p', 'tried', bucket, k) % this.bucketSize;
    return bucket * this.bucketSize + pos;
  }
}
