/**
 * One TCP connection to a peer: handshake, framing, and writes with back-pressure.
 *
 * A thin adapter (STYLE §2): socket `'data'` → {@link FrameDecoder.push} → `onMessage`; the
 * protocol decisions live in the engine. Outgoing bytes are written straight to the socket; a
 * write that finds the socket's buffer above its high-water mark reports `false`, and
 * {@link PeerConnection.whenWritable} resolves on `'drain'`, which is how uploads follow the
 * peer's real reading speed instead of growing an unbounded queue.
 *
 * Lifecycle: `connecting` (outgoing only) → `handshaking` → `open` → `closed`. Any decode error,
 * socket error, or handshake timeout closes the connection once, with a reason.
 *
 * Reading: a socket made by {@link dialPeer} reads into one buffer that every such socket of
 * the process shares (Node's `onread`), instead of a new 64 KiB buffer per read. Those buffers
 * were most of what a downloading process allocated: at 200 MB/s V8 ran a full collection every
 * ~30 ms to free them. The frame decoder then copies every byte field out except piece blocks,
 * which are handled (copied into their piece's buffer) before the next read. Accepted sockets
 * (Node has no `onread` for a server's sockets) read fresh buffers, as plain sockets do.
 */
import { connect, type Socket } from 'node:net';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { HANDSHAKE_TIMEOUT_MS } from '../shared/limits.js';
import {
  type EncodableMessage,
  encodeHandshake,
  encodeMessage,
  encodePieceHeader,
  FrameDecoder,
  type Handshake,
  type WireMessage,
} from '../wire/index.js';

export type ConnectionState = 'handshaking' | 'open' | 'closed';

/** Socket write buffer level above which writes report back-pressure. */
export const WRITE_HIGH_WATER_BYTES = 256 * 1024;

/** Size of the read buffer shared by dialled sockets: what one read can return (Node's default). */
export const SHARED_READ_BUFFER_BYTES = 64 * 1024;

let sharedReadBuffer: Buffer | undefined;
/** Where each dialled socket's reads go: its connection (null until one took the socket). */
const readTargets = new WeakMap<Socket, ((chunk: Buffer) => void) | null>();

/**
 * Opens a TCP connection to a peer that reads into the shared buffer (see the file's docs). Use
 * it for the socket of a {@link PeerConnection}; its `'data'` event never fires.
 */
export function dialPeer(host: string, port: number): Socket {
  const socket = connect({
    host,
    port,
    onread: {
      buffer: () => {
        sharedReadBuffer ??= Buffer.allocUnsafe(SHARED_READ_BUFFER_BYTES);
        return sharedReadBuffer;
      },
      callback: (n: number, buf: Uint8Array): boolean => {
        const target = readTargets.get(socket);
        // Reads start after 'connect', whose handler makes the connection: bytes before it
        // would have nowhere to go.
        if (target == null) {
          socket.destroy(new Error('peer data arrived before its connection was set up'));
          return false;
        }
        target(Buffer.from(buf.buffer, buf.byteOffset, n));
        return true;
      },
    },
  });
  readTargets.set(socket, null);
  return socket;
}

export interface PeerConnectionHandlers {
  /** The peer's handshake arrived; return false to close. */
  onHandshake(h: Handshake): boolean;
  onMessages(msgs: WireMessage[]): void;
  /** Called once. `error` is set for protocol/socket failures, unset for a clean close. */
  onClose(reason: string, error?: Error): void;
  /** Payload bytes arrived; returns ms to stop reading for (download rate limit), or 0. */
  onBytesReceived?(n: number): number;
}

export interface PeerConnectionInit {
  readonly socket: Socket;
  /** We dialled (true) or accepted (false). */
  readonly outgoing: boolean;
  readonly handlers: PeerConnectionHandlers;
  /** @default HANDSHAKE_TIMEOUT_MS */
  readonly handshakeTimeoutMs?: number;
}

export class PeerConnection {
  readonly socket: Socket;
  readonly outgoing: boolean;
  readonly remoteAddress: string;
  readonly remotePort: number;
  #state: ConnectionState = 'handshaking';
  readonly #decoder: FrameDecoder;
  #handlers: PeerConnectionHandlers;
  #throttleTimer: NodeJS.Timeout | undefined;
  #pausedByUser = false;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #drainWaiters: (() => void)[] = [];
  /** The socket is corked until the event loop's next check phase (see #write). */
  #corked = false;
  /** Last time (ms, performance clock) bytes arrived / were written. */
  lastReceivedAt = performance.now();
  lastSentAt = performance.now();
  bytesReceived = 0;
  bytesSent = 0;

  constructor(init: PeerConnectionInit) {
    this.socket = init.socket;
    this.outgoing = init.outgoing;
    this.#handlers = init.handlers;
    this.remoteAddress = init.socket.remoteAddress ?? '';
    this.remotePort = init.socket.remotePort ?? 0;
    init.socket.setNoDelay(true);
    this.#handshakeTimer = setTimeout(() => {
      this.close('handshake-timeout', new ShoalError(ErrorCode.NetTimeout, 'handshake timed out', {}));
    }, init.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    this.#handshakeTimer.unref();
    const dialled = readTargets.has(init.socket);
    this.#decoder = new FrameDecoder({ handshake: true, borrowedChunks: dialled });
    if (dialled) readTargets.set(init.socket, (chunk) => this.#onData(chunk));
    else init.socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    init.socket.on('drain', () => this.#onDrain());
    init.socket.on('error', (err) => this.close('socket-error', err));
    init.socket.on('close', () => this.close('socket-closed'));
    init.socket.on('end', () => this.close('peer-closed'));
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get isOpen(): boolean {
    return this.#state !== 'closed';
  }

  /** Bytes queued in the socket but not yet handed to the kernel. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /** True when the socket buffer is below the high-water mark. */
  get isWritable(): boolean {
    return this.#state !== 'closed' && this.socket.writableLength < WRITE_HIGH_WATER_BYTES;
  }

  /** Tells the decoder the piece count (bitfields are then checked exactly). */
  setPieceCount(n: number): void {
    this.#decoder.setPieceCount(n);
  }

  sendHandshake(h: Handshake): void {
    this.#write(encodeHandshake(h));
  }

  /** Writes one message; false when the socket is above its high-water mark. */
  send(msg: EncodableMessage): boolean {
    return this.#write(encodeMessage(msg));
  }

  /**
   * Writes a `piece` message without copying the block. `onDone` is called once the block's
   * memory is no longer needed: the socket handed it to the kernel, failed, or was closed.
   */
  sendPiece(index: number, begin: number, block: Uint8Array, onDone?: () => void): boolean {
    if (this.#state === 'closed') {
      onDone?.();
      return false;
    }
    this.socket.cork();
    this.#write(encodePieceHeader(index, begin, block.length));
    const ok = this.#write(block, onDone);
    this.socket.uncork();
    return ok;
  }

  /** Resolves when the socket buffer drained below the high-water mark (or the connection closed). */
  whenWritable(): Promise<void> {
    if (this.isWritable || this.#state === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Hands the connection to a new owner (after the handshake matched a torrent). */
  rebind(handlers: PeerConnectionHandlers): void {
    this.#handlers = handlers;
  }

  /** Stops reading from the socket (download back-pressure). */
  pauseReading(): void {
    this.#pausedByUser = true;
    if (this.#state !== 'closed') this.socket.pause();
  }

  resumeReading(): void {
    this.#pausedByUser = false;
    if (this.#state !== 'closed' && this.#throttleTimer === undefined) this.socket.resume();
  }

  /** Closes once; later calls do nothing. */
  close(reason: string, error?: Error): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    if (this.#throttleTimer !== undefined) clearTimeout(this.#throttleTimer);
    this.#throttleTimer = undefined;
    // Hand what was written since the last flush (e.g. our handshake, before the bad bitfield
    // that closes the connection) to the kernel first, as uncorked writes would have been.
    if (this.#corked) this.socket.uncork();
    this.socket.destroy();
    this.#onDrain();
    this.#handlers.onClose(reason, error);
  }

  #write(bytes: Uint8Array, onDone?: () => void): boolean {
    if (this.#state === 'closed') {
      onDone?.();
      return false;
    }
    this.bytesSent += bytes.length;
    this.lastSentAt = performance.now();
    // Messages written in one turn of the event loop (requests for the blocks of several socket
    // reads, haves, blocks) leave in one writev instead of one syscall each: a leecher writes a
    // 17-byte request per 16 KiB block, and on loopback each write syscall also pays for the
    // receiver's TCP processing.
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.#corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes, onDone);
    return this.socket.writableLength < WRITE_HIGH_WATER_BYTES;
  }

  #onDrain(): void {
    if (this.#drainWaiters.length === 0) return;
    if (this.#state !== 'closed' && !this.isWritable) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    this.bytesReceived += chunk.length;
    this.lastReceivedAt = performance.now();
    const pauseMs = this.#handlers.onBytesReceived?.(chunk.length) ?? 0;
    if (pauseMs > 0 && this.#throttleTimer === undefined) {
      this.socket.pause();
      this.#throttleTimer = setTimeout(() => {
        this.#throttleTimer = undefined;
        if (this.#state !== 'closed' && !this.#pausedByUser) this.socket.resume();
      }, pauseMs);
    }
    let msgs: WireMessage[];
    try {
      msgs = this.#decoder.push(chunk);
    } catch (e) {
      this.close('protocol-error', e instanceof Error ? e : new Error(String(e)));
      return;
    }
    if (msgs.length === 0) return;
    let start = 0;
    if (this.#state === 'handshaking') {
      const first = msgs[0]!;
      if (first.type !== 'handshake') {
        this.close('protocol-error', new ShoalError(ErrorCode.WireBadHandshake, 'expected a handshake', {}));
        return;
      }
      if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
      this.#handshakeTimer = undefined;
      this.#state = 'open';
      if (!this.#handlers.onHandshake(first)) {
        this.close('handshake-rejected');
        return;
      }
      start = 1;
    }
    if (this.#state !== 'open') return;
    if (start < msgs.length) this.#handlers.onMessages(start === 0 ? msgs : msgs.slice(start));
  }
}
