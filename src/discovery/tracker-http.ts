/**
 * HTTP(S) tracker client (BEP 3 announce, BEP 48 scrape) over node:http / node:https.
 *
 * Every request has one overall deadline (connect, headers and body), a body cap
 * (MAX_TRACKER_RESPONSE_BYTES) and a bounded number of redirects; every failure is a
 * {@link TrackerError}. No connection is kept alive: a tracker is asked every few minutes at most.
 * With a `proxy`, the connection is a SOCKS5 CONNECT tunnel to the tracker (the proxy resolves
 * its host name), with TLS on top for `https:`.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { Socks5ProxyOptions } from '../net/socks5-protocol.js';
import { openSocks5Socket } from '../net/socks5-socket.js';
import { ErrorCode, isShoalError } from '../shared/errors.js';
import {
  MAX_TRACKER_REDIRECTS,
  MAX_TRACKER_RESPONSE_BYTES,
  TRACKER_REQUEST_TIMEOUT_MS,
} from '../shared/limits.js';
import { TrackerError } from './errors.js';
import {
  buildAnnounceUrl,
  buildScrapeUrl,
  decodeHttpAnnounceResponse,
  decodeHttpScrapeResponse,
  scrapeUrlFromAnnounce,
} from './tracker-protocol-http.js';
import type { AnnounceRequest, AnnounceResponse, ScrapeEntry } from './tracker-types.js';

/** Options of one HTTP tracker request. */
export interface HttpTrackerRequestOptions {
  /** Deadline for the whole exchange, in ms. @default TRACKER_REQUEST_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** Largest body read, in bytes. @default MAX_TRACKER_RESPONSE_BYTES */
  readonly maxBodyBytes?: number;
  /** Aborts the request (it then fails with `TrackerRequest`). */
  readonly signal?: AbortSignal;
  /** `User-Agent` header. @default 'Shoal/0.1' */
  readonly userAgent?: string;
  /** Tunnels the request through this SOCKS5 proxy (CONNECT to the tracker's host and port). */
  readonly proxy?: Socks5ProxyOptions;
}

/**
 * node:http's `createConnection` for a request through `proxy`: the socket comes once the proxy
 * granted CONNECT (or the error, which fails the request).
 */
function proxiedConnection(
  proxy: Socks5ProxyOptions,
  url: URL,
  deadline: number,
  signal: AbortSignal | undefined,
): (options: unknown, oncreate: (err: Error | null, socket: Duplex) => void) => undefined {
  const secure = url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  return (_options, oncreate) => {
    openSocks5Socket(
      proxy,
      'connect',
      { host, port },
      { timeoutMs: Math.max(0, deadline - Date.now()), ...(signal !== undefined ? { signal } : {}) },
    ).then(
      ({ socket }) => {
        if (secure) {
          const literal = /^[\d.]+$/.test(host) || host.includes(':');
          oncreate(null, tlsConnect({ socket, ...(literal ? {} : { servername: host }) }));
        } else {
          oncreate(null, socket);
        }
        // The tunnel was paused after the proxy's reply; the request reads it from now on.
        socket.resume();
      },
      (e: Error) => oncreate(e, undefined as unknown as Duplex),
    );
    return undefined;
  };
}

/** Status and body of an HTTP tracker exchange (after redirects). */
export interface HttpTrackerGetResult {
  readonly status: number;
  readonly body: Uint8Array;
  readonly url: string;
}

function requestOnce(
  url: URL,
  opts: HttpTrackerRequestOptions,
  deadline: number,
): Promise<HttpTrackerGetResult & { location?: string }> {
  const text = url.href;
  const maxBody = opts.maxBodyBytes ?? MAX_TRACKER_RESPONSE_BYTES;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: TrackerError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      reject(e);
    };
    const done = (r: HttpTrackerGetResult & { location?: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = (): void =>
      fail(new TrackerError(ErrorCode.TrackerRequest, 'tracker request aborted', { url: text }));
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, {
      method: 'GET',
      ...(opts.proxy === undefined
        ? { agent: false }
        : { createConnection: proxiedConnection(opts.proxy, url, deadline, opts.signal) }),
      headers: {
        'user-agent': opts.userAgent ?? 'Shoal/0.1',
        'accept-encoding': 'identity',
        connection: 'close',
      },
    });
    const timer = setTimeout(
      () => fail(new TrackerError(ErrorCode.TrackerTimeout, 'tracker did not answer in time', { url: text })),
      Math.max(0, deadline - Date.now()),
    );
    if (opts.signal?.aborted === true) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) =>
      fail(
        new TrackerError(
          ErrorCode.TrackerRequest,
          `tracker request failed: ${e.message}`,
          { url: text },
          { cause: e },
        ),
      ),
    );
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location !== undefined) {
        res.resume();
        done({ status, body: new Uint8Array(0), url: text, location });
        return;
      }
      const declared = Number(res.headers['content-length'] ?? '0');
      if (declared > maxBody) {
        fail(
          new TrackerError(
            ErrorCode.TrackerBadResponse,
            `tracker reply of ${declared} bytes exceeds ${maxBody}`,
            {
              url: text,
            },
          ),
        );
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBody) {
          fail(
            new TrackerError(ErrorCode.TrackerBadResponse, `tracker reply exceeds ${maxBody} bytes`, {
              url: text,
            }),
          );
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => done({ status, body: new Uint8Array(Buffer.concat(chunks, size)), url: text }));
      res.on('error', (e) =>
        fail(
          new TrackerError(
            ErrorCode.TrackerRequest,
            `tracker reply broken: ${e.message}`,
            { url: text },
            { cause: e },
          ),
        ),
      );
      res.on('aborted', () =>
        fail(new TrackerError(ErrorCode.TrackerBadResponse, 'tracker reply truncated', { url: text })),
      );
    });
    req.end();
  });
}

function parseTrackerUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw new TrackerError(ErrorCode.TrackerRequest, `invalid tracker URL "${url}"`, { url }, { cause: e });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TrackerError(ErrorCode.TrackerRequest, `not an HTTP tracker URL "${url}"`, { url });
  }
  return u;
}

/**
 * GETs `url`, following at most MAX_TRACKER_REDIRECTS redirects, within one deadline and a body cap.
 * Returns the final status and body; throws {@link TrackerError}.
 */
export async function httpTrackerGet(
  url: string,
  opts: HttpTrackerRequestOptions = {},
): Promise<HttpTrackerGetResult> {
  const deadline = Date.now() + (opts.timeoutMs ?? TRACKER_REQUEST_TIMEOUT_MS);
  let current = parseTrackerUrl(url);
  for (let hop = 0; ; hop++) {
    const r = await requestOnce(current, opts, deadline);
    if (r.location === undefined) return r;
    if (hop >= MAX_TRACKER_REDIRECTS) {
      throw new TrackerError(ErrorCode.TrackerRequest, `more than ${MAX_TRACKER_REDIRECTS} redirects`, {
        url,
      });
    }
    let next: URL;
    try {
      next = new URL(r.location, current);
    } catch (e) {
      throw new TrackerError(
        ErrorCode.TrackerBadResponse,
        'tracker redirect to an invalid URL',
        { url },
        { cause: e },
      );
    }
    current = parseTrackerUrl(next.href);
  }
}

function statusError(
  r: HttpTrackerGetResult,
  decodeFailure: (body: Uint8Array, url: string) => unknown,
): never {
  // A tracker may send `failure reason` with an error status; prefer its words.
  try {
    decodeFailure(r.body, r.url);
  } catch (e) {
    if (isShoalError(e, ErrorCode.TrackerFailure)) throw e;
  }
  throw new TrackerError(ErrorCode.TrackerRequest, `tracker answered HTTP ${r.status}`, { url: r.url });
}

/** Announces to an HTTP(S) tracker (BEP 3, compact BEP 23, `peers6` BEP 7). */
export async function httpAnnounce(
  announceUrl: string,
  req: AnnounceRequest,
  opts: HttpTrackerRequestOptions = {},
): Promise<AnnounceResponse> {
  const r = await httpTrackerGet(buildAnnounceUrl(announceUrl, req), opts);
  if (r.status !== 200) statusError(r, decodeHttpAnnounceResponse);
  return decodeHttpAnnounceResponse(r.body, announceUrl);
}

/**
 * Scrapes an HTTP(S) tracker (BEP 48) given its announce URL. Throws `TrackerRequest` when
 * the URL has no scrape counterpart.
 */
export async function httpScrape(
  announceUrl: string,
  infoHashes: readonly Uint8Array[],
  opts: HttpTrackerRequestOptions = {},
): Promise<ScrapeEntry[]> {
  const scrapeUrl = scrapeUrlFromAnnounce(announceUrl);
  if (scrapeUrl === undefined) {
    throw new TrackerError(ErrorCode.TrackerRequest, 'tracker does not support scrape (BEP 48)', {
      url: announceUrl,
    });
  }
  const r = await httpTrackerGet(buildScrapeUrl(scrapeUrl, infoHashes), opts);
  if (r.status !== 200) statusError(r, decodeHttpScrapeResponse);
  return decodeHttpScrapeResponse(r.body, scrapeUrl);
}
