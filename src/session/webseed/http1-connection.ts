/**
 * One HTTP/1.1 connection of a web seed origin, carrying one exchange (a GET and its answer) at
 * a time, with {@link Http1ResponseParser} framing the answers.
 *
 * Bytes come in one of two ways: a plain TCP socket reads into the connection's own buffer
 * (Node's `onread`: nothing is allocated per read), TLS and proxied sockets by `data` events.
 * Body bytes go to the reader as views valid only during its call; it consumes them at once
 * (copies them into piece buffers). Bytes that came with the head stay where they are, the
 * socket stopped, until the reader asks for the body: with `onread` the next read would
 * overwrite them, and a stopped socket does not read.
 *
 * Phases: `idle` (kept alive, reading only to notice that the server closed it), `head` (a
 * request sent, its answer's head not complete), `parked` (head given to the caller, the socket
 * stopped until it reads the body), `body`, and `closed` (for good). An exchange ends with the
 * connection back in its pool (`release(conn, true)`) when the answer is complete and may be
 * followed by another (keep-alive, no bytes beyond it), else closed (`release(conn, false)`).
 */
import type { Socket } from 'node:net';
import { WEB_SEED_READ_BUFFER_BYTES } from '../../shared/limits.js';
import { Http1ResponseParser, type ResponseHead, type ResponseSink } from './http1-parser.js';

type Phase = 'idle' | 'head' | 'parked' | 'body' | 'closed';

/** The caller's side of the exchange in progress. */
interface Exchange {
  readonly onHead: (head: ResponseHead) => void;
  readonly onError: (e: Error) => void;
  onData?: (view: Uint8Array) => void;
  onEnd?: () => void;
}

/** One connection; see the module notes. */
export class Http1Connection {
  /** The pool key (`scheme://host:port`). */
  readonly key: string;
  readonly #parser = new Http1ResponseParser();
  readonly #release: (conn: Http1Connection, reusable: boolean) => void;
  #socket: Socket | undefined;
  #phase: Phase = 'idle';
  #exchange: Exchange | undefined;
  /** Body bytes that came with the head (a view; see the module notes). */
  #parked: Uint8Array | undefined;
  /** The parser reached the end of the answer while it was parked. */
  #ended = false;
  #paused = false;
  #gotBytes = false;
  /** Taken from the pool (the server may have closed it meanwhile). */
  reused = false;
  readonly #sink: ResponseSink = {
    onHead: () => false,
    onBody: (view) => this.#exchange?.onData?.(view),
    onEnd: () => {
      this.#ended = true;
    },
  };

  constructor(key: string, release: (conn: Http1Connection, reusable: boolean) => void) {
    this.key = key;
    this.#release = release;
  }

  /** The options that make a plain TCP socket read into this connection's own buffer. */
  onreadOptions(): { buffer: Uint8Array; callback: (n: number, buf: Uint8Array) => boolean } {
    // A plain Uint8Array, not a Buffer: a reader's `slice()` of a view of it is then a copy.
    const buffer = new Uint8Array(WEB_SEED_READ_BUFFER_BYTES);
    return { buffer, callback: (n) => this.bytes(buffer.subarray(0, n)) };
  }

  /** Binds the socket (connecting or connected); `events`: its bytes come as `data` events. */
  attach(socket: Socket, events: boolean): void {
    this.#socket = socket;
    socket.setNoDelay(true);
    if (events)
      socket.on('data', (chunk: Buffer) => {
        if (!this.bytes(chunk)) socket.pause();
      });
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => this.#onClose());
    // The socket may have died before it was bound.
    if (socket.destroyed) this.#fail(new Error('the connection closed'));
  }

  get closed(): boolean {
    return this.#phase === 'closed';
  }

  /** True when the exchange failed before any byte of its answer came (a stale kept connection). */
  get silent(): boolean {
    return !this.#gotBytes;
  }

  /** Sends a request (its whole text); resolves with the answer's head. */
  send(request: string): Promise<ResponseHead> {
    return new Promise<ResponseHead>((resolve, reject) => {
      const socket = this.#socket;
      if (this.#phase !== 'idle' || socket === undefined) {
        reject(new Error('the connection is not free'));
        return;
      }
      this.#phase = 'head';
      this.#parser.reset();
      this.#parked = undefined;
      this.#ended = false;
      this.#paused = false;
      this.#gotBytes = false;
      this.#exchange = {
        onHead: (head) => resolve(head),
        onError: (e) => reject(e),
      };
      socket.ref();
      socket.write(request, 'latin1');
      socket.resume();
    });
  }

  /**
   * Streams the body of the answer whose head was given to `onData` (an exception thrown there
   * fails the exchange with it). Resolves at its end, rejects if it is cut short.
   */
  read(onData: (view: Uint8Array) => void): Promise<void> {
    const ex = this.#exchange;
    if (this.#phase !== 'parked' || ex === undefined)
      return Promise.reject(new Error('the connection has no answer to read'));
    return new Promise<void>((resolve, reject) => {
      this.#phase = 'body';
      ex.onData = onData;
      ex.onEnd = resolve;
      (ex as { onError: (e: Error) => void }).onError = reject;
      const parked = this.#parked;
      this.#parked = undefined;
      if (this.#ended) {
        if (parked !== undefined && parked.length > 0) this.#fail(new Error('bytes after the answer'));
        else this.#finish(false);
        return;
      }
      if (parked !== undefined && !this.bytes(parked)) return;
      if (this.#exchange === ex && !this.#paused) this.#socket?.resume();
    });
  }

  /** Stops reading the socket (back-pressure) until {@link resume}. */
  pause(): void {
    this.#paused = true;
    this.#socket?.pause();
  }

  resume(): void {
    this.#paused = false;
    if (this.#phase === 'body') this.#socket?.resume();
  }

  /** Closes the connection; an exchange in progress fails with `reason`. */
  destroy(reason: Error = new Error('the connection was closed')): void {
    this.#fail(reason);
  }

  /** Bytes from the socket (a view valid only during the call); false: stop reading. */
  bytes(view: Uint8Array): boolean {
    try {
      return this.#bytes(view);
    } catch (e) {
      this.#fail(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
  }

  #bytes(view: Uint8Array): boolean {
    if (view.length > 0) this.#gotBytes = true;
    switch (this.#phase) {
      case 'head': {
        const stop = this.#parser.push(view, this.#sink);
        const head = this.#parser.head;
        if (head === undefined || this.#parser.state === 'head') return true;
        this.#phase = 'parked';
        if (stop < view.length) this.#parked = view.subarray(stop);
        this.#exchange?.onHead(head);
        return false;
      }
      case 'body': {
        const ex = this.#exchange;
        const stop = this.#parser.push(view, this.#sink);
        if (this.#exchange !== ex) return false; // the reader failed it
        if (this.#ended) {
          this.#finish(stop < view.length);
          return (this.#phase as Phase) === 'idle';
        }
        return !this.#paused;
      }
      case 'parked': {
        // Only `data` events can bring more before the socket stops: keep them (copied).
        const old = this.#parked ?? new Uint8Array(0);
        this.#parked = Buffer.concat([old, view]);
        return false;
      }
      case 'idle':
        // Nothing was asked: a server talking out of turn.
        if (view.length > 0) this.#fail(new Error('bytes from the server while idle'));
        return false;
      case 'closed':
        return false;
    }
  }

  /** The answer ended; `extra`: bytes beyond it (no pipelining here: the connection closes). */
  #finish(extra: boolean): void {
    const ex = this.#exchange;
    this.#exchange = undefined;
    const socket = this.#socket;
    const reusable =
      !extra && this.#parser.head?.keepAlive === true && socket !== undefined && !socket.destroyed;
    if (reusable) {
      this.#phase = 'idle';
      this.reused = false;
      socket.unref();
      socket.resume(); // to notice a close while idle
    } else {
      this.#phase = 'closed';
      socket?.destroy();
    }
    this.#release(this, reusable);
    ex?.onEnd?.();
  }

  #onClose(): void {
    if (this.#phase === 'body') {
      try {
        this.#parser.finish(this.#sink);
      } catch (e) {
        this.#fail(e as Error);
        return;
      }
      if (this.#ended) {
        this.#finish(true);
        return;
      }
    }
    if (this.#phase === 'parked' && this.#ended) return; // complete: read() ends it
    this.#fail(
      new Error(this.#gotBytes ? 'the connection closed' : 'the connection closed before an answer'),
    );
  }

  #fail(e: Error): void {
    if (this.#phase === 'closed') return;
    const ex = this.#exchange;
    this.#exchange = undefined;
    this.#phase = 'closed';
    this.#socket?.destroy();
    this.#release(this, false);
    ex?.onError(e);
  }
}
