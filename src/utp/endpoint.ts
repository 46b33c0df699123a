/**
 * A uTP endpoint: every connection on one UDP port, as a pure multiplexer.
 *
 * DEV DOCS
 * - A runtime feeds it datagrams ({@link UtpEndpoint.onDatagram}, which answers false for bytes
 *   that are not uTP, so the same socket can serve the DHT and UDP tracker replies), calls
 *   {@link UtpEndpoint.flush} after a batch of datagrams or writes, and {@link UtpEndpoint.tick}
 *   when {@link UtpEndpoint.nextDeadline} passes. Datagrams go out through
 *   {@link UtpDatagramOutput}, with the remote address.
 * - Connections are keyed by (remote host, remote port, our receive id): a two-level map
 *   (host → port·65536 + id) so no key string is built per datagram.
 * - Incoming SYNs are accepted within named bounds: {@link MAX_UTP_CONNECTIONS} in the table,
 *   {@link MAX_UTP_HALF_OPEN} accepted connections that have not heard from the dialler again,
 *   {@link MAX_UTP_SYNS_PER_IP_PER_SECOND} per source address. A packet for an unknown connection
 *   is answered with ST_RESET, at most {@link MAX_UTP_RESETS_PER_SECOND} a second.
 * - Malformed datagrams cost nothing but a counter.
 */
import { ErrorCode } from '../shared/errors.js';
import {
  MAX_UTP_CONNECTIONS,
  MAX_UTP_HALF_OPEN,
  MAX_UTP_RESETS_PER_SECOND,
  MAX_UTP_SYN_RATE_IPS,
  MAX_UTP_SYNS_PER_IP_PER_SECOND,
} from '../shared/limits.js';
import { UtpConnection } from './connection.js';
import type { UtpConnectionOptions, UtpConnectionOwner, UtpOutput } from './connection-types.js';
import { UtpError } from './errors.js';
import {
  decodePacket,
  encodeHeader,
  isUtpDatagram,
  PacketType,
  UTP_HEADER_BYTES,
  UtpPacket,
} from './packet.js';
import { SEQ_MASK } from './seq.js';

/** Randomness for connection ids and initial sequence numbers. */
export interface UtpRandom {
  /** A uniform 32-bit unsigned integer. */
  u32(): number;
}

/** Where an endpoint's datagrams go. */
export interface UtpDatagramOutput {
  /** A buffer of at least `bytes` bytes to encode one datagram into; it comes back in {@link send}. */
  acquire(bytes: number): Uint8Array;
  /** Sends `datagram[0, length)` to `host:port`; `probe` marks a path-MTU probe. */
  send(datagram: Uint8Array, length: number, host: string, port: number, probe: boolean): void;
}

/** Options of an endpoint: its bounds, and the options of every connection. */
export interface UtpEndpointOptions extends UtpConnectionOptions {
  /** @default MAX_UTP_CONNECTIONS */
  readonly maxConnections?: number;
  /** @default MAX_UTP_HALF_OPEN */
  readonly maxHalfOpen?: number;
  /** @default MAX_UTP_SYNS_PER_IP_PER_SECOND */
  readonly maxSynsPerIpPerSecond?: number;
  /** @default MAX_UTP_RESETS_PER_SECOND */
  readonly maxResetsPerSecond?: number;
}

/** What an endpoint needs. */
export interface UtpEndpointDeps {
  readonly random: UtpRandom;
  readonly output: UtpDatagramOutput;
  /** A connection was accepted (its handlers should be set now; bytes are held until then). */
  readonly onAccept?: (c: UtpConnection, host: string, port: number) => void;
  /**
   * The largest datagram the path to `host` may carry, in bytes, when above the connections'
   * `maxDatagramBytes` (a loopback address: 64 KiB); a peer that declares it takes larger
   * datagrams is probed up to it (see `largeDatagramBytes` of {@link UtpConnectionOptions}).
   */
  readonly largeDatagramBytes?: (host: string) => number;
}

/** Counters of an endpoint. */
export interface UtpEndpointStats {
  datagrams: number;
  notUtp: number;
  malformed: number;
  accepted: number;
  refusedFull: number;
  refusedHalfOpen: number;
  refusedRate: number;
  unknown: number;
  resetsSent: number;
}

/** The remote address of a connection, kept in its `tag`. */
export interface UtpRemote {
  readonly host: string;
  readonly port: number;
}

/** All uTP connections of one UDP port. */
export class UtpEndpoint implements UtpConnectionOwner {
  readonly stats: UtpEndpointStats = {
    datagrams: 0,
    notUtp: 0,
    malformed: 0,
    accepted: 0,
    refusedFull: 0,
    refusedHalfOpen: 0,
    refusedRate: 0,
    unknown: 0,
    resetsSent: 0,
  };
  readonly #deps: UtpEndpointDeps;
  readonly #opts: UtpEndpointOptions;
  readonly #byHost = new Map<string, Map<number, UtpConnection>>();
  readonly #all = new Set<UtpConnection>();
  readonly #halfOpen = new Set<UtpConnection>();
  readonly #dirty = new Set<UtpConnection>();
  readonly #pkt = new UtpPacket();
  readonly #synRate = new Map<string, { second: number; count: number }>();
  #resetSecond = -1;
  #resetCount = 0;

  constructor(deps: UtpEndpointDeps, opts: UtpEndpointOptions = {}) {
    this.#deps = deps;
    this.#opts = opts;
  }

  /** Live connections. */
  get size(): number {
    return this.#all.size;
  }

  /** Accepted connections still waiting for the dialler's second packet. */
  get halfOpen(): number {
    return this.#halfOpen.size;
  }

  /** Every live connection. */
  connections(): IterableIterator<UtpConnection> {
    return this.#all.values();
  }

  /**
   * Opens a connection to `host:port` and sends its SYN. `initialSeq` is for tests (a start near
   * the 16-bit wrap); it is random otherwise.
   */
  connect(host: string, port: number, now: number, initialSeq?: number): UtpConnection {
    if (this.#all.size >= (this.#opts.maxConnections ?? MAX_UTP_CONNECTIONS)) this.#evictTimeWait();
    if (this.#all.size >= (this.#opts.maxConnections ?? MAX_UTP_CONNECTIONS)) {
      throw new UtpError(ErrorCode.UtpLimit, `${this.#all.size} uTP connections open`);
    }
    let recvId = this.#deps.random.u32() & SEQ_MASK;
    // Our id and the peer's (ours + 1) must both be free towards this address.
    for (
      let tries = 0;
      this.#find(host, port, recvId) !== undefined ||
      this.#find(host, port, (recvId + 1) & SEQ_MASK) !== undefined;
      tries++
    ) {
      if (tries > 64) throw new UtpError(ErrorCode.UtpLimit, 'no free uTP connection id');
      recvId = this.#deps.random.u32() & SEQ_MASK;
    }
    const seq = initialSeq ?? this.#deps.random.u32() & SEQ_MASK;
    const c = new UtpConnection(
      { recvId, sendId: (recvId + 1) & SEQ_MASK, initialSeq: seq },
      this.#outputFor(host, port),
      now,
      this.#optionsFor(host),
      this,
    );
    c.tag = { host, port } satisfies UtpRemote;
    this.#insert(host, port, recvId, c);
    c.connect(now);
    return c;
  }

  /**
   * Handles one datagram from `host:port`. Returns false when it is not uTP (the caller may hand
   * it to another owner: the DHT, a UDP tracker client); true when it was taken.
   */
  onDatagram(bytes: Uint8Array, host: string, port: number, now: number): boolean {
    if (!isUtpDatagram(bytes)) {
      this.stats.notUtp++;
      return false;
    }
    this.stats.datagrams++;
    const p = this.#pkt;
    try {
      decodePacket(bytes, p);
    } catch (e) {
      if (!(e instanceof UtpError)) throw e;
      this.stats.malformed++;
      return true;
    }
    if (p.type === PacketType.Syn) {
      this.#onSyn(p, host, port, now);
      return true;
    }
    let c = this.#find(host, port, p.connectionId);
    if (c === undefined && p.type === PacketType.Reset) {
      // An ST_RESET may carry either of our ids (implementations differ).
      const a = this.#find(host, port, (p.connectionId + 1) & SEQ_MASK);
      const b = this.#find(host, port, (p.connectionId - 1) & SEQ_MASK);
      c = a?.sendId === p.connectionId ? a : b?.sendId === p.connectionId ? b : undefined;
    }
    if (c === undefined) {
      this.stats.unknown++;
      if (p.type !== PacketType.Reset)
        // The reset carries the id the stranger sent with (its send id): whether it dialled or
        // accepted, that is an id it can match (libutp and Shoal match a reset on either id).
        this.#sendReset(host, port, p.connectionId, p.seqNr, now);
      return true;
    }
    c.onPacket(p, now);
    if (this.#halfOpen.has(c) && c.state !== 'syn-recv') this.#halfOpen.delete(c);
    if (!c.isClosed) this.#dirty.add(c);
    return true;
  }

  #onSyn(p: UtpPacket, host: string, port: number, now: number): void {
    const recvId = (p.connectionId + 1) & SEQ_MASK;
    const existing = this.#find(host, port, recvId);
    if (existing !== undefined) {
      existing.onPacket(p, now);
      this.#dirty.add(existing);
      return;
    }
    if (this.#all.size >= (this.#opts.maxConnections ?? MAX_UTP_CONNECTIONS)) this.#evictTimeWait();
    if (this.#all.size >= (this.#opts.maxConnections ?? MAX_UTP_CONNECTIONS)) {
      this.stats.refusedFull++;
      this.#sendReset(host, port, p.connectionId, p.seqNr, now);
      return;
    }
    if (this.#halfOpen.size >= (this.#opts.maxHalfOpen ?? MAX_UTP_HALF_OPEN)) {
      this.stats.refusedHalfOpen++;
      return;
    }
    if (!this.#allowSyn(host, now)) {
      this.stats.refusedRate++;
      return;
    }
    const c = new UtpConnection(
      { recvId, sendId: p.connectionId, initialSeq: this.#deps.random.u32() & SEQ_MASK },
      this.#outputFor(host, port),
      now,
      this.#optionsFor(host),
      this,
    );
    c.tag = { host, port } satisfies UtpRemote;
    this.#insert(host, port, recvId, c);
    this.#halfOpen.add(c);
    c.accept(p, now);
    this.#dirty.add(c);
    this.stats.accepted++;
    this.#deps.onAccept?.(c, host, port);
  }

  /** Frees a table slot held by a connection in time-wait, if there is one. */
  #evictTimeWait(): void {
    for (const c of this.#all) {
      if (c.isTimeWait) {
        c.forget();
        return;
      }
    }
  }

  #allowSyn(host: string, now: number): boolean {
    const second = Math.floor(now / 1000);
    let r = this.#synRate.get(host);
    if (r === undefined) {
      if (this.#synRate.size >= MAX_UTP_SYN_RATE_IPS) {
        for (const [k, v] of this.#synRate) if (v.second < second) this.#synRate.delete(k);
        if (this.#synRate.size >= MAX_UTP_SYN_RATE_IPS) return false;
      }
      r = { second, count: 0 };
      this.#synRate.set(host, r);
    }
    if (r.second !== second) {
      r.second = second;
      r.count = 0;
    }
    return ++r.count <= (this.#opts.maxSynsPerIpPerSecond ?? MAX_UTP_SYNS_PER_IP_PER_SECOND);
  }

  #sendReset(host: string, port: number, connectionId: number, ackNr: number, now: number): void {
    const second = Math.floor(now / 1000);
    if (second !== this.#resetSecond) {
      this.#resetSecond = second;
      this.#resetCount = 0;
    }
    if (++this.#resetCount > (this.#opts.maxResetsPerSecond ?? MAX_UTP_RESETS_PER_SECOND)) return;
    this.stats.resetsSent++;
    const buf = this.#deps.output.acquire(UTP_HEADER_BYTES);
    encodeHeader(buf, {
      type: PacketType.Reset,
      connectionId,
      timestampUs: Math.floor(now * 1000) >>> 0,
      timestampDiffUs: 0,
      wndSize: 0,
      seqNr: this.#deps.random.u32() & SEQ_MASK,
      ackNr,
    });
    this.#deps.output.send(buf, UTP_HEADER_BYTES, host, port, false);
  }

  /** Sends what every woken connection has due. */
  flush(now: number): void {
    if (this.#dirty.size === 0) return;
    for (const c of this.#dirty) {
      this.#dirty.delete(c);
      c.flush(now);
    }
  }

  /** Runs the timers of every connection due at `now`. */
  tick(now: number): void {
    for (const c of this.#all) {
      const d = c.nextDeadline();
      if (d !== undefined && d <= now) c.tick(now);
    }
    this.flush(now);
  }

  /** The earliest deadline of any connection, in ms (undefined when there is none). */
  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const c of this.#all) {
      const d = c.nextDeadline();
      if (d !== undefined && (best === undefined || d < best)) best = d;
    }
    return best;
  }

  /** Resets every connection (an ST_RESET to each peer). */
  destroyAll(now: number): void {
    for (const c of [...this.#all]) c.destroy(now);
  }

  // --- UtpConnectionOwner -----------------------------------------------------------------------

  wake(c: UtpConnection): void {
    if (!c.isClosed) this.#dirty.add(c);
  }

  closed(c: UtpConnection): void {
    const r = c.tag as UtpRemote;
    const inner = this.#byHost.get(r.host);
    const key = r.port * 65536 + c.recvId;
    if (inner?.get(key) === c) {
      inner.delete(key);
      if (inner.size === 0) this.#byHost.delete(r.host);
    }
    this.#all.delete(c);
    this.#halfOpen.delete(c);
    this.#dirty.delete(c);
  }

  // --- table ------------------------------------------------------------------------------------

  #find(host: string, port: number, recvId: number): UtpConnection | undefined {
    return this.#byHost.get(host)?.get(port * 65536 + recvId);
  }

  #insert(host: string, port: number, recvId: number, c: UtpConnection): void {
    let inner = this.#byHost.get(host);
    if (inner === undefined) {
      inner = new Map();
      this.#byHost.set(host, inner);
    }
    inner.set(port * 65536 + recvId, c);
    this.#all.add(c);
  }

  #optionsFor(host: string): UtpConnectionOptions {
    const large = this.#deps.largeDatagramBytes?.(host) ?? 0;
    return large > 0 && this.#opts.largeDatagramBytes === undefined
      ? { ...this.#opts, largeDatagramBytes: large }
      : this.#opts;
  }

  #outputFor(host: string, port: number): UtpOutput {
    const out = this.#deps.output;
    return {
      acquire: (bytes) => out.acquire(bytes),
      send: (datagram, length, probe) => out.send(datagram, length, host, port, probe),
    };
  }
}
