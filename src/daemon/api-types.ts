/**
 * The JSON shapes of the daemon's HTTP API (`/api/v1`), shared by the server, the CLI remote
 * client and the web dashboard. The JSON schemas in `http/schemas.ts` describe the same shapes
 * (and are what `/api/v1/openapi.json` publishes). Rates are bytes/s, sizes bytes, times ms since
 * the Unix epoch unless a name says otherwise.
 */

/**
 * A torrent's state as the daemon shows it:
 * - `queued`: waiting to be started (the daemon is restoring its state);
 * - `metadata`: a magnet whose info dictionary is being fetched from peers (BEP 9);
 * - `checking`: data on disk is being verified;
 * - `downloading`, `seeding`: running;
 * - `paused`: stopped by the user, data kept;
 * - `error`: stopped by an error (see `error`).
 */
export type TorrentStateName =
  | 'queued'
  | 'metadata'
  | 'checking'
  | 'downloading'
  | 'seeding'
  | 'paused'
  | 'error';

/** All values of {@link TorrentStateName}. */
export const TORRENT_STATES: readonly TorrentStateName[] = [
  'queued',
  'metadata',
  'checking',
  'downloading',
  'seeding',
  'paused',
  'error',
];

/** One row of the torrent list. */
export interface TorrentSummary {
  /** Hex v1 info-hash, else v2: the id used in every URL. */
  readonly id: string;
  readonly infoHashV1: string | null;
  readonly infoHashV2: string | null;
  readonly name: string;
  readonly state: TorrentStateName;
  /** Why the torrent is in `error`, else null. */
  readonly error: string | null;
  /** Payload size (padding files not counted); 0 until a magnet's metadata arrives. */
  readonly size: number;
  /** Bytes of the files not skipped. */
  readonly wantedBytes: number;
  /** Verified bytes of the wanted files. */
  readonly doneBytes: number;
  /** `doneBytes / wantedBytes`, 0..1. */
  readonly progress: number;
  readonly downloadRate: number;
  readonly uploadRate: number;
  /** Payload bytes received over the torrent's life (kept across restarts). */
  readonly downloadedBytes: number;
  /** Payload bytes sent over the torrent's life (kept across restarts). */
  readonly uploadedBytes: number;
  /** `uploadedBytes / downloadedBytes` (0 when nothing was downloaded). */
  readonly ratio: number;
  /** Seconds to completion at the current rate; 0 when complete, null when unknown. */
  readonly eta: number | null;
  /** Connected peers (while fetching a magnet's metadata: connections asked for it). */
  readonly peerCount: number;
  /** Connected peers that have every piece. */
  readonly seedCount: number;
  readonly pieceCount: number;
  readonly haveCount: number;
  readonly downloadDir: string;
  readonly addedAt: number;
  readonly completedAt: number | null;
  readonly hasMetadata: boolean;
}

/** One file of a torrent (padding files are never listed; `index` is the file's index in the torrent). */
export interface FileInfo {
  /**
   * The file number: files in torrent order from 0, BEP 47 padding files left out and not
   * counted (as `shoal info` shows them). File priorities and `/stream/<id>/<index>` use it.
   */
  readonly index: number;
  /** Path below the download folder, `/`-separated. */
  readonly path: string;
  readonly length: number;
  /** Verified bytes of the file. */
  readonly doneBytes: number;
  /** 0..1 */
  readonly progress: number;
  /** 0 skip, 1 normal, 2 high. */
  readonly priority: number;
  /** URL path streaming the file (`/stream/<id>/<index>`). */
  readonly streamUrl: string;
}

/** One connected peer. */
export interface PeerInfo {
  /** `ip:port`. */
  readonly address: string;
  /** Client name and version from the peer id or the extended handshake, if known. */
  readonly client: string | null;
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
  /** Share of the pieces the peer has, 0..1. */
  readonly progress: number;
  /**
   * qBittorrent-style flags: `D` downloading from it, `d` interested but choked, `U` uploading to
   * it, `u` it is interested but we choke it, `O` optimistic unchoke, `S` snubbed, `I` incoming,
   * `E` seed.
   */
  readonly flags: string;
  /** What carries the connection: `tcp`, `utp`, `webrtc`, `socks5` (a proxied TCP stream) … */
  readonly transport: string;
  readonly outgoing: boolean;
  readonly isSeed: boolean;
  readonly amChoking: boolean;
  readonly amInterested: boolean;
  readonly peerChoking: boolean;
  readonly peerInterested: boolean;
}

/** A tracker of the torrent (BEP 12 tier order). */
export interface TrackerInfo {
  readonly url: string;
  readonly tier: number;
  /** `not-contacted` until the tracker client reports. */
  readonly status: string;
  readonly message: string | null;
  readonly peers: number | null;
  readonly seeders: number | null;
  readonly leechers: number | null;
  readonly lastAnnounceAt: number | null;
  readonly nextAnnounceAt: number | null;
}

/** Which pieces are verified. */
export interface PiecesInfo {
  readonly pieceCount: number;
  readonly haveCount: number;
  readonly pieceLength: number;
  /** Base64 of the BEP 3 bitfield (bit 7 of byte 0 is piece 0). */
  readonly bitfield: string;
}

/** Everything about one torrent. */
export interface TorrentDetails extends TorrentSummary {
  readonly version: 'v1' | 'v2' | 'hybrid' | null;
  readonly pieceLength: number;
  readonly isPrivate: boolean;
  readonly comment: string | null;
  readonly createdBy: string | null;
  /** Seconds since the epoch, from the .torrent. */
  readonly creationDate: number | null;
  readonly magnet: string | null;
  readonly wastedBytes: number;
  readonly hashFailures: number;
  readonly files: readonly FileInfo[];
  readonly peers: readonly PeerInfo[];
  readonly trackers: readonly TrackerInfo[];
  readonly pieces: PiecesInfo;
}

/** Settings changeable at run time (`PUT /api/v1/settings`). */
export interface SettingsInfo {
  /** Global download limit, bytes/s; 0 = unlimited. */
  readonly downloadRateLimit: number;
  /** Global upload limit, bytes/s; 0 = unlimited. */
  readonly uploadRateLimit: number;
  /** Read-only: the default download folder. */
  readonly downloadDir: string;
  /** Read-only: folders a request may name as `downloadDir`. */
  readonly allowedDirs: readonly string[];
  /** Read-only: the TCP port peers connect to. */
  readonly peerPort: number;
}

/** Session-wide statistics (`GET /api/v1/stats`). */
export interface SessionStatsInfo {
  readonly downloadRate: number;
  readonly uploadRate: number;
  /** Sum of the torrents' lifetime downloaded bytes. */
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
  /** Payload bytes received and sent by this daemon process (never decreases). */
  readonly sessionDownloadedBytes: number;
  readonly sessionUploadedBytes: number;
  readonly torrentCount: number;
  readonly torrentsByState: Readonly<Record<TorrentStateName, number>>;
  readonly peerCount: number;
  /** Open peer connections (both directions). */
  readonly connectionCount: number;
  readonly hashFailures: number;
  readonly wastedBytes: number;
  /** DHT routing-table nodes, null while the node runs no DHT. */
  readonly dhtNodes: number | null;
  readonly peerPort: number;
  readonly uptimeSeconds: number;
  readonly version: string;
}

/** The periodic `snapshot` event of `/api/v1/events`. */
export interface SnapshotEvent {
  readonly stats: SessionStatsInfo;
  readonly torrents: readonly TorrentSummary[];
}

/** Answer of `POST /api/v1/torrents`. */
export interface AddTorrentResult {
  /** False when the torrent was already there (nothing changed). */
  readonly created: boolean;
  readonly torrent: TorrentSummary;
}

/** Answer of `DELETE /api/v1/torrents/:id`. */
export interface RemoveResult {
  readonly id: string;
  readonly deletedFiles: number;
  readonly skippedFiles: readonly { readonly path: string; readonly reason: string }[];
}

/** The body of every error answer. */
export interface ApiErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}
