/**
 * One iterative Kademlia lookup (BEP 5 §Overview): `find_node` toward a target id, `get_peers`
 * toward an info-hash (optionally followed by `announce_peer`), or BEP 44 `get` toward an item's
 * target (optionally followed by `put`).
 *
 * DEV DOCS
 * - Owns: the candidate list (closest first, at most `maxCandidates`), each candidate's state
 *   (new → pending → responded | failed, with "stalled" for a pending query past the short
 *   timeout), the write tokens and peers collected, and the counters.
 * - Algorithm: keep at most α queries in flight (stalled ones do not count) to the closest `new`
 *   candidates among the k closest not-failed ones (the "window"). Replies add their `nodes` as
 *   candidates. The lookup is done when the window holds only nodes that answered, or when no
 *   candidate is left to ask and nothing is in flight, or after `maxQueries` queries.
 *   Bootstrap seeds (addresses without a known id) are all asked first.
 * - BEP 42 enforcement: when `enforceNodeIds` is set, answers from nodes whose id does not match
 *   their IP neither count toward termination nor yield announce targets.
 * - Pure: the DhtNode sends the queries `next()` returns and reports answers and timeouts.
 */
import { MAX_DHT_LOOKUP_CANDIDATES, MAX_DHT_LOOKUP_PEERS, MAX_DHT_LOOKUP_QUERIES } from '../shared/limits.js';
import { DHT_ALPHA, DHT_K } from './constants.js';
import { compareDistance } from './node-id.js';

/**
 * What a lookup is for. `announce` is a `get_peers` lookup followed by `announce_peer`; `get` is a
 * BEP 44 `get` lookup, and `put` one followed by `put`.
 */
export type LookupKind = 'find_node' | 'get_peers' | 'announce' | 'get' | 'put';

/** A candidate's progress. */
export type CandidateState = 'new' | 'pending' | 'stalled' | 'responded' | 'failed';

/** A node a lookup may ask (ids and addresses as binary strings, see address.ts). */
export interface LookupCandidate {
  /** Unknown for bootstrap seeds until they answer. */
  id: string | undefined;
  readonly addr: string;
  state: CandidateState;
  /** BEP 42 conformance of id and IP (false until known). */
  conforming: boolean;
  /** Write token from its `get_peers` or `get` answer. */
  token: Uint8Array | undefined;
}

/** A node learned from an answer. */
export interface LookupNodeHint {
  readonly id: string;
  readonly addr: string;
}

/** Tunables of a lookup; every field has a default. */
export interface LookupInit {
  readonly k?: number;
  readonly alpha?: number;
  readonly maxCandidates?: number;
  readonly maxQueries?: number;
  readonly maxPeers?: number;
  /** BEP 42 enforcement (see module docs). @default false */
  readonly enforceNodeIds?: boolean;
  /** Our own id: never a candidate. */
  readonly ownKey?: string;
}

/** The state of one iterative lookup. */
export class Lookup {
  readonly lookupId: number;
  readonly kind: LookupKind;
  readonly targetKey: string;
  readonly #k: number;
  readonly #alpha: number;
  readonly #maxCandidates: number;
  readonly #maxQueries: number;
  readonly #maxPeers: number;
  readonly #enforce: boolean;
  readonly #ownKey: string | undefined;
  /** Candidates with a known id, closest first. */
  #sorted: LookupCandidate[] = [];
  /** Seeds whose id is unknown. */
  #seeds: LookupCandidate[] = [];
  /** Every live candidate by address. */
  readonly #byAddr = new Map<string, LookupCandidate>();
  /** Every address and id ever added (so a forgotten or failed node is not re-added). */
  readonly #seenAddrs = new Set<string>();
  readonly #seenIds = new Set<string>();
  readonly #peers = new Set<string>();
  #active = 0;
  #pending = 0;
  /** Queries sent. */
  queries = 0;
  /** Answers received. */
  responses = 0;
  /** Queries that timed out or were answered with an error. */
  failures = 0;

  constructor(lookupId: number, kind: LookupKind, targetKey: string, init: LookupInit = {}) {
    this.lookupId = lookupId;
    this.kind = kind;
    this.targetKey = targetKey;
    this.#k = init.k ?? DHT_K;
    this.#alpha = init.alpha ?? DHT_ALPHA;
    this.#maxCandidates = init.maxCandidates ?? MAX_DHT_LOOKUP_CANDIDATES;
    this.#maxQueries = init.maxQueries ?? MAX_DHT_LOOKUP_QUERIES;
    this.#maxPeers = init.maxPeers ?? MAX_DHT_LOOKUP_PEERS;
    this.#enforce = init.enforceNodeIds ?? false;
    this.#ownKey = init.ownKey;
  }

  /** Distinct peers collected so far (compact binary strings). */
  get peers(): ReadonlySet<string> {
    return this.#peers;
  }

  /** Queries in flight (stalled ones included). */
  get pending(): number {
    return this.#pending;
  }

  /** Adds bootstrap seeds: addresses whose node id we do not know. */
  addSeeds(addrs: Iterable<string>): void {
    for (const addr of addrs) {
      if (this.#seenAddrs.has(addr)) continue;
      this.#seenAddrs.add(addr);
      const c: LookupCandidate = { id: undefined, addr, state: 'new', conforming: false, token: undefined };
      this.#seeds.push(c);
      this.#byAddr.set(addr, c);
    }
  }

  /** Adds known nodes (from our table or from an answer) as candidates. */
  addNodes(nodes: Iterable<LookupNodeHint>): void {
    for (const n of nodes) {
      if (n.id === this.#ownKey || this.#seenAddrs.has(n.addr) || this.#seenIds.has(n.id)) continue;
      const c: LookupCandidate = {
        id: n.id,
        addr: n.addr,
        state: 'new',
        conforming: false,
        token: undefined,
      };
      if (!this.#insert(c)) continue;
      this.#seenAddrs.add(n.addr);
      this.#seenIds.add(n.id);
      this.#byAddr.set(n.addr, c);
    }
  }

  #insert(c: LookupCandidate): boolean {
    const id = c.id!;
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareDistance(this.#sorted[mid]!.id!, id, this.targetKey) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= this.#maxCandidates) return false;
    this.#sorted.splice(lo, 0, c);
    // Forget the farthest candidates not in flight beyond the bound.
    for (let i = this.#sorted.length - 1; this.#sorted.length > this.#maxCandidates && i >= 0; i--) {
      const far = this.#sorted[i]!;
      if (far.state === 'pending' || far.state === 'stalled') continue;
      this.#sorted.splice(i, 1);
      this.#byAddr.delete(far.addr);
      if (far === c) return false;
    }
    return true;
  }

  /** A candidate by address, while the lookup remembers it. */
  candidate(addr: string): LookupCandidate | undefined {
    return this.#byAddr.get(addr);
  }

  #counts(c: LookupCandidate): boolean {
    if (c.state === 'failed') return false;
    return !(this.#enforce && c.state === 'responded' && !c.conforming);
  }

  /** The candidates to query now; they are marked pending. */
  next(): LookupCandidate[] {
    const out: LookupCandidate[] = [];
    for (const s of this.#seeds) {
      if (this.queries >= this.#maxQueries) return out;
      if (s.state === 'new') this.#send(s, out);
    }
    let inWindow = 0;
    for (const c of this.#sorted) {
      if (this.#active >= this.#alpha || this.queries >= this.#maxQueries) break;
      if (!this.#counts(c)) continue;
      if (++inWindow > this.#k) break;
      if (c.state === 'new') this.#send(c, out);
    }
    return out;
  }

  #send(c: LookupCandidate, out: LookupCandidate[]): void {
    c.state = 'pending';
    this.#active++;
    this.#pending++;
    this.queries++;
    out.push(c);
  }

  #settle(c: LookupCandidate): boolean {
    if (c.state === 'pending') {
      this.#active--;
      this.#pending--;
      return true;
    }
    if (c.state === 'stalled') {
      this.#pending--;
      return true;
    }
    return false;
  }

  /**
   * Records an answer from `addr` whose node id is `id`. Returns the peers (compact binary
   * strings) not seen before in this lookup.
   */
  onResponse(
    addr: string,
    id: string,
    answer: {
      readonly nodes: readonly LookupNodeHint[];
      readonly peers: readonly string[];
      readonly token: Uint8Array | undefined;
      readonly conforming: boolean;
    },
  ): string[] {
    const c = this.#byAddr.get(addr);
    if (c === undefined || !this.#settle(c)) return [];
    this.responses++;
    c.state = 'responded';
    c.token = answer.token;
    c.conforming = answer.conforming;
    if (c.id === undefined) {
      // A seed told us its id: it becomes an ordinary candidate (unless it is us or a duplicate).
      this.#seeds.splice(this.#seeds.indexOf(c), 1);
      this.#byAddr.delete(addr);
      if (id !== this.#ownKey && !this.#seenIds.has(id)) {
        c.id = id;
        this.#seenIds.add(id);
        if (this.#insert(c)) this.#byAddr.set(addr, c);
      }
    }
    this.addNodes(answer.nodes);
    const fresh: string[] = [];
    for (const p of answer.peers) {
      if (this.#peers.size >= this.#maxPeers) break;
      if (this.#peers.has(p)) continue;
      this.#peers.add(p);
      fresh.push(p);
    }
    return fresh;
  }

  /** The query to `addr` passed the short timeout: it no longer holds a slot. */
  onStall(addr: string): void {
    const c = this.#byAddr.get(addr);
    if (c?.state !== 'pending') return;
    c.state = 'stalled';
    this.#active--;
  }

  /** The query to `addr` timed out or drew a KRPC error. */
  onFailure(addr: string): void {
    const c = this.#byAddr.get(addr);
    if (c === undefined || !this.#settle(c)) return;
    this.failures++;
    c.state = 'failed';
  }

  /** True when the lookup has converged or cannot make progress. */
  get done(): boolean {
    if (this.#seeds.some((s) => s.state === 'pending' || s.state === 'stalled')) return false;
    let inWindow = 0;
    let waiting = false;
    for (const c of this.#sorted) {
      if (!this.#counts(c)) continue;
      if (++inWindow > this.#k) break;
      if (c.state !== 'responded') {
        waiting = true;
        break;
      }
    }
    if (!waiting) return true;
    if (this.#pending > 0) return false;
    // Nothing in flight: done unless next() would send something.
    if (this.queries >= this.#maxQueries) return true;
    inWindow = 0;
    for (const c of this.#sorted) {
      if (!this.#counts(c)) continue;
      if (++inWindow > this.#k) break;
      if (c.state === 'new') return false;
    }
    return true;
  }

  /** Up to `n` answered candidates, closest first (BEP 42-conforming only when enforcing). */
  closestResponded(n: number): LookupCandidate[] {
    const out: LookupCandidate[] = [];
    for (const c of this.#sorted) {
      if (out.length >= n) break;
      if (c.state === 'responded' && (!this.#enforce || c.conforming)) out.push(c);
    }
    return out;
  }

  /**
   * The nodes to send `announce_peer` to: the k closest that answered with a token (BEP 5),
   * conforming ones only when enforcing BEP 42.
   */
  announceTargets(): LookupCandidate[] {
    const out: LookupCandidate[] = [];
    for (const c of this.#sorted) {
      if (out.length >= this.#k) break;
      if (c.state === 'responded' && c.token !== undefined && (!this.#enforce || c.conforming)) out.push(c);
    }
    return out;
  }
}
