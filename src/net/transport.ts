/**
 * The connection layer's contracts: a {@link Transport} dials and listens, and gives
 * {@link PeerStream}s — duplex byte streams with back-pressure — whatever carries them (TCP, uTP,
 * WebRTC, a SOCKS5 proxy, an encryption stage on top of another stream). Nothing here knows a
 * protocol family: BitTorrent and Bitcoin connections are built on top of a stream.
 *
 * Reads are *borrowed*: a chunk handed to {@link StreamHandlers.data} is valid only during that
 * call (transports read into a reused buffer, so a steady download allocates nothing per read).
 * A consumer that keeps bytes copies them.
 *
 * Writes follow the socket's model: {@link PeerStream.write} queues the bytes and returns false
 * once the queue is above the stream's high-water mark; {@link StreamHandlers.drain} then says
 * when to write again. `onDone` is called once the bytes' memory is no longer needed (handed to
 * the kernel, or the stream failed), so a caller may lend a buffer it reuses afterwards.
 */

/** What carries a stream. */
export type TransportKind = 'tcp' | 'utp' | 'webrtc' | 'socks5' | 'memory';

/** The events of one stream; set with {@link PeerStream.bind}. */
export interface StreamHandlers {
  /** Bytes arrived. `chunk` is valid only during this call. */
  data(chunk: Uint8Array): void;
  /** The write queue fell below the high-water mark. */
  drain(): void;
  /**
   * The stream ended, once: `error` is set for failures (reset, timeout), unset for a clean end
   * by either side. No handler is called after this one.
   */
  close(error?: Error): void;
}

/** A connected, duplex byte stream to one remote endpoint. */
export interface PeerStream {
  readonly transport: TransportKind;
  /** We dialled (true) or accepted (false). */
  readonly outgoing: boolean;
  /** The remote IP address (IPv4-mapped IPv6 addresses are given as plain IPv4). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes queued for writing but not yet handed to the network. */
  readonly writableLength: number;
  /** True while the stream is open. */
  readonly isOpen: boolean;
  /** Sets the handlers (a new owner rebinds; bytes are only read while handlers are bound). */
  bind(handlers: StreamHandlers): void;
  /** Queues `bytes`; false when the queue is above the high-water mark. */
  write(bytes: Uint8Array, onDone?: () => void): boolean;
  /** Holds writes until {@link uncork}, so several small messages leave together. */
  cork(): void;
  uncork(): void;
  /** Stops delivering data (back-pressure on the reader side) until {@link resume}. */
  pause(): void;
  resume(): void;
  /** Closes at once; `close` is called on the handlers (with `error` if given). */
  destroy(error?: Error): void;
}

/** Options of one dial. */
export interface DialOptions {
  /** Gives up (and rejects) after this long. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** A way to reach peers: dials out and, optionally, accepts connections. */
export interface Transport {
  readonly kind: TransportKind;
  /** Streams this transport made that are still open (dialled and accepted). */
  readonly openCount: number;
  /** Opens a stream to `host:port`; rejects with a `ShoalError` (`SHOAL_ERR_NET_*`) on failure. */
  dial(host: string, port: number, options: DialOptions): Promise<PeerStream>;
  /** Stops listening and releases what the transport owns (streams it handed out stay open). */
  close(): Promise<void>;
}

/** A transport that accepts connections too. */
export interface ListeningTransport extends Transport {
  /** Starts accepting; every accepted stream goes to `onStream` unbound. Resolves with the port. */
  listen(
    options: { readonly host?: string; readonly port: number },
    onStream: (s: PeerStream) => void,
  ): Promise<number>;
  /** The port listened on (0 before {@link listen}). */
  readonly port: number;
}
