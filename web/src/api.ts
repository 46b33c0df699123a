/**
 * A small typed client of the daemon's HTTP API (`/api/v1`, see `/api/v1/openapi.json`). Every
 * failure becomes an {@link ApiFailure} carrying the daemon's `{error: {code, message}}`.
 */
import type {
  AddTorrentResult,
  ApiErrorBody,
  BanInfo,
  BlocklistInfo,
  BtcHistoryInfo,
  BtcInfo,
  BtcWatchedInfo,
  DaemonSettings,
  FileInfo,
  NetworkInfo,
  PeerEventInfo,
  RemoveResult,
  SessionStatsInfo,
  SettingsInfo,
  TorrentDetails,
  TorrentOptionsInfo,
  TorrentSummary,
} from '../../src/daemon/api-types.js';

/** A change of some settings (`PUT /api/v1/settings`). */
export type SettingsUpdate = { -readonly [K in keyof DaemonSettings]?: DaemonSettings[K] };
/** A change of a torrent's own options; null seed limits follow the daemon's settings again. */
export type OptionsUpdate = { -readonly [K in keyof TorrentOptionsInfo]?: TorrentOptionsInfo[K] };
/** How a torrent moves in the queue. */
export type QueueMove = 'up' | 'down' | 'top' | 'bottom';

/** An API call that failed: HTTP status plus the daemon's error code and message. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiFailure';
    this.status = status;
    this.code = code;
  }
}

function isErrorBody(v: unknown): v is ApiErrorBody {
  if (typeof v !== 'object' || v === null) return false;
  const e = (v as { error?: unknown }).error;
  return typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string';
}

async function call<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      ...init,
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(init.headers as Record<string, string> | undefined) },
    });
  } catch (e) {
    throw new ApiFailure(0, 'NETWORK', `cannot reach the daemon (${(e as Error).message})`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    if (isErrorBody(body)) throw new ApiFailure(res.status, body.error.code, body.error.message);
    throw new ApiFailure(res.status, `HTTP_${res.status}`, text.slice(0, 200) || res.statusText);
  }
  return body as T;
}

const json = (body: unknown): RequestInit => ({
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const enc = encodeURIComponent;

/** Options for adding a torrent. */
export interface AddOptions {
  readonly paused?: boolean;
  readonly downloadDir?: string;
}

export const api = {
  authStatus: () => call<{ required: boolean; authenticated: boolean }>('GET', '/api/v1/auth'),
  login: (token: string) => call<undefined>('POST', '/api/v1/auth', json({ token })),
  logout: () => call<undefined>('DELETE', '/api/v1/auth'),

  list: () => call<{ torrents: TorrentSummary[] }>('GET', '/api/v1/torrents'),
  details: (id: string) => call<TorrentDetails>('GET', `/api/v1/torrents/${enc(id)}`),

  addMagnet: (magnet: string, o: AddOptions = {}) =>
    call<AddTorrentResult>('POST', '/api/v1/torrents', json({ magnet, ...o })),
  addUrl: (url: string, o: AddOptions = {}) =>
    call<AddTorrentResult>('POST', '/api/v1/torrents', json({ url, ...o })),
  /** Uploads a .torrent file as the raw body. */
  addFile: (bytes: ArrayBuffer, o: AddOptions = {}) => {
    const q = new URLSearchParams();
    if (o.paused === true) q.set('paused', 'true');
    if (o.downloadDir !== undefined) q.set('downloadDir', o.downloadDir);
    const qs = q.toString();
    return call<AddTorrentResult>('POST', `/api/v1/torrents${qs === '' ? '' : `?${qs}`}`, {
      headers: { 'content-type': 'application/x-bittorrent' },
      body: bytes,
    });
  },

  pause: (id: string) => call<{ torrent: TorrentSummary }>('POST', `/api/v1/torrents/${enc(id)}/pause`),
  resume: (id: string) => call<{ torrent: TorrentSummary }>('POST', `/api/v1/torrents/${enc(id)}/resume`),
  verify: (id: string) => call<{ torrent: TorrentSummary }>('POST', `/api/v1/torrents/${enc(id)}/verify`),
  remove: (id: string, deleteData: boolean) =>
    call<RemoveResult>('DELETE', `/api/v1/torrents/${enc(id)}?deleteData=${deleteData ? 'true' : 'false'}`),

  setFilePriority: (id: string, files: readonly number[], priority: number) =>
    call<{ files: FileInfo[] }>('PATCH', `/api/v1/torrents/${enc(id)}/files`, json({ files, priority })),

  setOptions: (id: string, o: OptionsUpdate) =>
    call<TorrentDetails>('PATCH', `/api/v1/torrents/${enc(id)}`, { ...json(o) }),
  move: (id: string, move: QueueMove) =>
    call<{ torrent: TorrentSummary }>('POST', `/api/v1/torrents/${enc(id)}/queue`, json({ move })),
  peerLog: (id: string) => call<{ entries: PeerEventInfo[] }>('GET', `/api/v1/torrents/${enc(id)}/peer-log`),
  bans: () => call<{ bans: BanInfo[] }>('GET', '/api/v1/bans'),

  settings: () => call<SettingsInfo>('GET', '/api/v1/settings'),
  updateSettings: (s: SettingsUpdate) => call<SettingsInfo>('PUT', '/api/v1/settings', json(s)),
  reloadBlocklist: () => call<BlocklistInfo>('POST', '/api/v1/blocklist/reload'),
  stats: () => call<SessionStatsInfo>('GET', '/api/v1/stats'),
  network: () => call<NetworkInfo>('GET', '/api/v1/network'),

  /** The daemon's Bitcoin light node (404 `SHOAL_ERR_API_NOT_FOUND` when it runs none). */
  btc: () => call<BtcInfo>('GET', '/api/v1/btc'),
  btcHistory: () => call<{ history: BtcHistoryInfo[] }>('GET', '/api/v1/btc/history'),
  btcWatch: (item: string, o: { label?: string; rescanFrom?: number } = {}) =>
    call<BtcWatchedInfo>('POST', '/api/v1/btc/watch', json({ item, ...o })),
};

/** A one-line description of any error, for toasts and forms. */
export function describeError(e: unknown): string {
  if (e instanceof ApiFailure) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
