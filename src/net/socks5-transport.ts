/**
 * SOCKS5 as a {@link Transport}: every dial opens a TCP stream to the proxy (through an inner
 * transport, TCP by default, so reads use the shared read buffer and writes keep TCP's
 * back-pressure), runs the SOCKS5 negotiation (socks5-protocol.ts: greeting, RFC 1929
 * authentication, CONNECT to an IPv4, IPv6 or host-name target) within the dial's timeout, and
 * hands out a {@link Socks5Stream}: the same stream, named after the target rather than the
 * proxy, so pool limits, bans and the peer log see the peer's address.
 *
 * Failures: the proxy cannot be reached, refuses our credentials or answers nonsense →
 * `SHOAL_ERR_NET_PROXY`; the proxy reports the target unreachable (refused, host or network
 * unreachable) → `SHOAL_ERR_NET_CONNECT_FAILED`, as a failed direct dial; no answer in time →
 * `SHOAL_ERR_NET_TIMEOUT`. A SOCKS5 transport only dials: peers cannot reach us through it.
 */
import { ErrorCode, ShoalError } from '../shared/errors.js';
import {
  endpointName,
  Socks5Handshake,
  type Socks5ProxyOptions,
  type Socks5Result,
} from './socks5-protocol.js';
import { TcpTransport } from './tcp-transport.js';
import type { DialOptions, PeerStream, StreamHandlers, Transport, TransportKind } from './transport.js';

const NO_HANDLERS: StreamHandlers = { data: () => {}, drain: () => {}, close: () => {} };

/**
 * A stream to a peer through a SOCKS5 proxy: the proxy's stream after a granted CONNECT. Reads
 * and writes go straight to the inner stream (borrowed chunks, its back-pressure); bytes the
 * proxy sent right after its reply are delivered first, once an owner binds.
 */
export class Socks5Stream implements PeerStream {
  readonly transport: TransportKind = 'socks5';
  readonly outgoing = true;
  /** The target's address, as dialled (not the proxy's). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly #inner: PeerStream;
  readonly #onClosed: () => void;
  #handlers: StreamHandlers = NO_HANDLERS;
  #bound = false;
  #paused = false;
  #rest: Uint8Array | undefined;
  #scheduled = false;
  #closed = false;
  /** Closed before an owner bound: the close is told on bind. */
  #unheardClose: { error: Error | undefined } | undefined;

  /** `inner` is paused; `rest` (owned) is what followed the proxy's reply. */
  constructor(inner: PeerStream, host: string, port: number, rest: Uint8Array, onClosed: () => void) {
    this.#inner = inner;
    this.remoteAddress = host;
    this.remotePort = port;
    this.#rest = rest.length > 0 ? rest : undefined;
    this.#onClosed = onClosed;
    inner.bind({
      data: (chunk) => this.#handlers.data(chunk),
      drain: () => this.#handlers.drain(),
      close: (error) => this.#close(error),
    });
  }

  get writableLength(): number {
    return this.#inner.writableLength;
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  bind(handlers: StreamHandlers): void {
    this.#handlers = handlers;
    if (this.#bound) return;
    this.#bound = true;
    const unheard = this.#unheardClose;
    if (unheard !== undefined) {
      this.#unheardClose = undefined;
      queueMicrotask(() => {
        const h = this.#handlers;
        this.#handlers = NO_HANDLERS;
        h.close(unheard.error);
      });
      return;
    }
    // Like a dialled TCP stream, the first owner starts reading.
    this.#paused = false;
    this.#flow();
  }

  write(bytes: Uint8Array, onDone?: () => void): boolean {
    return this.#inner.write(bytes, onDone);
  }

  cork(): void {
    this.#inner.cork();
  }

  uncork(): void {
    this.#inner.uncork();
  }

  pause(): void {
    this.#paused = true;
    this.#inner.pause();
  }

  resume(): void {
    this.#paused = false;
    if (this.#bound) this.#flow();
  }

  destroy(error?: Error): void {
    this.#inner.destroy(error);
    this.#close(error);
  }

  /** Delivers the bytes that followed the proxy's reply (asynchronously, as reads are), then reads. */
  #flow(): void {
    if (this.#closed) return;
    if (this.#rest === undefined) {
      this.#inner.resume();
      return;
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      const rest = this.#rest;
      if (this.#closed || this.#paused || rest === undefined) return;
      this.#rest = undefined;
      this.#handlers.data(rest);
      if (!this.#closed && !this.#paused) this.#inner.resume();
    });
  }

  #close(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClosed();
    if (!this.#bound) {
      this.#unheardClose = { error };
      return;
    }
    const h = this.#handlers;
    this.#handlers = NO_HANDLERS;
    h.close(error);
  }
}

export interface Socks5TransportInit {
  readonly proxy: Socks5ProxyOptions;
  /** How the proxy is reached. @default a TCP transport of its own */
  readonly via?: Transport;
}

/** Dials peers through a SOCKS5 proxy; see the module notes. */
export class Socks5Transport implements Transport {
  readonly kind: TransportKind = 'socks5';
  readonly proxy: Socks5ProxyOptions;
  readonly #via: Transport;
  readonly #ownsVia: boolean;
  #open = 0;

  constructor(init: Socks5TransportInit) {
    this.proxy = init.proxy;
    this.#via = init.via ?? new TcpTransport();
    this.#ownsVia = init.via === undefined;
  }

  /** Streams to targets that are open (negotiations in progress are not counted). */
  get openCount(): number {
    return this.#open;
  }

  async dial(host: string, port: number, options: DialOptions): Promise<PeerStream> {
    const started = performance.now();
    const name = endpointName(this.proxy.host, this.proxy.port);
    // Validated first: a target that cannot be put in a request costs no connection.
    const handshake = new Socks5Handshake({
      command: 'connect',
      target: { host, port },
      proxyName: name,
      ...(this.proxy.username !== undefined ? { username: this.proxy.username } : {}),
      ...(this.proxy.password !== undefined ? { password: this.proxy.password } : {}),
    });
    let raw: PeerStream;
    try {
      raw = await this.#via.dial(this.proxy.host, this.proxy.port, options);
    } catch (e) {
      if (options.signal?.aborted === true) throw e;
      const timeout = e instanceof ShoalError && e.code === ErrorCode.NetTimeout;
      throw new ShoalError(
        timeout ? ErrorCode.NetTimeout : ErrorCode.NetProxy,
        `cannot reach SOCKS5 proxy ${name}: ${(e as Error).message}`,
        { proxy: name, host, port },
        { cause: e },
      );
    }
    const left = options.timeoutMs - (performance.now() - started);
    const result = await negotiate(raw, handshake, name, left, options.signal);
    this.#open++;
    return new Socks5Stream(raw, host, port, result.rest, () => this.#open--);
  }

  async close(): Promise<void> {
    if (this.#ownsVia) await this.#via.close();
  }
}

/**
 * Runs `handshake` over `raw` within `timeoutMs`. Resolves with the proxy's answer, `raw` paused;
 * on failure `raw` is destroyed.
 */
function negotiate(
  raw: PeerStream,
  handshake: Socks5Handshake,
  name: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Socks5Result> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (error: Error | undefined, result?: Socks5Result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) {
        raw.destroy();
        reject(error);
      } else resolve(result!);
    };
    const timer = setTimeout(
      () =>
        finish(
          new ShoalError(ErrorCode.NetTimeout, `SOCKS5 proxy ${name} did not answer in time`, {
            proxy: name,
          }),
        ),
      Math.max(0, timeoutMs),
    );
    timer.unref();
    const onAbort = () => finish(new ShoalError(ErrorCode.NetConnectFailed, 'dial aborted', { proxy: name }));
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    raw.bind({
      data: (chunk) => {
        if (done) return;
        let step: ReturnType<Socks5Handshake['push']>;
        try {
          step = handshake.push(chunk);
        } catch (e) {
          finish(e as Error);
          return;
        }
        if (step.send !== undefined) raw.write(step.send);
        if (step.result !== undefined) {
          raw.pause();
          finish(undefined, step.result);
        }
      },
      drain: () => {},
      close: (error) =>
        finish(
          new ShoalError(
            ErrorCode.NetProxy,
            `SOCKS5 proxy ${name} closed the connection during the handshake${error ? `: ${error.message}` : ''}`,
            { proxy: name },
          ),
        ),
    });
    raw.write(handshake.start());
  });
}
