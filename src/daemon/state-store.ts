/**
 * The daemon's state directory:
 *
 * ```
 * <state>/state.json            settings and one record per torrent (written atomically)
 * <state>/torrents/<id>.torrent the .torrent bytes of every torrent with metadata
 * <state>/resume/<id>.resume    fast-resume records (written by the session)
 * <state>/token                 the API bearer token (mode 0600)
 * <state>/lock                  the pid of the daemon using the folder (see acquireLock)
 * ```
 *
 * Every write is a temp file + fsync + rename, so a crash at any moment leaves the previous or
 * the new version, never a torn file. `state.json` writes are coalesced: at most one runs at a
 * time, and requests made meanwhile lead to exactly one more write with the latest state.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode } from '../shared/errors.js';
import {
  MAX_API_TORRENT_BYTES,
  MAX_DAEMON_STATE_BYTES,
  MAX_SAVED_PEERS_PER_TORRENT,
} from '../shared/limits.js';
import { folderProblem, makeDirectory, writeFileAtomic } from '../storage/index.js';
import { DaemonError } from './errors.js';
import { type DaemonSettings, DEFAULT_SETTINGS, readSettings } from './settings.js';
import { readTorrentOptions, type StoredTorrentOptions } from './torrent-options.js';

/** Version of the `state.json` layout. */
export const STATE_VERSION = 1;

/**
 * Settings kept across restarts: the daemon's settings (settings.ts; fields that do not check out
 * take their defaults) and facts of the last run.
 */
export interface PersistedSettings extends DaemonSettings {
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
  /**
   * Per-file priorities (0 skip, 1 normal, 2 high) by file *index* (into the metainfo's file
   * list, padding files counted; the API converts from file numbers); absent = all normal.
   */
  readonly filePriorities?: readonly number[];
  /** Priorities by file *number* given with a magnet, until its metadata says which files exist. */
  readonly pendingFilePriorities?: readonly number[];
  /** Peer addresses named by the user (`--peer`, `shoal peer add`), tried again on every start. */
  readonly peers?: readonly { readonly host: string; readonly port: number }[];
  readonly paused: boolean;
  /** ms since the epoch. */
  readonly addedAt: number;
  /** ms since the epoch when every wanted piece was first verified. */
  readonly completedAt?: number;
  /** Place in the daemon's queue when the state was saved (0 first; absent: file order). */
  readonly queuePosition?: number;
  /** The torrent's own limits, bandwidth priority and seed limits (absent: none). */
  readonly options?: StoredTorrentOptions;
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
  const priorityList = (v: unknown): number[] | undefined | false => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((p) => p === 0 || p === 1 || p === 2)) return false;
    return v as number[];
  };
  const filePriorities = priorityList(r.filePriorities);
  const pendingFilePriorities = priorityList(r.pendingFilePriorities);
  if (filePriorities === false || pendingFilePriorities === false) return undefined;
  // Peers that do not check out are dropped, not the record: they are only hints.
  const peers = Array.isArray(r.peers)
    ? (r.peers as unknown[])
        .filter(
          (p): p is { host: string; port: number } =>
            typeof p === 'object' &&
            p !== null &&
            typeof (p as { host?: unknown }).host === 'string' &&
            /^(?:[A-Za-z0-9.-]{1,253}|[0-9A-Fa-f:.]{2,45})$/.test((p as { host: string }).host) &&
            Number.isInteger((p as { port?: unknown }).port) &&
            (p as { port: number }).port >= 1 &&
            (p as { port: number }).port <= 65535,
        )
        .slice(-MAX_SAVED_PEERS_PER_TORRENT)
        .map((p) => ({ host: p.host, port: p.port }))
    : [];
  const options = readTorrentOptions(r.options);
  return {
    id: r.id,
    name: r.name,
    ...(typeof r.magnet === 'string' ? { magnet: r.magnet } : {}),
    hasMetadata: r.hasMetadata,
    downloadDir: r.downloadDir,
    ...(filePriorities !== undefined ? { filePriorities } : {}),
    ...(pendingFilePriorities !== undefined ? { pendingFilePriorities } : {}),
    ...(peers.length > 0 ? { peers } : {}),
    paused: r.paused,
    addedAt: r.addedAt,
    ...(isUint(r.completedAt) ? { completedAt: r.completedAt } : {}),
    ...(isUint(r.queuePosition) ? { queuePosition: r.queuePosition } : {}),
    ...(options !== undefined && Object.keys(options).length > 0 ? { options } : {}),
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
    ...readSettings(s),
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
  readonly lockPath: string;
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
    this.lockPath = join(dir, 'lock');
  }

  /**
   * Takes the state folder for this process: `<state>/lock` is created holding our pid, and
   * refused while it names a live process (a second daemon on one folder would load the same
   * torrents into the same files and overwrite `state.json` when it stops). A lock left by a
   * daemon that died (kill -9, a crash: its pid no longer runs, or runs something that is not
   * node) is stale and taken over. Resolves with the function that releases the lock.
   */
  async acquireLock(): Promise<() => Promise<void>> {
    const mine = `${process.pid}\n`;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fh = await open(this.lockPath, 'wx', 0o600);
        try {
          await fh.writeFile(mine);
          await fh.sync();
        } finally {
          await fh.close();
        }
        return async () => {
          // Only our own lock: a daemon that took a stale one over keeps its own.
          const now = await readFile(this.lockPath, 'utf8').catch(() => '');
          if (now === mine) await unlink(this.lockPath).catch(() => {});
        };
      } catch (e) {
        if ((e as { code?: string }).code !== 'EEXIST')
          throw stateError(this.lockPath, `cannot create ${this.lockPath}: ${(e as Error).message}`, e);
      }
      const text = await readFile(this.lockPath, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // released meanwhile: try again
      const pid = /^\d+\s*$/.test(text) ? Number(text.trim()) : undefined;
      if (pid !== undefined && (await isLiveDaemon(pid))) {
        throw stateError(
          this.lockPath,
          `the state folder ${this.dir} is in use by pid ${pid} (another shoal daemon); stop it, or use another --state (if no daemon runs, delete ${this.lockPath})`,
        );
      }
      // Stale (or unreadable) lock: move it aside atomically, so of two daemons taking it over
      // at once only one succeeds, and try again.
      await rename(this.lockPath, `${this.lockPath}.stale-${process.pid}`).then(
        () => unlink(`${this.lockPath}.stale-${process.pid}`).catch(() => {}),
        () => {},
      );
    }
    throw stateError(this.lockPath, `cannot take ${this.lockPath}: it keeps changing`);
  }

  /** Creates the folders (the state folder with mode 0700). */
  async init(): Promise<void> {
    try {
      await makeDirectory(this.dir, { mode: 0o700 });
      await makeDirectory(this.torrentsDir, { mode: 0o700 });
      await makeDirectory(this.resumeDir, { mode: 0o700 });
    } catch (e) {
      throw stateError(
        this.dir,
        `cannot create the state folder ${this.dir}: ${folderProblem(e, this.dir)}`,
        e,
      );
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
            settings: { ...DEFAULT_SETTINGS },
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

/**
 * True when `pid` runs and could be a daemon: signal 0 reaches it (EPERM: it runs as another
 * user) and, where /proc tells, it is a node process (a pid reused by something else after a
 * crash does not keep the folder locked).
 */
async function isLiveDaemon(pid: number): Promise<boolean> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EPERM') return false;
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return cmdline === undefined || /node|shoal/i.test(cmdline);
}
