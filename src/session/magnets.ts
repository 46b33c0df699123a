/**
 * Magnet links whose metadata is being fetched (BEP 9): one {@link MetadataFetcher} per
 * info-hash, fed by the link's `x.pe`, its trackers and the DHT (the session's node's own peer
 * store first, then an announce that also looks peers up, every {@link MAGNET_DHT_RETRY_MS}),
 * until the info dictionary is in and checked against the info-hash.
 */
import { Announcer } from '../discovery/index.js';
import { type MagnetLink, type Metainfo, parseInfoDict } from '../metainfo/index.js';
import { toHex } from '../shared/hash.js';
import type { SessionContext } from './context.js';
import { MetadataFetcher } from './metadata-fetcher.js';
import type { SessionEvents } from './session.js';
import { abortableDelay } from './torrent-discovery.js';

/** Time between DHT lookups of a magnet's peers while its metadata is still missing. */
export const MAGNET_DHT_RETRY_MS = 10_000;

/** A magnet whose metadata is being fetched. */
export interface PendingMagnet {
  readonly id: string;
  readonly link: MagnetLink;
  /** Adds a peer to ask for the metadata (discovery sources feed this too). */
  addPeer(host: string, port: number): void;
  readonly connections: number;
  readonly peersKnown: number;
  /** Metadata size once a peer announced it, else 0. */
  readonly metadataSize: number;
}

export interface MagnetFetchesDeps {
  readonly ctx: SessionContext;
  emit<K extends 'magnet:added' | 'magnet:failed'>(event: K, payload: SessionEvents[K]): void;
}

export class MagnetFetches {
  readonly #d: MagnetFetchesDeps;
  readonly #magnets = new Map<string, { pending: PendingMagnet; fetcher: MetadataFetcher }>();

  constructor(deps: MagnetFetchesDeps) {
    this.#d = deps;
  }

  /** Magnets whose metadata is still being fetched. */
  pending(): PendingMagnet[] {
    return [...this.#magnets.values()].map((e) => e.pending);
  }

  /** Gives up fetching `id`'s metadata (its callers are rejected). */
  cancel(id: string, reason: string): void {
    const m = this.#magnets.get(id);
    if (m === undefined) return;
    m.fetcher.cancel(reason);
    this.#magnets.delete(id);
  }

  cancelAll(reason: string): void {
    for (const m of this.#magnets.values()) m.fetcher.cancel(reason);
  }

  /**
   * Fetches a magnet's info dictionary and checks it against the info-hash: resolves with the
   * metainfo (the link's trackers and web seeds, no piece layers) and the peers found. Rejects if
   * cancelled or aborted through `signal`.
   */
  async fetch(
    link: MagnetLink,
    signal: AbortSignal | undefined,
  ): Promise<{ metainfo: Metainfo; peers: { host: string; port: number }[] }> {
    const id = toHex(link.infoHashV1 ?? link.infoHashV2!);
    let entry = this.#magnets.get(id);
    if (entry === undefined) {
      const fetcher = new MetadataFetcher({
        ctx: this.#d.ctx,
        ...(link.infoHashV1 ? { infoHashV1: link.infoHashV1 } : {}),
        ...(link.infoHashV2 ? { infoHashV2: link.infoHashV2 } : {}),
      });
      const pending: PendingMagnet = {
        id,
        link,
        addPeer: (host, port) => fetcher.addPeer(host, port),
        get connections() {
          return fetcher.connectionCount;
        },
        get peersKnown() {
          return fetcher.peersKnown;
        },
        get metadataSize() {
          return fetcher.metadataSize;
        },
      };
      entry = { pending, fetcher };
      this.#magnets.set(id, entry);
      this.#d.emit('magnet:added', { id, name: link.name });
      for (const p of link.peers) fetcher.addPeer(p.host, p.port);
      this.#discover(link, fetcher);
    }
    const { fetcher } = entry;
    const onAbort = () => fetcher.cancel('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    let info: Uint8Array;
    try {
      info = await fetcher.result;
    } catch (e) {
      this.#magnets.delete(id);
      this.#d.emit('magnet:failed', { id, error: e as Error });
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    this.#magnets.delete(id);
    const parsed = parseInfoDict(info);
    const metainfo: Metainfo = {
      ...parsed,
      trackers: link.trackers.map((t) => [t]),
      webSeeds: [...link.webSeeds],
    };
    return { metainfo, peers: fetcher.knownPeers().map((p) => ({ host: p.host, port: p.port })) };
  }

  /** Finds peers for a magnet's metadata: its trackers (`tr`) and the DHT, until it is fetched. */
  #discover(link: MagnetLink, fetcher: MetadataFetcher): void {
    const infoHash = link.infoHashV1 ?? link.infoHashV2!.subarray(0, 20);
    const ac = new AbortController();
    void fetcher.result.catch(() => {}).finally(() => ac.abort());
    if (this.#d.ctx.options.trackers && link.trackers.length > 0) {
      const announcer = new Announcer(
        {
          infoHash,
          peerId: this.#d.ctx.peerId,
          port: this.#d.ctx.listenPort(),
          trackers: link.trackers.map((t) => [t]),
          getStats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
          onPeers: (peers) => {
            for (const p of peers) fetcher.addPeer(p.host, p.port, 'tracker');
          },
        },
        {
          udp: this.#d.ctx.udpTrackerSocket(),
          ...(this.#d.ctx.options.proxy !== undefined ? { proxy: this.#d.ctx.options.proxy } : {}),
        },
      );
      announcer.start();
      ac.signal.addEventListener('abort', () => void announcer.close(), { once: true });
    }
    const dht = this.#d.ctx.dht;
    if (dht !== undefined) {
      void (async () => {
        while (!ac.signal.aborted) {
          // Peers announced to our own node: a lookup never asks the node it runs on, and a
          // small DHT's store for this hash may well be us.
          for (const p of dht.storedPeers(infoHash)) fetcher.addPeer(p.host, p.port, 'dht');
          try {
            if (this.#d.ctx.listenPort() > 0) {
              // Announce while fetching (as libtorrent does): the swarm can find us, and the
              // lookup part yields its peers.
              const r = await dht.announce(infoHash, this.#d.ctx.listenPort(), { signal: ac.signal });
              for (const p of r.peers) fetcher.addPeer(p.host, p.port, 'dht');
            } else {
              for await (const ev of dht.getPeers(infoHash, { signal: ac.signal })) {
                if (ev.type === 'peers') for (const p of ev.peers) fetcher.addPeer(p.host, p.port, 'dht');
              }
            }
          } catch {
            if (ac.signal.aborted) return;
          }
          await abortableDelay(MAGNET_DHT_RETRY_MS, ac.signal);
        }
      })();
    }
  }
}
