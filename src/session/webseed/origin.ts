/**
 * One HTTP(S) origin of a web seed: keep-alive agents holding at most `connections` sockets
 * (the bound on range requests in flight to it), redirects followed up to
 * MAX_WEB_SEED_REDIRECTS, HTTPS checked against Node's CA list, the system's CA bundle and an
 * optional CA file, and, with a SOCKS5 proxy, every connection tunnelled through it (a web seed
 * must not leak around the proxy the user set).
 *
 * It answers with the response of the last hop; reading the body (and its checks) is the
 * caller's. Failures before a response are `WebSeedError`s (`WebSeedConnection`,
 * `WebSeedRedirects`).
 */
import { readFile } from 'node:fs/promises';
import http, { type ClientRequest, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { rootCertificates, connect as tlsConnect } from 'node:tls';
import type { Socks5ProxyOptions } from '../../net/socks5-protocol.js';
import { openSocks5Socket } from '../../net/socks5-socket.js';
import { ErrorCode, isShoalError } from '../../shared/errors.js';
import { MAX_WEB_SEED_REDIRECTS } from '../../shared/limits.js';
import { WebSeedError } from './errors.js';

/** Where Debian (and most Linux systems) keep the system's CA bundle. */
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
/** `User-Agent` of web seed requests. */
const USER_AGENT = 'Shoal/0.1';

export interface OriginOptions {
  /** Sockets (range requests in flight) at most. */
  readonly connections: number;
  /** A PEM file of more trusted CAs for HTTPS. */
  readonly caFile?: string | undefined;
  /** Tunnel every connection through this SOCKS5 proxy. */
  readonly proxy?: Socks5ProxyOptions | undefined;
}

/** The answer of an origin, after redirects. */
export interface OriginResponse {
  readonly req: ClientRequest;
  readonly res: IncomingMessage;
  /** The URL that answered. */
  readonly url: string;
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

/** An agent whose connections are SOCKS5 CONNECT tunnels (with TLS on top for HTTPS). */
class ProxiedAgent extends http.Agent {
  readonly #proxy: Socks5ProxyOptions;
  readonly #ca: string[] | undefined;

  constructor(options: http.AgentOptions, proxy: Socks5ProxyOptions, ca: string[] | undefined) {
    super(options);
    this.#proxy = proxy;
    this.#ca = ca;
  }

  override createConnection(
    options: ClientRequestArgs,
    oncreate?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = String(options.hostname ?? options.host ?? '').replace(/^\[|\]$/g, '');
    const secure = this.#ca !== undefined;
    const port = Number(options.port ?? (secure ? 443 : 80));
    openSocks5Socket(this.#proxy, 'connect', { host, port }).then(
      ({ socket }) => {
        if (secure) {
          const literal = /^[\d.]+$/.test(host) || host.includes(':');
          oncreate?.(null, tlsConnect({ socket, ca: this.#ca, ...(literal ? {} : { servername: host }) }));
        } else oncreate?.(null, socket);
        socket.resume();
      },
      (e: Error) => oncreate?.(e, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/** One origin's agents and its GET with redirects; see the module notes. */
export class HttpOrigin {
  readonly #options: OriginOptions;
  readonly #agents = new Map<string, Promise<http.Agent>>();
  #closed = false;

  constructor(options: OriginOptions) {
    this.#options = options;
  }

  /**
   * GETs `url` with `headers`, following redirects; resolves with the last response (any status
   * but a redirect). Aborting `signal` destroys the request.
   */
  async get(
    url: string,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<OriginResponse> {
    let current = url;
    for (let hops = 0; ; hops++) {
      const { req, res } = await this.#once(current, headers, signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status < 300 || status > 399 || status === 304 || location === undefined)
        return { req, res, url: current };
      res.resume(); // a redirect's small body is read so the socket is kept
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
          { url: current, status },
        );
      current = next.href;
    }
  }

  /** Closes every kept socket; requests in flight are the caller's to abort. */
  close(): void {
    this.#closed = true;
    for (const a of this.#agents.values()) void a.then((agent) => agent.destroy()).catch(() => {});
    this.#agents.clear();
  }

  async #once(
    url: string,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<{ req: ClientRequest; res: IncomingMessage }> {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    let agent: http.Agent;
    try {
      agent = await this.#agent(secure);
    } catch (e) {
      throw new WebSeedError(
        ErrorCode.WebSeedConnection,
        `cannot set up HTTPS: ${(e as Error).message}`,
        { url },
        {
          cause: e,
        },
      );
    }
    if (signal.aborted || this.#closed)
      throw new WebSeedError(ErrorCode.WebSeedConnection, 'aborted', { url });
    const viaProxy = this.#options.proxy !== undefined;
    const request = viaProxy || !secure ? http.request : https.request;
    return new Promise((resolve, reject) => {
      const req = request({
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port === '' ? (secure ? 443 : 80) : Number(u.port),
        path: `${u.pathname}${u.search}`,
        method: 'GET',
        headers: {
          'user-agent': USER_AGENT,
          // A web seed's bytes are hashed as they are: no transfer coding of the content.
          'accept-encoding': 'identity',
          ...(viaProxy ? { host: u.host } : {}),
          ...headers,
        },
        agent,
        signal,
      });
      req.once('response', (res) => resolve({ req, res }));
      req.once('error', (e) =>
        reject(
          isShoalError(e)
            ? e
            : new WebSeedError(ErrorCode.WebSeedConnection, `${u.host}: ${e.message}`, { url }, { cause: e }),
        ),
      );
      req.end();
    });
  }

  #agent(secure: boolean): Promise<http.Agent> {
    const key = secure ? 'https' : 'http';
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      const o = this.#options;
      const base: http.AgentOptions = {
        keepAlive: true,
        maxSockets: o.connections,
        maxFreeSockets: o.connections,
      };
      agent = (async () => {
        const ca = secure ? await trustedCas(o.caFile) : undefined;
        if (o.proxy !== undefined) return new ProxiedAgent(base, o.proxy, ca);
        return secure ? new https.Agent({ ...base, ca }) : new http.Agent(base);
      })();
      this.#agents.set(key, agent);
      agent.catch(() => this.#agents.delete(key));
    }
    return agent;
  }
}
