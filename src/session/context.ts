import type { DhtRuntime, Lsd, UdpTrackerSocket } from '../discovery/index.js';
import type { Metainfo } from '../metainfo/index.js';
import type { AddressHints, PeerPool } from '../net/peer-pool.js';
import type { WebRtc } from '../net/webrtc-transport.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';
import type { Handshake } from '../wire/index.js';
import type { FreeSpace } from './disk.js';
import type { NetworkStatus } from './network-status.js';
import type { ResolvedOptions } from './options.js';
import type { OpenedStream } from './peers/connector.js';
import type { BandwidthPriority } from './upload-gate.js';

/** What a torrent runtime needs from its session (a narrow view, not the Session itself). */
export interface SessionContext {
  readonly options: ResolvedOptions;
  readonly peerId: Uint8Array;
  /** Monotonic clock, ms. */
  now(): number;
  /** The TCP port peers can reach us on (0 when not listening). */
  listenPort(): number;
  /** The session's peer pool: addresses, limits and bans for every torrent. */
  readonly pool: PeerPool;
  /**
   * The one dial path: opens a BitTorrent connection to `host:port` (the session's transports
   * and encryption policy) and sends `handshake`.
   */
  connectPeer(
    host: string,
    port: number,
    handshake: Handshake,
    hints: AddressHints,
    signal?: AbortSignal,
  ): Promise<OpenedStream>;
  /** Accounts received bytes against the global download limit; returns ms to pause reading. */
  throttleDown(bytes: number): number;
  /**
   * Takes upload tokens for `bytes`, first come first served: undefined when taken at once, else
   * a promise that resolves when they were granted in turn, or without them once `cancelled()`
   * is true or the session closes (see UploadGate).
   */
  acquireUp(bytes: number, cancelled: () => boolean, priority?: BandwidthPriority): Promise<void> | undefined;
  /** The session's DHT, when enabled. */
  readonly dht: DhtRuntime | undefined;
  /**
   * WebRTC (data channels): undefined when turned off or its library is missing. The library is
   * loaded on the first call (a torrent with a `ws://` tracker), so a node without WebRTC peers
   * never pays its memory.
   */
  webrtc(): Promise<WebRtc | undefined>;
  /** The session's local service discovery, when enabled. */
  readonly lsd: Lsd | undefined;
  /** The session's seed limits now (they may change after the session started). */
  seedLimits(): { readonly ratio?: number; readonly idleMs?: number };
  /** A storage for `metainfo`'s files under `downloadDir` (the session's file and hash pools). */
  openStorage(metainfo: Metainfo, downloadDir: string): TorrentStorage;
  /** Free bytes on a folder's file system (statfs; tests may give their own). */
  readonly freeSpace: FreeSpace;
  /** Closes the session's handle of a file, if open (before it is moved). */
  closeFile(path: string): Promise<void>;
  /** Our external address: peers' BEP 10 `yourip` votes go to it, our handshakes read it. */
  readonly network?: NetworkStatus;
  /** The session's shared UDP tracker socket (opened on first use). */
  udpTrackerSocket(): UdpTrackerSocket;
}
