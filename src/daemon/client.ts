/**
 * `DaemonClient`: a small typed client of the daemon's HTTP API, used by the CLI remote commands
 * (`shoal add|list|pause|resume|remove|set|queue|settings|…`) and usable by scripts. Errors are {@link DaemonClientError}s
 * carrying the server's code and HTTP status.
 */
import { ErrorCode, ShoalError } from '../shared/errors.js';
import type {
  AddTorrentResult,
  BanInfo,
  BlocklistInfo,
  FileInfo,
  PeerEventInfo,
  RemoveResult,
  SessionStatsInfo,
  SettingsInfo,
  TorrentDetails,
  TorrentSummary,
} from './api-types.js';
import type { QueueMove } from './queue-order.js';
import type { SettingsChange } from './settings.js';
import type { TorrentOptionsChange } from './torrent-options.js';

/** A request to the daemon failed: `status` is the HTTP status (0 when the daemon was not reached). */
export class DaemonClientError extends ShoalError<{ readonly status: number; readonly url: string }> {}

export interface DaemonClientOptions {
  /** Base URL of the daemon. @default 'http://127.0.0.1:9080' */
  readonly url?: string;
  /** API token, sent as a bearer header. */
  readonly token?: string;
  /** Time allowed per request, ms. @default 30_000 */
  readonly timeoutMs?: number;
}

/** Options of an add call. */
export interface ClientAddOptions {
  readonly downloadDir?: string;
  readonly paused?: boolean;
  readonly filePriorities?: readonly number[];
  readonly peers?: readonly { readonly host: string; readonly port: number }[];
}

const CODES = new Set<string>(Object.values(ErrorCode));

export class DaemonClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: DaemonClientOptions = {}) {
    this.url = (options.url ?? 'http://127.0.0.1:9080').replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Sends a request; resolves with the parsed JSON answer (undefined for 204). */
  async request<T>(
    method: string,
    path: string,
    body?: { json: unknown } | { bytes: Uint8Array },
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    let payload: string | Uint8Array | undefined;
    if (body !== undefined && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body !== undefined) {
      headers['content-type'] = 'application/x-bittorrent';
      payload = body.bytes;
    }
    const target = `${this.url}${path}`;
    let res: Response;
    try {
      res = await fetch(target, {
        method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new DaemonClientError(
        ErrorCode.ApiUnavailable,
        `cannot reach the Shoal daemon at ${this.url} (${cause}); is \`shoal daemon\` running? (--url to point elsewhere)`,
        { status: 0, url: target },
        { cause: e },
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const err = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const code =
        typeof err?.code === 'string' && CODES.has(err.code)
          ? (err.code as ErrorCode)
          : ErrorCode.ApiInternal;
      const message = typeof err?.message === 'string' ? err.message : `HTTP ${res.status} ${res.statusText}`;
      throw new DaemonClientError(code, message, { status: res.status, url: target });
    }
    return parsed as T;
  }

  async list(): Promise<TorrentSummary[]> {
    return (await this.request<{ torrents: TorrentSummary[] }>('GET', '/api/v1/torrents')).torrents;
  }

  get(id: string): Promise<TorrentDetails> {
    return this.request('GET', `/api/v1/torrents/${encodeURIComponent(id)}`);
  }

  addFile(bytes: Uint8Array, o: ClientAddOptions = {}): Promise<AddTorrentResult> {
    if (o.filePriorities !== undefined || o.peers !== undefined) {
      return this.request('POST', '/api/v1/torrents', {
        json: { torrent: Buffer.from(bytes).toString('base64'), ...o },
      });
    }
    const q = new URLSearchParams();
    if (o.downloadDir !== undefined) q.set('downloadDir', o.downloadDir);
    if (o.paused === true) q.set('paused', 'true');
    const qs = q.size > 0 ? `?${q}` : '';
    return this.request('POST', `/api/v1/torrents${qs}`, { bytes });
  }

  addMagnet(magnet: string, o: ClientAddOptions = {}): Promise<AddTorrentResult> {
    return this.request('POST', '/api/v1/torrents', { json: { magnet, ...o } });
  }

  addUrl(url: string, o: ClientAddOptions = {}): Promise<AddTorrentResult> {
    return this.request('POST', '/api/v1/torrents', { json: { url, ...o } });
  }

  async #action(id: string, name: 'pause' | 'resume' | 'verify'): Promise<TorrentSummary> {
    return (
      await this.request<{ torrent: TorrentSummary }>(
        'POST',
        `/api/v1/torrents/${encodeURIComponent(id)}/${name}`,
      )
    ).torrent;
  }

  pause(id: string): Promise<TorrentSummary> {
    return this.#action(id, 'pause');
  }

  resume(id: string): Promise<TorrentSummary> {
    return this.#action(id, 'resume');
  }

  verify(id: string): Promise<TorrentSummary> {
    return this.#action(id, 'verify');
  }

  remove(id: string, deleteData = false): Promise<RemoveResult> {
    return this.request(
      'DELETE',
      `/api/v1/torrents/${encodeURIComponent(id)}${deleteData ? '?deleteData=true' : ''}`,
    );
  }

  async setFilePriorities(id: string, priorities: readonly number[]): Promise<FileInfo[]> {
    return (
      await this.request<{ files: FileInfo[] }>('PATCH', `/api/v1/torrents/${encodeURIComponent(id)}/files`, {
        json: { priorities },
      })
    ).files;
  }

  async addPeer(id: string, host: string, port: number): Promise<void> {
    await this.request('POST', `/api/v1/torrents/${encodeURIComponent(id)}/peers`, { json: { host, port } });
  }

  settings(): Promise<SettingsInfo> {
    return this.request('GET', '/api/v1/settings');
  }

  setSettings(change: SettingsChange): Promise<SettingsInfo> {
    return this.request('PUT', '/api/v1/settings', { json: change });
  }

  /** Changes a torrent's own limits, bandwidth priority or seed limits (null: the daemon's). */
  setOptions(id: string, change: TorrentOptionsChange): Promise<TorrentDetails> {
    return this.request('PATCH', `/api/v1/torrents/${encodeURIComponent(id)}`, { json: change });
  }

  /** Moves a torrent's data to another folder (inside the daemon's allowed folders). */
  async moveStorage(id: string, downloadDir: string): Promise<TorrentSummary> {
    return (
      await this.request<{ torrent: TorrentSummary }>(
        'POST',
        `/api/v1/torrents/${encodeURIComponent(id)}/move`,
        {
          json: { downloadDir },
        },
      )
    ).torrent;
  }

  /** Moves a torrent in the queue: one place, to an end, or to a position (0 first). */
  async moveInQueue(id: string, how: QueueMove | number): Promise<TorrentSummary> {
    const body = typeof how === 'number' ? { position: how } : { move: how };
    return (
      await this.request<{ torrent: TorrentSummary }>(
        'POST',
        `/api/v1/torrents/${encodeURIComponent(id)}/queue`,
        {
          json: body,
        },
      )
    ).torrent;
  }

  /** A torrent's recent peer events, oldest first. */
  async peerLog(id: string): Promise<PeerEventInfo[]> {
    return (
      await this.request<{ entries: PeerEventInfo[] }>(
        'GET',
        `/api/v1/torrents/${encodeURIComponent(id)}/peer-log`,
      )
    ).entries;
  }

  /** Addresses banned for the whole node. */
  async bans(): Promise<BanInfo[]> {
    return (await this.request<{ bans: BanInfo[] }>('GET', '/api/v1/bans')).bans;
  }

  /** Reads the blocklist file of the settings again. */
  reloadBlocklist(): Promise<BlocklistInfo> {
    return this.request('POST', '/api/v1/blocklist/reload');
  }

  stats(): Promise<SessionStatsInfo> {
    return this.request('GET', '/api/v1/stats');
  }

  /**
   * The full id of the torrent `ref` names: a full id, a unique id prefix (at least 4 hex
   * digits), or an exact name.
   */
  async resolveId(ref: string): Promise<string> {
    const r = ref.trim().toLowerCase();
    if (/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(r)) return r;
    const list = await this.list();
    const byPrefix = /^[0-9a-f]{4,}$/.test(r) ? list.filter((t) => t.id.startsWith(r)) : [];
    const matches = byPrefix.length > 0 ? byPrefix : list.filter((t) => t.name === ref);
    if (matches.length === 1) return matches[0]!.id;
    const status = matches.length === 0 ? 404 : 400;
    throw new DaemonClientError(
      matches.length === 0 ? ErrorCode.ApiNotFound : ErrorCode.ApiBadRequest,
      matches.length === 0
        ? `no torrent matches ${JSON.stringify(ref)} (give an id, an id prefix of 4+ hex digits, or a name)`
        : `${JSON.stringify(ref)} matches ${matches.length} torrents; give more of the id`,
      { status, url: this.url },
    );
  }
}
