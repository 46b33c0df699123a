/**
 * One UDP socket per port, shared by uTP, the DHT and UDP tracker replies, as libtorrent does: one
 * address (what trackers, the DHT and PEX spread) reaches the node whatever it speaks, and a NAT
 * needs one mapping for all of it.
 *
 * DEV DOCS
 * - Owns one `udp4` socket. Every datagram is classified by {@link classifyDatagram} from its first
 *   bytes (a fixed number of reads, whatever the datagram's size) and handed to the one handler
 *   registered for its kind; a datagram of no kind, or of a kind nobody registered, is counted and
 *   dropped. What a handler does with a datagram is bounded by that handler (the uTP endpoint's
 *   packet and table bounds, the DHT node's bencode and rate limits, the tracker client's
 *   transaction table): nothing here buffers.
 *   - KRPC (BEP 5) is a bencoded dictionary: it starts with `d` and ends with `e`.
 *   - A uTP (BEP 29) header is 20 bytes whose first byte is `type << 4 | 1` (type 0 … 4).
 *   - A UDP tracker reply (BEP 15) starts with a 32-bit action 0 … 3: three zero bytes, then 0 … 3,
 *     and is at least 8 bytes (action and transaction id).
 *   The three never overlap: `d` (0x64) has version nibble 4, a tracker reply's first byte is 0.
 * - Sends take IP literals and skip `dns.lookup` (a synchronous lookup callback), so a datagram
 *   leaves in the same tick; a host name still resolves.
 * - Users that do not own the socket (a DHT, a tracker client, a uTP transport given this socket)
 *   unregister on close; the socket's owner (the session) closes it last.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIPv4 } from 'node:net';

/** What a datagram on the shared socket is. */
export type DatagramKind = 'utp' | 'krpc' | 'tracker';

/** Receives one datagram (`bytes` is Node's buffer for it; the handler may keep it). */
export type DatagramHandler = (bytes: Buffer, host: string, port: number) => void;

/** Smallest UDP tracker reply: a 32-bit action and a 32-bit transaction id (BEP 15). */
const TRACKER_REPLY_MIN_BYTES = 8;
const UTP_HEADER_BYTES = 20;
const LETTER_D = 0x64;
const LETTER_E = 0x65;

/**
 * Tells the datagrams of a shared socket apart by their first bytes (and the last one, for
 * KRPC); `undefined` for anything else. Reads at most six bytes.
 */
export function classifyDatagram(b: Uint8Array): DatagramKind | undefined {
  const n = b.length;
  if (n === 0) return undefined;
  const b0 = b[0]!;
  if (b0 === LETTER_D) return n >= 2 && b[n - 1] === LETTER_E ? 'krpc' : undefined;
  if ((b0 & 0x0f) === 1 && b0 >> 4 <= 4) return n >= UTP_HEADER_BYTES ? 'utp' : undefined;
  if (b0 === 0 && n >= TRACKER_REPLY_MIN_BYTES && b[1] === 0 && b[2] === 0 && b[3]! <= 3) return 'tracker';
  return undefined;
}

/** Counters of a shared socket. */
export interface SharedUdpStats {
  utp: number;
  krpc: number;
  tracker: number;
  /** Datagrams of no known kind, or of a kind nobody listens for. */
  dropped: number;
}

/** The narrow view a user of the socket needs (the DHT, a UDP tracker client, a uTP transport). */
export interface DatagramPort {
  /** The bound port. */
  readonly port: number;
  /** Sends `bytes` to `host:port`; `callback` gets the send's outcome. */
  send(bytes: Uint8Array, port: number, host: string, callback?: (error: Error | null) => void): void;
}

type SendCallback = (error: Error | null) => void;

/** A UDP socket shared by uTP, the DHT and UDP tracker replies; see the file's notes. */
export class SharedUdpSocket implements DatagramPort {
  readonly stats: SharedUdpStats = { utp: 0, krpc: 0, tracker: 0, dropped: 0 };
  readonly #socket: Socket;
  readonly #handlers: { [K in DatagramKind]: DatagramHandler | undefined } = {
    utp: undefined,
    krpc: undefined,
    tracker: undefined,
  };
  readonly #errorListeners = new Set<(error: Error) => void>();
  #port = 0;
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', this.#onMessage);
    socket.on('error', (err) => {
      for (const l of [...this.#errorListeners]) l(err);
    });
  }

  /** Binds a socket on `host:port` (0: any port). Rejects when the port is taken. */
  static async bind(host: string, port: number): Promise<SharedUdpSocket> {
    const socket = createSocket({ type: 'udp4', lookup: syncLookup } as Parameters<typeof createSocket>[0]);
    const shared = new SharedUdpSocket(socket);
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => {
        socket.close();
        reject(e);
      };
      socket.once('error', onError);
      socket.bind(port, host, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    // Large buffers: a burst of a full uTP window must not overflow the kernel's queue.
    try {
      socket.setRecvBufferSize(4 * 1024 * 1024);
      socket.setSendBufferSize(4 * 1024 * 1024);
    } catch {
      // The system may cap them; the defaults still work, with more loss under bursts.
    }
    shared.#port = socket.address().port;
    return shared;
  }

  get port(): number {
    return this.#port;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Routes datagrams of `kind` to `handler` (one handler per kind; `undefined` removes it).
   * Returns a function that removes it again if it is still the one set.
   */
  handle(kind: DatagramKind, handler: DatagramHandler | undefined): () => void {
    this.#handlers[kind] = handler;
    return () => {
      if (this.#handlers[kind] === handler) this.#handlers[kind] = undefined;
    };
  }

  /** True while a handler takes datagrams of `kind`. */
  isHandled(kind: DatagramKind): boolean {
    return this.#handlers[kind] !== undefined;
  }

  /** Calls `listener` on socket errors; returns a function that stops it. */
  onError(listener: (error: Error) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  send(bytes: Uint8Array, port: number, host: string, callback?: SendCallback): void {
    this.sendRange(bytes, 0, bytes.length, port, host, callback);
  }

  /** Sends `bytes[offset, offset + length)` without a copy (for pooled buffers). */
  sendRange(
    bytes: Uint8Array,
    offset: number,
    length: number,
    port: number,
    host: string,
    callback?: SendCallback,
  ): void {
    if (this.#closed) {
      if (callback !== undefined) process.nextTick(callback, new Error('UDP socket closed'));
      return;
    }
    try {
      this.#socket.send(bytes, offset, length, port, host, callback);
    } catch (e) {
      // Synchronous failures: an address the OS refuses outright.
      if (callback !== undefined) process.nextTick(callback, e as Error);
    }
  }

  /** Closes the socket (handlers are dropped first). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.utp = this.#handlers.krpc = this.#handlers.tracker = undefined;
    await new Promise<void>((r) => this.#socket.close(() => r()));
  }

  readonly #onMessage = (msg: Buffer, rinfo: { address: string; port: number }): void => {
    const kind = classifyDatagram(msg);
    const h = kind === undefined ? undefined : this.#handlers[kind];
    if (h === undefined || kind === undefined) {
      this.stats.dropped++;
      return;
    }
    this.stats[kind]++;
    h(msg, rinfo.address, rinfo.port);
  };
}

/** IP literals go straight through (Node then sends in the same tick); names are resolved. */
function syncLookup(
  address: string,
  _opts: unknown,
  cb: (err: Error | null, address: string, family: number) => void,
): void {
  if (isIPv4(address)) {
    cb(null, address, 4);
    return;
  }
  dnsLookup(address, { family: 4 }, (err, a) => cb(err, a, 4));
}
