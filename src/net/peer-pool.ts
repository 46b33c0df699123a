/**
 * DEV DOCS — the peer pool: every address a node knows, and every connection it holds, for all
 * of its owners (a torrent, a metadata fetch, later a Bitcoin chain). It knows no protocol.
 *
 * Owns:
 * - per owner, the known addresses with their source, failures and back-off, bounded by
 *   `maxKnown`; addresses from weaker sources (PEX) can fill at most {@link PEX_ADDRESS_SHARE} of
 *   the table and never push out an address from a stronger source (a tracker, the DHT, the
 *   user), so a flood of made-up addresses neither exhausts the dial queue nor pushes honest
 *   peers out;
 * - the half-open cap (per owner and for the node) and connection limits (per owner, per remote
 *   address, for the node): {@link PoolOwner.admit} is asked before a connection is attached;
 * - bans by address, for the whole node: a banned address is never dialled nor accepted again,
 *   whatever peer id or port it comes back with;
 * - the IP blocklist (ranges a user refuses, ip-blocklist.ts): a blocked address is never learned,
 *   dialled nor admitted; a new list makes owners forget the addresses it blocks and tells
 *   listeners, which close their connections.
 *
 * Invariants: `open` counts of the node, each owner and each address equal the connections
 * admitted and not yet released; known addresses per owner ≤ `maxKnown`; bans ≤
 * {@link MAX_BANNED_ADDRESSES}. Driven by the session's runtime: the clock is injected.
 */
import { MAX_BANNED_ADDRESSES, MAX_HALF_OPEN_TOTAL, PEX_ADDRESS_SHARE } from '../shared/limits.js';
import type { IpBlocklist } from './ip-blocklist.js';
import type { TransportKind } from './transport.js';

/** Where an address came from, strongest first. */
export type PeerSource = 'user' | 'tracker' | 'lsd' | 'dht' | 'incoming' | 'pex';

const SOURCE_RANK: Readonly<Record<PeerSource, number>> = {
  user: 0,
  tracker: 1,
  lsd: 1,
  dht: 2,
  incoming: 2,
  pex: 3,
};

/** Back-off after a failed connection attempt, doubled per failure. */
export const RECONNECT_BASE_MS = 5_000;
/** Failed attempts after which an address is forgotten. */
export const MAX_CONNECT_FAILURES = 5;

/** What worked (or what the peer said it prefers) for one address. */
export interface AddressHints {
  /** BEP 11 / tracker flag: the peer prefers encrypted connections. */
  prefersEncryption?: boolean;
  /** The last connection that worked was encrypted (true) or plaintext (false). */
  encrypted?: boolean;
  /** The transport of the last connection that worked. */
  transport?: TransportKind;
  /** BEP 11 PEX flag 0x04: the peer speaks uTP. */
  supportsUtp?: boolean;
  /** BEP 11 PEX flag 0x08: the peer announced BEP 55 `ut_holepunch`. */
  supportsHolepunch?: boolean;
  /** The key of the connected peer whose PEX told us this address (a BEP 55 relay for it). */
  pexFrom?: string;
  /** A BEP 55 `connect` asked for this address: it is dialled over uTP only. */
  punch?: boolean;
}

/** One known address of one owner. */
export interface KnownAddress {
  readonly host: string;
  readonly port: number;
  source: PeerSource;
  failures: number;
  nextAttemptAt: number;
  state: 'idle' | 'dialing' | 'connected';
  readonly hints: AddressHints;
}

/** A refusal from {@link PoolOwner.admit}, in words for logs. */
export type AdmitRefusal =
  | 'banned'
  | 'blocked'
  | 'owner-full'
  | 'node-full'
  | 'address-full'
  | 'duplicate'
  | 'closed';

/** Why a blocked address is refused, in the peer log's words. */
export const BLOCKED_REASON = 'blocked by the IP blocklist';

/** Limits of one owner. */
export interface PoolOwnerLimits {
  /** Connections this owner holds and dials up to. */
  readonly maxConnections: number;
  /** Extra connections accepted from peers that dial us (never dialled). @default 0 */
  readonly incomingSlack?: number;
  /** Dials in progress at once. */
  readonly maxHalfOpen: number;
  /** Known addresses kept. */
  readonly maxKnown: number;
  /** Connections to one remote address (IP). */
  readonly maxPerAddress: number;
}

/** A ban, as listed to users. */
export interface BanRecord {
  readonly address: string;
  readonly reason: string;
  /** Clock time (ms) of the ban. */
  readonly at: number;
}

export interface PeerPoolInit {
  /** Monotonic clock, ms. */
  readonly now: () => number;
  /** Connections for the whole node. */
  readonly maxConnections: number;
  /** Dials in progress for the whole node. @default MAX_HALF_OPEN_TOTAL */
  readonly maxHalfOpen?: number;
}

/** A connection admitted by {@link PoolOwner.admit}: call `release` once it closes. */
export interface Admission {
  release(): void;
}

/** The node's peer pool; see the module notes. */
export class PeerPool {
  readonly now: () => number;
  readonly maxConnections: number;
  readonly maxHalfOpen: number;
  readonly #bans = new Map<string, BanRecord>();
  readonly #owners = new Set<PoolOwner>();
  readonly #banListeners = new Set<(ban: BanRecord) => void>();
  readonly #blocklistListeners = new Set<(isBlocked: (address: string) => boolean) => void>();
  #blocklist: IpBlocklist | undefined;
  #open = 0;
  #halfOpen = 0;

  constructor(init: PeerPoolInit) {
    this.now = init.now;
    this.maxConnections = init.maxConnections;
    this.maxHalfOpen = init.maxHalfOpen ?? MAX_HALF_OPEN_TOTAL;
  }

  /** Connections open on the whole node. */
  get openConnections(): number {
    return this.#open;
  }

  /** Dials in progress on the whole node. */
  get halfOpen(): number {
    return this.#halfOpen;
  }

  /** A new owner (a torrent, a metadata fetch) with its limits. */
  openOwner(limits: PoolOwnerLimits): PoolOwner {
    const owner = new PoolOwner(this, limits);
    this.#owners.add(owner);
    return owner;
  }

  /** True when `address` (an IP) is banned. */
  isBanned(address: string): boolean {
    return this.#bans.has(address);
  }

  /**
   * Bans `address` for the node's life: its known entries are forgotten by every owner, and
   * listeners (the owners' runtimes) close its connections.
   */
  ban(address: string, reason: string): void {
    if (this.#bans.has(address)) return;
    if (this.#bans.size >= MAX_BANNED_ADDRESSES) {
      const oldest = this.#bans.keys().next().value;
      if (oldest !== undefined) this.#bans.delete(oldest);
    }
    const record: BanRecord = { address, reason, at: this.now() };
    this.#bans.set(address, record);
    for (const o of this.#owners) o.forgetAddress(address);
    for (const l of this.#banListeners) l(record);
  }

  /** True when `address` (an IP) is in the IP blocklist. */
  isBlocked(address: string): boolean {
    return this.#blocklist?.has(address) === true;
  }

  /** The IP blocklist in force, if any. */
  get blocklist(): IpBlocklist | undefined {
    return this.#blocklist;
  }

  /**
   * Replaces the IP blocklist (`undefined`: none). Every owner forgets the known addresses it
   * blocks, and listeners ({@link onBlocklist}) close their connections to them.
   */
  setBlocklist(list: IpBlocklist | undefined): void {
    this.#blocklist = list;
    if (list === undefined) return;
    const isBlocked = (address: string) => list.has(address);
    for (const o of this.#owners) o.forgetWhere(isBlocked);
    for (const l of this.#blocklistListeners) l(isBlocked);
  }

  /** Calls `listener` when a new blocklist is set; returns a function that stops it. */
  onBlocklist(listener: (isBlocked: (address: string) => boolean) => void): () => void {
    this.#blocklistListeners.add(listener);
    return () => this.#blocklistListeners.delete(listener);
  }

  /** Every ban, oldest first. */
  bans(): BanRecord[] {
    return [...this.#bans.values()];
  }

  /** Calls `listener` on every new ban; returns a function that stops it. */
  onBan(listener: (ban: BanRecord) => void): () => void {
    this.#banListeners.add(listener);
    return () => this.#banListeners.delete(listener);
  }

  /** @internal owners' bookkeeping */
  canDial(): boolean {
    return this.#halfOpen < this.maxHalfOpen && this.#open + this.#halfOpen < this.maxConnections;
  }
  /** @internal */
  adjustHalfOpen(delta: number): void {
    this.#halfOpen += delta;
  }
  /** @internal */
  adjustOpen(delta: number): void {
    this.#open += delta;
  }
  /** @internal */
  removeOwner(owner: PoolOwner): void {
    this.#owners.delete(owner);
  }
}

/** One owner's view of the pool: its addresses, dials and connections. */
export class PoolOwner {
  readonly #pool: PeerPool;
  readonly #limits: PoolOwnerLimits;
  readonly #known = new Map<string, KnownAddress>();
  /** Open connections per remote address, and their `address:port`s. */
  readonly #perAddress = new Map<string, number>();
  readonly #endpoints = new Set<string>();
  #open = 0;
  #halfOpen = 0;
  #weak = 0;
  #closed = false;

  constructor(pool: PeerPool, limits: PoolOwnerLimits) {
    this.#pool = pool;
    this.#limits = limits;
  }

  get limits(): PoolOwnerLimits {
    return this.#limits;
  }

  /** Connections open. */
  get openConnections(): number {
    return this.#open;
  }

  /** Dials in progress. */
  get halfOpen(): number {
    return this.#halfOpen;
  }

  /** Known addresses. */
  get knownCount(): number {
    return this.#known.size;
  }

  /** A known address, by `host:port`. */
  get(host: string, port: number): KnownAddress | undefined {
    return this.#known.get(endpoint(host, port));
  }

  /** Every known address (a copy). */
  knownAddresses(): KnownAddress[] {
    return [...this.#known.values()];
  }

  /**
   * Learns an address. Returns false when it is banned, already known (its source is upgraded
   * if this one is stronger), or does not fit: a weaker address never pushes out a stronger one.
   */
  add(host: string, port: number, source: PeerSource, hints: AddressHints = {}): boolean {
    if (this.#closed || !Number.isInteger(port) || port <= 0 || port > 65535) return false;
    if (this.#pool.isBanned(host) || this.#pool.isBlocked(host)) return false;
    const key = endpoint(host, port);
    const existing = this.#known.get(key);
    if (existing !== undefined) {
      if (SOURCE_RANK[source] < SOURCE_RANK[existing.source]) this.#setSource(existing, source);
      if (hints.prefersEncryption !== undefined) existing.hints.prefersEncryption = hints.prefersEncryption;
      if (hints.supportsUtp !== undefined) existing.hints.supportsUtp = hints.supportsUtp;
      if (hints.supportsHolepunch !== undefined) existing.hints.supportsHolepunch = hints.supportsHolepunch;
      if (hints.pexFrom !== undefined) existing.hints.pexFrom = hints.pexFrom;
      if (hints.punch !== undefined) existing.hints.punch = hints.punch;
      return false;
    }
    const weak = SOURCE_RANK[source] >= SOURCE_RANK.pex;
    const full = this.#known.size >= this.#limits.maxKnown;
    const weakFull = weak && this.#weak >= Math.floor(this.#limits.maxKnown * PEX_ADDRESS_SHARE);
    if (full || weakFull) {
      const victim = this.#victim(SOURCE_RANK[source], weakFull);
      if (victim === undefined) return false;
      this.#delete(victim);
    }
    const k: KnownAddress = {
      host,
      port,
      source,
      failures: 0,
      nextAttemptAt: 0,
      state: 'idle',
      hints: { ...hints },
    };
    this.#known.set(key, k);
    if (weak) this.#weak++;
    return true;
  }

  /**
   * Addresses to dial now, best first (fewest failures, then strongest source), within the
   * owner's and the node's caps, counting the dials the caller starts for them: call
   * {@link dialStarted} for each one dialled.
   */
  dialable(now: number): KnownAddress[] {
    if (this.#closed) return [];
    const room = Math.min(
      this.#limits.maxHalfOpen - this.#halfOpen,
      this.#limits.maxConnections - this.#open - this.#halfOpen,
    );
    if (room <= 0 || !this.#pool.canDial()) return [];
    const ready: KnownAddress[] = [];
    for (const k of this.#known.values()) {
      if (k.state !== 'idle' || k.nextAttemptAt > now) continue;
      if ((this.#perAddress.get(k.host) ?? 0) >= this.#limits.maxPerAddress) continue;
      ready.push(k);
    }
    ready.sort((a, b) => a.failures - b.failures || SOURCE_RANK[a.source] - SOURCE_RANK[b.source]);
    return ready.slice(0, room);
  }

  /** A dial to `k` started (counts against the half-open caps). */
  dialStarted(k: KnownAddress): boolean {
    if (this.#closed || k.state !== 'idle' || !this.#pool.canDial()) return false;
    k.state = 'dialing';
    this.#halfOpen++;
    this.#pool.adjustHalfOpen(1);
    return true;
  }

  /** The dial to `k` ended: `ok` if it led to a connection that was admitted (or is being). */
  dialEnded(k: KnownAddress, ok: boolean, now: number): void {
    if (k.state !== 'dialing') return;
    this.#halfOpen--;
    this.#pool.adjustHalfOpen(-1);
    if (ok) {
      k.state = 'connected';
      return;
    }
    this.#failed(k, now);
  }

  /**
   * Asks whether a connection with `host:port` may be attached (`outgoing`: we dialled it).
   * On success the connection is counted until `release()`.
   */
  admit(host: string, port: number, outgoing: boolean): Admission | AdmitRefusal {
    if (this.#closed) return 'closed';
    if (this.#pool.isBanned(host)) return 'banned';
    if (this.#pool.isBlocked(host)) return 'blocked';
    const ep = endpoint(host, port);
    if (this.#endpoints.has(ep)) return 'duplicate';
    const limit = this.#limits.maxConnections + (outgoing ? 0 : (this.#limits.incomingSlack ?? 0));
    if (this.#open >= limit) return 'owner-full';
    if ((this.#perAddress.get(host) ?? 0) >= this.#limits.maxPerAddress) return 'address-full';
    if (!outgoing && this.#pool.openConnections >= this.#pool.maxConnections) return 'node-full';
    this.#open++;
    this.#pool.adjustOpen(1);
    this.#perAddress.set(host, (this.#perAddress.get(host) ?? 0) + 1);
    this.#endpoints.add(ep);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#open--;
        this.#pool.adjustOpen(-1);
        const n = (this.#perAddress.get(host) ?? 1) - 1;
        if (n > 0) this.#perAddress.set(host, n);
        else this.#perAddress.delete(host);
        this.#endpoints.delete(ep);
      },
    };
  }

  /**
   * A connection to a known address closed. `failed`: it ended before being useful (refused
   * handshake, protocol error) and counts as a failure; otherwise the address may be dialled
   * again after the base back-off.
   */
  disconnected(host: string, port: number, failed: boolean, now: number): void {
    const k = this.#known.get(endpoint(host, port));
    if (k === undefined || k.state === 'dialing') return;
    if (failed) {
      this.#failed(k, now);
      return;
    }
    k.state = 'idle';
    k.nextAttemptAt = now + RECONNECT_BASE_MS;
  }

  /** Forgets every entry of `address` (it was banned). */
  forgetAddress(address: string): void {
    this.forgetWhere((host) => host === address);
  }

  /** Forgets every entry whose address matches (not those being dialled: the dial's end settles them). */
  forgetWhere(matches: (address: string) => boolean): void {
    for (const k of [...this.#known.values()]) if (k.state !== 'dialing' && matches(k.host)) this.#delete(k);
  }

  /** Releases the owner; its counts leave the node's. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pool.adjustHalfOpen(-this.#halfOpen);
    this.#halfOpen = 0;
    this.#known.clear();
    this.#pool.removeOwner(this);
  }

  #failed(k: KnownAddress, now: number): void {
    k.state = 'idle';
    k.failures++;
    k.nextAttemptAt = now + RECONNECT_BASE_MS * 2 ** Math.min(k.failures, 6);
    if (k.failures >= MAX_CONNECT_FAILURES) this.#delete(k);
  }

  #setSource(k: KnownAddress, source: PeerSource): void {
    const wasWeak = SOURCE_RANK[k.source] >= SOURCE_RANK.pex;
    const isWeak = SOURCE_RANK[source] >= SOURCE_RANK.pex;
    k.source = source;
    if (wasWeak && !isWeak) this.#weak--;
  }

  /**
   * The entry to forget for a newcomer of rank `rank`: an idle one, of a rank no stronger than
   * the newcomer's (only weak ones when the weak share is full), most failed first.
   */
  #victim(rank: number, weakOnly: boolean): KnownAddress | undefined {
    let best: KnownAddress | undefined;
    for (const k of this.#known.values()) {
      if (k.state !== 'idle') continue;
      const r = SOURCE_RANK[k.source];
      if (r < rank || (weakOnly && r < SOURCE_RANK.pex)) continue;
      if (
        best === undefined ||
        k.failures > best.failures ||
        (k.failures === best.failures && r > SOURCE_RANK[best.source])
      )
        best = k;
    }
    return best;
  }

  #delete(k: KnownAddress): void {
    if (this.#known.delete(endpoint(k.host, k.port)) && SOURCE_RANK[k.source] >= SOURCE_RANK.pex)
      this.#weak--;
  }
}

function endpoint(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
