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
  /**
   * Place in the daemon's queue, 0 first: with `maxActiveDownloads` / `maxActiveSeeds`, the
   * first torrents of each kind run and the others wait (`queued`).
   */
  readonly queuePosition: number;
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
  /** The connection is encrypted (MSE/PE RC4). */
  readonly encrypted: boolean;
}

/** What happened to a peer (`GET /api/v1/torrents/:id/peer-log`). */
export type PeerEventType = 'connected' | 'disconnected' | 'refused' | 'hash-failed' | 'banned' | 'holepunch';

/** One entry of a torrent's peer log: connects, disconnects, refusals, hash failures and bans. */
export interface PeerEventInfo {
  /** ms since the epoch. */
  readonly at: number;
  readonly type: PeerEventType;
  /** `ip:port`, or the address alone for a ban; for a hash failure, the senders of the piece. */
  readonly address: string;
  /** Why: a disconnect or refusal reason, a ban's evidence, the failed piece. */
  readonly reason: string | null;
  readonly client: string | null;
  readonly transport: string | null;
  readonly encrypted: boolean | null;
}

/** An address banned for the whole node (`GET /api/v1/bans`). */
export interface BanInfo {
  readonly address: string;
  /** The evidence (a piece it alone sent failed, a block that differed, …). */
  readonly reason: string;
  /** ms since the epoch. */
  readonly at: number;
}

/** A torrent's bandwidth priority under the global limits. */
export type BandwidthPriorityName = 'low' | 'normal' | 'high';

/** A torrent's own limits (`PATCH /api/v1/torrents/:id`). */
export interface TorrentOptionsInfo {
  /** The torrent's own download limit, bytes/s; 0 = only the global limit. */
  readonly downloadLimit: number;
  /** The torrent's own upload limit, bytes/s; 0 = only the global limit. */
  readonly uploadLimit: number;
  /** Its share of the global limits: `high` goes first, `low` last. */
  readonly priority: BandwidthPriorityName;
  /** Seeding stops (the torrent pauses) at this ratio; 0 = never; null = the daemon's setting. */
  readonly seedRatioLimit: number | null;
  /** Seeding stops after this many idle minutes; 0 = never; null = the daemon's setting. */
  readonly seedIdleLimitMinutes: number | null;
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

/** A web seed (an HTTP origin, BEP 19 / BEP 17) of the torrent: a source beside its peers. */
export interface WebSeedApiInfo {
  readonly url: string;
  /** `bep19` (`url-list`, `ws=`, added ones) or `bep17` (`httpseeds`). */
  readonly protocol: 'bep19' | 'bep17';
  /** `idle` (not in use: the torrent is paused or complete), `active`, `backing-off` or `dropped`. */
  readonly state: 'idle' | 'active' | 'backing-off' | 'dropped';
  readonly downloadRate: number;
  /** Useful bytes received from it since the torrent started. */
  readonly downloadedBytes: number;
  readonly requestsInFlight: number;
  /** Failed requests since the torrent started. */
  readonly errors: number;
  readonly lastError: string | null;
  /** Why it was dropped (a ban's evidence, an HTTP status, repeated failures). */
  readonly reason: string | null;
  /** ms until it is asked again, while backing off. */
  readonly retryInMs: number | null;
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
  readonly webSeeds: readonly WebSeedApiInfo[];
  readonly pieces: PiecesInfo;
  /** Its own limits, priority and seed limits. */
  readonly options: TorrentOptionsInfo;
}

/** Encryption policy of peer connections (MSE/PE). */
export type EncryptionSetting = 'disabled' | 'enabled' | 'prefer' | 'require';
/** What becomes of a .torrent the watch folder added: renamed `<name>.added`, or deleted. */
export type WatchDirAction = 'rename' | 'delete';

/** A SOCKS5 proxy for peers and trackers, as it is set. */
export interface ProxySetting {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  /** Write-only: never sent back. */
  readonly password?: string;
  /** The DHT and local discovery stay off, as they would bypass the proxy. @default true */
  readonly onlyProxy?: boolean;
}

/** The daemon's settings (kept in `state.json`; `PUT /api/v1/settings` changes any of them). */
export interface DaemonSettings {
  /** Global download limit, bytes/s; 0 = unlimited. */
  readonly downloadRateLimit: number;
  /** Global upload limit, bytes/s; 0 = unlimited. */
  readonly uploadRateLimit: number;
  /** Torrents downloading at once; the others wait, queued, in queue order. 0 = no limit. @default 5 */
  readonly maxActiveDownloads: number;
  /** Complete torrents seeding at once; 0 = no limit. @default 0 */
  readonly maxActiveSeeds: number;
  /** Seeding torrents pause at this upload ratio; 0 = never (a torrent may set its own). */
  readonly seedRatioLimit: number;
  /** Seeding torrents pause after this many minutes without uploading; 0 = never. */
  readonly seedIdleLimitMinutes: number;
  /** MSE/PE policy of new peer connections. @default 'enabled' */
  readonly encryption: EncryptionSetting;
  /** An IP blocklist file (PeerGuardian .p2p, ipfilter.dat or CIDR lines); null = none. */
  readonly blocklistPath: string | null;
  /** SOCKS5 proxy for peers and trackers; null = direct. Takes effect at the next start. */
  readonly proxy: ProxySetting | null;
  /** A folder whose new .torrent files are added; null = none. */
  readonly watchDir: string | null;
  /** What becomes of a .torrent the watch folder added. @default 'rename' */
  readonly watchDirAction: WatchDirAction;
  /**
   * Torrents added from now on download here and move to their download folder once complete
   * (data already in the download folder stays there); null = none. @default null
   */
  readonly incompleteDir: string | null;
  /** `sparse` files, or `full`: space reserved when a torrent is added (a full disk fails it then). @default 'sparse' */
  readonly preallocation: 'sparse' | 'full';
}

/** The proxy as the API shows it: never the password. */
export interface ProxyInfo {
  readonly host: string;
  readonly port: number;
  readonly username: string | null;
  /** A password is stored (it is never sent back). */
  readonly hasPassword: boolean;
  readonly onlyProxy: boolean;
}

/** The IP blocklist in force. */
export interface BlocklistInfo {
  /** The file it was read from (the `blocklistPath` setting), null when none is set. */
  readonly path: string | null;
  /** Address ranges in force (after merging overlaps); 0 when none is loaded. */
  readonly ranges: number;
  /** Lines of the file that fit no format (skipped). */
  readonly malformed: number;
  /** ms since the epoch of the last successful load. */
  readonly loadedAt: number | null;
  /** Why the last load failed (the previous list, if any, stays in force). */
  readonly error: string | null;
}

/** The settings as `GET /api/v1/settings` shows them, with read-only facts of the node. */
export interface SettingsInfo extends Omit<DaemonSettings, 'proxy'> {
  readonly proxy: ProxyInfo | null;
  /** Read-only: the default download folder. */
  readonly downloadDir: string;
  /** Read-only: folders a request may name as `downloadDir`. */
  readonly allowedDirs: readonly string[];
  /** Read-only: the TCP port peers connect to. */
  readonly peerPort: number;
  /** Read-only: the blocklist in force. */
  readonly blocklist: BlocklistInfo;
  /** Read-only: a setting that applies only at start (the proxy) differs from what runs. */
  readonly restartRequired: boolean;
}

/** Session-wide statistics (`GET /api/v1/stats`). */
/** `GET /api/v1/network`: how the node is reachable. */
export interface NetworkInfo {
  /**
   * Our external IPv4 address, or null: the router's (port mapping) when it is public, else what
   * a majority of peers' BEP 10 `yourip` names, else the DHT's BEP 42 votes.
   */
  readonly externalAddress: string | null;
  /** Where {@link externalAddress} came from: `router`, `peers` or `dht`; null while unknown. */
  readonly externalAddressSource: 'router' | 'peers' | 'dht' | null;
  /** Our external IPv6 address (peers' `yourip` majority, else the DHT's votes), or null. */
  readonly externalAddress6: string | null;
  /** The TCP port peers dial: the router's mapped external port, else the listen port (0: none). */
  readonly externalPort: number;
  /** Port mapping (null when off): state, method, router, external address, mappings, last errors. */
  readonly portMapping: {
    readonly state: string;
    readonly method?: string;
    readonly gateway?: string;
    readonly externalIp?: string;
    readonly mappings: readonly {
      readonly protocol: string;
      readonly internalPort: number;
      readonly externalPort: number;
      readonly lifetimeSeconds: number;
    }[];
    readonly errors: readonly string[];
  } | null;
}

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
  /**
   * Hash threads alive: they check and write the received pieces. 0 with `lowMemory` (`shoal
   * daemon --low-memory`) until a task needs one (BEP 52 merkle roots, checking files).
   */
  readonly hashThreads: number;
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

/** One connected Bitcoin peer (`GET /api/v1/btc`). */
export interface BtcPeerInfo {
  readonly endpoint: string;
  readonly outgoing: boolean;
  readonly ready: boolean;
  readonly userAgent: string;
  /** Serves BIP 157/158 filters. */
  readonly filters: boolean;
  readonly bestHeight: number;
  readonly pingMs: number | null;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Headers are being downloaded from it. */
  readonly syncing: boolean;
}

/** One watched address or descriptor. */
export interface BtcWatchedInfo {
  readonly descriptor: string;
  readonly address: string | null;
  readonly label: string;
  readonly rescanFrom: number;
}

/** Balance in base units (satoshis), as decimal strings (64-bit values). */
export interface BtcBalanceInfo {
  readonly confirmed: string;
  readonly unconfirmed: string;
  readonly immature: string;
  readonly utxoCount: number;
}

/** `GET /api/v1/btc`: the daemon's Bitcoin light node. */
export interface BtcInfo {
  /** The library's network name (`bitcoin-regtest`, `litecoin-regtest`…). */
  readonly network: string;
  readonly tip: { readonly height: number; readonly hash: string; readonly time: number };
  /** Highest height a peer showed. */
  readonly bestKnownHeight: number;
  readonly synced: boolean;
  readonly headersCaughtUp: boolean;
  /** Height of the last filter header accepted (-1: none). */
  readonly filterHeaderHeight: number;
  /** Height up to which the wallet was scanned (-1: none). */
  readonly scannedHeight: number;
  readonly peers: readonly BtcPeerInfo[];
  readonly watched: readonly BtcWatchedInfo[];
  readonly balance: BtcBalanceInfo;
}

/** One wallet transaction (`GET /api/v1/btc/history`). */
export interface BtcHistoryInfo {
  readonly txid: string;
  /** What it changed the balance by, base units (decimal string, may be negative). */
  readonly delta: string;
  readonly height: number | null;
  readonly blockHash: string | null;
  readonly confirmations: number;
  /** Block time, else first seen; Unix seconds. */
  readonly time: number;
  readonly coinbase: boolean;
}
