/** The node-wide statistics of `GET /api/v1/stats` and the `snapshot` event. */
import type { Session } from '../session/index.js';
import type { NetworkInfo, SessionStatsInfo, TorrentStateName } from './api-types.js';
import { TORRENT_STATES } from './api-types.js';
import { DAEMON_VERSION } from './daemon-events.js';
import type { TorrentEntry } from './torrent-entry.js';

/** The DHT's routing-table node count, null when the session runs no DHT. */
export function dhtNodeCount(session: Pick<Session, 'dhtStats'>): number | null {
  return session.dhtStats()?.nodes ?? null;
}

/** `GET /api/v1/network`: the external address and the port-mapping status. */
export function networkInfo(
  session: Pick<Session, 'externalAddress' | 'portMapping' | 'network'>,
): NetworkInfo {
  return {
    externalAddress: session.externalAddress(4) ?? null,
    externalAddressSource: session.network.source(4) ?? null,
    externalAddress6: session.externalAddress(6) ?? null,
    externalPort: session.network.port(),
    portMapping: session.portMapping() ?? null,
  };
}

/** What {@link nodeStats} reads besides the torrents. */
export interface NodeStatsSource {
  readonly session: Pick<Session, 'connectionCount' | 'port' | 'dhtStats' | 'hashPool'>;
  /** Payload bytes of torrents that left the session during this process. */
  readonly goneDownloaded: number;
  readonly goneUploaded: number;
  /** ms since the epoch. */
  readonly startedAt: number;
}

/** Rates, totals, torrents by state and peers over every torrent the daemon keeps. */
export function nodeStats(entries: Iterable<TorrentEntry>, src: NodeStatsSource): SessionStatsInfo {
  const byState = Object.fromEntries(TORRENT_STATES.map((s) => [s, 0])) as Record<TorrentStateName, number>;
  let downloadRate = 0;
  let uploadRate = 0;
  let downloaded = 0;
  let uploaded = 0;
  let sessionDown = src.goneDownloaded;
  let sessionUp = src.goneUploaded;
  let peers = 0;
  let hashFailures = 0;
  let wasted = 0;
  let count = 0;
  for (const e of entries) {
    count++;
    const state = e.state;
    byState[state]++;
    const t = e.torrent;
    if (t !== undefined && state !== 'checking') {
      const s = e.stats()!;
      downloadRate += s.downloadRate;
      uploadRate += s.uploadRate;
      downloaded += s.totalDownloaded;
      uploaded += s.totalUploaded;
      sessionDown += s.downloadedBytes;
      sessionUp += s.uploadedBytes;
      peers += s.peerCount;
      hashFailures += s.hashFailures;
      wasted += s.wastedBytes;
    } else if (e.snapshot !== undefined) {
      downloaded += e.snapshot.downloaded;
      uploaded += e.snapshot.uploaded;
    }
  }
  return {
    downloadRate: Math.round(downloadRate),
    uploadRate: Math.round(uploadRate),
    downloadedBytes: downloaded,
    uploadedBytes: uploaded,
    sessionDownloadedBytes: sessionDown,
    sessionUploadedBytes: sessionUp,
    torrentCount: count,
    torrentsByState: byState,
    peerCount: peers,
    connectionCount: src.session.connectionCount,
    hashFailures,
    wastedBytes: wasted,
    dhtNodes: dhtNodeCount(src.session),
    hashThreads: src.session.hashPool.liveThreads,
    peerPort: src.session.port,
    uptimeSeconds: Math.floor((Date.now() - src.startedAt) / 1000),
    version: DAEMON_VERSION,
  };
}
