/**
 * One HTTP(S) origin of a web seed: a small HTTP/1.1 client made for long range GETs.
 *
 * Why not node:http: its sockets allocate a fresh 64 KiB buffer for every read, and its parser
 * copies every body chunk into another fresh buffer, with stream events around both. On the
 * project's 2-core machine a 1 GiB download from nginx spent about a CPU second in node:http
 * and more in the garbage collector behind it. Here a plain TCP connection reads into its own
 * buffer (`onread`), the pure {@link Http1ResponseParser} frames the answer, and body bytes go
 * to the caller as views consumed at once (copied into piece buffers): nothing is allocated per
 * read. TLS and proxied connections deliver `data` events to the same parser.
 *
 * Connections are kept alive: at most `connections` per host, in use or idle (the bound on
 * range requests in flight to it; a request waits for a free one). A request on a kept
 * connection that the server closed meanwhile is sent again once on a new one. Redirects are
 * followed up to MAX_WEB_SEED_REDIRECTS. HTTPS is checked against Node's CA list, the system's
 * CA bundle and an optional CA file; with a SOCKS5 proxy every connection is a CONNECT tunnel
 * through it (a web seed must not leak around the proxy the user set). Failures are
 * `WebSeedError`s (`WebSeedConnection`, `WebSeedRedirects`, `WebSeedBadResponse`).
 */
import { readFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { rootCertificates, connect as tlsConnect } from 'node:tls';
import type { Socks5ProxyOptions } from '../../net/socks5-protocol.js';
import { openSocks5Socket } from '../../net/socks5-socket.js';
import { ErrorCode, isShoalError } from '../../shared/errors.js';
import { MAX_WEB_SEED_REDIRECTS } from '../../shared/limits.js';
import { WebSeedError } from './errors.js';
import { Http1Connection } from './http1-connection.js';
import type { ResponseHead } from './http1-parser.js';

/** Where Debian (and most Linux systems) keep the system's CA bundle. */
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
/** `User-Agent` of web seed requests. */
const USER_AGENT = 'Shoal/0.1';
/** Bytes of a redirect's body read (so that its connection is kept); a longer one closes it. */
const REDIRECT_BODY_BYTES = 1024;

export interface OriginOptions {
  /** Connections per host at most, in use or idle (range requests in flight). */
  readonly connections: number;
  /** A PEM file of more trusted CAs for HTTPS. */
  readonly caFile?: string | undefined;
  /** Tunnel every connection through this SOCKS5 proxy. */
  readonly proxy?: Socks5ProxyOptions | undefined;
}

/** An answer whose head arrived; its body is read with {@link OriginResponse.read}. */
export interface OriginResponse {
  readonly status: number;
  /** Header values by lowercase name (repeated fields joined with `, `). */
  readonly headers: Readonly<Record<string, string>>;
  /** The URL that answered (after redirects). */
  readonly url: string;
  /**
   * Streams the body to `onData` (views valid only during the call; an exception thrown there
   * fails the read with it). Resolves at the body's end, rejects if it is cut short.
   */
  read(onData: (view: Uint8Array) => void): Promise<void>;
  /** Reads at most `max` bytes of the body as text; a longer body's connection is closed. */
  readText(max: number): Promise<string>;
  /** Stops reading the socket (back-pressure), until {@link resume}. */
  pause(): void;
  resume(): void;
  /** Gives the answer up: its connection is closed. */
  destroy(reason?: Error): void;
}

const caLists = new Map<string, Promise<string[]>>();

/** Trusted CAs: Node's list, the system bundle when there is one, and `caFile` (cached per file). */
function trustedCas(caFile: string | undefined): Promise<string[]> {
  const key = caFile ?? '';
  let list = caLists.get(key);
  if (list === undefined) {
    list = (async () => {
      const out = [...rootCertificates];
      const system = await readFile(SYSTEM_CA_BUNDLE, 'utf8').catch(() => undefined);
      if (system !== undefined) out.push(system);
      if (caFile !== undefined) out.push(await readFile(caFile, 'utf8'));
      return out;
    })();
    caLists.set(key, list);
    // A file that could not be read is tried again next time (it may appear).
    list.catch(() => caLists.delete(key));
  }
  return list;
}

/** A failure as a `WebSeedError` about `url`. */
function wrap(e: unknown, url: string): Error {
  if (e instanceof WebSeedError) return e;
  if (isShoalError(e))
    return new WebSeedError(
      e.code,
      `${url}: ${e.message.replace(/^bad HTTP response: /, '')}`,
      { url },
      { cause: e },
    );
  const message = e instanceof Error ? e.message : String(e);
  return new WebSeedError(ErrorCode.WebSeedConnection, `${url}: ${message}`, { url }, { cause: e });
}

/** The answer of an origin, over one connection. */
class Response implements OriginResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly url: string;
  readonly #conn: Http1Connection;

  constructor(conn: Http1Connection, head: ResponseHead, url: string) {
    this.#conn = conn;
    this.status = head.status;
    this.headers = head.headers;
    this.url = url;
  }

  async read(onData: (view: Uint8Array) => void): Promise<void> {
    let threw = false;
    try {
      await this.#conn.read((view) => {
        try {
          onData(view);
        } catch (e) {
          threw = true;
          throw e;
        }
      });
    } catch (e) {
      // What the reader threw is its own; the rest is about the connection.
      throw threw ? e : wrap(e, this.url);
    }
  }

  async readText(max: number): Promise<string> {
    const parts: Buffer[] = [];
    let got = 0;
    const tooLong = new Error('the body is too long');
    try {
      await this.#conn.read((view) => {
        parts.push(Buffer.from(view.subarray(0, Math.max(0, max - got))));
        got += view.length;
        if (got > max) throw tooLong;
      });
    } catch {
      // A body cut off (on purpose, or by the server) still says what it said so far.
    }
    return Buffer.concat(parts).toString('latin1');
  }

  pause(): void {
    this.#conn.pause();
  }

  resume(): void {
    this.#conn.resume();
  }

  destroy(reason?: Error): void {
    this.#conn.destroy(reason);
  }
}

/** One origin's connections and its GET with redirects; see the module notes. */
export class HttpOrigin {
  readonly #options: OriginOptions;
  readonly #idle = new Map<string, Http1Connection[]>();
  /** Open connections per pool key, in use or idle. */
  readonly #open = new Map<string, Set<Http1Connection>>();
  /** Requests waiting for a connection of a full pool (woken on any release). */
  #waiters: (() => void)[] = [];
  #closed = false;

  constructor(options: OriginOptions) {
    this.#options = options;
  }

  /** Connections open now (in use or idle), over all hosts. */
  get openConnections(): number {
    let n = 0;
    for (const set of this.#open.values()) n += set.size;
    return n;
  }

  /**
   * GETs `url` with `headers`, following redirects; resolves once the head of the last answer
   * (any status but a redirect) is in. Aborting `signal` closes the connection.
   */
  async get(
    url: string,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<OriginResponse> {
    let current = url;
    for (let hops = 0; ; hops++) {
      const res = await this.#request(current, headers, signal);
      const location = res.headers.location;
      if (res.status < 300 || res.status > 399 || res.status === 304 || location === undefined) return res;
      await res.readText(REDIRECT_BODY_BYTES);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new WebSeedError(ErrorCode.WebSeedRedirects, `redirect to a bad URL ${location}`, {
          url: current,
        });
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw new WebSeedError(ErrorCode.WebSeedRedirects, `redirect to ${next.protocol}`, { url: current });
      if (hops >= MAX_WEB_SEED_REDIRECTS)
        throw new WebSeedError(
          ErrorCode.WebSeedRedirects,
          `more than ${MAX_WEB_SEED_REDIRECTS} redirects (a loop?), last to ${next.href}`,
          { url: current, status: res.status },
        );
      current = next.href;
    }
  }

  /** Closes every connection; exchanges in progress fail. */
  close(): void {
    this.#closed = true;
    for (const set of [...this.#open.values()])
      for (const c of [...set]) c.destroy(new Error('the web seed was closed'));
    this.#idle.clear();
    this.#wake();
  }

  async #request(
    url: string,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<Response> {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    const port = u.port === '' ? (secure ? 443 : 80) : Number(u.port);
    const key = `${u.protocol}//${u.hostname}:${port}`;
    let text = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUser-Agent: ${USER_AGENT}\r\n`;
    // A web seed's bytes are hashed as they are: no transfer coding of the content.
    text += 'Accept-Encoding: identity\r\n';
    for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
    text += '\r\n';
    for (let attempt = 0; ; attempt++) {
      const conn = await this.#acquire(key, u, secure, port, signal);
      const onAbort = () =>
        conn.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        const head = await conn.send(text);
        return new Response(conn, head, url);
      } catch (e) {
        // A kept connection the server closed meanwhile: once more on a new one.
        if (conn.reused && conn.silent && attempt === 0 && !signal.aborted) continue;
        throw isShoalError(signal.reason) ? signal.reason : wrap(e, url);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
  }

  /** A kept connection to `key`, or a new one while the pool has room; else waits for one. */
  async #acquire(
    key: string,
    u: URL,
    secure: boolean,
    port: number,
    signal: AbortSignal,
  ): Promise<Http1Connection> {
    for (;;) {
      if (this.#closed || signal.aborted)
        throw isShoalError(signal.reason)
          ? signal.reason
          : new WebSeedError(ErrorCode.WebSeedConnection, `${u.href}: aborted`, { url: u.href });
      const list = this.#idle.get(key);
      for (let c = list?.pop(); c !== undefined; c = list?.pop()) {
        if (c.closed) continue;
        c.reused = true;
        return c;
      }
      if ((this.#open.get(key)?.size ?? 0) < this.#options.connections)
        return this.#connect(key, u, secure, port, signal);
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#waiters.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #released(conn: Http1Connection, reusable: boolean): void {
    const list = this.#idle.get(conn.key) ?? [];
    const at = list.indexOf(conn);
    if (at >= 0) list.splice(at, 1);
    if (reusable && !this.#closed) {
      list.push(conn);
      this.#idle.set(conn.key, list);
    } else {
      if (reusable) conn.destroy();
      this.#open.get(conn.key)?.delete(conn);
    }
    this.#wake();
  }

  async #connect(
    key: string,
    u: URL,
    secure: boolean,
    port: number,
    signal: AbortSignal,
  ): Promise<Http1Connection> {
    const o = this.#options;
    const conn = new Http1Connection(key, (c, reusable) => this.#released(c, reusable));
    // Counted at once: the pool's bound holds while the connection is being set up.
    let set = this.#open.get(key);
    if (set === undefined) {
      set = new Set();
      this.#open.set(key, set);
    }
    set.add(conn);
    try {
      const host = u.hostname.replace(/^\[|\]$/g, '');
      const servername = /^[\d.]+$/.test(host) || host.includes(':') ? {} : { servername: host };
      let ca: string[] | undefined;
      try {
        if (secure) ca = await trustedCas(o.caFile);
      } catch (e) {
        throw new WebSeedError(
          ErrorCode.WebSeedConnection,
          `cannot read the CA file: ${(e as Error).message}`,
          { url: u.href },
          { cause: e },
        );
      }
      let socket: Socket;
      let events = true;
      if (o.proxy !== undefined) {
        let tunnel: Socket;
        try {
          ({ socket: tunnel } = await openSocks5Socket(o.proxy, 'connect', { host, port }, { signal }));
        } catch (e) {
          throw wrap(e, u.href);
        }
        socket = secure ? tlsConnect({ socket: tunnel, ca, ...servername }) : tunnel;
      } else if (secure) socket = tlsConnect({ host, port, ca, ...servername });
      else {
        socket = netConnect({ host, port, onread: conn.onreadOptions() });
        events = false;
      }
      conn.attach(socket, events);
      if (this.#closed) conn.destroy();
      return conn;
    } catch (e) {
      set.delete(conn);
      this.#wake();
      throw e;
    }
  }
}
