/**
 * A Mainline DHT node (BEP 5, with BEP 32, 42, 43 and 44), sans I/O.
 *
 * DEV DOCS
 * - Owns: the routing table, the token secret, the peer store, the BEP 44 item store, the running
 *   lookups (lookup-runner.ts), our outstanding queries (transactions.ts) and their deadlines, the
 *   per-IP rate limiter, and two output queues: datagrams to send and events for the driver.
 * - Driven by: a runtime (src/discovery/) or a simulation. Inputs are method calls with the time:
 *   `handleDatagram(bytes, from, now)`, `tick(now)`, `bootstrap`, `findNode`, `getPeers`,
 *   `announce`, `getItem`, `putItem`/`completePut`, `ping`, `addNode`. After each call the
 *   driver drains `takeActions()` (send each datagram) and `takeEvents()`, and arms one timer
 *   for `nextDeadline()` that calls `tick`.
 *   Nothing here reads a clock, a socket or `Math.random`: time is passed in, randomness injected.
 * - One node serves one address family (BEP 32: the IPv4 and IPv6 DHTs are distinct); a
 *   dual-stack runtime runs two nodes, ideally with the same id.
 * - Untrusted input: every datagram is decoded by krpc.ts (bounded, typed errors), queries are
 *   rate limited per source IP and globally before any work, replies are capped at
 *   `MAX_KRPC_REPLY_BYTES`, and every table (transactions, lookups, peers, rate limiter, events,
 *   sends) is bounded by a named limit. A bad datagram costs only its sender.
 * - Invariants: a transaction is answered only from the address it was sent to; a node is
 *   confirmed (and handed to other nodes) only after it answered us from its own address; nodes
 *   we merely heard of from another node's reply take only free bucket room, unverified, until a
 *   maintenance probe confirms or drops them; read-only senders (BEP 43) never enter the table.
 * - BEP 44 lookups (`getItem`, `putItem`) send `get` queries and keep, from every answer, only an
 *   item that hashes to the target and (mutable) whose signature verifies: the highest seq wins,
 *   anything else is counted as `forgedItems` and ignored. A put then sends `put` with each
 *   node's token to the k closest nodes that answered; `cas` goes only to the nodes that
 *   returned an item (BEP 44: not to nodes that returned nothing).
 *   `putItem` without an item stops after the lookup with a `put:ready` event holding the current
 *   item; the driver computes the next one and calls `completePut` (or `cancel`).
 */
import { ErrorCode } from '../shared/errors.js';
import { bytesEqual } from '../shared/hash.js';
import {
  MAX_DHT_EVENT_QUEUE,
  MAX_DHT_LOOKUPS,
  MAX_DHT_SEND_QUEUE,
  MAX_KRPC_VALUES_PER_REPLY,
} from '../shared/limits.js';
import {
  type Address,
  type AddressFamily,
  addressFromKey,
  addressKey,
  binaryToBytes,
  bytesToBinary,
  formatIp,
  parseIp,
} from './address.js';
import {
  DHT_ALPHA,
  DHT_BURST_GLOBAL,
  DHT_BURST_PER_IP,
  DHT_CLIENT_VERSION,
  DHT_K,
  DHT_MAINTENANCE_INTERVAL_MS,
  DHT_QUERY_STALL_MS,
  DHT_QUERY_TIMEOUT_MS,
  DHT_RATE_GLOBAL,
  DHT_RATE_PER_IP,
} from './constants.js';
import { DhtError } from './errors.js';
import { ExternalIpVoter } from './ip-voter.js';
import { checkItem, type DhtItem, type DhtItemQuery, itemTarget, queryTarget } from './item.js';
import { ItemStore } from './item-store.js';
import {
  decodeKrpc,
  encodeKrpc,
  encodeKrpcError,
  type KrpcErrorMessage,
  type KrpcMessage,
  type KrpcQuery,
  type KrpcQueryArgs,
  type KrpcResponse,
} from './krpc.js';
import type { LookupKind, LookupNodeHint } from './lookup.js';
import { LookupRunner, type LookupStart } from './lookup-runner.js';
import { PING, TableMaintenance } from './maintenance.js';
import { checkId20, chooseNodeId, isValidNodeIdForIp } from './node-id.js';
import {
  type DhtAction,
  type DhtCounters,
  type DhtEvent,
  type DhtNodeDeps,
  type DhtNodeInit,
  type DhtStats,
  type LookupPurpose,
  newDhtCounters,
} from './node-types.js';
import { PeerStore } from './peer-store.js';
import type { Random } from './random.js';
import { RateLimiter } from './rate-limiter.js';
import { QueryResponder } from './responder.js';
import { RoutingTable } from './routing-table.js';
import { TokenStore } from './token-store.js';
import { TransactionTable, type Txn, type TxnPurpose, tidBytes } from './transactions.js';

/** A Mainline DHT node as a pure state machine (see the module docs). */
export class DhtNode {
  readonly family: AddressFamily;
  readonly readOnly: boolean;
  readonly #random: Random;
  readonly #table: RoutingTable;
  readonly #tokens: TokenStore;
  readonly #peers = new PeerStore();
  readonly #items: ItemStore;
  readonly #limiter: RateLimiter;
  readonly #idBytes: Uint8Array;
  readonly #k: number;
  readonly #version: Uint8Array | undefined;
  readonly #txns: TransactionTable;
  readonly #lookups: LookupRunner;
  #actions: DhtAction[] = [];
  #events: DhtEvent[] = [];
  readonly #maintenance: TableMaintenance;
  readonly #voter: ExternalIpVoter;
  readonly #responder: QueryResponder;
  /** Counters exposed through {@link stats}. */
  readonly #c: DhtCounters = newDhtCounters();

  constructor(deps: DhtNodeDeps, init: DhtNodeInit, now: number) {
    this.#random = deps.random;
    this.family = init.family ?? 4;
    this.readOnly = init.readOnly ?? false;
    this.#k = init.k ?? DHT_K;
    this.#version = init.version === null ? undefined : (init.version ?? DHT_CLIENT_VERSION);
    const externalIp = init.externalIp === undefined ? undefined : parseIp(init.externalIp);
    if (init.externalIp !== undefined && externalIp === undefined) {
      throw new DhtError(ErrorCode.DhtInvalidArgument, 'externalIp is not an IP address');
    }
    this.#voter = new ExternalIpVoter(this.family, externalIp);
    const saved = init.savedState === undefined ? undefined : RoutingTable.parseSaved(init.savedState);
    this.#idBytes = chooseNodeId(init.id, saved?.id, init.externalIp, this.#random);
    this.#table = new RoutingTable(this.#idBytes, now, { k: this.#k });
    for (const c of saved?.nodes ?? []) {
      const key = addressKey(c);
      if (key !== undefined && this.#isOurFamily(key))
        this.#table.observe(bytesToBinary(c.id), key, now, 'heard');
    }
    this.#tokens = new TokenStore(
      deps.hasher === undefined ? { random: this.#random } : { random: this.#random, hasher: deps.hasher },
      now,
    );
    this.#limiter = new RateLimiter(
      {
        ratePerSec: init.ratePerIp ?? DHT_RATE_PER_IP,
        burst: init.burstPerIp ?? DHT_BURST_PER_IP,
        globalRatePerSec: init.rateGlobal ?? DHT_RATE_GLOBAL,
        globalBurst: init.burstGlobal ?? DHT_BURST_GLOBAL,
      },
      now,
    );
    this.#items = new ItemStore(this.#idBytes, init.items ?? {}, now);
    this.#responder = new QueryResponder({
      id: this.#idBytes,
      family: this.family,
      k: this.#k,
      version: this.#version,
      table: this.#table,
      tokens: this.#tokens,
      peers: this.#peers,
      items: this.#items,
      random: this.#random,
    });
    this.#lookups = new LookupRunner(
      {
        query: (to, args, t, purpose, expectedId, lookupId) =>
          this.#query(to, args, t, purpose, expectedId, lookupId),
        emit: (e) => this.#emit(e),
      },
      {
        k: this.#k,
        alpha: init.alpha ?? DHT_ALPHA,
        enforceNodeIds: init.nodeIdPolicy === 'enforce',
        maxLookups: Math.min(init.maxLookups ?? MAX_DHT_LOOKUPS, MAX_DHT_LOOKUPS),
        ownKey: this.#table.ownKey,
      },
    );
    this.#txns = new TransactionTable(this.#random, {
      timeoutMs: init.queryTimeoutMs ?? DHT_QUERY_TIMEOUT_MS,
      stallMs: init.queryStallMs ?? DHT_QUERY_STALL_MS,
    });
    this.#maintenance = new TableMaintenance(
      {
        ownId: this.#idBytes,
        k: this.#k,
        random: this.#random,
        table: this.#table,
        tokens: this.#tokens,
        limiter: this.#limiter,
        peers: this.#peers,
        items: this.#items,
        lookups: this.#lookups,
        query: (to, args, t, purpose, expectedId, lookupId) =>
          this.#query(to, args, t, purpose, expectedId, lookupId),
        start: (kind, target, purpose, t, seedBootstrap) =>
          this.#start(kind, target, purpose, t, seedBootstrap),
      },
      init.maintenanceIntervalMs ?? DHT_MAINTENANCE_INTERVAL_MS,
      now,
    );
  }

  /** Our node id. */
  get id(): Uint8Array {
    return this.#idBytes.slice();
  }

  /** Our external IP as learned from BEP 42 votes (or given), if known. */
  get externalAddress(): string | undefined {
    const ip = this.#voter.current;
    return ip === undefined ? undefined : formatIp(ip);
  }

  /** The routing table (read it; do not mutate it behind the node's back). */
  get table(): RoutingTable {
    return this.#table;
  }

  #isOurFamily(addrKey: string): boolean {
    return addrKey.length === (this.family === 4 ? 6 : 18);
  }

  // -------------------------------------------------------------------------------------------
  // outputs

  /** Takes the datagrams queued since the last call. */
  takeActions(): DhtAction[] {
    const out = this.#actions;
    this.#actions = [];
    return out;
  }

  /** Takes the events queued since the last call. */
  takeEvents(): DhtEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  /** When `tick` should next run (ms): the earliest query deadline or the next maintenance round. */
  nextDeadline(): number {
    return Math.min(this.#txns.nextDeadline() ?? Number.POSITIVE_INFINITY, this.#maintenance.nextRound);
  }

  /** Counters and sizes. */
  stats(now: number): DhtStats {
    return {
      nodes: this.#table.size,
      goodNodes: this.#table.goodCount(now),
      replacementNodes: this.#table.replacementCount,
      buckets: this.#table.bucketCount,
      lookupsActive: this.#lookups.size,
      pendingQueries: this.#txns.size,
      storedPeers: this.#peers.size,
      storedInfoHashes: this.#peers.infoHashCount,
      rateLimitSources: this.#limiter.size,
      lookupsDone: this.#lookups.done,
      forgedItems: this.#lookups.forgedItems,
      storedItems: this.#items.size,
      storedItemBytes: this.#items.bytes,
      itemPutsRefused: this.#items.refused,
      ...this.#c,
    };
  }

  /** The routing table as bytes, for the state directory (see {@link RoutingTable.toBytes}). */
  saveState(now: number): Uint8Array {
    return this.#table.toBytes(now);
  }

  #emit(e: DhtEvent): void {
    if (this.#events.length >= MAX_DHT_EVENT_QUEUE) this.#c.eventsDropped++;
    else this.#events.push(e);
  }

  #send(to: Address, bytes: Uint8Array): void {
    if (this.#actions.length >= MAX_DHT_SEND_QUEUE) this.#c.sendsDropped++;
    else this.#actions.push({ type: 'send', to, bytes });
  }

  // -------------------------------------------------------------------------------------------
  // inputs: commands

  /**
   * Joins the DHT through `nodes` (addresses whose ids we do not know, e.g. the public routers):
   * a `find_node` lookup for our own id (BEP 5 §Routing Table). The addresses are remembered
   * (at most `MAX_DHT_BOOTSTRAP_NODES`) and reused whenever the table runs low.
   */
  bootstrap(nodes: readonly Address[], now: number): number {
    const keys: string[] = [];
    for (const a of nodes) {
      const key = addressKey(a);
      if (key !== undefined && this.#isOurFamily(key) && a.port !== 0) keys.push(key);
    }
    this.#maintenance.addBootstrap(keys, now);
    return this.#start('find_node', this.#idBytes, 'bootstrap', now, true);
  }

  /** An iterative `find_node` lookup for `target` (20 bytes). Returns the lookup id. */
  findNode(target: Uint8Array, now: number): number {
    return this.#start('find_node', checkId20(target, 'target'), 'user', now, false);
  }

  /** An iterative `get_peers` lookup for `infoHash`: `lookup:peers-found` events, then `lookup:finished`. */
  getPeers(infoHash: Uint8Array, now: number): number {
    return this.#start('get_peers', checkId20(infoHash, 'infoHash'), 'user', now, false);
  }

  /**
   * A `get_peers` lookup for `infoHash`, then `announce_peer` (BEP 5) with `port` to the k
   * closest nodes that gave a token. With `impliedPort`, nodes store our UDP source port instead.
   */
  announce(infoHash: Uint8Array, port: number, now: number, opts: { impliedPort?: boolean } = {}): number {
    const implied = opts.impliedPort ?? false;
    // With implied_port the receiver ignores `port` (BEP 5), so 0 is allowed then.
    if (!Number.isInteger(port) || port < (implied ? 0 : 1) || port > 0xffff) {
      throw new DhtError(ErrorCode.DhtInvalidArgument, `port ${port} is not in 1..65535`);
    }
    return this.#start('announce', checkId20(infoHash, 'infoHash'), 'user', now, false, {
      port,
      impliedPort: implied,
    });
  }

  /**
   * A BEP 44 `get` lookup for an item: `lookup:finished` carries the best verified item found
   * (`item`), if any. An immutable lookup ends as soon as a node returns the value.
   */
  getItem(query: DhtItemQuery, now: number): number {
    return this.#start('get', checkId20(queryTarget(query), 'target'), 'user', now, false, {
      itemQuery: query,
    });
  }

  /**
   * A BEP 44 put: a `get` lookup for the item's target, then `put` to the k closest nodes that gave
   * a token; `lookup:finished` counts the nodes that stored it (`announcedTo`) and those that
   * refused (`putRefusals`). With `opts.item` the item is put as given (`opts.cas`: the seq it
   * replaces); without one, `query` names the slot and the node emits `put:ready` with the current
   * item after the lookup, then waits for {@link completePut}. Throws `DhtItemInvalid` for an item
   * outside BEP 44's bounds or whose signature does not verify.
   */
  putItem(query: DhtItemQuery, now: number, opts: { item?: DhtItem; cas?: bigint } = {}): number {
    const { item, cas } = opts;
    if (item !== undefined) {
      checkItem(item);
      if (!bytesEqual(itemTarget(item), queryTarget(query))) {
        throw new DhtError(ErrorCode.DhtInvalidArgument, 'the item is not stored under the query target');
      }
    }
    return this.#start('put', checkId20(queryTarget(query), 'target'), 'user', now, false, {
      itemQuery: query,
      ...(item === undefined ? {} : { putItem: item }),
      ...(cas === undefined ? {} : { putCas: cas }),
    });
  }

  /**
   * The item (and `cas`) for a put lookup waiting after `put:ready`: it is sent to the closest
   * nodes now. Throws `DhtInvalidArgument` when that lookup is not waiting, `DhtItemInvalid` for an
   * invalid item or one stored under another target.
   */
  completePut(lookupId: number, item: DhtItem, now: number, cas?: bigint): void {
    checkItem(item);
    this.#lookups.completePut(lookupId, item, itemTarget(item), cas, now);
  }

  /**
   * Peers other nodes announced to *this* node for `infoHash` (its own peer store): a lookup
   * never asks the node it runs on, so a node that is the store of a swarm must look here too.
   */
  storedPeers(infoHash: Uint8Array, now: number): Address[] {
    return this.#peers.get(
      checkId20(infoHash, 'infoHash'),
      MAX_KRPC_VALUES_PER_REPLY,
      this.family === 4 ? 6 : 18,
      this.#random,
      now,
    );
  }

  /** Stops a lookup without a `lookup:finished` event. Returns false when it was not running. */
  cancel(lookupId: number): boolean {
    this.#maintenance.onCancel(lookupId);
    return this.#lookups.cancel(lookupId);
  }

  /** Pings `addr`; a `ping:finished` event with the same id follows. Returns the ping id. */
  ping(addr: Address, now: number): number {
    const key = this.#checkAddress(addr);
    const seq = this.#query(key, PING, now, 'ping', undefined, -1);
    if (seq === undefined) throw new DhtError(ErrorCode.DhtLimit, 'too many queries in flight');
    return seq;
  }

  /**
   * A node heard of outside the DHT (BEP 5 PORT message, a torrent's `nodes`): it is pinged and
   * enters the table if it answers. Silently ignored when the query table is full.
   */
  addNode(addr: Address, now: number): void {
    this.#query(this.#checkAddress(addr), PING, now, 'maintenance', undefined, -1);
  }

  #checkAddress(addr: Address): string {
    const key = addressKey(addr);
    if (key === undefined || !this.#isOurFamily(key) || addr.port === 0) {
      throw new DhtError(
        ErrorCode.DhtInvalidArgument,
        `${addr.host}:${addr.port} is not an IPv${this.family} address`,
      );
    }
    return key;
  }

  #start(
    kind: LookupKind,
    target: Uint8Array,
    purpose: LookupPurpose,
    now: number,
    seedBootstrap: boolean,
    extra: Pick<LookupStart, 'port' | 'impliedPort' | 'itemQuery' | 'putItem' | 'putCas'> = {},
  ): number {
    const nodes = this.#table.closestEntries(bytesToBinary(target), 2 * this.#k, false, now);
    const seeds = seedBootstrap || this.#table.size < this.#k ? this.#maintenance.bootstrapAddrs : [];
    return this.#lookups.start({ kind, target, purpose, nodes, seeds, ...extra }, now);
  }

  // -------------------------------------------------------------------------------------------
  // inputs: time

  /** Runs what is due at `now`: query stalls and timeouts, then table maintenance. */
  tick(now: number): void {
    for (let d = this.#txns.popDue(now); d !== undefined; d = this.#txns.popDue(now)) {
      if (d.stall) this.#onStall(d.txn, now);
      else this.#onTimeout(d.txn, now);
    }
    this.#maintenance.tick(now);
  }

  #onStall(txn: Txn, now: number): void {
    this.#lookups.onStall(txn, now);
  }

  #onTimeout(txn: Txn, now: number): void {
    this.#c.timeouts++;
    if (txn.expectedId !== undefined) this.#table.failed(txn.expectedId, now);
    this.#settle(txn, now, undefined);
  }

  /** Reports the end of a transaction (answer, error or timeout) to whoever sent it. */
  #settle(
    txn: Txn,
    now: number,
    answer: { id: string; r: KrpcResponse } | undefined,
    refusal?: number,
  ): void {
    switch (txn.purpose) {
      case 'ping':
        this.#emit({
          type: 'ping:finished',
          pingId: txn.seq,
          to: addressFromKey(txn.to),
          ok: answer !== undefined,
          ...(answer === undefined ? {} : { id: binaryToBytes(answer.id) }),
          rttMs: now - txn.sentAt,
        });
        return;
      case 'maintenance':
        if (answer !== undefined) this.#heard(answer.r, now);
        return;
      case 'lookup': {
        const a = answer === undefined ? undefined : { ...answer, nodes: this.#heard(answer.r, now) };
        this.#lookups.settle(txn, a, refusal, now);
        return;
      }
      case 'announce':
      case 'put':
        this.#lookups.settle(txn, answer === undefined ? undefined : { ...answer, nodes: [] }, refusal, now);
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // lookups

  /**
   * The contacts of an answer's `nodes` (or `nodes6`), which also enter our table as unverified
   * entries while their bucket has room (libtorrent's "heard about"); maintenance confirms or
   * drops them.
   */
  #heard(r: KrpcResponse, now: number): LookupNodeHint[] {
    const nodes: LookupNodeHint[] = [];
    for (const c of (this.family === 4 ? r.nodes : r.nodes6) ?? []) {
      const addr = addressKey(c);
      if (addr === undefined || c.port === 0 || !this.#isOurFamily(addr)) continue;
      const id = bytesToBinary(c.id);
      nodes.push({ id, addr });
      this.#table.observe(id, addr, now, 'heard');
    }
    return nodes;
  }

  // -------------------------------------------------------------------------------------------
  // outgoing queries

  /** Sends a query; returns its sequence number, or undefined when the query table is full. */
  #query(
    to: string,
    args: KrpcQueryArgs,
    now: number,
    purpose: TxnPurpose,
    expectedId: string | undefined,
    lookupId: number,
  ): number | undefined {
    const txn = this.#txns.open(to, purpose, expectedId, lookupId, now);
    if (txn === undefined) return undefined;
    const base = {
      y: 'q' as const,
      t: tidBytes(txn),
      id: this.#idBytes,
      ...(this.readOnly ? { ro: true } : {}),
      ...(this.#version === undefined ? {} : { v: this.#version }),
    };
    this.#c.queriesOut++;
    this.#send(addressFromKey(to), encodeKrpc({ ...base, ...args } as KrpcQuery));
    return txn.seq;
  }

  // -------------------------------------------------------------------------------------------
  // inputs: datagrams

  /**
   * Handles one UDP datagram received from `from`. Never throws for any `bytes`: malformed
   * input is counted (`malformed`) and answered with a KRPC error when it was a readable query.
   */
  handleDatagram(bytes: Uint8Array, from: Address, now: number): void {
    const ip = parseIp(from.host);
    if (ip === undefined || ip.length !== (this.family === 4 ? 4 : 16)) return;
    if (!Number.isInteger(from.port) || from.port <= 0 || from.port > 0xffff) return;
    const ipKey = bytesToBinary(ip);
    const addrKey = ipKey + String.fromCharCode(from.port >> 8, from.port & 0xff);
    let msg: KrpcMessage;
    try {
      msg = decodeKrpc(bytes);
    } catch (e) {
      if (!(e instanceof DhtError)) throw e;
      this.#c.malformed++;
      const reply = e.details.reply;
      if (reply !== undefined && !this.readOnly) {
        if (!this.#limiter.allow(ipKey, now)) {
          this.#c.rateLimited++;
          return;
        }
        this.#c.errorsOut++;
        this.#send(from, encodeKrpcError(reply.t, reply.code, e.message.slice(0, 64)));
      }
      return;
    }
    switch (msg.y) {
      case 'q':
        this.#onQuery(msg, from, ip, ipKey, addrKey, now);
        return;
      case 'r':
      case 'e':
        this.#onAnswer(msg, addrKey, now);
        return;
    }
  }

  #onAnswer(msg: KrpcResponse | KrpcErrorMessage, addrKey: string, now: number): void {
    // Only the address we asked may answer: anything else is unsolicited (or spoofed).
    const txn = this.#txns.take(msg.t, addrKey);
    if (txn === undefined) {
      this.#c.unexpected++;
      return;
    }
    if (msg.y === 'e') {
      this.#c.errorsIn++;
      this.#settle(txn, now, undefined, msg.code);
      return;
    }
    this.#c.responsesIn++;
    const idKey = bytesToBinary(msg.id);
    if (idKey === this.#table.ownKey) {
      // Ourselves (or a node impersonating us): useless as a contact.
      this.#settle(txn, now, undefined);
      return;
    }
    if (txn.expectedId !== undefined && txn.expectedId !== idKey) this.#table.failed(txn.expectedId, now);
    this.#table.observe(idKey, addrKey, now, 'responded');
    if (msg.ip !== undefined) this.#vote(addrKey, msg.ip);
    this.#settle(txn, now, { id: idKey, r: msg });
  }

  #vote(voterAddr: string, claimed: Address): void {
    const elected = this.#voter.vote(voterAddr.slice(0, voterAddr.length - 2), claimed);
    if (elected === undefined) return;
    this.#emit({
      type: 'external-address:changed',
      host: formatIp(elected),
      idConforms: isValidNodeIdForIp(this.#idBytes, elected),
    });
  }

  #onQuery(msg: KrpcQuery, from: Address, ip: Uint8Array, ipKey: string, addrKey: string, now: number): void {
    this.#c.queriesIn++;
    if (this.readOnly) return; // BEP 43: a read-only node answers nothing
    if (!this.#limiter.allow(ipKey, now)) {
      this.#c.rateLimited++;
      return;
    }
    const idKey = bytesToBinary(msg.id);
    if (msg.ro !== true && idKey !== this.#table.ownKey) this.#table.observe(idKey, addrKey, now, 'queried');
    const answer = this.#responder.answer(msg, from, ip, now);
    if (answer.isError) this.#c.errorsOut++;
    this.#send(from, answer.bytes);
  }
}
