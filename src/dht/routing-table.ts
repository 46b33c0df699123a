/**
 * The routing table (BEP 5 §Routing Table): k-buckets over the 160-bit XOR metric.
 *
 * DEV DOCS
 * - Owns: the buckets, each with at most `k` nodes and a bounded replacement cache, and the
 *   liveness facts of every node (confirmed = has answered us, failures in a row, last activity).
 * - Shape: bucket `i` (for `i` below the last) holds the nodes whose id shares exactly `i` leading
 *   bits with ours; the last bucket holds every node sharing at least that many. Only the last
 *   bucket — the one covering our own id — ever splits, so the table is the classic tree of
 *   BEP 5 laid out as a list. Invariants: a bucket never holds more than `k` nodes, an id appears
 *   at most once in the table, every node sits in the bucket its id maps to, and (outside local
 *   networks) one IP address appears at most once per bucket.
 * - States: good (answered within 15 minutes, or answered once and queried us within 15 minutes),
 *   questionable (otherwise), bad (failed `maxFailures` queries in a row, or failed before ever
 *   answering). A full bucket takes a new node only by replacing a bad node, a never-confirmed
 *   node, or (BEP 42) a node whose id does not match its IP when the newcomer's does; others
 *   wait in the replacement cache. Nodes only heard of (another node's reply, a saved table) take
 *   free room or a bad node's place, never a cache slot; `dueForPing` probes them first.
 * - Driven by: the DhtNode, with binary-string keys (see address.ts); `add`/`closest` with
 *   bytes exist for tests and the runtime.
 */
import { BencodeDict, BencodeError, decode, encode } from '../codec/index.js';
import { ErrorCode } from '../shared/errors.js';
import { MAX_DHT_SAVED_NODES, MAX_DHT_STATE_BYTES } from '../shared/limits.js';
import { addressFromKey, addressKey, binaryToBytes, bytesToBinary, isLocalIp } from './address.js';
import {
  DHT_K,
  DHT_NODE_MAX_FAILURES,
  DHT_NODE_QUESTIONABLE_MS,
  DHT_PING_INTERVAL_MS,
  DHT_REPLACEMENT_CACHE_SIZE,
  NODE_ID_BITS,
  NODE_ID_BYTES,
} from './constants.js';
import { DhtError } from './errors.js';
import type { NodeContact } from './krpc.js';
import { commonPrefixBits, compareDistance, isConformingKey } from './node-id.js';

/** Liveness of a routing table node (BEP 5). */
export type NodeState = 'good' | 'questionable' | 'bad';

/** How we learned about a node. */
export type NodeSighting =
  /** It answered one of our queries: confirmed alive, from exactly this address. */
  | 'responded'
  /** It sent us a query (and is not read-only, BEP 43). */
  | 'queried'
  /** Heard of from another node's reply, a saved table or a hint: unverified. */
  | 'heard';

/** One node of the table, as kept inside it (ids and addresses as binary strings). */
export interface RoutingEntry {
  readonly id: string;
  addr: string;
  /** Last answer from it, or last query from it once it has answered (ms). */
  lastActive: number;
  /** Last maintenance ping we sent it (ms). */
  lastPing: number;
  /** Has answered at least one of our queries. */
  confirmed: boolean;
  /** Queries failed in a row. */
  failures: number;
  /** Its id obeys BEP 42 for its IP (local addresses always do). */
  readonly conforming: boolean;
}

interface Bucket {
  nodes: RoutingEntry[];
  replacements: RoutingEntry[];
  /** Last time a node was added, replaced, or answered (ms); drives refreshes. */
  lastChanged: number;
}

/** A read-only snapshot of one routing table node. */
export interface RoutingNode extends NodeContact {
  readonly state: NodeState;
  readonly confirmed: boolean;
  readonly conforming: boolean;
  readonly failures: number;
  readonly lastActiveMs: number;
}

/** A read-only snapshot of one bucket. */
export interface RoutingBucket {
  /** Leading bits its nodes share with our id (the last bucket: at least this many). */
  readonly prefixBits: number;
  readonly nodes: readonly RoutingNode[];
  readonly replacements: readonly RoutingNode[];
  readonly lastChangedMs: number;
}

/** Tunables of a routing table; every field has the BEP 5 default. */
export interface RoutingTableInit {
  /** Bucket size. @default DHT_K (8) */
  readonly k?: number;
  /** Replacement cache size per bucket. @default DHT_REPLACEMENT_CACHE_SIZE */
  readonly replacementCacheSize?: number;
  /** Inactivity after which a node is questionable, in ms. @default 15 minutes */
  readonly questionableMs?: number;
  /** Failures in a row after which a node is bad. @default DHT_NODE_MAX_FAILURES */
  readonly maxFailures?: number;
}

/** A saved table read back by {@link RoutingTable.parseSaved}. */
export interface SavedRoutingTable {
  readonly id: Uint8Array;
  readonly nodes: readonly NodeContact[];
}

const SAVE_FORMAT_VERSION = 1;

/** The k-bucket routing table of one DHT node (BEP 5). */
export class RoutingTable {
  /** Our node id as a binary string. */
  readonly ownKey: string;
  readonly k: number;
  readonly #replacementCacheSize: number;
  readonly #questionableMs: number;
  readonly #maxFailures: number;
  readonly #buckets: Bucket[];
  #size = 0;

  constructor(ownId: Uint8Array, now: number, init: RoutingTableInit = {}) {
    if (ownId.length !== NODE_ID_BYTES) {
      throw new DhtError(ErrorCode.DhtInvalidArgument, `node id must be ${NODE_ID_BYTES} bytes`);
    }
    this.ownKey = bytesToBinary(ownId);
    this.k = init.k ?? DHT_K;
    this.#replacementCacheSize = init.replacementCacheSize ?? DHT_REPLACEMENT_CACHE_SIZE;
    this.#questionableMs = init.questionableMs ?? DHT_NODE_QUESTIONABLE_MS;
    this.#maxFailures = init.maxFailures ?? DHT_NODE_MAX_FAILURES;
    this.#buckets = [{ nodes: [], replacements: [], lastChanged: now }];
  }

  /** Our node id. */
  get id(): Uint8Array {
    return binaryToBytes(this.ownKey);
  }

  /** Nodes in buckets (replacement caches not included). */
  get size(): number {
    return this.#size;
  }

  get bucketCount(): number {
    return this.#buckets.length;
  }

  /** Nodes waiting in replacement caches. */
  get replacementCount(): number {
    let n = 0;
    for (const b of this.#buckets) n += b.replacements.length;
    return n;
  }

  /** The state of an entry at `now`. */
  stateOf(e: RoutingEntry, now: number): NodeState {
    if (e.failures >= this.#maxFailures || (!e.confirmed && e.failures > 0)) return 'bad';
    return e.confirmed && now - e.lastActive < this.#questionableMs ? 'good' : 'questionable';
  }

  #bucketIndex(idKey: string): number {
    return Math.min(commonPrefixBits(this.ownKey, idKey), this.#buckets.length - 1);
  }

  /** The entry for a node id, in a bucket or a replacement cache. */
  find(idKey: string): RoutingEntry | undefined {
    const b = this.#buckets[this.#bucketIndex(idKey)]!;
    const i = indexOfId(b.nodes, idKey);
    if (i >= 0) return b.nodes[i];
    const r = indexOfId(b.replacements, idKey);
    return r >= 0 ? b.replacements[r] : undefined;
  }

  /** True when the node is in a bucket (not only in a replacement cache). */
  has(idKey: string): boolean {
    return indexOfId(this.#buckets[this.#bucketIndex(idKey)]!.nodes, idKey) >= 0;
  }

  /**
   * Records a sighting of node `idKey` at `addrKey` (binary strings) and inserts it when there
   * is room, by the rules of BEP 5 and BEP 42. Returns true when the node is now in a bucket.
   */
  observe(idKey: string, addrKey: string, now: number, how: NodeSighting): boolean {
    if (idKey.length !== NODE_ID_BYTES || idKey === this.ownKey) return false;
    let idx = this.#bucketIndex(idKey);
    let b = this.#buckets[idx]!;
    const at = indexOfId(b.nodes, idKey);
    if (at >= 0) {
      const existing = b.nodes[at]!;
      if (existing.addr !== addrKey) {
        // Only an answer from the new address proves the node moved; a claim does not.
        if (how !== 'responded') return true;
        existing.addr = addrKey;
      }
      this.#touch(existing, b, now, how);
      return true;
    }
    const rIdx = indexOfId(b.replacements, idKey);
    let entry: RoutingEntry;
    if (rIdx >= 0) {
      entry = b.replacements[rIdx]!;
      if (entry.addr !== addrKey && how !== 'responded') return false;
      b.replacements.splice(rIdx, 1);
      entry.addr = addrKey;
      this.#touch(entry, b, now, how);
    } else {
      // Hearsay only fills free room: it never waits in a replacement cache, so do no work for it
      // when its bucket is full of live nodes and cannot split.
      const canSplit = idx === this.#buckets.length - 1 && idx < NODE_ID_BITS - 1;
      if (how === 'heard' && b.nodes.length >= this.k && !canSplit && !this.#hasBad(b, now)) return false;
      entry = this.#newEntry(idKey, addrKey, now, how);
    }
    // One node per IP per bucket (per address on local networks): a Sybil needs many IPs.
    const sameHost = this.#sameHost(b, entry);
    if (sameHost !== undefined) {
      if (how !== 'responded' || (sameHost.confirmed && this.stateOf(sameHost, now) === 'good')) {
        return false;
      }
      this.#remove(b, sameHost);
    }
    for (;;) {
      if (b.nodes.length < this.k) {
        b.nodes.push(entry);
        this.#size++;
        b.lastChanged = now;
        return true;
      }
      if (idx === this.#buckets.length - 1 && idx < NODE_ID_BITS - 1) {
        this.#split(now);
        idx = this.#bucketIndex(idKey);
        b = this.#buckets[idx]!;
        continue;
      }
      break;
    }
    const victim = this.#victimFor(b, entry, now);
    if (victim !== undefined) {
      b.nodes[b.nodes.indexOf(victim)] = entry;
      b.lastChanged = now;
      return true;
    }
    if (how !== 'heard') this.#addReplacement(b, entry);
    return false;
  }

  #hasBad(b: Bucket, now: number): boolean {
    for (const e of b.nodes) if (this.stateOf(e, now) === 'bad') return true;
    return false;
  }

  #newEntry(id: string, addr: string, now: number, how: NodeSighting): RoutingEntry {
    return {
      id,
      addr,
      lastActive: now,
      lastPing: Number.NEGATIVE_INFINITY,
      confirmed: how === 'responded',
      failures: 0,
      conforming: isConformingKey(id, addr),
    };
  }

  #touch(e: RoutingEntry, b: Bucket, now: number, how: NodeSighting): void {
    if (how === 'responded') {
      e.confirmed = true;
      e.failures = 0;
      e.lastActive = now;
      b.lastChanged = now;
    } else if (how === 'queried' && e.confirmed) {
      e.lastActive = now;
    }
  }

  #sameHost(b: Bucket, entry: RoutingEntry): RoutingEntry | undefined {
    const addr = entry.addr;
    const ipLen = addr.length - 2;
    const local = isLocalIp(binaryToBytes(addr.slice(0, ipLen)));
    const ip = addr.slice(0, ipLen);
    // Same IP (same IP and port on local networks, where many nodes share one host).
    for (const list of [b.nodes, b.replacements]) {
      for (const e of list) {
        if (e.id === entry.id || e.addr.length !== addr.length) continue;
        if (local ? e.addr === addr : e.addr.startsWith(ip)) return e;
      }
    }
    return undefined;
  }

  #remove(b: Bucket, e: RoutingEntry): void {
    const i = b.nodes.indexOf(e);
    if (i >= 0) {
      b.nodes.splice(i, 1);
      this.#size--;
      return;
    }
    const r = b.replacements.indexOf(e);
    if (r >= 0) b.replacements.splice(r, 1);
  }

  /** Which node of a full bucket `entry` may replace, if any. */
  #victimFor(b: Bucket, entry: RoutingEntry, now: number): RoutingEntry | undefined {
    const bad = b.nodes.find((e) => this.stateOf(e, now) === 'bad');
    if (bad !== undefined || !entry.confirmed) return bad;
    // A confirmed newcomer displaces a node that never answered us ...
    const unconfirmed = b.nodes.find((e) => !e.confirmed);
    if (unconfirmed !== undefined) return unconfirmed;
    // ... and (BEP 42) a conforming newcomer displaces a non-conforming node, questionable first.
    if (!entry.conforming) return undefined;
    let pick: RoutingEntry | undefined;
    for (const e of b.nodes) {
      if (e.conforming) continue;
      if (pick === undefined || (this.stateOf(e, now) !== 'good' && this.stateOf(pick, now) === 'good'))
        pick = e;
    }
    return pick;
  }

  #addReplacement(b: Bucket, entry: RoutingEntry): void {
    const i = indexOfId(b.replacements, entry.id);
    if (i >= 0) b.replacements.splice(i, 1);
    b.replacements.push(entry);
    if (b.replacements.length > this.#replacementCacheSize) {
      // Drop an unconfirmed entry first, else the oldest.
      const u = b.replacements.findIndex((e) => !e.confirmed);
      b.replacements.splice(Math.max(u, 0), 1);
    }
  }

  #split(now: number): void {
    const last = this.#buckets[this.#buckets.length - 1]!;
    const depth = this.#buckets.length; // prefix bits of the new last bucket
    const next: Bucket = { nodes: [], replacements: [], lastChanged: now };
    const stay: Bucket = { nodes: [], replacements: [], lastChanged: last.lastChanged };
    for (const e of last.nodes) (commonPrefixBits(this.ownKey, e.id) >= depth ? next : stay).nodes.push(e);
    for (const e of last.replacements) {
      (commonPrefixBits(this.ownKey, e.id) >= depth ? next : stay).replacements.push(e);
    }
    last.nodes = stay.nodes;
    last.replacements = stay.replacements;
    this.#buckets.push(next);
    // A half that now has room takes its waiting replacements.
    for (const b of [last, next]) {
      while (b.nodes.length < this.k && b.replacements.length > 0) {
        b.nodes.push(b.replacements.pop()!);
        this.#size++;
      }
    }
  }

  /**
   * Records that node `idKey` failed to answer. A node that never answered, or failed
   * `maxFailures` times in a row, is replaced from the bucket's replacement cache when possible;
   * an unconfirmed one is dropped even without a replacement.
   */
  failed(idKey: string, now: number): void {
    const b = this.#buckets[this.#bucketIndex(idKey)]!;
    const r = indexOfId(b.replacements, idKey);
    if (r >= 0) {
      b.replacements.splice(r, 1);
      return;
    }
    const i = indexOfId(b.nodes, idKey);
    if (i < 0) return;
    const e = b.nodes[i]!;
    e.failures++;
    if (this.stateOf(e, now) !== 'bad') return;
    const rep = this.#bestReplacement(b);
    if (rep !== undefined) {
      b.replacements.splice(b.replacements.indexOf(rep), 1);
      b.nodes[i] = rep;
      b.lastChanged = now;
    } else if (!e.confirmed) {
      b.nodes.splice(i, 1);
      this.#size--;
    }
  }

  #bestReplacement(b: Bucket): RoutingEntry | undefined {
    let best: RoutingEntry | undefined;
    const score = (e: RoutingEntry) => (e.confirmed ? 2 : 0) + (e.conforming ? 1 : 0);
    // Newest first among equals: later entries were seen more recently.
    for (let j = b.replacements.length - 1; j >= 0; j--) {
      const e = b.replacements[j]!;
      if (best === undefined || score(e) > score(best)) best = e;
    }
    return best;
  }

  /** Removes a node entirely (e.g. it turned out to be read-only or to be us). */
  remove(idKey: string): void {
    const b = this.#buckets[this.#bucketIndex(idKey)]!;
    const e = this.find(idKey);
    if (e !== undefined) this.#remove(b, e);
  }

  /**
   * The `n` nodes closest to `targetKey` by XOR distance, closest first, never bad ones. With
   * `confirmedOnly`, only nodes that have answered us (what we hand to other nodes, BEP 5:
   * "the K closest good nodes").
   */
  closestEntries(targetKey: string, n: number, confirmedOnly: boolean, now: number): RoutingEntry[] {
    // Buckets are visited in distance order instead of sorting the whole table: with c the
    // prefix `target` shares with our id, bucket c holds the closest nodes, the buckets after it
    // come next (all at distances with bit c set), then buckets c-1, c-2, ... 0, each strictly
    // farther than the one before.
    const last = this.#buckets.length - 1;
    const c = Math.min(commonPrefixBits(this.ownKey, targetKey), last);
    const out: RoutingEntry[] = [];
    const group: RoutingEntry[] = [];
    const take = () => {
      group.sort((a, b) => compareDistance(a.id, b.id, targetKey));
      for (const e of group) {
        if (out.length >= n) break;
        out.push(e);
      }
      group.length = 0;
    };
    const collect = (b: Bucket) => {
      for (const e of b.nodes) {
        if (confirmedOnly && !e.confirmed) continue;
        if (this.stateOf(e, now) !== 'bad') group.push(e);
      }
    };
    collect(this.#buckets[c]!);
    take();
    if (out.length < n) {
      for (let i = c + 1; i <= last; i++) collect(this.#buckets[i]!);
      take();
    }
    for (let i = c - 1; i >= 0 && out.length < n; i--) {
      collect(this.#buckets[i]!);
      take();
    }
    return out;
  }

  /** Byte-level {@link observe}: inserts or updates a contact. */
  add(contact: NodeContact, now: number, how: NodeSighting = 'responded'): boolean {
    const addr = addressKey(contact);
    if (addr === undefined || contact.id.length !== NODE_ID_BYTES) return false;
    return this.observe(bytesToBinary(contact.id), addr, now, how);
  }

  /** Byte-level {@link closestEntries}: the `n` closest non-bad contacts to `target`. */
  closest(target: Uint8Array, n: number, now: number, confirmedOnly = false): NodeContact[] {
    return this.closestEntries(bytesToBinary(target), n, confirmedOnly, now).map(toContact);
  }

  /**
   * Entries to ping for maintenance (BEP 5), at most `max`, none pinged within `pingIntervalMs`
   * (they are marked pinged): first nodes that never answered us, closest buckets first, so
   * fresh entries are confirmed (or dropped) quickly; then, per bucket, the least recently
   * active questionable node.
   */
  dueForPing(now: number, max: number, pingIntervalMs = DHT_PING_INTERVAL_MS): RoutingEntry[] {
    const out: RoutingEntry[] = [];
    const take = (e: RoutingEntry) => {
      e.lastPing = now;
      out.push(e);
    };
    for (let i = this.#buckets.length - 1; i >= 0 && out.length < max; i--) {
      for (const e of this.#buckets[i]!.nodes) {
        if (out.length >= max) break;
        if (!e.confirmed && e.failures === 0 && now - e.lastPing >= pingIntervalMs) take(e);
      }
    }
    for (const b of this.#buckets) {
      if (out.length >= max) break;
      let pick: RoutingEntry | undefined;
      for (const e of b.nodes) {
        if (!e.confirmed || this.stateOf(e, now) !== 'questionable' || now - e.lastPing < pingIntervalMs)
          continue;
        if (pick === undefined || e.lastActive < pick.lastActive) pick = e;
      }
      if (pick !== undefined) take(pick);
    }
    return out;
  }

  /**
   * The index of a bucket not changed for `refreshMs` (BEP 5: refresh with a `find_node` for a
   * random id in its range), marking it changed; `undefined` when none is due.
   */
  dueForRefresh(now: number, refreshMs: number): number | undefined {
    for (let i = 0; i < this.#buckets.length; i++) {
      const b = this.#buckets[i]!;
      if (now - b.lastChanged >= refreshMs) {
        b.lastChanged = now;
        return i;
      }
    }
    return undefined;
  }

  /** Snapshot of every bucket, for statistics and tests. */
  buckets(now: number): RoutingBucket[] {
    return this.#buckets.map((b, i) => ({
      prefixBits: i,
      nodes: b.nodes.map((e) => this.#snapshot(e, now)),
      replacements: b.replacements.map((e) => this.#snapshot(e, now)),
      lastChangedMs: b.lastChanged,
    }));
  }

  /** Snapshot of every node in a bucket. */
  nodes(now: number): RoutingNode[] {
    return this.#buckets.flatMap((b) => b.nodes.map((e) => this.#snapshot(e, now)));
  }

  /** Nodes in good state. */
  goodCount(now: number): number {
    let n = 0;
    for (const b of this.#buckets) for (const e of b.nodes) if (this.stateOf(e, now) === 'good') n++;
    return n;
  }

  #snapshot(e: RoutingEntry, now: number): RoutingNode {
    return {
      ...toContact(e),
      state: this.stateOf(e, now),
      confirmed: e.confirmed,
      conforming: e.conforming,
      failures: e.failures,
      lastActiveMs: e.lastActive,
    };
  }

  /**
   * The table as bytes for the state directory (BEP 5: "the routing table should be saved
   * between invocations"): a bencoded `{id, nodes, nodes6, v}`, confirmed nodes first. Liveness is
   * not saved: after a restart every node must prove itself again.
   */
  toBytes(now: number): Uint8Array {
    const all = this.#buckets.flatMap((b) => b.nodes).filter((e) => this.stateOf(e, now) !== 'bad');
    all.sort((a, b) => Number(b.confirmed) - Number(a.confirmed));
    const v4: number[] = [];
    const v6: number[] = [];
    for (const e of all.slice(0, MAX_DHT_SAVED_NODES)) {
      const out = e.addr.length === 6 ? v4 : v6;
      for (const s of [e.id, e.addr]) for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
    }
    return encode({
      id: binaryToBytes(this.ownKey),
      nodes: Uint8Array.from(v4),
      nodes6: Uint8Array.from(v6),
      v: SAVE_FORMAT_VERSION,
    });
  }

  /** Reads bytes written by {@link toBytes}. Throws `DhtBadState` for anything else. */
  static parseSaved(bytes: Uint8Array): SavedRoutingTable {
    const fail = (why: string) => new DhtError(ErrorCode.DhtBadState, `saved routing table: ${why}`);
    if (bytes.length > MAX_DHT_STATE_BYTES) throw fail(`larger than ${MAX_DHT_STATE_BYTES} bytes`);
    let d: unknown;
    try {
      d = decode(bytes, { mode: 'lenient', maxDepth: 4 });
    } catch (e) {
      if (e instanceof BencodeError) throw fail(e.message);
      throw e;
    }
    if (!(d instanceof BencodeDict) || d.get('v') !== SAVE_FORMAT_VERSION) throw fail('unknown format');
    const id = d.get('id');
    if (!(id instanceof Uint8Array) || id.length !== NODE_ID_BYTES) throw fail('no 20-byte id');
    const nodes: NodeContact[] = [];
    for (const [key, size] of [
      ['nodes', 26],
      ['nodes6', 38],
    ] as const) {
      const raw = d.get(key);
      if (raw === undefined) continue;
      if (!(raw instanceof Uint8Array) || raw.length % size !== 0) throw fail(`bad "${key}"`);
      for (let at = 0; at < raw.length && nodes.length < MAX_DHT_SAVED_NODES; at += size) {
        const addr = addressFromKey(bytesToBinary(raw.subarray(at + NODE_ID_BYTES, at + size)));
        nodes.push({ id: raw.slice(at, at + NODE_ID_BYTES), host: addr.host, port: addr.port });
      }
    }
    return { id: id.slice(), nodes };
  }

  /**
   * A table rebuilt from {@link toBytes}: same id, saved nodes inserted as unverified
   * ("heard"). Throws `DhtBadState` when the bytes are not a saved table.
   */
  static fromBytes(bytes: Uint8Array, now: number, init: RoutingTableInit = {}): RoutingTable {
    const saved = RoutingTable.parseSaved(bytes);
    const table = new RoutingTable(saved.id, now, init);
    for (const c of saved.nodes) table.add(c, now, 'heard');
    return table;
  }
}

function toContact(e: RoutingEntry): NodeContact {
  const a = addressFromKey(e.addr);
  return { id: binaryToBytes(e.id), host: a.host, port: a.port };
}

/** Index of the entry with id `idKey` in `list`, or -1 (a loop: this runs for every datagram). */
function indexOfId(list: readonly RoutingEntry[], idKey: string): number {
  for (let i = 0; i < list.length; i++) if (list[i]!.id === idKey) return i;
  return -1;
}
