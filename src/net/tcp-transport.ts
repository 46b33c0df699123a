/**
 * TCP as a {@link ListeningTransport}: dials and accepts, and gives {@link PeerStream}s.
 *
 * Reads allocate nothing per chunk. Every socket of the process, dialled or accepted, reads into
 * one shared buffer (Node's `onread`): a plain socket gets a fresh 64 KiB buffer per read, which
 * at 200 MB/s made V8 run a full collection every ~30 ms. A chunk handed to the stream's `data`
 * handler is therefore valid only during the call (the next read of any socket overwrites it).
 * Node has no `onread` option for a server's sockets, so an accepted socket is adopted: it is
 * accepted paused, given the shared buffer through the same internal slots `onread` fills for a
 * dialled socket, and only then starts reading ({@link adoptReadBuffer}). If a future Node moves
 * those slots, adoption reports false and the socket reads fresh buffers as before.
 *
 * Listening is dual-stack by default: `::` accepts IPv6 and IPv4 (as IPv4-mapped addresses, which
 * {@link plainAddress} turns back into dotted quads); a system without IPv6 falls back to
 * `0.0.0.0`.
 */
import { connect, createServer, type Server, Socket, type SocketConstructorOpts } from 'node:net';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import type {
  DialOptions,
  ListeningTransport,
  PeerStream,
  StreamHandlers,
  TransportKind,
} from './transport.js';

/** Socket write buffer level above which writes report back-pressure. */
export const WRITE_HIGH_WATER_BYTES = 256 * 1024;

/** Size of the read buffer shared by every socket: what one read can return (Node's default). */
export const SHARED_READ_BUFFER_BYTES = 64 * 1024;

let sharedReadBuffer: Buffer | undefined;
function readBuffer(): Buffer {
  sharedReadBuffer ??= Buffer.allocUnsafe(SHARED_READ_BUFFER_BYTES);
  return sharedReadBuffer;
}

/** Node's internal socket slots behind `onread`, found once from a probe socket. */
interface ReadSlots {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}
let readSlots: ReadSlots | null | undefined;
function findReadSlots(): ReadSlots | null {
  if (readSlots !== undefined) return readSlots;
  const probe = new Socket({
    onread: { buffer: Buffer.alloc(1), callback: () => true },
  } as SocketConstructorOpts);
  const by = new Map(Object.getOwnPropertySymbols(probe).map((s) => [s.description, s]));
  probe.destroy();
  const buffer = by.get('kBuffer');
  const callback = by.get('kBufferCb');
  const generator = by.get('kBufferGen');
  readSlots =
    buffer !== undefined && callback !== undefined && generator !== undefined
      ? { buffer, callback, generator }
      : null;
  return readSlots;
}

interface UserBufferHandle {
  useUserBuffer?(buf: Uint8Array): void;
}

/**
 * Makes an accepted socket that has not started reading (`pauseOnConnect`) read into the shared
 * buffer and hand each read to `onRead`, as `onread` does for a dialled one. False if this Node
 * does not have the slots: the socket then reads as usual ('data' events).
 */
export function adoptReadBuffer(socket: Socket, onRead: (n: number, buf: Uint8Array) => boolean): boolean {
  const slots = findReadSlots();
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (slots === null || handle == null || typeof handle.useUserBuffer !== 'function') return false;
  const buf = readBuffer();
  const s = socket as unknown as Record<symbol, unknown>;
  s[slots.buffer] = buf;
  s[slots.callback] = onRead;
  s[slots.generator] = null;
  handle.useUserBuffer(buf);
  return true;
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; other addresses unchanged. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

const NO_HANDLERS: StreamHandlers = { data: () => {}, drain: () => {}, close: () => {} };

/** One TCP connection as a {@link PeerStream}. */
export class TcpStream implements PeerStream {
  readonly transport: TransportKind = 'tcp';
  readonly socket: Socket;
  readonly outgoing: boolean;
  readonly remoteAddress: string;
  readonly remotePort: number;
  #handlers: StreamHandlers = NO_HANDLERS;
  #closed = false;
  #bound = false;
  /** The socket reads through 'data' events (fresh buffers), not the shared buffer. */
  readonly #evented: boolean;

  /** `shared`: the socket's reads already go to {@link onRead} (dialled with `onread`, or adopted). */
  constructor(socket: Socket, outgoing: boolean, shared: boolean) {
    this.socket = socket;
    this.outgoing = outgoing;
    this.remoteAddress = plainAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.#evented = !shared;
    socket.setNoDelay(true);
    // Nothing is read until an owner binds (accepted sockets start paused already).
    if (outgoing) socket.pause();
    if (this.#evented) socket.on('data', (chunk: Buffer) => this.#handlers.data(chunk));
    socket.on('drain', () => this.#handlers.drain());
    socket.on('error', (err) => this.#close(err));
    socket.on('end', () => this.#close());
    socket.on('close', () => this.#close());
  }

  /** Where the shared buffer's reads of this socket go. */
  onRead(n: number, buf: Uint8Array): boolean {
    if (this.#closed) return false;
    this.#handlers.data(buf.subarray(0, n));
    return true;
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  bind(handlers: StreamHandlers): void {
    this.#handlers = handlers;
    if (!this.#bound) {
      this.#bound = true;
      // Accepted sockets wait paused (pauseOnConnect) until someone reads them.
      if (!this.#closed) this.socket.resume();
    }
  }

  write(bytes: Uint8Array, onDone?: () => void): boolean {
    if (this.#closed) {
      onDone?.();
      return false;
    }
    this.socket.write(bytes, onDone);
    return this.socket.writableLength < WRITE_HIGH_WATER_BYTES;
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  pause(): void {
    if (!this.#closed) this.socket.pause();
  }

  resume(): void {
    if (!this.#closed) this.socket.resume();
  }

  destroy(error?: Error): void {
    this.#close(error);
  }

  #close(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy();
    const h = this.#handlers;
    this.#handlers = NO_HANDLERS;
    h.close(error);
  }
}

/** TCP dialling and listening; see the file's notes. */
export class TcpTransport implements ListeningTransport {
  readonly kind: TransportKind = 'tcp';
  #server: Server | undefined;
  #port = 0;
  /** Every stream this transport made, to tell how many are open. */
  readonly #open = new Set<TcpStream>();

  get port(): number {
    return this.#port;
  }

  /** Streams open right now (dialled and accepted). */
  get openCount(): number {
    return this.#open.size;
  }

  dial(host: string, port: number, options: DialOptions): Promise<PeerStream> {
    return new Promise((resolve, reject) => {
      let stream: TcpStream | undefined;
      const socket = connect({
        host,
        port,
        onread: {
          buffer: readBuffer,
          // Reads start after 'connect', which makes the stream: before it there is no owner.
          callback: (n: number, buf: Uint8Array): boolean => stream?.onRead(n, buf) ?? false,
        },
      });
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        cleanup();
        socket.destroy();
        reject(
          error instanceof ShoalError
            ? error
            : new ShoalError(
                ErrorCode.NetConnectFailed,
                `connect to ${host}:${port} failed: ${error.message}`,
                { host, port },
                { cause: error },
              ),
        );
      };
      const timer = setTimeout(
        () =>
          fail(new ShoalError(ErrorCode.NetTimeout, `connect to ${host}:${port} timed out`, { host, port })),
        options.timeoutMs,
      );
      timer.unref();
      const onAbort = () => fail(new ShoalError(ErrorCode.NetConnectFailed, 'dial aborted', { host, port }));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        socket.off('error', fail);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        if (settled) return;
        settled = true;
        cleanup();
        stream = this.#track(new TcpStream(socket, true, true));
        resolve(stream);
      });
    });
  }

  async listen(
    options: { readonly host?: string; readonly port: number },
    onStream: (s: PeerStream) => void,
  ): Promise<number> {
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
      let stream: TcpStream | undefined;
      const shared = adoptReadBuffer(socket, (n, buf) => stream?.onRead(n, buf) ?? false);
      stream = this.#track(new TcpStream(socket, false, shared));
      onStream(stream);
    });
    this.#server = server;
    const attempt = (host: string | undefined) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: options.port, host, ipv6Only: false }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    if (options.host === undefined || options.host === '::') {
      try {
        await attempt('::');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw e;
        await attempt('0.0.0.0'); // no IPv6 on this system
      }
    } else await attempt(options.host);
    const addr = server.address();
    this.#port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return this.#port;
  }

  /** Registers an error handler for the listening socket (after {@link listen}). */
  onListenError(handler: (error: Error) => void): void {
    this.#server?.on('error', handler);
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }

  #track(s: TcpStream): TcpStream {
    this.#open.add(s);
    s.socket.once('close', () => this.#open.delete(s));
    return s;
  }
}
