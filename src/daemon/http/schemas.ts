/**
 * JSON schemas of the API: request validation (every body, query string and path parameter),
 * response serialisation, and the OpenAPI document (`/api/v1/openapi.json`), which names the
 * schemas listed in {@link NAMED_SCHEMAS}. They mirror the types of `../api-types.ts`.
 *
 * Bodies are validated strictly: unknown properties are refused (`additionalProperties: false`)
 * and types are not coerced. Query strings and path parameters are strings, checked by pattern.
 */
import {
  MAX_API_PATH_LENGTH,
  MAX_API_URL_LENGTH,
  MAX_MAGNET_LENGTH,
  MAX_TORRENT_FILES,
} from '../../shared/limits.js';
import { TORRENT_STATES } from '../api-types.js';
import { ProxySettingSchema, SETTING_SCHEMAS, SettingsBody } from '../settings.js';
import { TorrentOptionsBody } from '../torrent-options.js';

export { MAX_RATE_LIMIT } from '../settings.js';
export { SettingsBody, TorrentOptionsBody };

export type JsonSchema = { readonly [key: string]: unknown };

const str = { type: 'string' } as const;
const uint = { type: 'integer', minimum: 0 } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const nullable = (type: 'string' | 'number' | 'integer') => ({ type: [type, 'null'] }) as const;

export const TorrentId: JsonSchema = {
  type: 'string',
  pattern: '^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$',
  description: 'v1 info-hash (40 hex digits) or v2 info-hash (64 hex digits)',
};

export const IdParams: JsonSchema = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: TorrentId },
};

export const ErrorBody: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable machine-readable code, SHOAL_ERR_*' },
        message: { type: 'string', description: 'one human-readable sentence' },
      },
    },
  },
};

const Priority = { type: 'integer', enum: [0, 1, 2], description: '0 skip, 1 normal, 2 high' } as const;

const PeerAddress: JsonSchema = {
  type: 'object',
  required: ['host', 'port'],
  additionalProperties: false,
  properties: {
    host: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: '^(?:[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+)$',
      description: 'IPv4, IPv6 (no brackets) or host name',
    },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
  },
};

const addOptionProps = {
  downloadDir: {
    type: 'string',
    minLength: 1,
    maxLength: MAX_API_PATH_LENGTH,
    description: 'folder inside an allowed folder; relative paths are below the default download folder',
  },
  paused: { type: 'boolean', description: 'add without starting' },
  filePriorities: {
    type: 'array',
    maxItems: MAX_TORRENT_FILES,
    items: Priority,
    description:
      'one priority per file of the torrent, in torrent order, padding files not counted (the file list numbering)',
  },
  peers: {
    type: 'array',
    maxItems: 200,
    items: PeerAddress,
    description: 'peers to try at once and after every restart',
  },
} as const;

export const AddTorrentJson: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'exactly one of torrent, magnet or url',
  oneOf: [{ required: ['torrent'] }, { required: ['magnet'] }, { required: ['url'] }],
  properties: {
    torrent: {
      type: 'string',
      minLength: 1,
      pattern: '^[A-Za-z0-9+/_-]*={0,2}$',
      description: 'the .torrent file, base64',
    },
    magnet: {
      type: 'string',
      minLength: 8,
      maxLength: MAX_MAGNET_LENGTH,
      description: 'magnet URI (BEP 9, BEP 52)',
    },
    url: {
      type: 'string',
      minLength: 8,
      maxLength: MAX_API_URL_LENGTH,
      pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
      description: 'http(s) URL of a .torrent file, fetched by the daemon',
    },
    ...addOptionProps,
  },
};

/** Query string of a raw `application/x-bittorrent` upload. */
export const AddTorrentQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    downloadDir: addOptionProps.downloadDir,
    paused: { type: 'string', enum: ['true', 'false', '1', '0'] },
  },
};

export const DeleteQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    deleteData: {
      type: 'string',
      enum: ['true', 'false', '1', '0'],
      description: "also delete the torrent's files (only inside its download folder)",
    },
  },
};

export const PrioritiesBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'either `priorities` (every file) or `files` + `priority`',
  oneOf: [{ required: ['priorities'] }, { required: ['files', 'priority'] }],
  properties: {
    priorities: { type: 'array', maxItems: MAX_TORRENT_FILES, items: Priority },
    files: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_TORRENT_FILES,
      items: { type: 'integer', minimum: 0 },
    },
    priority: Priority,
  },
};

export const AddPeerBody: JsonSchema = PeerAddress;

/** Body of `POST /api/v1/torrents/:id/queue`. */
export const MoveBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['downloadDir'],
  properties: {
    downloadDir: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_API_PATH_LENGTH,
      description: 'the new folder, inside the allowed folders (relative: below the download folder)',
    },
  },
};

export const QueueBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'either `move` or `position`',
  oneOf: [{ required: ['move'] }, { required: ['position'] }],
  properties: {
    move: {
      type: 'string',
      enum: ['up', 'down', 'top', 'bottom'],
      description: 'one place up or down, or to the top or the bottom of the queue',
    },
    position: { type: 'integer', minimum: 0, description: 'the new place, 0 first (clamped to the last)' },
  },
};

export const AuthBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: { type: 'string', minLength: 1, maxLength: 256 } },
};

export const StreamParams: JsonSchema = {
  type: 'object',
  required: ['id', 'file'],
  additionalProperties: false,
  properties: {
    id: TorrentId,
    file: {
      type: 'string',
      pattern: '^[0-9]{1,7}$',
      description: 'file number (padding files not counted), as in the file list',
    },
  },
};

export const StreamQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    download: { type: 'string', enum: ['true', 'false', '1', '0'], description: 'serve as an attachment' },
    token: { type: 'string', maxLength: 256, description: 'API token, for players that cannot send headers' },
  },
};

export const EventsQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    token: { type: 'string', maxLength: 256, description: 'API token (EventSource cannot send headers)' },
    snapshots: {
      type: 'string',
      enum: ['true', 'false', '1', '0'],
      description: 'send the periodic `snapshot` event (default true)',
    },
  },
};

// ------------------------------------------------------------------ responses

export const TorrentState: JsonSchema = { type: 'string', enum: [...TORRENT_STATES] };

export const TorrentSummary: JsonSchema = {
  type: 'object',
  required: ['id', 'name', 'state', 'progress'],
  properties: {
    id: str,
    infoHashV1: nullable('string'),
    infoHashV2: nullable('string'),
    name: str,
    state: TorrentState,
    error: nullable('string'),
    size: uint,
    wantedBytes: uint,
    doneBytes: uint,
    progress: { type: 'number', minimum: 0, maximum: 1 },
    downloadRate: { ...uint, description: 'bytes/s' },
    uploadRate: { ...uint, description: 'bytes/s' },
    downloadedBytes: uint,
    uploadedBytes: uint,
    ratio: num,
    eta: { ...nullable('integer'), description: 'seconds; null when unknown' },
    peerCount: uint,
    seedCount: uint,
    pieceCount: uint,
    haveCount: uint,
    downloadDir: str,
    addedAt: { ...uint, description: 'ms since the epoch' },
    completedAt: nullable('integer'),
    hasMetadata: bool,
    queuePosition: { ...uint, description: 'place in the queue, 0 first' },
  },
};

export const FileInfo: JsonSchema = {
  type: 'object',
  properties: {
    index: uint,
    path: str,
    length: uint,
    doneBytes: uint,
    progress: num,
    priority: Priority,
    streamUrl: str,
  },
};

export const PeerInfo: JsonSchema = {
  type: 'object',
  properties: {
    address: str,
    client: nullable('string'),
    downloadRate: uint,
    uploadRate: uint,
    downloadedBytes: uint,
    uploadedBytes: uint,
    progress: num,
    flags: str,
    outgoing: bool,
    isSeed: bool,
    amChoking: bool,
    amInterested: bool,
    peerChoking: bool,
    peerInterested: bool,
    transport: { ...str, description: 'what carries the connection: tcp, utp, webrtc, socks5 …' },
    encrypted: { ...bool, description: 'MSE/PE RC4' },
  },
};

export const PeerEvent: JsonSchema = {
  type: 'object',
  properties: {
    at: { ...uint, description: 'ms since the epoch' },
    type: {
      type: 'string',
      enum: ['connected', 'disconnected', 'refused', 'hash-failed', 'banned', 'holepunch'],
    },
    address: str,
    reason: nullable('string'),
    client: nullable('string'),
    transport: nullable('string'),
    encrypted: { type: ['boolean', 'null'] },
  },
};

export const PeerLog: JsonSchema = {
  type: 'object',
  properties: { entries: { type: 'array', items: PeerEvent } },
};

export const Ban: JsonSchema = {
  type: 'object',
  properties: { address: str, reason: str, at: { ...uint, description: 'ms since the epoch' } },
};

export const NetworkInfo: JsonSchema = {
  type: 'object',
  properties: {
    externalAddress: nullable('string'),
    externalAddressSource: { type: ['string', 'null'], enum: ['router', 'peers', 'dht', null] },
    externalAddress6: nullable('string'),
    externalPort: uint,
    portMapping: {
      type: ['object', 'null'],
      properties: {
        state: { type: 'string', enum: ['starting', 'mapped', 'failed', 'closed'] },
        method: { type: 'string', enum: ['pcp', 'natpmp', 'upnp'] },
        gateway: str,
        externalIp: str,
        mappings: {
          type: 'array',
          items: {
            type: 'object',
            properties: { protocol: str, internalPort: uint, externalPort: uint, lifetimeSeconds: uint },
          },
        },
        errors: { type: 'array', items: str },
      },
    },
  },
};

export const BanList: JsonSchema = { type: 'object', properties: { bans: { type: 'array', items: Ban } } };

export const TorrentOptions: JsonSchema = {
  type: 'object',
  properties: {
    downloadLimit: { ...uint, description: 'bytes/s, 0 = only the global limit' },
    uploadLimit: { ...uint, description: 'bytes/s, 0 = only the global limit' },
    priority: { type: 'string', enum: ['low', 'normal', 'high'] },
    seedRatioLimit: { type: ['number', 'null'], description: "null: the daemon's setting" },
    seedIdleLimitMinutes: { type: ['integer', 'null'], description: "null: the daemon's setting" },
  },
};

export const TrackerInfo: JsonSchema = {
  type: 'object',
  properties: {
    url: str,
    tier: uint,
    status: str,
    message: nullable('string'),
    peers: nullable('integer'),
    seeders: nullable('integer'),
    leechers: nullable('integer'),
    lastAnnounceAt: nullable('integer'),
    nextAnnounceAt: nullable('integer'),
  },
};

export const WebSeedInfo: JsonSchema = {
  type: 'object',
  properties: {
    url: str,
    protocol: { type: 'string', enum: ['bep19', 'bep17'] },
    state: { type: 'string', enum: ['idle', 'active', 'backing-off', 'dropped'] },
    downloadRate: uint,
    downloadedBytes: uint,
    requestsInFlight: uint,
    errors: uint,
    lastError: nullable('string'),
    reason: nullable('string'),
    retryInMs: nullable('integer'),
  },
};

export const PiecesInfo: JsonSchema = {
  type: 'object',
  properties: {
    pieceCount: uint,
    haveCount: uint,
    pieceLength: uint,
    bitfield: { type: 'string', description: 'base64 BEP 3 bitfield; bit 7 of byte 0 is piece 0' },
  },
};

export const TorrentDetails: JsonSchema = {
  type: 'object',
  properties: {
    ...(TorrentSummary.properties as Record<string, unknown>),
    version: { type: ['string', 'null'], enum: ['v1', 'v2', 'hybrid', null] },
    pieceLength: uint,
    isPrivate: bool,
    comment: nullable('string'),
    createdBy: nullable('string'),
    creationDate: nullable('integer'),
    magnet: nullable('string'),
    wastedBytes: uint,
    hashFailures: uint,
    files: { type: 'array', items: FileInfo },
    peers: { type: 'array', items: PeerInfo },
    trackers: { type: 'array', items: TrackerInfo },
    webSeeds: { type: 'array', items: WebSeedInfo },
    pieces: PiecesInfo,
    options: TorrentOptions,
  },
};

export const TorrentList: JsonSchema = {
  type: 'object',
  properties: { torrents: { type: 'array', items: TorrentSummary } },
};

export const TorrentEnvelope: JsonSchema = {
  type: 'object',
  properties: { torrent: TorrentSummary },
};

export const AddResult: JsonSchema = {
  type: 'object',
  properties: { created: bool, torrent: TorrentSummary },
};

export const RemoveResult: JsonSchema = {
  type: 'object',
  properties: {
    id: str,
    deletedFiles: uint,
    skippedFiles: {
      type: 'array',
      items: { type: 'object', properties: { path: str, reason: str } },
    },
  },
};

export const BlocklistInfo: JsonSchema = {
  type: 'object',
  properties: {
    path: nullable('string'),
    ranges: uint,
    malformed: uint,
    loadedAt: nullable('integer'),
    error: nullable('string'),
  },
};

/** The settings as `GET /api/v1/settings` shows them: the proxy without its password. */
export const Settings: JsonSchema = {
  type: 'object',
  properties: {
    ...SETTING_SCHEMAS,
    proxy: {
      type: ['object', 'null'],
      properties: {
        host: str,
        port: uint,
        username: nullable('string'),
        hasPassword: bool,
        onlyProxy: bool,
      },
    },
    downloadDir: str,
    allowedDirs: { type: 'array', items: str },
    peerPort: uint,
    blocklist: BlocklistInfo,
    restartRequired: {
      ...bool,
      description: 'a setting that applies only at start (the proxy) differs from what runs',
    },
  },
};

export const SessionStats: JsonSchema = {
  type: 'object',
  properties: {
    downloadRate: uint,
    uploadRate: uint,
    downloadedBytes: uint,
    uploadedBytes: uint,
    sessionDownloadedBytes: uint,
    sessionUploadedBytes: uint,
    torrentCount: uint,
    torrentsByState: {
      type: 'object',
      properties: Object.fromEntries(TORRENT_STATES.map((s) => [s, uint])),
    },
    peerCount: uint,
    connectionCount: uint,
    hashFailures: uint,
    wastedBytes: uint,
    dhtNodes: nullable('integer'),
    hashThreads: uint,
    peerPort: uint,
    uptimeSeconds: uint,
    version: str,
  },
};

export const AuthStatus: JsonSchema = {
  type: 'object',
  properties: {
    required: { ...bool, description: 'whether API calls need the token' },
    authenticated: { ...bool, description: 'whether this request carried a valid token' },
  },
};

export const FileList: JsonSchema = {
  type: 'object',
  properties: { files: { type: 'array', items: FileInfo } },
};
export const PeerList: JsonSchema = {
  type: 'object',
  properties: { peers: { type: 'array', items: PeerInfo } },
};
export const TrackerList: JsonSchema = {
  type: 'object',
  properties: { trackers: { type: 'array', items: TrackerInfo } },
};

/** Schemas published under `components.schemas` of the OpenAPI document (matched by identity). */
export const NAMED_SCHEMAS: ReadonlyMap<JsonSchema, string> = new Map<JsonSchema, string>([
  [ErrorBody, 'Error'],
  [TorrentSummary, 'TorrentSummary'],
  [TorrentDetails, 'TorrentDetails'],
  [FileInfo, 'FileInfo'],
  [PeerInfo, 'PeerInfo'],
  [TrackerInfo, 'TrackerInfo'],
  [WebSeedInfo, 'WebSeedInfo'],
  [PiecesInfo, 'PiecesInfo'],
  [Settings, 'Settings'],
  [SessionStats, 'SessionStats'],
  [AddTorrentJson, 'AddTorrentRequest'],
  [AddResult, 'AddTorrentResult'],
  [RemoveResult, 'RemoveResult'],
  [PrioritiesBody, 'FilePrioritiesRequest'],
  [SettingsBody, 'SettingsUpdate'],
  [ProxySettingSchema, 'ProxySetting'],
  [TorrentOptionsBody, 'TorrentOptionsUpdate'],
  [TorrentOptions, 'TorrentOptions'],
  [QueueBody, 'QueueMove'],
  [MoveBody, 'MoveBody'],
  [PeerEvent, 'PeerEvent'],
  [Ban, 'Ban'],
  [BlocklistInfo, 'BlocklistInfo'],
  [PeerAddress, 'PeerAddress'],
  [TorrentState, 'TorrentState'],
]);
