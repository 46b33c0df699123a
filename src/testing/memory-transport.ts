/**
 * An in-memory transport: many nodes in one process talk through a {@link MemoryNetwork}
 * instead of sockets (like js-libp2p's memory transport). Each node gets its own
 * {@link MemoryTransport} with a made-up host name; a dial to `host:port` reaches whichever
 * transport of the network listens there. Streams keep the contract of real ones: reads are
 * delivered asynchronously, writes report back-pressure above a high-water mark, and a closed
 * end closes the other.
 */

import type {
  DialOptions,
  ListeningTransport,
  PeerStream,
  StreamHandlers,
  TransportKind,
} from '../net/transport.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';

/** Queue level (bytes not yet delivered to the reader) above which a memory write reports back-pressure. */
export const MEMORY_HIGH_WATER_BYTES = 256 * 1024;

const NO_HANDLERS: StreamHandlers = { data: () => {}, drain: () => {}, close: () => {} };

class MemoryStream implements PeerStream {
  readonly transport: TransportKind = 'memory';
  readonly outgoing: boolean;
  readonly remoteAddress: string;
  readonly remotePort: number;
  other: MemoryStream | undefined;
  #handlers: StreamHandlers = NO_HANDLERS;
  #bound = false;
  #paused = false;
  #corked = 0;
  #open = true;
  /** Bytes written by the other end, not yet delivered to our reader. */
  readonly #inbox: Uint8Array[] = [];
  #inboxBytes = 0;
  #scheduled = false;
  /** Writes held while corked. */
  readonly #held: { bytes: Uint8Array; onDone: (() => void) | undefined }[] = [];

  constructor(outgoing: boolean, remoteAddress: string, remotePort: number) {
    this.outgoing = outgoing;
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
  }

  get writableLength(): number {
    return this.other === undefined ? 0 : this.other.#inboxBytes;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  bind(handlers: StreamHandlers): void {
    this.#handlers = handlers;
    this.#bound = true;
    this.#schedule();
  }

  write(bytes: Uint8Array, onDone?: () => void): boolean {
    if (!this.#open || this.other === undefined) {
      onDone?.();
      return false;
    }
    if (this.#corked > 0) this.#held.push({ bytes: bytes.slice(), onDone });
    else {
      this.other.#receive(bytes.slice());
      onDone?.();
    }
    return this.writableLength < MEMORY_HIGH_WATER_BYTES;
  }

  cork(): void {
    this.#corked++;
  }

  uncork(): void {
    if (this.#corked === 0 || --this.#corked > 0) return;
    for (const w of this.#held.splice(0)) {
      if (this.#open && this.other !== undefined) this.other.#receive(w.bytes);
      w.onDone?.();
    }
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#schedule();
  }

  destroy(error?: Error): void {
    if (!this.#open) return;
    this.#open = false;
    for (const w of this.#held.splice(0)) w.onDone?.();
    const h = this.#handlers;
    this.#handlers = NO_HANDLERS;
    h.close(error);
    const other = this.other;
    this.other = undefined;
    other?.destroy();
  }

  #receive(bytes: Uint8Array): void {
    this.#inbox.push(bytes);
    this.#inboxBytes += bytes.length;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || !this.#bound || this.#paused || this.#inbox.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const wasFull = this.#inboxBytes >= MEMORY_HIGH_WATER_BYTES;
      while (this.#open && !this.#paused && this.#inbox.length > 0) {
        const chunk = this.#inbox.shift()!;
        this.#inboxBytes -= chunk.length;
        this.#handlers.data(chunk);
      }
      const other = this.other;
      if (wasFull && this.#inboxBytes < MEMORY_HIGH_WATER_BYTES && other !== undefined)
        other.#handlers.drain();
    });
  }
}

/** The shared medium of memory transports. */
export class MemoryNetwork {
  readonly #listeners = new Map<string, (s: PeerStream) => void>();
  #nextPort = 40_000;

  /** A transport for one node, known to the others as `host`. */
  transport(host: string): MemoryTransport {
    return new MemoryTransport(this, host);
  }

  /** @internal */
  listen(host: string, port: number, onStream: (s: PeerStream) => void): number {
    const p = port === 0 ? this.#nextPort++ : port;
    const key = `${host}:${p}`;
    if (this.#listeners.has(key))
      throw new ShoalError(ErrorCode.NetRefused, `${key} is in use`, { host, port: p });
    this.#listeners.set(key, onStream);
    return p;
  }

  /** @internal */
  unlisten(host: string, port: number): void {
    this.#listeners.delete(`${host}:${port}`);
  }

  /** @internal */
  connect(fromHost: string, host: string, port: number): MemoryStream | undefined {
    const accept = this.#listeners.get(`${host}:${port}`);
    if (accept === undefined) return undefined;
    const ours = new MemoryStream(true, host, port);
    const theirs = new MemoryStream(false, fromHost, this.#nextPort++);
    ours.other = theirs;
    theirs.other = ours;
    setImmediate(() => accept(theirs));
    return ours;
  }
}

/** One node's end of a {@link MemoryNetwork}. */
export class MemoryTransport implements ListeningTransport {
  readonly kind: TransportKind = 'memory';
  readonly host: string;
  readonly #network: MemoryNetwork;
  #port = 0;
  #open = 0;

  constructor(network: MemoryNetwork, host: string) {
    this.#network = network;
    this.host = host;
  }

  get port(): number {
    return this.#port;
  }

  get openCount(): number {
    return this.#open;
  }

  async dial(host: string, port: number, _options: DialOptions): Promise<PeerStream> {
    const s = this.#network.connect(this.host, host, port);
    if (s === undefined)
      throw new ShoalError(ErrorCode.NetConnectFailed, `nothing listens on memory ${host}:${port}`, {
        host,
        port,
      });
    return this.#track(s);
  }

  async listen(options: { readonly port: number }, onStream: (s: PeerStream) => void): Promise<number> {
    this.#port = this.#network.listen(this.host, options.port, (s) =>
      onStream(this.#track(s as MemoryStream)),
    );
    return this.#port;
  }

  async close(): Promise<void> {
    if (this.#port !== 0) this.#network.unlisten(this.host, this.#port);
    this.#port = 0;
  }

  #track(s: MemoryStream): MemoryStream {
    this.#open++;
    const bind = s.bind.bind(s);
    let counted = true;
    s.bind = (h) =>
      bind({
        ...h,
        close: (e) => {
          if (counted) {
            counted = false;
            this.#open--;
          }
          h.close(e);
        },
      });
    return s;
  }
}
