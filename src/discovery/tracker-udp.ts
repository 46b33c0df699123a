/**
 * UDP tracker client (BEP 15): one {@link UdpTrackerSocket} serves every torrent's announces and
 * scrapes, routing replies to their request by transaction id (and checking the sender).
 *
 * DEV NOTES
 * - A request runs the BEP 15 state machine: get a connection id (connect), send the request,
 *   wait 15·2ⁿ s (n = number of timeouts so far, at most `maxRetransmits`), retransmit; when the
 *   connection id is older than its 60 s lifetime at a retransmission, connect again first.
 *   The base (15 s) is injectable so tests run in milliseconds.
 * - Connection ids are cached per tracker address and shared by all requests to it.
 * - Besides the back-off, each request has one overall deadline (`timeoutMs`) and an
 *   `AbortSignal`: an announcer must not wait the full 2 hours BEP 15 allows before trying the
 *   next tracker of its tier.
 * - An `error` action fails the request with `TrackerFailure` and drops the cached id.
 * - With `socket4` (the session's socket, shared with uTP and the DHT: net/udp-socket.ts), IPv4
 *   requests go out from it and its tracker replies come here, so trackers see the node's one UDP
 *   port; the client leaves that socket open at close.
 * - With a `proxy`, every datagram goes through one SOCKS5 UDP association (RFC 1928 §7) instead
 *   of the sockets; when the proxy ends it, the next request opens a new one. Host names are
 *   still resolved here (the reply's sender is checked against the address).
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { Socks5ProxyOptions } from '../net/socks5-protocol.js';
import { Socks5UdpAssociation } from '../net/socks5-udp.js';
import type { SharedUdpSocket } from '../net/udp-socket.js';
import { ErrorCode } from '../shared/errors.js';
import {
  MAX_UDP_SCRAPE_HASHES,
  TRACKER_REQUEST_TIMEOUT_MS,
  UDP_TRACKER_CONNECTION_ID_LIFETIME_MS,
  UDP_TRACKER_MAX_RETRANSMITS,
  UDP_TRACKER_RETRANSMIT_BASE_MS,
} from '../shared/limits.js';
import { TrackerError } from './errors.js';
import { formatIpv4, formatIpv6, parseIpAddress } from './tracker-address.js';
import {
  decodeUdpResponse,
  encodeUdpAnnounceRequest,
  encodeUdpConnectRequest,
  encodeUdpScrapeRequest,
  readUdpTransactionId,
  type UdpTrackerResponse,
} from './tracker-protocol-udp.js';
import type { AnnounceRequest, AnnounceResponse, ScrapeEntry } from './tracker-types.js';

/** Resolves a tracker host name to one address. */
export type TrackerLookup = (host: string) => Promise<{ address: string; family: 4 | 6 }>;

/** Options of a {@link UdpTrackerSocket}. */
export interface UdpTrackerSocketOptions {
  /** Local address of the IPv4 socket. @default '0.0.0.0' */
  readonly bindV4?: string;
  /** Local address of the IPv6 socket. @default '::' */
  readonly bindV6?: string;
  /** First retransmission timeout (the 15 s of BEP 15), in ms. @default UDP_TRACKER_RETRANSMIT_BASE_MS */
  readonly retransmitBaseMs?: number;
  /** Largest n of the 15·2ⁿ back-off; a request fails after that many retransmissions. @default UDP_TRACKER_MAX_RETRANSMITS */
  readonly maxRetransmits?: number;
  /** How long a connection id is used after it was received, in ms. @default UDP_TRACKER_CONNECTION_ID_LIFETIME_MS */
  readonly connectionIdLifetimeMs?: number;
  /** Monotonic clock in ms. @default performance.now */
  readonly now?: () => number;
  /** Host name resolution. @default node:dns lookup */
  readonly lookup?: TrackerLookup;
  /** Sends every request through this SOCKS5 proxy's UDP relay (UDP ASSOCIATE). */
  readonly proxy?: Socks5ProxyOptions;
  /** A bound socket shared with uTP and the DHT, used for IPv4 trackers instead of a socket of our own. */
  readonly socket4?: SharedUdpSocket;
}

/** Where datagrams go out: a UDP socket of one family, or a SOCKS5 UDP association for both. */
interface DatagramPort {
  send(packet: Uint8Array, port: number, address: string, callback: (error: Error | null) => void): void;
  close(callback: () => void): void;
}

/** Per-request options. */
export interface UdpTrackerRequestOptions {
  /** Overall deadline, in ms, whatever the back-off would still allow. @default TRACKER_REQUEST_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** Aborts the request (it then fails with `TrackerRequest`). */
  readonly signal?: AbortSignal;
}

interface Target {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly key: string;
}

interface Pending {
  readonly target: Target;
  resolve(msg: Uint8Array): void;
}

const defaultLookup: TrackerLookup = async (host) => {
  const r = await dnsLookup(host);
  return { address: r.address, family: r.family === 6 ? 6 : 4 };
};

function canonicalIp(text: string): string {
  const ip = parseIpAddress(text);
  if (ip === undefined) return text;
  return ip.family === 4
    ? formatIpv4(((ip.bytes[0]! << 24) | (ip.bytes[1]! << 16) | (ip.bytes[2]! << 8) | ip.bytes[3]!) >>> 0)
    : formatIpv6(ip.bytes);
}

/**
 * A UDP tracker client sharing one socket per address family among any number of announcers
 * (BEP 15). `close()` releases the sockets and fails pending requests.
 */
export class UdpTrackerSocket {
  readonly #opts: UdpTrackerSocketOptions;
  readonly #now: () => number;
  readonly #pending = new Map<number, Pending>();
  readonly #connectionIds = new Map<string, { id: Uint8Array; receivedAt: number }>();
  readonly #sockets = new Map<4 | 6 | 'proxy', Promise<DatagramPort>>();
  readonly #waiters = new Set<() => void>();
  #closed = false;

  constructor(opts: UdpTrackerSocketOptions = {}) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Requests in flight. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Announces to `udp://host:port[/...]` (BEP 15). */
  async announce(
    url: string,
    req: AnnounceRequest,
    opts: UdpTrackerRequestOptions = {},
  ): Promise<AnnounceResponse> {
    const target = await this.#resolve(url);
    const r = await this.#transact(
      url,
      target,
      (connId, tid) => encodeUdpAnnounceRequest(connId, tid, req, url),
      'announce',
      opts,
    );
    if (r.action !== 'announce')
      throw new TrackerError(ErrorCode.TrackerBadResponse, 'wrong action', { url });
    return { interval: r.interval, complete: r.seeders, incomplete: r.leechers, peers: r.peers };
  }

  /** Scrapes up to MAX_UDP_SCRAPE_HASHES torrents (BEP 15); entries follow the request order. */
  async scrape(
    url: string,
    infoHashes: readonly Uint8Array[],
    opts: UdpTrackerRequestOptions = {},
  ): Promise<ScrapeEntry[]> {
    if (infoHashes.length === 0 || infoHashes.length > MAX_UDP_SCRAPE_HASHES) {
      throw new TrackerError(
        ErrorCode.TrackerRequest,
        `UDP scrape takes 1 to ${MAX_UDP_SCRAPE_HASHES} hashes`,
        { url },
      );
    }
    const target = await this.#resolve(url);
    const r = await this.#transact(
      url,
      target,
      (connId, tid) => encodeUdpScrapeRequest(connId, tid, infoHashes, url),
      'scrape',
      opts,
    );
    if (r.action !== 'scrape') throw new TrackerError(ErrorCode.TrackerBadResponse, 'wrong action', { url });
    if (r.entries.length < infoHashes.length) {
      throw new TrackerError(ErrorCode.TrackerBadResponse, 'scrape reply has fewer entries than asked', {
        url,
      });
    }
    return infoHashes.map((h, i) => {
      const e = r.entries[i]!;
      return { infoHash: h, complete: e.seeders, downloaded: e.completed, incomplete: e.leechers };
    });
  }

  /** Closes the sockets; pending requests fail with `TrackerRequest`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of [...this.#waiters]) w();
    const sockets = await Promise.allSettled(this.#sockets.values());
    this.#sockets.clear();
    await Promise.all(
      sockets.map((s) =>
        s.status === 'fulfilled' ? new Promise<void>((resolve) => s.value.close(() => resolve())) : undefined,
      ),
    );
  }

  async #resolve(url: string): Promise<Target> {
    let u: URL;
    try {
      u = new URL(url);
    } catch (e) {
      throw new TrackerError(ErrorCode.TrackerRequest, `invalid tracker URL "${url}"`, { url }, { cause: e });
    }
    const port = Number(u.port);
    if (u.protocol !== 'udp:' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TrackerError(ErrorCode.TrackerRequest, `not a UDP tracker URL with a port "${url}"`, { url });
    }
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    let address = host;
    let family: 4 | 6;
    const literal = parseIpAddress(host);
    if (literal !== undefined) {
      family = literal.family;
      address = canonicalIp(host);
    } else {
      try {
        const r = await (this.#opts.lookup ?? defaultLookup)(host);
        address = canonicalIp(r.address);
        family = r.family;
      } catch (e) {
        throw new TrackerError(
          ErrorCode.TrackerRequest,
          `cannot resolve tracker host "${host}"`,
          { url },
          { cause: e },
        );
      }
    }
    return { address, port, family, key: `${family === 6 ? `[${address}]` : address}:${port}` };
  }

  #socket(family: 4 | 6): Promise<DatagramPort> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    const proxy = this.#opts.proxy;
    if (proxy !== undefined) return this.#association(proxy);
    let p = this.#sockets.get(family);
    const shared = this.#opts.socket4;
    if (p === undefined && family === 4 && shared !== undefined) {
      const stop = shared.handle('tracker', (msg, host, port) => this.#onMessage(msg, host, port));
      p = Promise.resolve<DatagramPort>({
        send: (packet, port, address, callback) => shared.send(packet, port, address, callback),
        close: (callback) => {
          stop();
          callback();
        },
      });
      this.#sockets.set(family, p);
    }
    if (p === undefined) {
      p = new Promise<DatagramPort>((resolve, reject) => {
        const s = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', ipv6Only: family === 6 });
        const onError = (e: Error): void => {
          s.close();
          reject(e);
        };
        s.once('error', onError);
        s.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo.address, rinfo.port));
        s.bind(0, family === 4 ? (this.#opts.bindV4 ?? '0.0.0.0') : (this.#opts.bindV6 ?? '::'), () => {
          s.off('error', onError);
          // Sending errors are reported through send callbacks; nothing else should crash us.
          s.on('error', () => {});
          resolve(s);
        });
      });
      // A failed bind is retried on the next request.
      p.catch(() => this.#sockets.delete(family));
      this.#sockets.set(family, p);
    }
    return p;
  }

  /** The proxy's UDP association, opened on first use and again after the proxy ended it. */
  #association(proxy: Socks5ProxyOptions): Promise<DatagramPort> {
    let p = this.#sockets.get('proxy');
    if (p === undefined) {
      const opening = Socks5UdpAssociation.open(proxy).then((a) => {
        a.onMessage((payload, from) => this.#onMessage(payload, from.host, from.port));
        a.onClose(() => {
          if (this.#sockets.get('proxy') === opening) this.#sockets.delete('proxy');
        });
        return a;
      });
      p = opening;
      opening.catch(() => {
        if (this.#sockets.get('proxy') === opening) this.#sockets.delete('proxy');
      });
      this.#sockets.set('proxy', opening);
    }
    return p;
  }

  #onMessage(msg: Uint8Array, address: string, port: number): void {
    const tid = readUdpTransactionId(msg);
    if (tid === undefined) return;
    const p = this.#pending.get(tid);
    // Only the tracker we asked may answer: anyone else guessing transaction ids is ignored.
    if (p === undefined || p.target.port !== port || p.target.address !== canonicalIp(address)) return;
    p.resolve(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
  }

  #newTransactionId(): number {
    for (;;) {
      const t = randomInt(0, 2 ** 32);
      if (!this.#pending.has(t)) return t;
    }
  }

  /**
   * Sends `packet(tid)` and waits up to `waitMs` for the reply to that transaction id; resolves to
   * `undefined` on timeout. Rejects when the deadline passes, the signal aborts or we close.
   */
  async #exchange(
    url: string,
    target: Target,
    tid: number,
    packet: Uint8Array,
    waitMs: number,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array | undefined> {
    const socket = await this.#socket(target.family).catch((e: unknown) => {
      const what = this.#opts.proxy !== undefined ? 'a SOCKS5 UDP association' : 'a UDP socket';
      throw new TrackerError(
        ErrorCode.TrackerRequest,
        `cannot open ${what}: ${(e as Error).message}`,
        { url },
        { cause: e },
      );
    });
    return new Promise<Uint8Array | undefined>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#pending.delete(tid);
        this.#waiters.delete(onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      const onClose = (): void => {
        cleanup();
        reject(new TrackerError(ErrorCode.TrackerRequest, 'UDP tracker socket closed', { url }));
      };
      const onAbort = (): void => {
        cleanup();
        reject(new TrackerError(ErrorCode.TrackerRequest, 'tracker request aborted', { url }));
      };
      if (this.#closed) return onClose();
      if (signal?.aborted === true) return onAbort();
      const left = deadline - this.#now();
      if (left <= 0) {
        reject(new TrackerError(ErrorCode.TrackerTimeout, 'UDP tracker did not answer in time', { url }));
        return;
      }
      this.#pending.set(tid, {
        target,
        resolve: (msg) => {
          cleanup();
          resolve(msg);
        },
      });
      this.#waiters.add(onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
      const wait = Math.min(waitMs, left);
      timer = setTimeout(() => {
        cleanup();
        if (wait < waitMs)
          reject(new TrackerError(ErrorCode.TrackerTimeout, 'UDP tracker did not answer in time', { url }));
        else resolve(undefined);
      }, wait);
      socket.send(packet, target.port, target.address, (err) => {
        if (err !== null && err !== undefined) {
          cleanup();
          reject(
            new TrackerError(
              ErrorCode.TrackerRequest,
              `UDP send failed: ${err.message}`,
              { url },
              { cause: err },
            ),
          );
        }
      });
    });
  }

  async #transact(
    url: string,
    target: Target,
    build: (connectionId: Uint8Array, tid: number) => Uint8Array,
    action: 'announce' | 'scrape',
    opts: UdpTrackerRequestOptions,
  ): Promise<UdpTrackerResponse> {
    const base = this.#opts.retransmitBaseMs ?? UDP_TRACKER_RETRANSMIT_BASE_MS;
    const maxN = this.#opts.maxRetransmits ?? UDP_TRACKER_MAX_RETRANSMITS;
    const lifetime = this.#opts.connectionIdLifetimeMs ?? UDP_TRACKER_CONNECTION_ID_LIFETIME_MS;
    const deadline = this.#now() + (opts.timeoutMs ?? TRACKER_REQUEST_TIMEOUT_MS);
    const timeout = (): TrackerError =>
      new TrackerError(ErrorCode.TrackerTimeout, `UDP tracker gave no answer after ${maxN} retransmissions`, {
        url,
      });
    let n = 0;
    let connectTid: number | undefined;
    let requestTid: number | undefined;
    let requestConnId: Uint8Array | undefined;
    for (;;) {
      const cached = this.#connectionIds.get(target.key);
      const valid = cached !== undefined && this.#now() - cached.receivedAt < lifetime ? cached : undefined;
      if (valid === undefined) {
        if (cached !== undefined) this.#connectionIds.delete(target.key);
        requestTid = undefined;
        connectTid ??= this.#newTransactionId();
        const reply = await this.#exchange(
          url,
          target,
          connectTid,
          encodeUdpConnectRequest(connectTid),
          base * 2 ** n,
          deadline,
          opts.signal,
        );
        if (reply === undefined) {
          if (++n > maxN) throw timeout();
          continue;
        }
        const r = decodeUdpResponse(reply, target.family, url);
        this.#failOnError(r, target, url);
        if (r.action !== 'connect') {
          throw new TrackerError(ErrorCode.TrackerBadResponse, `expected connect, got ${r.action}`, { url });
        }
        this.#connectionIds.set(target.key, { id: r.connectionId, receivedAt: this.#now() });
        connectTid = undefined;
        continue;
      }
      // Keep one transaction id while the connection id stays the same, so a late reply still counts.
      if (requestTid === undefined || requestConnId !== valid.id) {
        requestTid = this.#newTransactionId();
        requestConnId = valid.id;
      }
      const reply = await this.#exchange(
        url,
        target,
        requestTid,
        build(valid.id, requestTid),
        base * 2 ** n,
        deadline,
        opts.signal,
      );
      if (reply === undefined) {
        if (++n > maxN) throw timeout();
        continue;
      }
      const r = decodeUdpResponse(reply, target.family, url);
      this.#failOnError(r, target, url);
      if (r.action !== action) {
        throw new TrackerError(ErrorCode.TrackerBadResponse, `expected ${action}, got ${r.action}`, { url });
      }
      return r;
    }
  }

  #failOnError(r: UdpTrackerResponse, target: Target, url: string): void {
    if (r.action !== 'error') return;
    this.#connectionIds.delete(target.key);
    throw new TrackerError(ErrorCode.TrackerFailure, `tracker error: ${r.message}`, {
      url,
      failureReason: r.message,
    });
  }
}
