/**
 * One entry point for announcing to and scraping any tracker URL: `http://`, `https://`
 * (BEP 3, BEP 48) or `udp://` (BEP 15). Other schemes fail with `TrackerRequest`.
 */
import type { Socks5ProxyOptions } from '../net/socks5-protocol.js';
import { ErrorCode } from '../shared/errors.js';
import { TrackerError } from './errors.js';
import { httpAnnounce, httpScrape } from './tracker-http.js';
import type { AnnounceRequest, AnnounceResponse, ScrapeEntry } from './tracker-types.js';
import type { UdpTrackerSocket } from './tracker-udp.js';

/** Per-request options shared by the HTTP and UDP clients. */
export interface TrackerRequestOptions {
  /** Overall deadline, in ms. @default TRACKER_REQUEST_TIMEOUT_MS */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** How an announcer reaches trackers; tests substitute their own. */
export interface TrackerTransport {
  announce(url: string, req: AnnounceRequest, opts: TrackerRequestOptions): Promise<AnnounceResponse>;
  scrape(url: string, infoHashes: readonly Uint8Array[], opts: TrackerRequestOptions): Promise<ScrapeEntry[]>;
}

/** The scheme of a tracker URL, or `undefined` when Shoal cannot speak to it. */
export function trackerKind(url: string): 'http' | 'udp' | undefined {
  const lower = url.slice(0, 8).toLowerCase();
  if (lower.startsWith('http://') || lower.startsWith('https://')) return 'http';
  if (lower.startsWith('udp://')) return 'udp';
  return undefined;
}

/**
 * The transport over node:http(s) and a (shared) {@link UdpTrackerSocket}. `udp` is asked for
 * lazily, so an HTTP-only torrent never opens a UDP socket. With `proxy`, HTTP(S) requests are
 * tunnelled through that SOCKS5 proxy (the UDP socket is given its own `proxy` option).
 */
export function createTrackerTransport(
  udp: () => UdpTrackerSocket,
  options: { readonly proxy?: Socks5ProxyOptions } = {},
): TrackerTransport {
  const http = options.proxy !== undefined ? { proxy: options.proxy } : {};
  const unsupported = (url: string): TrackerError =>
    new TrackerError(ErrorCode.TrackerRequest, `unsupported tracker scheme "${url}"`, { url });
  return {
    async announce(url, req, opts) {
      const kind = trackerKind(url);
      if (kind === 'http') return httpAnnounce(url, req, { ...opts, ...http });
      if (kind === 'udp') return udp().announce(url, req, opts);
      throw unsupported(url);
    },
    async scrape(url, infoHashes, opts) {
      const kind = trackerKind(url);
      if (kind === 'http') return httpScrape(url, infoHashes, { ...opts, ...http });
      if (kind === 'udp') return udp().scrape(url, infoHashes, opts);
      throw unsupported(url);
    },
  };
}
