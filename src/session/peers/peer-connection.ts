/**
 * One BitTorrent connection to a peer over any {@link PeerStream} (TCP, uTP, an encrypted
 * stage): handshake, framing, and writes with back-pressure.
 *
 * A thin adapter (STYLE §2): stream bytes → {@link FrameDecoder.push} → `onMessages`; the
 * protocol decisions live in the engine. Outgoing messages are written to the stream; a write
 * that finds the stream above its high-water mark reports `false`, and
 * {@link PeerConnection.whenWritable} resolves on `drain`, which is how uploads follow the
 * peer's real reading speed instead of growing an unbounded queue.
 *
 * Lifecycle: `handshaking` → `open` → `closed`. Any decode error, stream error or handshake
 * timeout closes the connection once, with a reason.
 *
 * Reading: streams hand out borrowed chunks (valid during the call; the transport reuses its
 * read buffer), so the decoder runs in borrowed mode: it copies every byte field out except
 * piece blocks, which the torrent copies into their piece's buffer before the next read.
 */

import { WRITE_HIGH_WATER_BYTES } from '../../net/tcp-transport.js';
import type { PeerStream, TransportKind } from '../../net/transport.js';
import { ErrorCode, ShoalError } from '../../shared/errors.js';
import { HANDSHAKE_TIMEOUT_MS } from '../../shared/limits.js';
import {
  type EncodableMessage,
  encodeHandshake,
  encodeMessage,
  encodePieceHeader,
  FrameDecoder,
  type Handshake,
  type WireMessage,
} from '../../wire/index.js';

export type ConnectionState = 'handshaking' | 'open' | 'closed';

export interface PeerConnectionHandlers {
  /** The peer's handshake arrived; return false to close. */
  onHandshake(h: Handshake): boolean;
  onMessages(msgs: WireMessage[]): void;
  /** Called once. `error` is set for protocol/stream failures, unset for a clean close. */
  onClose(reason: string, error?: Error): void;
  /** Payload bytes arrived; returns ms to stop reading for (download rate limit), or 0. */
  onBytesReceived?(n: number): number;
}

export interface PeerConnectionInit {
  readonly stream: PeerStream;
  readonly handlers: PeerConnectionHandlers;
  /** @default HANDSHAKE_TIMEOUT_MS */
  readonly handshakeTimeoutMs?: number;
  /** The stream is encrypted (MSE RC4). */
  readonly encrypted?: boolean;
}

export class PeerConnection {
  readonly stream: PeerStream;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly encrypted: boolean;
  #state: ConnectionState = 'handshaking';
  readonly #decoder: FrameDecoder;
  #handlers: PeerConnectionHandlers;
  #throttleTimer: NodeJS.Timeout | undefined;
  #pausedByUser = false;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #drainWaiters: (() => void)[] = [];
  /** The stream is corked until the event loop's next check phase (see #write). */
  #corked = false;
  /** Last time (ms, performance clock) bytes arrived / were written. */
  lastReceivedAt = performance.now();
  lastSentAt = performance.now();
  bytesReceived = 0;
  bytesSent = 0;

  constructor(init: PeerConnectionInit) {
    this.stream = init.stream;
    this.#handlers = init.handlers;
    this.remoteAddress = init.stream.remoteAddress;
    this.remotePort = init.stream.remotePort;
    this.encrypted = init.encrypted ?? false;
    this.#handshakeTimer = setTimeout(() => {
      this.close('handshake-timeout', new ShoalError(ErrorCode.NetTimeout, 'handshake timed out', {}));
    }, init.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    this.#handshakeTimer.unref();
    this.#decoder = new FrameDecoder({ handshake: true, borrowedChunks: true });
    init.stream.bind({
      data: (chunk) => this.#onData(chunk),
      drain: () => this.#onDrain(),
      close: (error) => this.close(error === undefined ? 'peer-closed' : 'socket-error', error),
    });
  }

  /**
   * Decodes bytes that were read from the stream before this connection took it (by the inbound
   * stage or the MSE handshake), as if they had just arrived.
   */
  feed(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#onData(bytes);
  }

  /** We dialled (true) or accepted (false). */
  get outgoing(): boolean {
    return this.stream.outgoing;
  }

  /** What carries the connection. */
  get transport(): TransportKind {
    return this.stream.transport;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get isOpen(): boolean {
    return this.#state !== 'closed';
  }

  /** Bytes queued in the stream but not yet handed to the network. */
  get writableLength(): number {
    return this.stream.writableLength;
  }

  /** True when the stream's queue is below the high-water mark. */
  get isWritable(): boolean {
    return this.#state !== 'closed' && this.stream.writableLength < WRITE_HIGH_WATER_BYTES;
  }

  /** Tells the decoder the piece count (bitfields are then checked exactly). */
  setPieceCount(n: number): void {
    this.#decoder.setPieceCount(n);
  }

  sendHandshake(h: Handshake): void {
    this.#write(encodeHandshake(h));
  }

  /** Writes one message; false when the stream is above its high-water mark. */
  send(msg: EncodableMessage): boolean {
    return this.#write(encodeMessage(msg));
  }

  /**
   * Writes a `piece` message without copying the block. `onDone` is called once the block's
   * memory is no longer needed: the stream handed it to the network, failed, or was closed.
   */
  sendPiece(index: number, begin: number, block: Uint8Array, onDone?: () => void): boolean {
    if (this.#state === 'closed') {
      onDone?.();
      return false;
    }
    this.stream.cork();
    this.#write(encodePieceHeader(index, begin, block.length));
    const ok = this.#write(block, onDone);
    this.stream.uncork();
    return ok;
  }

  /** Resolves when the stream drained below the high-water mark (or the connection closed). */
  whenWritable(): Promise<void> {
    if (this.isWritable || this.#state === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Hands the connection to a new owner (after the handshake matched a torrent). */
  rebind(handlers: PeerConnectionHandlers): void {
    this.#handlers = handlers;
  }

  /** Stops reading from the stream (download back-pressure). */
  pauseReading(): void {
    this.#pausedByUser = true;
    if (this.#state !== 'closed') this.stream.pause();
  }

  resumeReading(): void {
    this.#pausedByUser = false;
    if (this.#state !== 'closed' && this.#throttleTimer === undefined) this.stream.resume();
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
    // that closes the connection) to the network first, as uncorked writes would have been.
    if (this.#corked) this.stream.uncork();
    this.stream.destroy();
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
    // Messages written in one turn of the event loop (requests for the blocks of several reads,
    // haves, blocks) leave in one writev instead of one syscall each: a leecher writes a 17-byte
    // request per 16 KiB block, and on loopback each write syscall also pays for the receiver's
    // TCP processing.
    if (!this.#corked) {
      this.#corked = true;
      this.stream.cork();
      setImmediate(() => {
        this.#corked = false;
        this.stream.uncork();
      });
    }
    return this.stream.write(bytes, onDone) && this.stream.writableLength < WRITE_HIGH_WATER_BYTES;
  }

  #onDrain(): void {
    if (this.#drainWaiters.length === 0) return;
    if (this.#state !== 'closed' && !this.isWritable) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  #onData(chunk: Uint8Array): void {
    if (this.#state === 'closed') return;
    this.bytesReceived += chunk.length;
    this.lastReceivedAt = performance.now();
    const pauseMs = this.#handlers.onBytesReceived?.(chunk.length) ?? 0;
    if (pauseMs > 0 && this.#throttleTimer === undefined) {
      this.stream.pause();
      this.#throttleTimer = setTimeout(() => {
        this.#throttleTimer = undefined;
        if (this.#state !== 'closed' && !this.#pausedByUser) this.stream.resume();
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
