/**
 * One address family of a DHT runtime (BEP 5 for IPv4, BEP 32 for IPv6): a {@link DhtFamily}
 * drives one pure `DhtNode` on one UDP socket.
 *
 * DEV DOCS
 * - Owns: the node, the socket, one timer armed at the node's `nextDeadline()`, the bootstrap
 *   retry timer, the user operations waiting for node events (keyed by lookup id, or by
 *   `-pingId` for pings), and the socket counters.
 * - Drive loop: a datagram → `node.handleDatagram(bytes, from, now)`; the timer →
 *   `node.tick(now)`; a runtime call → a node method then `flush()`. `flush()` sends the node's
 *   queued datagrams, routes its events to the waiting operations (or to the runtime through
 *   the hooks) and re-arms the timer. Time is `performance.now()` (monotonic).
 * - Bootstrap retries: when a bootstrap lookup leaves fewer than k nodes in the table (a router
 *   that only knows fresh, unconfirmed nodes answers with few), the node joins again after a
 *   delay that doubles each time, until the table holds k nodes.
 * - The socket is a {@link DhtSocket}: one the family owns (and closes), or the session's shared
 *   UDP socket (net/udp-socket.ts), which hands it the KRPC datagrams only and which it leaves
 *   open at close.
 * - BEP 42: told our external address ({@link DhtFamily.setExternalAddress}), a family whose id
 *   does not conform to it makes a new node with a conforming id (the old table's contacts, seen
 *   from the new id) and joins again, when {@link NodeIdRenewal} says (at most once per
 *   `DHT_ID_RENEW_MIN_MS`, after the user's lookups ended or `DHT_ID_RENEW_MAX_WAIT_MS`). What the
 *   old node stored for others (peers, items, tokens) goes with it: announcers repeat theirs.
 * - After `close()` nothing runs: timers cleared, operations failed, socket closed (or left), and
 *   every late callback (a datagram, a timer) is ignored.
 */
import dgram from 'node:dgram';
import { setImmediate as setImmediateP } from 'node:timers/promises';
import {
  type Address,
  type AddressFamily,
  DhtError,
  type DhtEvent,
  type DhtLookupFinishedEvent,
  type DhtNode,
  type DhtPingFinishedEvent,
  type DhtPutReadyEvent,
  isValidNodeIdForIp,
  NodeIdRenewal,
  parseIp,
} from '../dht/index.js';
import type { SharedUdpSocket } from '../net/udp-socket.js';
import { ErrorCode } from '../shared/errors.js';
import { DHT_REBOOTSTRAP_MAX_MS, DHT_SEND_ERROR_REPORT_MS, type DhtSocketStats } from './dht-types.js';

/** What a family sends and receives through. */
export interface DhtSocket {
  /** Starts delivering datagrams (and socket errors). */
  listen(onMessage: (msg: Uint8Array, host: string, port: number) => void, onError: (e: Error) => void): void;
  send(bytes: Uint8Array, port: number, host: string, callback: (error: Error | null) => void): void;
  /** Stops delivering; closes the socket when the family owns it. */
  close(): Promise<void>;
}

/** A socket the family owns. */
export function ownDhtSocket(socket: dgram.Socket): DhtSocket {
  return {
    listen: (onMessage, onError) => {
      socket.on('message', (msg, rinfo) => onMessage(msg, rinfo.address, rinfo.port));
      socket.on('error', onError);
    },
    send: (bytes, port, host, callback) => socket.send(bytes, port, host, callback),
    close: () => closeSocket(socket),
  };
}

/** The shared UDP socket: the family gets its KRPC datagrams, and leaves it open at close. */
export function sharedDhtSocket(socket: SharedUdpSocket): DhtSocket {
  let stops: (() => void)[] = [];
  return {
    listen: (onMessage, onError) => {
      stops = [socket.handle('krpc', onMessage), socket.onError(onError)];
    },
    send: (bytes, port, host, callback) => socket.send(bytes, port, host, callback),
    close: async () => {
      for (const stop of stops) stop();
      stops = [];
    },
  };
}

/** A user operation waiting for node events. */
export interface DhtOperation {
  onPeers?(peers: readonly Address[]): void;
  onFinished?(e: DhtLookupFinishedEvent): void;
  onPing?(e: DhtPingFinishedEvent): void;
  /** A BEP 44 put lookup stopped at `put:ready`: it waits for `completePut`. */
  onPutReady?(e: DhtPutReadyEvent): void;
  /** The runtime closed: fail with `err`. */
  abort(err: Error): void;
}

/** How a family reports to its runtime. */
export interface DhtFamilyHooks {
  /** A bootstrap lookup ended (`initial`: the first one, started by `bootstrap()`). */
  bootstrapFinished(family: AddressFamily, nodes: number, initial: boolean): void;
  externalAddress(family: AddressFamily, host: string, idConforms: boolean): void;
  socketFailed(family: AddressFamily, op: 'send' | 'receive', err: unknown, suppressed: number): void;
  /** The node was remade with a new id for our external address (BEP 42). */
  idChanged?(family: AddressFamily, id: Uint8Array): void;
}

/** Options of a {@link DhtFamily}. */
export interface DhtFamilyInit {
  /** Table size under which the node joins again. */
  readonly k: number;
  /** First bootstrap retry delay, in ms. */
  readonly rebootstrapMs: number;
  /**
   * Makes the node again with a BEP 42 id for `externalIp`, from the old node's saved state (its
   * contacts); absent, the id never changes (e.g. one the user chose).
   */
  readonly remake?: (externalIp: string, saved: Uint8Array) => DhtNode;
  /** When the id changes (see NodeIdRenewal). @default its defaults */
  readonly renewal?: NodeIdRenewal;
}

/** One family's node, socket and timers (see the module docs). */
export class DhtFamily {
  readonly family: AddressFamily;
  #node: DhtNode;
  readonly #socket: DhtSocket;
  readonly #hooks: DhtFamilyHooks;
  readonly #init: DhtFamilyInit;
  readonly #ops = new Map<number, DhtOperation>();
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt: number | undefined;
  #bootstrapLookup: number | undefined;
  #bootstrapDone = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs: number;
  #datagramsIn = 0;
  #datagramsOut = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #sendErrors = 0;
  #sendErrorsUnreported = 0;
  #lastSendErrorReport = Number.NEGATIVE_INFINITY;
  #bootstrapAddrs: readonly Address[] = [];
  readonly #renewal: NodeIdRenewal;
  #renewIp: string | undefined;
  #renewTimer: NodeJS.Timeout | undefined;

  constructor(node: DhtNode, socket: DhtSocket, hooks: DhtFamilyHooks, init: DhtFamilyInit) {
    this.family = node.family;
    this.#node = node;
    this.#renewal = init.renewal ?? new NodeIdRenewal();
    this.#socket = socket;
    this.#hooks = hooks;
    this.#init = init;
    this.#retryDelayMs = init.rebootstrapMs;
    socket.listen(
      (msg, host, port) => {
        if (this.#closed) return;
        this.#datagramsIn++;
        this.#bytesIn += msg.length;
        this.#node.handleDatagram(msg, { host, port }, performance.now());
        this.flush();
      },
      (e) => this.#hooks.socketFailed(this.family, 'receive', e, 0),
    );
    this.flush();
  }

  /** The pure node (a new one after an id change). */
  get node(): DhtNode {
    return this.#node;
  }

  /** The first bootstrap lookup has ended (or could not start). */
  get bootstrapDone(): boolean {
    return this.#bootstrapDone;
  }

  /** User operations waiting. */
  get operations(): number {
    return this.#ops.size;
  }

  /** Starts the first bootstrap lookup through `addrs` (the resolved bootstrap nodes). */
  bootstrap(addrs: readonly Address[]): void {
    this.#bootstrapAddrs = addrs;
    try {
      this.#bootstrapLookup = this.node.bootstrap(addrs, performance.now());
    } catch (e) {
      // Only DhtLimit (too many lookups) can happen here; the node re-bootstraps by itself.
      if (!(e instanceof DhtError)) throw e;
      this.#bootstrapDone = true;
    }
    this.flush();
  }

  /**
   * Our external address is `host` (the session's choice of sources): when the id does not
   * conform to it (BEP 42), the node gets a new one when the renewal policy allows.
   */
  setExternalAddress(host: string): void {
    const ip = parseIp(host);
    if (this.#closed || this.#init.remake === undefined || ip?.length !== (this.family === 4 ? 4 : 16))
      return;
    if (isValidNodeIdForIp(this.#node.id, ip)) {
      this.#renewal.cancel();
      this.#renewIp = undefined;
      return;
    }
    this.#renewIp = host;
    this.#renewal.want(performance.now());
    this.#checkRenewal();
  }

  #checkRenewal(): void {
    if (this.#closed || this.#renewTimer !== undefined) return;
    const now = performance.now();
    const wait = this.#renewal.due(now, this.#ops.size > 0);
    if (wait === undefined) return;
    if (wait > 0) {
      this.#renewTimer = setTimeout(() => {
        this.#renewTimer = undefined;
        this.#checkRenewal();
      }, wait);
      this.#renewTimer.unref();
      return;
    }
    this.#renewal.renewed(now);
    const host = this.#renewIp!;
    this.#renewIp = undefined;
    // Lookups still running belong to the old node: they fail (their callers try again).
    const ops = [...this.#ops.values()];
    this.#ops.clear();
    const err = new DhtError(ErrorCode.DhtIdChanged, `the node id changed for our address ${host} (BEP 42)`);
    for (const op of ops) op.abort(err);
    this.#node = this.#init.remake!(host, this.#node.saveState(now));
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = undefined;
    try {
      const id = this.#node.bootstrap(this.#bootstrapAddrs, now);
      // The first bootstrap was cut short: this one stands for it.
      if (!this.#bootstrapDone && this.#bootstrapLookup !== undefined) this.#bootstrapLookup = id;
    } catch (e) {
      if (!(e instanceof DhtError)) throw e; // DhtLimit cannot happen on a new node; be safe
    }
    this.#hooks.idChanged?.(this.family, this.#node.id);
    this.flush();
  }

  /** Waits for the events of lookup `id` (or ping `-pingId`). */
  register(id: number, op: DhtOperation): void {
    this.#ops.set(id, op);
  }

  /** Stops waiting for `id`; true when it was still waiting (then the caller cancels it). */
  unregister(id: number): boolean {
    return this.#ops.delete(id);
  }

  /** Counters of the socket. */
  socketStats(): DhtSocketStats {
    return {
      datagramsIn: this.#datagramsIn,
      datagramsOut: this.#datagramsOut,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      sendErrors: this.#sendErrors,
    };
  }

  /** Sends what the node queued, routes its events and re-arms the timer. */
  flush(): void {
    if (this.#closed) return;
    // Event handlers may call node methods, which queue more: loop until both queues are empty.
    for (let round = 0; round < 8; round++) {
      const actions = this.node.takeActions();
      for (const a of actions) this.#send(a.to, a.bytes);
      const events = this.node.takeEvents();
      for (const e of events) this.#dispatch(e);
      if (actions.length === 0 && events.length === 0) break;
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#closed) return;
    const at = this.node.nextDeadline();
    if (this.#timerAt !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = undefined;
        if (this.#closed) return;
        this.node.tick(performance.now());
        this.flush();
      },
      Math.max(1, Math.ceil(at - performance.now())),
    );
  }

  #send(to: Address, bytes: Uint8Array): void {
    this.#datagramsOut++;
    this.#bytesOut += bytes.length;
    try {
      this.#socket.send(bytes, to.port, to.host, (err) => {
        if (err !== null && err !== undefined) this.#sendFailed(err);
      });
    } catch (e) {
      // Synchronous failures: a closed socket or an address the OS refuses outright.
      this.#sendFailed(e);
    }
  }

  #sendFailed(err: unknown): void {
    this.#sendErrors++;
    const now = performance.now();
    if (now - this.#lastSendErrorReport < DHT_SEND_ERROR_REPORT_MS) {
      this.#sendErrorsUnreported++;
      return;
    }
    const suppressed = this.#sendErrorsUnreported;
    this.#lastSendErrorReport = now;
    this.#sendErrorsUnreported = 0;
    this.#hooks.socketFailed(this.family, 'send', err, suppressed);
  }

  #dispatch(e: DhtEvent): void {
    switch (e.type) {
      case 'lookup:peers-found':
        this.#ops.get(e.lookupId)?.onPeers?.(e.peers);
        return;
      case 'lookup:finished': {
        const op = this.#ops.get(e.lookupId);
        this.#ops.delete(e.lookupId);
        op?.onFinished?.(e);
        if (e.purpose !== 'bootstrap') return;
        const initial = e.lookupId === this.#bootstrapLookup;
        if (initial) {
          this.#bootstrapLookup = undefined;
          this.#bootstrapDone = true;
        }
        this.#scheduleRetry();
        this.#hooks.bootstrapFinished(this.family, this.node.table.size, initial);
        return;
      }
      case 'put:ready':
        this.#ops.get(e.lookupId)?.onPutReady?.(e);
        return;
      case 'ping:finished': {
        const op = this.#ops.get(-e.pingId);
        this.#ops.delete(-e.pingId);
        op?.onPing?.(e);
        return;
      }
      case 'external-address:changed':
        this.#hooks.externalAddress(this.family, e.host, e.idConforms);
        return;
    }
  }

  /** After a bootstrap lookup: join again later while the table holds fewer than k nodes. */
  #scheduleRetry(): void {
    if (this.#closed) return;
    if (this.node.table.size >= this.#init.k) {
      this.#retryDelayMs = this.#init.rebootstrapMs;
      return;
    }
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#closed) return;
      try {
        this.node.bootstrap([], performance.now());
      } catch (e) {
        if (!(e instanceof DhtError)) throw e; // DhtLimit: busy; the next round will do
      }
      this.flush();
    }, this.#retryDelayMs);
    this.#retryDelayMs = Math.min(2 * this.#retryDelayMs, DHT_REBOOTSTRAP_MAX_MS);
  }

  /** Fails the waiting operations with `err`, clears the timers and closes the socket. */
  async close(err: Error): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    if (this.#renewTimer !== undefined) clearTimeout(this.#renewTimer);
    this.#renewTimer = undefined;
    this.#timer = undefined;
    this.#retryTimer = undefined;
    const ops = [...this.#ops.values()];
    this.#ops.clear();
    for (const op of ops) op.abort(err);
    await this.#socket.close();
  }
}

/** Binds a UDP socket (IPv6 sockets are IPv6-only, so both families can share a port number). */
export function bindUdpSocket(type: 'udp4' | 'udp6', host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(type === 'udp6' ? { type, ipv6Only: true } : { type });
    const onError = (e: Error) => {
      socket.close();
      reject(e);
    };
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Closes a socket and resolves once libuv has released its handle. */
export async function closeSocket(socket: dgram.Socket): Promise<void> {
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  await handlesClosed();
}

/**
 * Resolves once libuv has finished closing the handles closed before: a socket's 'close' event
 * comes first, the handle goes in the loop's next close phase, after the check phase.
 */
export async function handlesClosed(): Promise<void> {
  await setImmediateP();
  await setImmediateP();
}
