/**
 * uTP (BEP 29) as a {@link ListeningTransport}: one UDP socket drives a pure {@link UtpEndpoint}.
 *
 * DEV DOCS
 * - Socket: a {@link SharedUdpSocket} (net/udp-socket.ts) — the session's, shared with the DHT
 *   and UDP tracker replies, which it tells apart by their first bytes — or one the transport binds
 *   itself (at {@link UtpTransport.listen}, or an ephemeral port at the first dial) and closes.
 * - Input: each uTP datagram goes to `endpoint.onDatagram`. A flush of every woken connection runs
 *   once per batch of datagrams and writes (`setImmediate`), so one ACK answers a burst and writes
 *   leave as full packets.
 * - Time: `performance.now()` in ms (fractional, so the wire timestamps get µs). One timer is armed
 *   at the endpoint's earliest deadline; a deadline that moves later leaves the early timer to fire
 *   harmlessly and re-arm, so steady traffic does not create a timer per packet.
 * - Output: datagrams are encoded into pooled buffers (grown to the largest datagram size in use,
 *   then reused, at most {@link UTP_SEND_POOL_BYTES} of them kept) and handed to the socket,
 *   which skips `dns.lookup` for IP literals. A buffer
 *   returns to the pool when its send completes (sends complete in order, so one shared callback
 *   suffices). After Node's own per-message buffer on receive, nothing is allocated per datagram
 *   except the borrowed view handed to a reader.
 * - Streams keep TCP's write semantics: {@link PeerStream.write} copies into the connection's send
 *   buffer (what does not fit waits in a queue, by reference); `writableLength` counts the bytes
 *   not yet sent in any packet (queued, or in the send buffer waiting for a window: bytes in
 *   flight are the network's, as in a TCP socket's kernel buffer). `write` answers false at or
 *   above {@link WRITE_HIGH_WATER_BYTES}, and `drain` follows once a flush brought it below and
 *   the queue is empty. A reader that pauses stops consuming: its advertised window shrinks and
 *   the sender stops; nothing grows past the receive buffer.
 *   `destroy()` closes gracefully (the rest of the send buffer, then a FIN, as closing a TCP socket
 *   does); `destroy(error)` resets (ST_RESET). A uTP stream lives on its transport's socket, so
 *   {@link UtpTransport.close} resets the streams still open.
 * - Datagram size: path-MTU probing stops at `maxDatagramBytes` (default 1472, an Ethernet MTU).
 *   Loopback carries 64 KiB datagrams, but libtorrent 2.0.8 drops uTP datagrams over about 1500
 *   bytes, and a probe cannot be resent smaller (uTP never repackages a sequence number), so a
 *   larger ceiling is only for peers known to take it: toward a 127.0.0.0/8 address, a peer that
 *   declares large datagrams in its SYN or SYN answer (Shoal's extension, see
 *   `EXTENSION_DATAGRAM_SIZE`) is probed up to {@link UTP_LOOPBACK_DATAGRAM_BYTES}.
 * - IPv4 only (a `udp4` socket): a dial to an IPv6 address fails at once (`NetConnectFailed`),
 *   so a dial policy moves on to TCP.
 */
import { isIPv4 } from 'node:net';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { UTP_LOOPBACK_DATAGRAM_BYTES, UTP_SEND_POOL_BYTES } from '../shared/limits.js';

import {
  type UtpConnection,
  UtpEndpoint,
  type UtpEndpointOptions,
  UtpError,
  type UtpEvent,
} from '../utp/index.js';
import { WRITE_HIGH_WATER_BYTES } from './tcp-transport.js';
import type {
  DialOptions,
  ListeningTransport,
  PeerStream,
  StreamHandlers,
  TransportKind,
} from './transport.js';
import { SharedUdpSocket } from './udp-socket.js';

/** Options of a {@link UtpTransport}: the endpoint's bounds and every connection's options. */
export type UtpTransportOptions = UtpEndpointOptions;

/** What a {@link UtpTransport} may be given. */
export interface UtpTransportDeps {
  /**
   * A bound socket to run on (shared with the DHT and UDP trackers); the transport then never
   * closes it. Without one it binds its own.
   */
  readonly socket?: SharedUdpSocket;
}

const NO_HANDLERS: StreamHandlers = { data: () => {}, drain: () => {}, close: () => {} };

/** A randomness source for connection ids (not security-relevant: ids are not secrets). */
const mathRandom = { u32: (): number => (Math.random() * 0x1_0000_0000) >>> 0 };

interface Pending {
  bytes: Uint8Array;
  offset: number;
  onDone: (() => void) | undefined;
}

/** One uTP connection as a {@link PeerStream}. */
export class UtpStream implements PeerStream {
  readonly transport: TransportKind = 'utp';
  readonly outgoing: boolean;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly connection: UtpConnection;
  readonly #owner: UtpTransport;
  #handlers: StreamHandlers = NO_HANDLERS;
  #bound = false;
  #closed = false;
  #corked = 0;
  readonly #queue: Pending[] = [];
  #queuedBytes = 0;
  /** Settles a pending dial. */
  onConnectEvent: ((e: UtpEvent) => void) | undefined;

  constructor(owner: UtpTransport, connection: UtpConnection, outgoing: boolean, host: string, port: number) {
    this.#owner = owner;
    this.connection = connection;
    this.outgoing = outgoing;
    this.remoteAddress = host;
    this.remotePort = port;
    connection.setHandlers({
      data: (bytes, offset, length) => {
        // The reader gets a view of the datagram (or of a held packet), valid during the call.
        this.#handlers.data(bytes.subarray(offset, offset + length));
        connection.consumed(length);
      },
      event: (e) => this.#onEvent(e),
    });
    // Nothing is delivered until an owner binds.
    connection.pause();
  }

  get writableLength(): number {
    return this.#queuedBytes + this.connection.unsentBytes;
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  bind(handlers: StreamHandlers): void {
    this.#handlers = handlers;
    if (!this.#bound && !this.#closed) {
      this.#bound = true;
      this.connection.resume();
      this.#owner.wake();
    }
  }

  write(bytes: Uint8Array, onDone?: () => void): boolean {
    if (this.#closed) {
      if (onDone !== undefined) process.nextTick(onDone);
      return false;
    }
    if (this.#queue.length === 0) {
      const n = this.connection.write(bytes);
      if (n === bytes.length) {
        if (onDone !== undefined) process.nextTick(onDone);
      } else {
        this.#queue.push({ bytes, offset: n, onDone });
        this.#queuedBytes += bytes.length - n;
      }
    } else {
      this.#queue.push({ bytes, offset: 0, onDone });
      this.#queuedBytes += bytes.length;
    }
    if (this.#corked === 0) this.#owner.wake();
    if (this.#queue.length === 0 && this.writableLength < WRITE_HIGH_WATER_BYTES) return true;
    this.#owner.awaitDrain(this);
    return false;
  }

  /** After a flush: true once the queue is empty and the unsent bytes are below the high-water mark. */
  get canDrain(): boolean {
    return this.#closed || (this.#queue.length === 0 && this.writableLength < WRITE_HIGH_WATER_BYTES);
  }

  /** Tells the owner it may write again. */
  drain(): void {
    if (!this.#closed) this.#handlers.drain();
  }

  cork(): void {
    this.#corked++;
  }

  uncork(): void {
    if (this.#corked > 0 && --this.#corked === 0) this.#owner.wake();
  }

  pause(): void {
    if (!this.#closed) this.connection.pause();
  }

  resume(): void {
    if (!this.#closed && this.#bound) {
      this.connection.resume();
      this.#owner.wake();
    }
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    if (error === undefined) this.connection.close();
    else this.connection.destroy(this.#owner.now());
    this.#owner.wake();
    this.#finish(error);
  }

  /** Moves queued writes into the connection's send buffer. */
  #pump(): void {
    while (this.#queue.length > 0) {
      const p = this.#queue[0]!;
      const n = this.connection.write(p.offset === 0 ? p.bytes : p.bytes.subarray(p.offset));
      p.offset += n;
      this.#queuedBytes -= n;
      if (p.offset < p.bytes.length) return;
      this.#queue.shift();
      p.onDone?.();
    }
    this.#owner.wake();
  }

  #onEvent(e: UtpEvent): void {
    this.onConnectEvent?.(e);
    switch (e.type) {
      case 'connected':
        return;
      case 'writable':
        if (!this.#closed) this.#pump();
        return;
      case 'end':
        // The peer finished: like TCP's end, the stream is over; our FIN follows.
        this.connection.close();
        this.#owner.wake();
        this.#finish();
        return;
      case 'closed':
        this.#finish(
          e.reason === 'end' || e.reason === 'destroyed'
            ? undefined
            : (e.error ?? new UtpError(ErrorCode.UtpClosed, `uTP connection closed (${e.reason})`)),
        );
        return;
    }
  }

  #finish(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.onDone?.();
    this.#queuedBytes = 0;
    const h = this.#handlers;
    this.#handlers = NO_HANDLERS;
    this.#owner.forget(this);
    h.close(error);
  }
}

/** uTP dialling and listening on one UDP socket; see the file's notes. */
export class UtpTransport implements ListeningTransport {
  readonly kind: TransportKind = 'utp';
  readonly endpoint: UtpEndpoint;
  #socket: SharedUdpSocket | undefined;
  readonly #ownsSocket: boolean;
  #unhandle: (() => void) | undefined;
  #unError: (() => void) | undefined;
  #onStream: ((s: PeerStream) => void) | undefined;
  readonly #streams = new Set<UtpStream>();
  readonly #drainWaiting = new Set<UtpStream>();
  #flushScheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  // Send buffers: free ones, and the ones handed to the socket, oldest first.
  readonly #free: Buffer[] = [];
  readonly #inUse: Buffer[] = [];
  #bufferBytes = 2048;
  #closed = false;

  constructor(opts: UtpTransportOptions = {}, deps: UtpTransportDeps = {}) {
    this.endpoint = new UtpEndpoint(
      {
        random: mathRandom,
        output: {
          acquire: (bytes) => this.#acquire(bytes),
          send: (d, length, host, port) => this.#send(d as Buffer, length, host, port),
        },
        onAccept: (c, host, port) => this.#accept(c, host, port),
        largeDatagramBytes: (host) => (host.startsWith('127.') ? UTP_LOOPBACK_DATAGRAM_BYTES : 0),
      },
      opts,
    );
    this.#bufferBytes = Math.max(2048, opts.maxDatagramBytes ?? 0);
    this.#ownsSocket = deps.socket === undefined;
    if (deps.socket !== undefined) this.#attach(deps.socket);
  }

  get port(): number {
    return this.#socket?.port ?? 0;
  }

  /** Streams open right now (dialled and accepted). */
  get openCount(): number {
    return this.#streams.size;
  }

  /** The UDP socket (given, or bound at {@link listen} or a first {@link dial}); others may share it. */
  get socket(): SharedUdpSocket | undefined {
    return this.#socket;
  }

  /** Bytes of free send buffers kept for reuse (at most {@link UTP_SEND_POOL_BYTES}). */
  get pooledBytes(): number {
    let n = 0;
    for (const b of this.#free) n += b.length;
    return n;
  }

  /** The transport's clock, in ms. */
  now(): number {
    return performance.now();
  }

  async listen(
    options: { readonly host?: string; readonly port: number },
    onStream: (s: PeerStream) => void,
  ): Promise<number> {
    if (this.#socket !== undefined && options.port !== 0 && options.port !== this.#socket.port) {
      // A dial before listen bound an ephemeral port (or the socket was given): uTP cannot move its
      // socket under live streams.
      throw new ShoalError(
        ErrorCode.SessionInvalidArgument,
        `uTP socket already bound to port ${this.#socket.port}`,
        { port: options.port },
      );
    }
    this.#onStream = onStream;
    await this.#open(options.host ?? '0.0.0.0', options.port);
    return this.port;
  }

  async dial(host: string, port: number, options: DialOptions): Promise<PeerStream> {
    if (this.#closed) throw new ShoalError(ErrorCode.SessionClosed, 'uTP transport closed', {});
    if (!isIPv4(host)) {
      throw new ShoalError(ErrorCode.NetConnectFailed, `uTP dials IPv4 addresses only, not ${host}`, {
        host,
        port,
        dial: true,
      });
    }
    if (this.#socket === undefined) await this.#open('0.0.0.0', 0);
    const conn = this.endpoint.connect(host, port, this.now());
    const stream = new UtpStream(this, conn, true, host, port);
    this.#streams.add(stream);
    this.#rearm();
    return new Promise<PeerStream>((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        stream.onConnectEvent = undefined;
        if (error === undefined) resolve(stream);
        else reject(error);
      };
      const timer = setTimeout(() => {
        const error = new ShoalError(ErrorCode.NetTimeout, `uTP connect to ${host}:${port} timed out`, {
          host,
          port,
        });
        settle(error);
        stream.destroy(error);
      }, options.timeoutMs);
      timer.unref();
      const onAbort = () => {
        const error = new UtpError(ErrorCode.UtpClosed, 'dial aborted');
        settle(error);
        stream.destroy(error);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      stream.onConnectEvent = (e) => {
        if (e.type === 'connected') settle();
        else if (e.type === 'closed')
          settle(e.error ?? new UtpError(ErrorCode.UtpClosed, `uTP dial ended (${e.reason})`));
      };
    });
  }

  /** Stops accepting: new connections are refused, open streams stay. */
  stopListening(): void {
    this.#onStream = undefined;
  }

  /** Resets the streams still open and closes the socket (when the transport bound it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onStream = undefined;
    const now = this.now();
    for (const s of [...this.#streams]) s.destroy(new UtpError(ErrorCode.UtpClosed, 'uTP transport closed'));
    this.endpoint.destroyAll(now);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unhandle?.();
    this.#unError?.();
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined && this.#ownsSocket) await socket.close();
  }

  // --- for streams ------------------------------------------------------------------------------

  /** Something has output pending: flush once, after the current batch of events. */
  wake(): void {
    if (this.#flushScheduled || this.#closed) return;
    this.#flushScheduled = true;
    setImmediate(this.#flushNow);
  }

  forget(s: UtpStream): void {
    this.#streams.delete(s);
    this.#drainWaiting.delete(s);
  }

  /** `s` answered a write with false: it is told `drain` after the flush that makes room. */
  awaitDrain(s: UtpStream): void {
    this.#drainWaiting.add(s);
  }

  // --- internals --------------------------------------------------------------------------------

  readonly #flushNow = (): void => {
    this.#flushScheduled = false;
    if (this.#closed) return;
    this.endpoint.flush(this.now());
    this.#afterFlush();
  };

  #afterFlush(): void {
    if (this.#drainWaiting.size > 0) {
      for (const s of [...this.#drainWaiting]) {
        if (!s.canDrain) continue;
        // Out of the set first: the drain handler's writes may put it back.
        this.#drainWaiting.delete(s);
        s.drain();
      }
    }
    this.#rearm();
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    this.endpoint.tick(this.now());
    this.#afterFlush();
  };

  #rearm(): void {
    const d = this.endpoint.nextDeadline();
    if (d === undefined || d >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = d;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, d - this.now()));
  }

  #accept(c: UtpConnection, host: string, port: number): void {
    const onStream = this.#onStream;
    if (onStream === undefined) {
      c.destroy(this.now());
      return;
    }
    const s = new UtpStream(this, c, false, host, port);
    this.#streams.add(s);
    onStream(s);
  }

  readonly #onDatagram = (msg: Buffer, host: string, port: number): void => {
    if (this.#closed) return;
    if (this.endpoint.onDatagram(msg, host, port, this.now())) this.wake();
  };

  #acquire(bytes: number): Buffer {
    if (bytes > this.#bufferBytes) {
      // A larger datagram size came into use (MTU probing): grow every buffer from now on.
      this.#bufferBytes = bytes;
      this.#free.length = 0;
    }
    return this.#free.pop() ?? Buffer.allocUnsafe(this.#bufferBytes);
  }

  #send(buf: Buffer, length: number, host: string, port: number): void {
    const socket = this.#socket;
    if (socket === undefined) {
      this.#release(buf);
      return;
    }
    this.#inUse.push(buf);
    socket.sendRange(buf, 0, length, port, host, this.#sent);
  }

  readonly #sent = (): void => {
    const buf = this.#inUse.shift();
    if (buf !== undefined) this.#release(buf);
  };

  #release(buf: Buffer): void {
    // At most UTP_SEND_POOL_BYTES kept: 256 buffers of 1.5 KiB, 16 of 64 KiB.
    if (buf.length >= this.#bufferBytes && (this.#free.length + 1) * this.#bufferBytes <= UTP_SEND_POOL_BYTES)
      this.#free.push(buf);
  }

  async #open(host: string, port: number): Promise<void> {
    if (this.#socket !== undefined) return;
    this.#attach(await SharedUdpSocket.bind(host, port));
  }

  #attach(socket: SharedUdpSocket): void {
    this.#socket = socket;
    this.#unhandle = socket.handle('utp', this.#onDatagram);
    this.#unError = socket.onError((err) => {
      for (const s of [...this.#streams]) s.destroy(err);
    });
  }
}
