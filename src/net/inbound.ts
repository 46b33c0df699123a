/**
 * The inbound stage: a new accepted stream is read until its first bytes say what it speaks
 * (plaintext BitTorrent, MSE, a Bitcoin magic …), then handed to that protocol's owner with the
 * bytes read so far. Protocols register a recognizer; one may be the *fallback* for streams no
 * recognizer claims (MSE: its first bytes are a random Diffie-Hellman key, so it is what is left).
 *
 * Bounded: a stream that has not been claimed after {@link MAX_INBOUND_SNIFF_BYTES} bytes or
 * {@link InboundRouterInit.timeoutMs} is closed, and so is one that sends bytes no protocol takes.
 */
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { MAX_INBOUND_SNIFF_BYTES } from '../shared/limits.js';
import type { PeerStream } from './transport.js';

/** What a recognizer says of a stream's first bytes. */
export type Recognition = 'yes' | 'no' | 'more';

/** A protocol that can take accepted streams. */
export interface InboundProtocol {
  readonly name: string;
  /** Whether `head` (the first bytes, at least one) starts this protocol. */
  recognize(head: Uint8Array): Recognition;
  /**
   * Takes the stream. `head` is what was read so far (an owned copy), not yet consumed;
   * `acceptedAt` is when the stream was accepted (performance clock, ms): the protocol's own
   * handshake deadline counts from then, so a slow sender gains nothing by being sniffed first.
   */
  take(stream: PeerStream, head: Uint8Array, acceptedAt: number): void;
}

export interface InboundRouterInit {
  /** Time an accepted stream has to say what it speaks, ms. */
  readonly timeoutMs: number;
  /** Called for every stream closed unclaimed (for logs and tests). */
  readonly onRefused?: (stream: PeerStream, error: ShoalError) => void;
}

export class InboundRouter {
  readonly #init: InboundRouterInit;
  readonly #protocols: InboundProtocol[] = [];
  #fallback: InboundProtocol | undefined;
  readonly #pending = new Set<PeerStream>();

  constructor(init: InboundRouterInit) {
    this.#init = init;
  }

  /** Adds a protocol; `fallback` takes the streams nobody recognizes (at most one). */
  register(protocol: InboundProtocol, options: { readonly fallback?: boolean } = {}): void {
    if (options.fallback === true) this.#fallback = protocol;
    else this.#protocols.push(protocol);
  }

  /** Removes a protocol (e.g. encryption turned off). */
  unregister(name: string): void {
    const i = this.#protocols.findIndex((p) => p.name === name);
    if (i >= 0) this.#protocols.splice(i, 1);
    if (this.#fallback?.name === name) this.#fallback = undefined;
  }

  /** Streams still being sniffed. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** A newly accepted stream: read it until a protocol claims it. */
  accept(stream: PeerStream): void {
    const acceptedAt = performance.now();
    let head = new Uint8Array(0);
    let done = false;
    const finish = () => {
      done = true;
      clearTimeout(timer);
      this.#pending.delete(stream);
    };
    const refuse = (message: string) => {
      if (done) return;
      finish();
      const error = new ShoalError(ErrorCode.NetRefused, message, { address: stream.remoteAddress });
      this.#init.onRefused?.(stream, error);
      stream.destroy(error);
    };
    const timer = setTimeout(() => refuse('no protocol recognized before the timeout'), this.#init.timeoutMs);
    timer.unref();
    this.#pending.add(stream);
    stream.bind({
      data: (chunk) => {
        if (done) return;
        const next = new Uint8Array(head.length + chunk.length);
        next.set(head);
        next.set(chunk, head.length);
        head = next;
        const taker = this.#classify(head);
        if (taker === 'more') {
          if (head.length >= MAX_INBOUND_SNIFF_BYTES) refuse('no protocol recognized in the first bytes');
          return;
        }
        if (taker === undefined) {
          refuse('first bytes match no protocol');
          return;
        }
        finish();
        taker.take(stream, head, acceptedAt);
      },
      drain: () => {},
      close: () => {
        if (!done) finish();
      },
    });
  }

  /** The protocol for `head`, 'more' to wait, or undefined when nothing takes it. */
  #classify(head: Uint8Array): InboundProtocol | 'more' | undefined {
    let waiting = false;
    for (const p of this.#protocols) {
      const r = p.recognize(head);
      if (r === 'yes') return p;
      if (r === 'more') waiting = true;
    }
    if (waiting) return 'more';
    return this.#fallback;
  }
}
