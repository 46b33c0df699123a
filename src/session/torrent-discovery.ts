/**
 * Where one torrent's peers come from: its trackers (an {@link Announcer}, BEP 12 tiers), the
 * DHT (an announce loop, BEP 5) and local service discovery (BEP 14). Each source hands the
 * addresses it finds to the torrent's peer pool; PEX lives with the connections (ut_pex).
 * Its `ws://`/`wss://` trackers (WebTorrent's) are not in the tiers: each gets a
 * {@link WsTrackerClient} when the session has WebRTC, and hands over open data channels instead
 * of addresses. Private torrents (BEP 27) use their trackers only.
 */
import { Announcer, type TrackerStatus } from '../discovery/index.js';
import { WsTrackerClient } from '../discovery/tracker-ws.js';
import type { Metainfo } from '../metainfo/index.js';
import type { PeerSource } from '../net/peer-pool.js';
import type { PeerStream } from '../net/transport.js';
import type { WebRtc } from '../net/webrtc-transport.js';
import type { SessionContext } from './context.js';
import type { ExternalAddressChanged } from './network-status.js';

/** DHT re-announce period while we have peers enough (BEP 5 peers expire after ~30 min). */
export const DHT_ANNOUNCE_INTERVAL_MS = 15 * 60_000;
/** DHT re-announce period while we have (almost) no peers. */
export const DHT_ANNOUNCE_RETRY_MS = 60_000;
/** Fewer connected peers than this: the DHT is asked again every {@link DHT_ANNOUNCE_RETRY_MS}. */
const FEW_PEERS = 4;

export interface TorrentDiscoveryHost {
  readonly ctx: SessionContext;
  readonly metainfo: Metainfo;
  readonly wireInfoHash: Uint8Array;
  addPeer(host: string, port: number, source: PeerSource): void;
  /** Connected peers now. */
  peerCount(): number;
  /** How many more peers the torrent would take now. */
  wantedPeers(): number;
  /** A WebRTC data channel opened with a peer of the swarm. */
  adoptWebRtc(stream: PeerStream): void;
  /** Transfer totals for announces. */
  totals(): { uploaded: number; downloaded: number; left: number };
  warn(message: string, error?: Error): void;
}

export class TorrentDiscovery {
  readonly #host: TorrentDiscoveryHost;
  /** The current run's sources stop when this aborts (`stop`); a later `start` makes a new one. */
  #abort: AbortController | undefined;
  #announcer: Announcer | undefined;
  #wsTrackers: WsTrackerClient[] = [];
  #closed = false;

  constructor(host: TorrentDiscoveryHost) {
    this.#host = host;
  }

  /** The trackers and how their last announces went. */
  trackers(): TrackerStatus[] {
    return this.#announcer?.trackers ?? [];
  }

  /** Starts every source (again, after a `stop`). */
  start(): void {
    if (this.#closed || this.#abort !== undefined) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#startAnnouncer(abort.signal);
    this.#startWsTrackers(abort.signal);
    this.#startDht(abort.signal);
    const h = this.#host;
    if (!h.metainfo.isPrivate) h.ctx.lsd?.add(h.wireInfoHash);
  }

  /** Tells the trackers the download completed (BEP 3 `event=completed`). */
  completed(): void {
    this.#announcer?.complete();
    for (const w of this.#wsTrackers) w.completed();
  }

  /** Stops every source (the trackers get `event=stopped`); `start` may follow. */
  async stop(): Promise<void> {
    const abort = this.#abort;
    if (abort === undefined) return;
    this.#abort = undefined;
    abort.abort();
    const h = this.#host;
    h.ctx.lsd?.remove(h.wireInfoHash);
    for (const w of this.#wsTrackers) w.stop();
    this.#wsTrackers = [];
    const announcer = this.#announcer;
    this.#announcer = undefined;
    if (announcer !== undefined) {
      await announcer.stop().catch(() => {});
      await announcer.close();
    }
  }

  /** Stops for good. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.stop();
  }

  #startAnnouncer(signal: AbortSignal): void {
    const h = this.#host;
    const tiers = h.metainfo.trackers.map((t) => t.filter((u) => !isWsUrl(u))).filter((t) => t.length > 0);
    if (!h.ctx.options.trackers || tiers.length === 0) return;
    const announcer = new Announcer(
      {
        infoHash: h.wireInfoHash,
        peerId: h.ctx.peerId,
        port: () => h.ctx.listenPort(),
        trackers: tiers,
        getStats: () => h.totals(),
        onPeers: (peers) => {
          for (const p of peers) h.addPeer(p.host, p.port, 'tracker');
        },
      },
      {
        udp: h.ctx.udpTrackerSocket(),
        ...(h.ctx.options.proxy !== undefined ? { proxy: h.ctx.options.proxy } : {}),
      },
    );
    announcer.on('tracker:failed', (e) => h.warn(`tracker failed: ${e.url}: ${e.error.message}`, e.error));
    this.#announcer = announcer;
    announcer.start();
    this.#reannounceOnPortChange(announcer, signal);
  }

  /**
   * When the port peers dial changes (a mapping was made after the first announce, or the router
   * gave another port), the trackers hear it now rather than at their next interval.
   */
  #reannounceOnPortChange(announcer: Announcer, signal: AbortSignal): void {
    const network = this.#host.ctx.network;
    if (network === undefined) return;
    let announced = this.#host.ctx.listenPort();
    const onChange = (e: ExternalAddressChanged) => {
      if (e.port === announced || signal.aborted) return;
      announced = e.port;
      void announcer.announce().catch(() => {});
    };
    network.on('external-address:changed', onChange);
    signal.addEventListener('abort', () => network.off('external-address:changed', onChange), { once: true });
  }

  /**
   * A client per `ws://`/`wss://` tracker, when the session has WebRTC and no proxy. The WebRTC
   * library is loaded only here, for a torrent that has such a tracker.
   */
  #startWsTrackers(signal: AbortSignal): void {
    const h = this.#host;
    // A proxy carries every connection: WebRTC would go around it.
    if (!h.ctx.options.trackers || h.ctx.options.proxy !== undefined) return;
    const urls = new Set(h.metainfo.trackers.flat().filter(isWsUrl));
    if (urls.size === 0) return;
    void h.ctx.webrtc().then((webrtc) => {
      if (webrtc !== undefined && !signal.aborted) this.#startWsClients(webrtc, urls);
    });
  }

  #startWsClients(webrtc: WebRtc, urls: ReadonlySet<string>): void {
    const h = this.#host;
    for (const url of urls) {
      const client = new WsTrackerClient({
        url,
        infoHash: h.wireInfoHash,
        peerId: h.ctx.peerId,
        webrtc,
        getStats: () => h.totals(),
        wantedPeers: () => h.wantedPeers(),
        onStream: (stream) => h.adoptWebRtc(stream),
        onWarning: (message) => h.warn(message),
      });
      this.#wsTrackers.push(client);
      client.start();
    }
  }

  /** Announces to the DHT and feeds the peers it finds, again and again (BEP 5). */
  #startDht(signal: AbortSignal): void {
    const h = this.#host;
    const dht = h.ctx.dht;
    if (dht === undefined || h.metainfo.isPrivate) return;
    const loop = async () => {
      while (!signal.aborted) {
        // Peers announced to our own node (a lookup never asks the node it runs on).
        for (const p of dht.storedPeers(h.wireInfoHash)) h.addPeer(p.host, p.port, 'dht');
        try {
          const r = await dht.announce(h.wireInfoHash, h.ctx.listenPort(), { signal });
          for (const p of r.peers) h.addPeer(p.host, p.port, 'dht');
        } catch (e) {
          if (signal.aborted) return;
          h.warn(`DHT announce failed: ${(e as Error).message}`, e as Error);
        }
        await abortableDelay(
          h.peerCount() < FEW_PEERS ? DHT_ANNOUNCE_RETRY_MS : DHT_ANNOUNCE_INTERVAL_MS,
          signal,
        );
      }
    };
    void loop();
  }
}

/**
 * Resolves after `ms`, or as soon as `signal` aborts. The abort listener is removed when the
 * timer fires, so a loop that waits again and again leaves no listeners behind.
 */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    t.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A WebSocket tracker URL (WebTorrent's). */
export function isWsUrl(url: string): boolean {
  const l = url.toLowerCase();
  return l.startsWith('ws://') || l.startsWith('wss://');
}
