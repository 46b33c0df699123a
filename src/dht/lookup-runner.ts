/**
 * The lookups a DhtNode runs, and what follows them: `announce_peer` after an announce lookup
 * (BEP 5), `put` after a put lookup (BEP 44).
 *
 * DEV DOCS
 * - Owns: the running lookups (at most `maxLookups`), each a {@link Lookup} (candidates, tokens,
 *   peers) plus its phase, the follow-up queries in flight and, for BEP 44, an {@link ItemLookup}.
 * - Driven by: the DhtNode, through its {@link LookupHost} (send a query, emit an event). The node
 *   hands over the end of each transaction (`onStall`, `settle`), with the contacts it heard.
 * - Phases: `searching` (α queries in flight until the lookup converges), then for an announce or
 *   a put with its item `announcing` (one follow-up per node in the k closest that gave a token),
 *   or for a put without an item `awaiting-item` (a `put:ready` event; `completePut` resumes).
 *   A lookup ends with one `lookup:finished` event, or silently when cancelled.
 * - An immutable `get` ends as soon as a valid value arrives: there is nothing better to find.
 */
import { ErrorCode } from '../shared/errors.js';
import { addressFromKey, addressKey, binaryToBytes, bytesToBinary } from './address.js';
import { DhtError } from './errors.js';
import type { DhtItem, DhtItemQuery } from './item.js';
import { ItemLookup } from './item-lookup.js';
import type { KrpcQueryArgs, KrpcResponse } from './krpc.js';
import { Lookup, type LookupKind, type LookupNodeHint } from './lookup.js';
import { isValidNodeIdForIp } from './node-id.js';
import type { DhtEvent, LookupPurpose } from './node-types.js';
import type { Txn, TxnPurpose } from './transactions.js';

/** What the runner needs from its node. */
export interface LookupHost {
  /** Sends a query; its sequence number, or undefined when the transaction table is full. */
  query(
    to: string,
    args: KrpcQueryArgs,
    now: number,
    purpose: TxnPurpose,
    expectedId: string | undefined,
    lookupId: number,
  ): number | undefined;
  emit(e: DhtEvent): void;
}

/** Tunables of a runner. */
export interface LookupRunnerInit {
  readonly k: number;
  readonly alpha: number;
  readonly enforceNodeIds: boolean;
  readonly maxLookups: number;
  /** Our node id (binary string): never a candidate. */
  readonly ownKey: string;
}

/** How to start one lookup. */
export interface LookupStart {
  readonly kind: LookupKind;
  readonly target: Uint8Array;
  readonly purpose: LookupPurpose;
  /** Known nodes near the target (from our table). */
  readonly nodes: Iterable<LookupNodeHint>;
  /** Addresses whose ids are unknown (bootstrap nodes): asked first. */
  readonly seeds: Iterable<string>;
  /** Announce lookups: the port to announce, or the UDP source port with `impliedPort`. */
  readonly port?: number;
  readonly impliedPort?: boolean;
  /** BEP 44 lookups: what is looked up; put lookups may carry the item (and `cas`) already. */
  readonly itemQuery?: DhtItemQuery;
  readonly putItem?: DhtItem;
  readonly putCas?: bigint;
}

interface LookupRecord {
  readonly lookup: Lookup;
  readonly purpose: LookupPurpose;
  readonly target: Uint8Array;
  readonly port: number;
  readonly impliedPort: boolean;
  phase: 'searching' | 'awaiting-item' | 'announcing';
  announcePending: number;
  announcedTo: number;
  readonly item: ItemLookup | undefined;
}

/** The query a lookup of `kind` for `target` sends. */
function lookupQuery(kind: LookupKind, target: Uint8Array): KrpcQueryArgs {
  switch (kind) {
    case 'find_node':
      return { method: 'find_node', target };
    case 'get_peers':
    case 'announce':
      return { method: 'get_peers', infoHash: target };
    case 'get':
    case 'put':
      return { method: 'get', target };
  }
}

/** The running lookups of one node (see the module docs). */
export class LookupRunner {
  readonly #host: LookupHost;
  readonly #init: LookupRunnerInit;
  readonly #lookups = new Map<number, LookupRecord>();
  #seq = 0;
  /** Lookups that ended with `lookup:finished`. */
  done = 0;
  /** Answers whose item failed BEP 44's reader checks. */
  forgedItems = 0;

  constructor(host: LookupHost, init: LookupRunnerInit) {
    this.#host = host;
    this.#init = init;
  }

  /** Lookups running. */
  get size(): number {
    return this.#lookups.size;
  }

  /** Most lookups at once. */
  get maxLookups(): number {
    return this.#init.maxLookups;
  }

  /** Whether lookup `id` is running. */
  has(id: number): boolean {
    return this.#lookups.has(id);
  }

  /** Starts a lookup and sends its first queries. Throws `DhtLimit` when `maxLookups` run. */
  start(s: LookupStart, now: number): number {
    const { k, alpha, enforceNodeIds, maxLookups, ownKey } = this.#init;
    if (this.#lookups.size >= maxLookups) {
      throw new DhtError(ErrorCode.DhtLimit, `more than ${maxLookups} lookups at once`);
    }
    const lookupId = ++this.#seq;
    const lookup = new Lookup(lookupId, s.kind, bytesToBinary(s.target), {
      k,
      alpha,
      enforceNodeIds,
      ownKey,
    });
    lookup.addNodes(s.nodes);
    lookup.addSeeds(s.seeds);
    const item = s.itemQuery === undefined ? undefined : new ItemLookup(s.itemQuery);
    if (item !== undefined) {
      item.putItem = s.putItem;
      item.putCas = s.putCas;
    }
    const rec: LookupRecord = {
      lookup,
      purpose: s.purpose,
      target: s.target.slice(),
      port: s.port ?? 0,
      impliedPort: s.impliedPort ?? false,
      phase: 'searching',
      announcePending: 0,
      announcedTo: 0,
      item,
    };
    this.#lookups.set(lookupId, rec);
    this.#pump(rec, now);
    return lookupId;
  }

  /** Stops a lookup without a `lookup:finished` event. False when it was not running. */
  cancel(id: number): boolean {
    return this.#lookups.delete(id);
  }

  /**
   * The item (and `cas`) for a put lookup waiting after `put:ready`, which must be stored under
   * the lookup's target (the caller checks the item itself). Throws `DhtInvalidArgument` when the
   * lookup is not waiting or the target differs.
   */
  completePut(id: number, item: DhtItem, target: Uint8Array, cas: bigint | undefined, now: number): void {
    const rec = this.#lookups.get(id);
    if (rec?.phase !== 'awaiting-item' || rec.item === undefined) {
      throw new DhtError(ErrorCode.DhtInvalidArgument, `lookup ${id} is not waiting for an item`);
    }
    if (bytesToBinary(target) !== bytesToBinary(rec.target)) {
      throw new DhtError(ErrorCode.DhtInvalidArgument, 'the item is not stored under the lookup target');
    }
    rec.item.putItem = item;
    rec.item.putCas = cas;
    this.#sendPuts(rec, now);
  }

  /** A lookup query passed the short timeout: it no longer holds one of the α slots. */
  onStall(txn: Txn, now: number): void {
    const rec = this.#lookups.get(txn.lookupId);
    if (rec === undefined || txn.purpose !== 'lookup') return;
    rec.lookup.onStall(txn.to);
    this.#pump(rec, now);
  }

  /**
   * The end of one of our lookup, announce or put queries: `answer` (with the contacts the node
   * took from it) or, for a failure, the KRPC error code that refused it (if any).
   */
  settle(
    txn: Txn,
    answer: { readonly id: string; readonly r: KrpcResponse; readonly nodes: LookupNodeHint[] } | undefined,
    refusal: number | undefined,
    now: number,
  ): void {
    const rec = this.#lookups.get(txn.lookupId);
    if (rec === undefined) return;
    if (txn.purpose === 'announce' || txn.purpose === 'put') {
      rec.announcePending--;
      if (answer !== undefined) rec.announcedTo++;
      else if (refusal !== undefined) rec.item?.refused(refusal);
      if (rec.announcePending <= 0) this.#finish(rec);
      return;
    }
    if (txn.purpose !== 'lookup') return;
    if (answer === undefined) rec.lookup.onFailure(txn.to);
    else if (this.#answer(rec, txn, answer.id, answer.r, answer.nodes) === 'done') {
      this.#finish(rec);
      return;
    }
    this.#pump(rec, now);
  }

  #pump(rec: LookupRecord, now: number): void {
    if (rec.phase !== 'searching') return;
    const { lookup } = rec;
    const args = lookupQuery(lookup.kind, rec.target);
    for (const c of lookup.next()) {
      const seq = this.#host.query(c.addr, args, now, 'lookup', c.id, lookup.lookupId);
      if (seq === undefined) lookup.onFailure(c.addr);
    }
    if (!lookup.done) return;
    if (lookup.kind === 'put') {
      const item = rec.item!;
      if (item.putItem !== undefined) {
        this.#sendPuts(rec, now);
        return;
      }
      rec.phase = 'awaiting-item';
      this.#host.emit({
        type: 'put:ready',
        lookupId: lookup.lookupId,
        target: rec.target,
        ...(item.best === undefined ? {} : { current: item.best }),
      });
      return;
    }
    if (lookup.kind !== 'announce') {
      this.#finish(rec);
      return;
    }
    rec.phase = 'announcing';
    for (const c of lookup.announceTargets()) {
      const args: KrpcQueryArgs = {
        method: 'announce_peer',
        infoHash: rec.target,
        port: rec.port,
        token: c.token!,
        impliedPort: rec.impliedPort,
      };
      const seq = this.#host.query(c.addr, args, now, 'announce', c.id, lookup.lookupId);
      if (seq !== undefined) rec.announcePending++;
    }
    if (rec.announcePending === 0) this.#finish(rec);
  }

  /** Sends `put` with each node's token to the k closest nodes that answered the lookup. */
  #sendPuts(rec: LookupRecord, now: number): void {
    const il = rec.item!;
    const item = il.putItem!;
    rec.phase = 'announcing';
    for (const c of rec.lookup.announceTargets()) {
      const cas = il.casFor(c.addr);
      const args: KrpcQueryArgs = {
        method: 'put',
        token: c.token!,
        item,
        ...(cas === undefined ? {} : { cas }),
      };
      const seq = this.#host.query(c.addr, args, now, 'put', c.id, rec.lookup.lookupId);
      if (seq !== undefined) rec.announcePending++;
    }
    if (rec.announcePending === 0) this.#finish(rec);
  }

  /** Takes an answer to a lookup query; `done` when the lookup has nothing left to find. */
  #answer(
    rec: LookupRecord,
    txn: Txn,
    idKey: string,
    r: KrpcResponse,
    nodes: LookupNodeHint[],
  ): 'done' | 'more' {
    const item = r.item === undefined ? 'none' : rec.item?.onAnswer(txn.to, r.item);
    if (item === 'forged') this.forgedItems++;
    const peers: string[] = [];
    if (rec.lookup.kind !== 'find_node') {
      for (const v of r.values ?? []) {
        const key = addressKey(v);
        if (key !== undefined && v.port !== 0) peers.push(key);
      }
    }
    const ip = binaryToBytes(txn.to.slice(0, txn.to.length - 2));
    const fresh = rec.lookup.onResponse(txn.to, idKey, {
      nodes,
      peers,
      token: r.token,
      conforming: isValidNodeIdForIp(binaryToBytes(idKey), ip),
    });
    if (fresh.length > 0) {
      this.#host.emit({
        type: 'lookup:peers-found',
        lookupId: rec.lookup.lookupId,
        infoHash: rec.target,
        peers: fresh.map(addressFromKey),
      });
    }
    const found = item === 'valid' && rec.lookup.kind === 'get' && rec.item?.query.type === 'immutable';
    return found ? 'done' : 'more';
  }

  #finish(rec: LookupRecord): void {
    const { lookup } = rec;
    if (!this.#lookups.delete(lookup.lookupId)) return;
    this.done++;
    this.#host.emit({
      type: 'lookup:finished',
      lookupId: lookup.lookupId,
      kind: lookup.kind,
      purpose: rec.purpose,
      target: rec.target,
      peersFound: lookup.peers.size,
      queries: lookup.queries,
      responses: lookup.responses,
      announcedTo: rec.announcedTo,
      ...(rec.item?.best === undefined ? {} : { item: rec.item.best }),
      ...(lookup.kind === 'put' && rec.item !== undefined ? { putRefusals: rec.item.refusals } : {}),
      closest: lookup.closestResponded(this.#init.k).map((c) => {
        const a = addressFromKey(c.addr);
        return { id: binaryToBytes(c.id!), host: a.host, port: a.port };
      }),
    });
  }
}
