/**
 * The Mainline DHT on real sockets (BEP 5, with BEP 32 for IPv6): a {@link DhtRuntime} owns one
 * UDP socket per address family and drives one pure `DhtNode` per family (each through a
 * `DhtFamily`, src/discovery/dht-family.ts, which runs the datagram/timer drive loop).
 *
 * DEV DOCS
 * - Owns: the families (node + socket + timers each), the state file (a `DhtStateStore`,
 *   src/discovery/dht-state-file.ts: load, ordered saves, the save timer), the bootstrap list, and
 *   the user operations, which check the runtime's state, wait for the bootstrap hand-over and run
 *   on the families: lookups, announces and pings in src/discovery/dht-lookups.ts, BEP 44 gets
 *   and puts in src/discovery/dht-items.ts.
 * - Start-up: `start()` reads the state file (a corrupt one is reported and ignored), binds the
 *   sockets, then resolves the bootstrap hosts in the background and hands the addresses to each
 *   node's `bootstrap()` (a `find_node` for our own id). Lookups started earlier wait for that
 *   hand-over, so they can use the bootstrap nodes.
 * - Operations run on every family at once (a lookup on the IPv4 DHT and one on the IPv6 DHT)
 *   and end when every family's lookup has ended. Each takes an `AbortSignal`.
 * - Failure policy: malformed datagrams are the node's business (counted, maybe answered); socket
 *   errors, DNS failures and state file trouble become events and never throw; operations fail
 *   with typed `DhtError`s (`DhtTimeout`, `DhtClosed`, `DhtLimit`, `DhtInvalidArgument`).
 * - `close()` fails every running operation with `DhtClosed`, saves the state, and releases the
 *   sockets and timers: nothing is left running when it resolves.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type dgram from 'node:dgram';
import { isIP } from 'node:net';
import {
  type Address,
  type AddressFamily,
  DHT_K,
  DhtError,
  DhtNode,
  type DhtNodeInit,
  NodeIdRenewal,
  type Random,
} from '../dht/index.js';
import { ErrorCode } from '../shared/errors.js';
import { toHex } from '../shared/hash.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import {
  DHT_DEFAULT_BOOTSTRAP,
  type DhtEndpoint,
  defaultDhtResolver,
  resolveDhtEndpoints,
} from './dht-bootstrap.js';
import {
  bindUdpSocket,
  closeSocket,
  DhtFamily,
  type DhtFamilyHooks,
  type DhtSocket,
  ownDhtSocket,
  sharedDhtSocket,
} from './dht-family.js';
import { itemQueryOf, runItemGet, runItemPut } from './dht-items.js';
import { runAnnounce, runGetPeers, runOnFamilies, runPing } from './dht-lookups.js';
import { type DhtSavedState, DhtStateStore } from './dht-state-file.js';
import {
  DHT_REBOOTSTRAP_FIRST_MS,
  DHT_STATE_SAVE_INTERVAL_MS,
  type DhtAnnounceResult,
  type DhtGetResult,
  type DhtGetTarget,
  type DhtLookupProgress,
  type DhtPingResult,
  type DhtPutRequest,
  type DhtPutResult,
  type DhtRuntimeEvents,
  type DhtRuntimeOptions,
  type DhtRuntimeStats,
} from './dht-types.js';

export * from './dht-types.js';

/** A {@link Random} backed by node:crypto: what a real node uses. */
export const cryptoRandom: Random = {
  bytes: (n) => new Uint8Array(randomBytes(n)),
  int: (n) => randomInt(n),
};

type RuntimeState = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/**
 * A Mainline DHT node on UDP sockets (BEP 5, BEP 32): see the module docs.
 *
 * ```ts
 * const dht = await DhtRuntime.create({ port: 6881 });
 * for await (const p of dht.getPeers(infoHash, { signal: AbortSignal.timeout(30_000) }))
 *   if (p.type === 'peers') for (const a of p.peers) torrent.addPeer(a);
 * await dht.close();
 * ```
 */
export class DhtRuntime extends TypedEmitter<DhtRuntimeEvents> {
  readonly #opts: DhtRuntimeOptions;
  readonly #random: Random;
  readonly #families = new Map<AddressFamily, DhtFamily>();
  #state: RuntimeState = 'new';
  #port: number;
  readonly #store: DhtStateStore;
  /** Resolves once the bootstrap addresses were handed to the nodes (or resolution failed). */
  #bootstrapGiven: Promise<void> = Promise.resolve();
  readonly #bootstrapWaiters = new Set<() => void>();
  /** How the families report back (see DhtFamilyHooks). */
  readonly #hooks: DhtFamilyHooks = {
    bootstrapFinished: (family, nodes, initial) => {
      this.emit('bootstrap:finished', { type: 'bootstrap:finished', family, nodes });
      if (initial) this.#checkBootstrapped();
    },
    externalAddress: (family, host, idConforms) =>
      this.emit('external-address:changed', { type: 'external-address:changed', family, host, idConforms }),
    socketFailed: (family, op, err, suppressed) => this.#socketFailed(family, op, err, suppressed),
    idChanged: (family, id) => this.emit('node-id:changed', { type: 'node-id:changed', family, id }),
  };

  /** Makes a runtime; nothing is bound until {@link start}. Attach listeners in between. */
  constructor(options: DhtRuntimeOptions = {}) {
    super();
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
      throw new DhtError(ErrorCode.DhtInvalidArgument, `port ${port} is not in 0..65535`);
    }
    this.#opts = options;
    this.#random = options.random ?? cryptoRandom;
    this.#port = port;
    this.#store = new DhtStateStore(options.statePath, {
      saved: (path, nodes) => this.emit('state:saved', { type: 'state:saved', path, nodes }),
      failed: (path, op, message) => this.emit('state:failed', { type: 'state:failed', path, op, message }),
    });
  }

  /** `new DhtRuntime(options)` then {@link start}. */
  static async create(options: DhtRuntimeOptions = {}): Promise<DhtRuntime> {
    const rt = new DhtRuntime(options);
    await rt.start();
    return rt;
  }

  /** The bound UDP port (both families use it when they can). */
  get port(): number {
    return this.#port;
  }

  /** The address families running (4 first). */
  get families(): readonly AddressFamily[] {
    return [...this.#families.keys()].sort();
  }

  /** Our node id for `family` (20 bytes), when that family runs. */
  nodeId(family: AddressFamily = 4): Uint8Array | undefined {
    return this.#families.get(family)?.node.id;
  }

  /**
   * Our external address is `host` (IPv4 or IPv6; e.g. the session's choice between the router,
   * peers and the DHT's own votes): the family's node id is made to conform to it (BEP 42), by a
   * new node joining again, at most once per `DHT_ID_RENEW_MIN_MS` (see NodeIdRenewal).
   * `node-id:changed` tells when. A node id the user gave in `node.id` never changes.
   */
  setExternalAddress(host: string): void {
    if (this.#state !== 'running') return;
    this.#families.get(isIP(host) === 6 ? 6 : 4)?.setExternalAddress(host);
  }

  /**
   * Reads the state file, binds the sockets and starts joining the DHT (in the background).
   * Rejects when the IPv4 socket cannot bind (e.g. the port is taken); IPv6 trouble only
   * produces a `socket:failed` event.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new DhtError(ErrorCode.DhtInvalidArgument, 'start() was already called');
    this.#state = 'starting';
    const saved = await this.#store.load();
    const host = this.#opts.host ?? '0.0.0.0';
    const host6 = this.#opts.host6 ?? (host === '0.0.0.0' ? '::' : false);
    const now = performance.now();
    let sock4: dgram.Socket | undefined;
    try {
      const shared = this.#opts.socket4;
      if (shared !== undefined) {
        this.#port = shared.port;
        this.#attach(4, sharedDhtSocket(shared), saved?.ipv4, now);
      } else {
        sock4 = await bindUdpSocket('udp4', host, this.#port);
        this.#port = sock4.address().port;
        this.#attach(4, ownDhtSocket(sock4), saved?.ipv4, now);
      }
    } catch (e) {
      // A taken port, or node options the node refuses (a bad id or externalIp).
      this.#state = 'closed';
      if (sock4 !== undefined) await closeSocket(sock4);
      throw e;
    }
    if (host6 !== false) {
      const id = this.#families.get(4)?.node.id;
      const sock6 = await this.#bindIpv6(host6);
      if (sock6 !== undefined) this.#attach(6, ownDhtSocket(sock6), saved?.ipv6, performance.now(), id);
    }
    if (this.#state !== 'starting') {
      // close() ran while we were binding.
      await this.#release();
      throw new DhtError(ErrorCode.DhtClosed, 'the DHT runtime was closed while starting');
    }
    this.#state = 'running';
    this.#store.every(this.#opts.saveIntervalMs ?? DHT_STATE_SAVE_INTERVAL_MS, () => void this.saveState());
    this.#bootstrapGiven = this.#bootstrap(this.#opts.bootstrap ?? DHT_DEFAULT_BOOTSTRAP);
  }

  async #bindIpv6(host6: string): Promise<dgram.Socket | undefined> {
    try {
      return await bindUdpSocket('udp6', host6, this.#port);
    } catch (e) {
      if ((this.#opts.port ?? 0) === 0) {
        // The port IPv4 got is taken for IPv6: any port will do (nodes6 carry their own port).
        try {
          return await bindUdpSocket('udp6', host6, 0);
        } catch {
          // fall through and report the first failure
        }
      }
      this.#socketFailed(6, 'bind', e);
      return undefined;
    }
  }

  #attach(
    family: AddressFamily,
    socket: DhtSocket,
    saved: Uint8Array | undefined,
    now: number,
    id?: Uint8Array,
  ): void {
    const deps =
      this.#opts.hasher === undefined
        ? { random: this.#random }
        : { random: this.#random, hasher: this.#opts.hasher };
    const base: DhtNodeInit = { ...this.#opts.node, family, ...(id === undefined ? {} : { id }) };
    let node: DhtNode;
    try {
      node = new DhtNode(deps, saved === undefined ? base : { ...base, savedState: saved }, now);
    } catch (e) {
      if (saved === undefined || !(e instanceof DhtError) || e.code !== ErrorCode.DhtBadState) throw e;
      this.emit('state:failed', {
        type: 'state:failed',
        path: this.#opts.statePath ?? '',
        op: 'load',
        message: e.message,
      });
      node = new DhtNode(deps, base, now);
    }
    // An id the user chose stays; else it follows our external address (BEP 42).
    const remake =
      this.#opts.node?.id !== undefined
        ? undefined
        : (externalIp: string, state: Uint8Array) =>
            new DhtNode(
              deps,
              { ...this.#opts.node, family, externalIp, savedState: state },
              performance.now(),
            );
    const f = new DhtFamily(node, socket, this.#hooks, {
      k: this.#opts.node?.k ?? DHT_K,
      rebootstrapMs: this.#opts.rebootstrapMs ?? DHT_REBOOTSTRAP_FIRST_MS,
      ...(remake === undefined ? {} : { remake }),
      renewal: new NodeIdRenewal(this.#opts.idRenewal),
    });
    this.#families.set(family, f);
  }

  async #bootstrap(endpoints: readonly DhtEndpoint[]): Promise<void> {
    const resolved = await resolveDhtEndpoints(endpoints, this.#opts.resolve ?? defaultDhtResolver);
    if (this.#state !== 'running') return;
    for (const f of resolved.failures) {
      this.emit('bootstrap:unresolved', { type: 'bootstrap:unresolved', host: f.host, message: f.message });
    }
    for (const f of this.#families.values()) f.bootstrap(f.family === 4 ? resolved.ipv4 : resolved.ipv6);
    this.#checkBootstrapped();
  }

  /**
   * Resolves once every family's first bootstrap lookup has ended (whatever it found: check
   * `stats().nodes`). Rejects on `signal` abort or when the runtime closes.
   */
  async bootstrapped(opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertRunning();
    if (this.#isBootstrapped()) return;
    const { signal } = opts;
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.#bootstrapWaiters.delete(done);
        reject(signal?.reason);
      };
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        if (this.#state === 'running') resolve();
        else reject(closedError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#bootstrapWaiters.add(done);
    });
  }

  /**
   * Joins again now: a `find_node` for our own id through the routing table and the bootstrap
   * nodes, on every family (what start-up does; useful after a network change). Resolves with
   * the number of nodes in the tables once the lookups ended.
   */
  async refresh(opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.#assertRunning();
    await this.#bootstrapGiven;
    this.#assertRunning();
    const { signal } = opts;
    signal?.throwIfAborted();
    await runOnFamilies([...this.#families.values()], (f, now) => f.node.bootstrap([], now), signal);
    return this.stats().nodes;
  }

  #isBootstrapped(): boolean {
    for (const f of this.#families.values()) if (!f.bootstrapDone) return false;
    return true;
  }

  #checkBootstrapped(): void {
    if (!this.#isBootstrapped()) return;
    const waiters = [...this.#bootstrapWaiters];
    this.#bootstrapWaiters.clear();
    for (const w of waiters) w();
  }

  #socketFailed(family: AddressFamily, op: 'bind' | 'send' | 'receive', err: unknown, suppressed = 0): void {
    const code = (err as { code?: unknown } | undefined)?.code;
    this.emit('socket:failed', {
      type: 'socket:failed',
      family,
      op,
      message: errorMessage(err),
      ...(typeof code === 'string' ? { code } : {}),
      suppressed,
    });
  }

  // -------------------------------------------------------------------------------------------
  // operations

  #assertRunning(): void {
    if (this.#state === 'running') return;
    if (this.#state === 'closing' || this.#state === 'closed') throw closedError();
    throw new DhtError(ErrorCode.DhtInvalidArgument, 'the DHT runtime is not started');
  }

  /**
   * An iterative `get_peers` lookup for `infoHash` (20 bytes; BEP 5) on every family at once:
   * yields `peers` batches as nodes answer, one `finished` per family, then ends. Aborting
   * `signal` stops the lookups and the iteration throws the signal's reason; closing the runtime
   * throws `DhtClosed`; breaking out of the loop stops the lookups.
   */
  async *getPeers(
    infoHash: Uint8Array,
    opts: { signal?: AbortSignal } = {},
  ): AsyncGenerator<DhtLookupProgress> {
    const { signal } = opts;
    this.#assertRunning();
    checkInfoHash(infoHash);
    signal?.throwIfAborted();
    await this.#bootstrapGiven;
    this.#assertRunning();
    signal?.throwIfAborted();
    yield* runGetPeers([...this.#families.values()], infoHash, signal);
  }

  /**
   * Announces that we have `infoHash` (BEP 5 `announce_peer`): a `get_peers` lookup, then an
   * announce to the closest nodes that gave a token, on every family. `port` is our BitTorrent
   * listen port; with `impliedPort` the nodes store our UDP source port instead (BEP 5).
   */
  async announce(
    infoHash: Uint8Array,
    port: number,
    opts: { signal?: AbortSignal; impliedPort?: boolean } = {},
  ): Promise<DhtAnnounceResult> {
    this.#assertRunning();
    checkInfoHash(infoHash);
    const { signal } = opts;
    signal?.throwIfAborted();
    await this.#bootstrapGiven;
    this.#assertRunning();
    signal?.throwIfAborted();
    return runAnnounce([...this.#families.values()], infoHash, port, opts.impliedPort ?? false, signal);
  }

  /** Peers announced to this node itself for `infoHash`, over every family (see `DhtNode.storedPeers`). */
  storedPeers(infoHash: Uint8Array): Address[] {
    checkInfoHash(infoHash);
    const out: Address[] = [];
    for (const f of this.#families.values()) out.push(...f.node.storedPeers(infoHash, performance.now()));
    return out;
  }

  /**
   * Looks an item up (BEP 44 `get`) on every family: an immutable item by its target, a mutable
   * one by public key and salt (BEP 46). Resolves with the item found — verified, the highest seq
   * of a mutable one — or undefined when no node had it. Rejects with the signal's reason on
   * abort, `DhtClosed` on close, `DhtInvalidArgument` for a malformed target.
   *
   * ```ts
   * const got = await dht.get({ publicKey, salt }, { signal: AbortSignal.timeout(30_000) });
   * if (got?.item.type === 'mutable') console.log(got.item.seq, got.value);
   * ```
   */
  async get(target: DhtGetTarget, opts: { signal?: AbortSignal } = {}): Promise<DhtGetResult | undefined> {
    this.#assertRunning();
    const query = itemQueryOf(target);
    opts.signal?.throwIfAborted();
    await this.#bootstrapGiven;
    this.#assertRunning();
    return runItemGet([...this.#families.values()], query, opts.signal);
  }

  /**
   * Stores an item (BEP 44 `put`) on the closest nodes of every family, after a lookup that
   * collects their write tokens (see {@link DhtPutRequest}: immutable, mutable with a seq,
   * read-modify-write with `cas`, or an already signed item). Resolves with the number of nodes
   * that stored it and those that refused; putting it again before it expires (2 hours) is left
   * to the caller. Rejects with `DhtItemInvalid` (or a `BencodeError`) for a value or salt outside
   * BEP 44's bounds, with the signal's reason on abort, `DhtClosed` on close.
   *
   * ```ts
   * const keyPair = createDhtKeyPair();
   * await dht.put({ keyPair, salt, update: (cur) => ({ ih: infoHash }) });
   * ```
   */
  async put(req: DhtPutRequest, opts: { signal?: AbortSignal } = {}): Promise<DhtPutResult> {
    this.#assertRunning();
    opts.signal?.throwIfAborted();
    await this.#bootstrapGiven;
    this.#assertRunning();
    return runItemPut([...this.#families.values()], req, opts.signal);
  }

  /**
   * Pings a node (BEP 5 `ping`); `host` may be a name (resolved with DNS; IPv4 preferred).
   * Rejects with `DhtTimeout` when it does not answer within the node's query timeout.
   */
  async ping(host: string, port: number, opts: { signal?: AbortSignal } = {}): Promise<DhtPingResult> {
    this.#assertRunning();
    const { signal } = opts;
    const addr = await this.#resolveOne(host, port);
    this.#assertRunning();
    signal?.throwIfAborted();
    const f = this.#families.get(addr.family);
    if (f === undefined) {
      throw new DhtError(ErrorCode.DhtInvalidArgument, `no IPv${addr.family} DHT is running to ping ${host}`);
    }
    return runPing(f, { host: addr.host, port }, `${host}:${port}`, signal);
  }

  async #resolveOne(host: string, port: number): Promise<{ host: string; family: AddressFamily }> {
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) {
      throw new DhtError(ErrorCode.DhtInvalidArgument, `port ${port} is not in 1..65535`);
    }
    const literal = isIP(host);
    if (literal !== 0) return { host, family: literal === 6 ? 6 : 4 };
    const r = await resolveDhtEndpoints([{ host, port }], this.#opts.resolve ?? defaultDhtResolver);
    const a =
      (this.#families.has(4) ? r.ipv4[0] : undefined) ?? (this.#families.has(6) ? r.ipv6[0] : undefined);
    if (a === undefined) {
      const why = r.failures[0]?.message ?? 'no usable address';
      throw new DhtError(ErrorCode.DhtInvalidArgument, `cannot resolve ${host}: ${why}`);
    }
    return { host: a.host, family: isIP(a.host) === 6 ? 6 : 4 };
  }

  /**
   * A node heard of outside the DHT (BEP 5 `PORT` message from a peer, a torrent's `nodes`): it
   * is pinged and joins the routing table if it answers. `host` must be an IP literal. Returns
   * false (and does nothing) for an address no running family can use.
   */
  addNode(host: string, port: number): boolean {
    if (this.#state !== 'running') return false;
    const fam = isIP(host);
    const f = this.#families.get(fam === 6 ? 6 : 4);
    if (fam === 0 || f === undefined || !Number.isInteger(port) || port < 1 || port > 0xffff) return false;
    f.node.addNode({ host, port }, performance.now());
    f.flush();
    return true;
  }

  /** Counters and sizes (see {@link DhtRuntimeStats}). */
  stats(): DhtRuntimeStats {
    const now = performance.now();
    const per = (f: DhtFamily | undefined) =>
      f === undefined ? undefined : { ...f.node.stats(now), ...f.socketStats() };
    const f4 = this.#families.get(4);
    const f6 = this.#families.get(6);
    const ipv4 = per(f4);
    const ipv6 = per(f6);
    let operations = 0;
    for (const f of this.#families.values()) operations += f.operations;
    return {
      port: this.#port,
      ids: {
        ...(f4 === undefined ? {} : { ipv4: toHex(f4.node.id) }),
        ...(f6 === undefined ? {} : { ipv6: toHex(f6.node.id) }),
      },
      ...(ipv4 === undefined ? {} : { ipv4 }),
      ...(ipv6 === undefined ? {} : { ipv6 }),
      nodes: (ipv4?.nodes ?? 0) + (ipv6?.nodes ?? 0),
      operations,
    };
  }

  /**
   * Writes the routing tables to `statePath` now (atomically). Resolves false when there is no
   * state file or nothing ran; failures are reported as `state:failed` and resolve false.
   */
  saveState(): Promise<boolean> {
    if (this.#store.path === undefined || this.#families.size === 0) return Promise.resolve(false);
    const now = performance.now();
    const f4 = this.#families.get(4);
    const f6 = this.#families.get(6);
    const state: DhtSavedState = {
      ...(f4 === undefined ? {} : { ipv4: f4.node.saveState(now) }),
      ...(f6 === undefined ? {} : { ipv6: f6.node.saveState(now) }),
    };
    const nodes = (f4?.node.table.size ?? 0) + (f6?.node.table.size ?? 0);
    return this.#store.save(state, nodes);
  }

  /**
   * Stops everything: running operations fail with `DhtClosed`, the state is saved, the sockets
   * are closed and every timer is cleared. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') {
      await this.#store.settled();
      return;
    }
    const wasRunning = this.#state === 'running';
    this.#state = 'closing';
    if (wasRunning) await this.saveState();
    await this.#release();
  }

  async #release(): Promise<void> {
    this.#state = 'closing';
    const saves = this.#store.stop();
    const err = closedError();
    const closing = [...this.#families.values()].map((f) => f.close(err));
    this.#families.clear();
    this.#checkBootstrapped();
    const waiters = [...this.#bootstrapWaiters];
    this.#bootstrapWaiters.clear();
    for (const w of waiters) w();
    await Promise.all(closing);
    await saves;
    this.#state = 'closed';
  }
}

function checkInfoHash(h: Uint8Array): void {
  if (!(h instanceof Uint8Array) || h.length !== 20) {
    throw new DhtError(
      ErrorCode.DhtInvalidArgument,
      'infoHash must be 20 bytes (truncate v2 hashes, BEP 52)',
    );
  }
}

function closedError(): DhtError {
  return new DhtError(ErrorCode.DhtClosed, 'the DHT runtime is closed');
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
