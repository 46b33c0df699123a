/**
 * The daemon's state directory:
 *
 * ```
 * <state>/state.json            settings and one record per torrent (written atomically)
 * <state>/torrents/<id>.torrent the .torrent bytes of every torrent with metadata
 * <state>/resume/<id>.resume    fast-resume records (written by the session)
 * <state>/token                 the API bearer token (mode 0600)
 * ```
 *
 * Every write is a temp file + fsync + rename, so a crash at any moment leaves the previous or
 * the new version, never a torn file. `state.json` writes are coalesced: at most one runs at a
 * time, and requests made meanwhile lead to exactly one more write with the latest state.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode } from '../shared/errors.js';
import { MAX_API_TORRENT_BYTES, MAX_DAEMON_STATE_BYTES } from '../shared/limits.js';
import { writeFileAtomic } from '../storage/index.js';
import { DaemonError } from './errors.js';

/** Version of the `state.json` layout. */
export const STATE_VERSION = 1;

/** Settings kept across restarts. */
export interface PersistedSettings {
  /** Global download limit, bytes/s; 0 = unlimited. */
  readonly downloadRateLimit: number;
  /** Global upload limit, bytes/s; 0 = unlimited. */
  readonly uploadRateLimit: number;
  /** Peer port used last time. */
  readonly peerPort?: number;
  /** Default download folder used last time. */
  readonly downloadDir?: string;
}

/** What the daemon remembers of one torrent. */
export interface TorrentRecord {
  /** Hex v1 info-hash, else v2 (the session's torrent id). */
  readonly id: string;
  readonly name: string;
  /** The magnet it was added from, kept until (and after) its metadata arrives. */
  readonly magnet?: string;
  /** True once `torrents/<id>.torrent` holds the metadata. */
  readonly hasMetadata: boolean;
  readonly downloadDir: string;
  /** Per-file priorities (0 skip, 1 normal, 2 high) by file index; absent = all normal. */
  readonly filePriorities?: readonly number[];
  readonly paused: boolean;
  /** ms since the epoch. */
  readonly addedAt: number;
  /** ms since the epoch when every wanted piece was first verified. */
  readonly completedAt?: number;
}

export interface PersistedState {
  readonly version: number;
  readonly settings: PersistedSettings;
  readonly torrents: readonly TorrentRecord[];
}

const HEX_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** True for a torrent id (40 or 64 lowercase hex digits). */
export function isTorrentId(s: string): boolean {
  return HEX_ID.test(s);
}

function stateError(path: string, message: string, cause?: unknown): DaemonError {
  return new DaemonError(ErrorCode.DaemonState, message, { path }, { cause });
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function parseRecord(v: unknown): TorrentRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.id !== 'string' || !isTorrentId(r.id)) return undefined;
  if (typeof r.name !== 'string' || typeof r.downloadDir !== 'string' || !r.downloadDir.startsWith('/'))
    return undefined;
  if (typeof r.paused !== 'boolean' || typeof r.hasMetadata !== 'boolean' || !isUint(r.addedAt))
    return undefined;
  if (r.magnet !== undefined && typeof r.magnet !== 'string') return undefined;
  if (!r.hasMetadata && r.magnet === undefined) return undefined;
  if (r.completedAt !== undefined && !isUint(r.completedAt)) return undefined;
  let filePriorities: number[] | undefined;
  if (r.filePriorities !== undefined) {
    if (!Array.isArray(r.filePriorities) || !r.filePriorities.every((p) => p === 0 || p === 1 || p === 2))
      return undefined;
    filePriorities = r.filePriorities as number[];
  }
  return {
    id: r.id,
    name: r.name,
    ...(typeof r.magnet === 'string' ? { magnet: r.magnet } : {}),
    hasMetadata: r.hasMetadata,
    downloadDir: r.downloadDir,
    ...(filePriorities !== undefined ? { filePriorities } : {}),
    paused: r.paused,
    addedAt: r.addedAt,
    ...(isUint(r.completedAt) ? { completedAt: r.completedAt } : {}),
  };
}

/** Parses `state.json`; records that do not check out are returned in `rejected`. */
export function parseState(text: string, path: string): { state: PersistedState; rejected: number } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw stateError(path, `${path} is not valid JSON; fix or move it away to start empty`, e);
  }
  if (typeof v !== 'object' || v === null) throw stateError(path, `${path} does not hold an object`);
  const o = v as Record<string, unknown>;
  if (o.version !== STATE_VERSION)
    throw stateError(path, `${path} has version ${String(o.version)}; this Shoal reads ${STATE_VERSION}`);
  const s = (typeof o.settings === 'object' && o.settings !== null ? o.settings : {}) as Record<
    string,
    unknown
  >;
  const settings: PersistedSettings = {
    downloadRateLimit: isUint(s.downloadRateLimit) ? s.downloadRateLimit : 0,
    uploadRateLimit: isUint(s.uploadRateLimit) ? s.uploadRateLimit : 0,
    ...(isUint(s.peerPort) && s.peerPort <= 65535 ? { peerPort: s.peerPort } : {}),
    ...(typeof s.downloadDir === 'string' && s.downloadDir.startsWith('/')
      ? { downloadDir: s.downloadDir }
      : {}),
  };
  const list = Array.isArray(o.torrents) ? o.torrents : [];
  const torrents: TorrentRecord[] = [];
  const seen = new Set<string>();
  let rejected = 0;
  for (const item of list) {
    const r = parseRecord(item);
    if (r === undefined || seen.has(r.id)) rejected++;
    else {
      seen.add(r.id);
      torrents.push(r);
    }
  }
  return { state: { version: STATE_VERSION, settings, torrents }, rejected };
}

export class StateStore {
  readonly dir: string;
  readonly statePath: string;
  readonly torrentsDir: string;
  readonly resumeDir: string;
  readonly tokenPath: string;
  #writing: Promise<void> | undefined;
  #again = false;
  #waiters: (() => void)[] = [];
  #lastError: Error | undefined;

  constructor(dir: string) {
    this.dir = dir;
    this.statePath = join(dir, 'state.json');
    this.torrentsDir = join(dir, 'torrents');
    this.resumeDir = join(dir, 'resume');
    this.tokenPath = join(dir, 'token');
  }

  /** Creates the folders (the state folder with mode 0700). */
  async init(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await mkdir(this.torrentsDir, { recursive: true, mode: 0o700 });
      await mkdir(this.resumeDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw stateError(this.dir, `cannot create the state folder ${this.dir}: ${(e as Error).message}`, e);
    }
  }

  /** Reads `state.json`; a missing file is an empty state. */
  async load(): Promise<{ state: PersistedState; rejected: number }> {
    let text: string;
    try {
      const st = await stat(this.statePath);
      if (st.size > MAX_DAEMON_STATE_BYTES)
        throw stateError(this.statePath, `${this.statePath} is larger than ${MAX_DAEMON_STATE_BYTES} bytes`);
      text = await readFile(this.statePath, 'utf8');
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') {
        return {
          state: {
            version: STATE_VERSION,
            settings: { downloadRateLimit: 0, uploadRateLimit: 0 },
            torrents: [],
          },
          rejected: 0,
        };
      }
      if (e instanceof DaemonError) throw e;
      throw stateError(this.statePath, `cannot read ${this.statePath}: ${(e as Error).message}`, e);
    }
    return parseState(text, this.statePath);
  }

  /** The error of the last failed `state.json` write, if the latest one failed. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /**
   * Writes the state returned by `snapshot` (called when the write starts). Resolves once a write
   * that started after this call has finished; rejects if that write failed.
   */
  save(snapshot: () => PersistedState): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push(() => (this.#lastError === undefined ? resolve() : reject(this.#lastError)));
      if (this.#writing !== undefined) {
        this.#again = true;
        return;
      }
      this.#writing = this.#loop(snapshot);
    });
  }

  async #loop(snapshot: () => PersistedState): Promise<void> {
    do {
      this.#again = false;
      const waiters = this.#waiters;
      this.#waiters = [];
      try {
        await writeFileAtomic(this.statePath, Buffer.from(`${JSON.stringify(snapshot())}\n`));
        this.#lastError = undefined;
      } catch (e) {
        this.#lastError = e as Error;
      }
      for (const w of waiters) w();
    } while (this.#again || this.#waiters.length > 0);
    this.#writing = undefined;
  }

  /** Waits for the write in progress, if any. */
  async flush(): Promise<void> {
    await this.#writing;
  }

  torrentPath(id: string): string {
    if (!isTorrentId(id)) throw stateError(this.torrentsDir, `bad torrent id ${JSON.stringify(id)}`);
    return join(this.torrentsDir, `${id}.torrent`);
  }

  resumePath(id: string): string {
    if (!isTorrentId(id)) throw stateError(this.resumeDir, `bad torrent id ${JSON.stringify(id)}`);
    return join(this.resumeDir, `${id}.resume`);
  }

  async writeTorrent(id: string, bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(this.torrentPath(id), bytes);
  }

  /** The stored .torrent bytes of `id`. */
  async readTorrent(id: string): Promise<Uint8Array> {
    const path = this.torrentPath(id);
    try {
      const st = await stat(path);
      if (st.size > MAX_API_TORRENT_BYTES) throw stateError(path, `${path} is too large`);
      return new Uint8Array(await readFile(path));
    } catch (e) {
      if (e instanceof DaemonError) throw e;
      throw stateError(path, `cannot read ${path}: ${(e as Error).message}`, e);
    }
  }

  /** Deletes the stored .torrent and resume record of `id` (missing files are fine). */
  async forget(id: string): Promise<void> {
    for (const p of [this.torrentPath(id), this.resumePath(id)]) {
      await unlink(p).catch((e: { code?: string }) => {
        if (e.code !== 'ENOENT') throw stateError(p, `cannot delete ${p}`, e);
      });
    }
  }

  /**
   * The API token: read from `<state>/token`, or generated (32 random bytes, base64url) and
   * written with mode 0600 on first start.
   */
  async ensureToken(): Promise<string> {
    try {
      const t = (await readFile(this.tokenPath, 'utf8')).trim();
      if (/^[A-Za-z0-9_-]{32,128}$/.test(t)) return t;
      throw stateError(
        this.tokenPath,
        `${this.tokenPath} does not hold a token; delete it to make a new one`,
      );
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') {
        if (e instanceof DaemonError) throw e;
        throw stateError(this.tokenPath, `cannot read ${this.tokenPath}: ${(e as Error).message}`, e);
      }
    }
    const token = randomBytes(32).toString('base64url');
    try {
      const fh = await open(this.tokenPath, 'wx', 0o600);
      try {
        await fh.writeFile(`${token}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return token;
    } catch (e) {
      // Another process created it first: use theirs.
      if ((e as { code?: string }).code === 'EEXIST') return this.ensureToken();
      throw stateError(this.tokenPath, `cannot write ${this.tokenPath}: ${(e as Error).message}`, e);
    }
  }
}
