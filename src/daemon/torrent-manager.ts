/**
 * DEV DOCS — the daemon's torrents.
 *
 * Owns: one {@link TorrentEntry} per torrent the daemon keeps (running, paused, fetching
 * metadata or failed), the persisted state (through {@link StateStore}) and the global settings.
 * The HTTP routes call it; it drives the {@link Session}.
 *
 * The session has no pause, resume or verify yet, so they are built from what it has:
 * - pause  = `session.removeTorrent` (files and resume record stay) + `paused: true` in the state;
 * - resume = `session.addTorrent` again (the resume record makes it quick);
 * - verify = remove + add with `{recheck: true}`; a paused torrent is removed again afterwards.
 *
 * Invariants:
 * - Every change a request makes is in `state.json` (atomic write) before the request is
 *   answered, and a torrent's .torrent bytes are on disk before its record is.
 * - Operations on one torrent are serialised ({@link TorrentEntry.run}).
 * - An entry's `torrent` is set while, and only while, the session holds that torrent.
 * - A torrent leaving the session aborts `entry.life`, which ends streams waiting on it.
 */
import type { Logger } from 'pino';
import {
  explainTorrentError,
  fileIndexOf,
  type MagnetLink,
  type Metainfo,
  parseMagnet,
  parseTorrent,
  prioritiesByFileIndex,
  torrentFileFromInfo,
  userFiles,
} from '../metainfo/index.js';
import type { PendingMagnet, Session, Torrent, TorrentOptions } from '../session/index.js';
import { ErrorCode, isShoalError } from '../shared/errors.js';
import { toHex } from '../shared/hash.js';
import { MAX_API_TORRENT_BYTES, MAX_SAVED_PEERS_PER_TORRENT } from '../shared/limits.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { decodeResume, ensureWritableDirectory, folderProblem, readResumeFile } from '../storage/index.js';
import { Bitfield } from '../wire/index.js';
import type { SessionStatsInfo, SettingsInfo, TorrentStateName } from './api-types.js';
import { TORRENT_STATES } from './api-types.js';
import { ApiError, apiError, DaemonError, statusOf, torrentNotFound } from './errors.js';
import { fetchTorrentFile } from './fetch-torrent.js';
import { type DeleteReport, deleteTorrentData, resolveAllowedDir } from './paths.js';
import type { PersistedSettings, PersistedState, StateStore, TorrentRecord } from './state-store.js';
import { STATE_VERSION } from './state-store.js';
import { TorrentEntry } from './torrent-entry.js';

/** Version string reported by the API. */
export const DAEMON_VERSION = '0.1.0';

/** Events of the daemon, streamed unchanged over `/api/v1/events` (STYLE §3). */
export interface DaemonEvents {
  'torrent:added': { readonly id: string; readonly name: string };
  'torrent:removed': { readonly id: string };
  /** Every wanted piece is verified. */
  'torrent:finished': { readonly id: string; readonly name: string };
  'torrent:paused': { readonly id: string };
  'torrent:resumed': { readonly id: string };
  /** A verify (full recheck) started. */
  'torrent:checking': { readonly id: string };
  /** A magnet's info dictionary arrived; the torrent now has files. */
  'torrent:metadata': { readonly id: string; readonly name: string };
  /** File priorities changed. */
  'torrent:updated': { readonly id: string };
  'torrent:error': { readonly id: string; readonly message: string };
  'settings:changed': SettingsInfo;
}

/** Options of an add request. */
export interface AddOptions {
  /** Folder below an allowed folder (relative paths are below the default download folder). */
  readonly downloadDir?: string;
  /** Keep the torrent paused. @default false */
  readonly paused?: boolean;
  /**
   * Per-file priorities (0 skip, 1 normal, 2 high), one per file *number* (padding files not
   * counted, as `shoal info` and the API's file lists number them); must list every file.
   */
  readonly filePriorities?: readonly number[];
  /** Peer addresses to try at once (trackers and the DHT find more). */
  readonly peers?: readonly { readonly host: string; readonly port: number }[];
}

export interface TorrentManagerInit {
  readonly session: Session;
  readonly store: StateStore;
  readonly log: Logger;
  /** Real path of the default download folder. */
  readonly downloadDir: string;
  /** Real paths of the folders requests may name (the default download folder included). */
  readonly roots: readonly string[];
  readonly fetchTimeoutMs: number;
  readonly settings: PersistedSettings;
  readonly restoreConcurrency: number;
}

/** A session that can add magnets (BEP 9 metadata exchange). */
interface MagnetSession {
  addMagnet(link: MagnetLink, options: TorrentOptions & { signal?: AbortSignal }): Promise<Torrent>;
  pendingMagnets?(): PendingMagnet[];
}

/** True when the session supports `addMagnet` (the daemon answers 501 to magnets otherwise). */
export function canAddMagnet(session: object): session is MagnetSession {
  return typeof (session as { addMagnet?: unknown }).addMagnet === 'function';
}

/** The DHT node count, when the session runs a DHT that reports it. */
export function dhtNodeCount(session: object): number | null {
  const dht = (session as { dht?: unknown }).dht as { stats?: unknown } | undefined;
  if (dht === undefined || dht === null || typeof dht.stats !== 'function') return null;
  const n = (dht.stats as () => { nodes?: unknown })().nodes;
  return typeof n === 'number' ? n : null;
}

/** `saved` plus `more`, without duplicates, the latest {@link MAX_SAVED_PEERS_PER_TORRENT} kept. */
export function savedPeers(
  saved: readonly { readonly host: string; readonly port: number }[],
  more: readonly { readonly host: string; readonly port: number }[],
): { host: string; port: number }[] {
  const byKey = new Map<string, { host: string; port: number }>();
  for (const p of [...saved, ...more]) {
    const key = `${p.host}:${p.port}`;
    byKey.delete(key);
    byKey.set(key, { host: p.host, port: p.port });
  }
  return [...byKey.values()].slice(-MAX_SAVED_PEERS_PER_TORRENT);
}

export class TorrentManager extends TypedEmitter<DaemonEvents> {
  readonly #session: Session;
  readonly #store: StateStore;
  readonly #log: Logger;
  readonly #roots: readonly string[];
  readonly #fetchTimeoutMs: number;
  readonly #restoreConcurrency: number;
  readonly downloadDir: string;
  readonly #entries = new Map<string, TorrentEntry>();
  /** v2 info-hash (hex) → id, for hybrids (whose id is the v1 hash). */
  readonly #aliases = new Map<string, string>();
  #settings: PersistedSettings;
  #closed = false;
  #restoring: Promise<void> = Promise.resolve();
  readonly #startedAt = Date.now();
  /** Payload bytes of torrents that left the session during this process. */
  #goneDown = 0;
  #goneUp = 0;

  constructor(init: TorrentManagerInit) {
    super();
    this.#session = init.session;
    this.#store = init.store;
    this.#log = init.log;
    this.#roots = init.roots;
    this.#fetchTimeoutMs = init.fetchTimeoutMs;
    this.#restoreConcurrency = init.restoreConcurrency;
    this.downloadDir = init.downloadDir;
    this.#settings = init.settings;
    this.#session.on('torrent:added', ({ id }) => this.#onSessionAdded(id));
  }

  // ------------------------------------------------------------------ lookup

  /** The entry of `id` (v1 or v2 info-hash hex, any case), if any (not one being removed). */
  get(id: string): TorrentEntry | undefined {
    const key = id.toLowerCase();
    const e = this.#entries.get(key) ?? this.#entries.get(this.#aliases.get(key) ?? '');
    return e?.removing === true ? undefined : e;
  }

  /** Like {@link get}, but 404 when unknown. */
  require(id: string): TorrentEntry {
    const e = this.get(id);
    if (e === undefined) throw torrentNotFound(id);
    return e;
  }

  list(): TorrentEntry[] {
    return [...this.#entries.values()];
  }

  get size(): number {
    return this.#entries.size;
  }

  // ------------------------------------------------------------------ restore

  /**
   * Loads the torrents of a saved state: metadata and last progress at once, then starts the
   * ones not paused in the background, a few at a time.
   */
  async restore(records: readonly TorrentRecord[]): Promise<void> {
    for (const record of records) {
      let metainfo: Metainfo | undefined;
      let failure: string | undefined;
      if (record.hasMetadata) {
        try {
          metainfo = parseTorrent(await this.#store.readTorrent(record.id));
          if (toHex(metainfo.infoHashV1 ?? metainfo.infoHashV2!) !== record.id)
            throw new Error('its info-hash does not match the record');
        } catch (e) {
          metainfo = undefined;
          failure = `cannot load the stored .torrent: ${(e as Error).message}`;
          this.#log.warn({ id: record.id, err: e }, 'torrent not restored');
        }
      }
      const entry = new TorrentEntry(record, metainfo);
      entry.failure = failure;
      this.#insert(entry);
      if (metainfo !== undefined) await this.#loadSnapshot(entry);
    }
    const queue = this.list().filter((e) => !e.record.paused && e.failure === undefined);
    const worker = async (): Promise<void> => {
      for (let e = queue.shift(); e !== undefined && !this.#closed; e = queue.shift()) {
        const entry = e;
        if (this.#entries.get(entry.id) !== entry || entry.record.paused) continue;
        await entry.run(async () => {
          if (this.#closed || entry.record.paused || this.#entries.get(entry.id) !== entry) return;
          await this.#start(entry);
        });
      }
    };
    this.#restoring = Promise.all(Array.from({ length: this.#restoreConcurrency }, worker)).then(() => {});
  }

  /** Resolves when every restored torrent has been started (or the manager closed). */
  get restored(): Promise<void> {
    return this.#restoring;
  }

  async #loadSnapshot(entry: TorrentEntry): Promise<void> {
    const m = entry.metainfo!;
    try {
      const bytes = await readResumeFile(this.#store.resumePath(entry.id));
      const rec =
        bytes === undefined
          ? undefined
          : decodeResume(bytes, {
              infoHashV1: m.infoHashV1,
              infoHashV2: m.infoHashV2,
              pieceCount: m.pieceCount,
              fileCount: m.files.length,
            });
      if (rec !== undefined) {
        entry.snapshot = {
          have: Bitfield.fromWire(rec.pieces, m.pieceCount),
          uploaded: rec.uploaded,
          downloaded: rec.downloaded,
        };
      }
    } catch (e) {
      this.#log.debug({ id: entry.id, err: e }, 'no usable resume record');
    }
  }

  #insert(entry: TorrentEntry): void {
    this.#entries.set(entry.id, entry);
    const v2 = entry.infoHashV2Hex;
    if (v2 !== undefined && v2 !== entry.id) this.#aliases.set(v2, entry.id);
  }

  #forget(entry: TorrentEntry): void {
    if (this.#entries.get(entry.id) === entry) this.#entries.delete(entry.id);
    const v2 = entry.infoHashV2Hex;
    if (v2 !== undefined && this.#aliases.get(v2) === entry.id) this.#aliases.delete(v2);
  }

  // ------------------------------------------------------------------ session plumbing

  #onSessionAdded(id: string): void {
    const entry = this.#entries.get(id);
    const t = this.#session.getTorrent(id);
    if (entry === undefined || t === undefined) return;
    entry.torrent = t;
    entry.pendingMagnet = undefined;
    entry.failure = undefined;
    entry.metainfo ??= t.metainfo;
    entry.invalidateStats();
    // Before the torrent first touches its files (it starts right after this event).
    this.#select(entry, t);
    for (const p of entry.peerList()) t.addPeer(p.host, p.port);
    const invalidate = (): void => {
      if (entry.torrent === t) entry.invalidateStats();
    };
    t.on('peer', invalidate);
    t.on('piece', invalidate);
    t.on('hash-failed', invalidate);
    t.on('done', () => {
      invalidate();
      this.#onDone(entry, t);
    });
    t.on('error', ({ error }) => {
      invalidate();
      this.#log.warn({ id, err: error }, 'torrent stopped by an error');
      this.emit('torrent:error', { id, message: error.message });
    });
  }

  #onDone(entry: TorrentEntry, t: Torrent): void {
    if (entry.torrent !== t || entry.record.completedAt !== undefined) return;
    entry.record = { ...entry.record, completedAt: Date.now() };
    this.#log.info({ id: entry.id, name: entry.name }, 'torrent finished');
    this.emit('torrent:finished', { id: entry.id, name: entry.name });
    this.#persistSoon();
  }

  /** Puts the torrent in the session (resume data, or a recheck, first). Resolves once it runs. */
  #start(entry: TorrentEntry, recheck = false): Promise<void> {
    const m = entry.metainfo;
    if (m === undefined) {
      this.#startMagnet(entry);
      return Promise.resolve();
    }
    entry.failure = undefined;
    entry.life = new AbortController();
    const r = entry.record;
    const options: TorrentOptions = {
      downloadDir: r.downloadDir,
      ...(r.filePriorities !== undefined ? { filePriorities: r.filePriorities } : {}),
      ...(recheck ? { recheck: true } : {}),
    };
    return this.#session.addTorrent(m, options).then(
      () => {},
      (e: unknown) => {
        entry.failure = `cannot start: ${(e as Error).message}`;
        this.emit('torrent:error', { id: entry.id, message: entry.failure });
      },
    );
  }

  #startMagnet(entry: TorrentEntry): void {
    const session = this.#session;
    if (!canAddMagnet(session) || entry.record.magnet === undefined) {
      entry.failure = 'magnet links need metadata exchange (coming)';
      return;
    }
    let link: MagnetLink;
    try {
      link = parseMagnet(entry.record.magnet);
    } catch (e) {
      entry.failure = `bad stored magnet: ${(e as Error).message}`;
      return;
    }
    const ac = new AbortController();
    entry.magnetAbort = ac;
    entry.failure = undefined;
    entry.life = new AbortController();
    const fetched = session.addMagnet(link, { downloadDir: entry.record.downloadDir, signal: ac.signal });
    entry.pendingMagnet = session.pendingMagnets?.().find((p) => p.id === entry.id);
    for (const p of entry.peerList()) entry.pendingMagnet?.addPeer(p.host, p.port);
    fetched.then(
      (t) =>
        entry.run(async () => {
          if (entry.magnetAbort === ac) entry.magnetAbort = undefined;
          entry.pendingMagnet = undefined;
          if (this.#entries.get(entry.id) !== entry) {
            await this.#session.removeTorrent(entry.id);
            return;
          }
          await this.#onMetadata(entry, t, link);
          if (ac.signal.aborted || entry.record.paused) await this.#detach(entry);
        }),
      (e: unknown) => {
        if (entry.magnetAbort === ac) entry.magnetAbort = undefined;
        entry.pendingMagnet = undefined;
        if (ac.signal.aborted || this.#closed) return;
        entry.failure = `metadata fetch failed: ${(e as Error).message}`;
        this.#log.warn({ id: entry.id, err: e }, 'magnet metadata fetch failed');
        this.emit('torrent:error', { id: entry.id, message: entry.failure });
      },
    );
  }

  async #onMetadata(entry: TorrentEntry, t: Torrent, link: MagnetLink): Promise<void> {
    const m = t.metainfo;
    entry.metainfo = m;
    this.#insert(entry);
    await this.#store.writeTorrent(
      entry.id,
      torrentFileFromInfo(m.infoBytes, { trackers: m.trackers, webSeeds: m.webSeeds }),
    );
    let priorities = entry.record.filePriorities;
    const pending = entry.record.pendingFilePriorities;
    if (priorities === undefined && pending !== undefined) {
      if (pending.length === userFiles(m).length) priorities = prioritiesByFileIndex(m, pending);
      else
        this.#log.warn(
          { id: entry.id },
          'file priorities given with the magnet do not match its files; ignored',
        );
    }
    if (priorities !== undefined && priorities.length !== m.files.length) priorities = undefined;
    if (priorities === undefined && link.selectOnly !== undefined) {
      // BEP 53 `so` counts files as the info dictionary lists them (padding files included).
      const so = new Set(link.selectOnly);
      priorities = m.files.map((f, i) => (so.has(i) && !f.isPadding ? 1 : 0));
    }
    const { filePriorities: _old, pendingFilePriorities: _pending, ...rest } = entry.record;
    entry.record = {
      ...rest,
      name: m.name,
      hasMetadata: true,
      ...(priorities !== undefined ? { filePriorities: priorities } : {}),
    };
    if (priorities !== undefined) {
      t.setFilePriorities(priorities);
      this.#select(entry, t);
    }
    entry.invalidateStats();
    await this.#persist();
    this.#log.info({ id: entry.id, name: m.name }, 'magnet metadata received');
    this.emit('torrent:metadata', { id: entry.id, name: m.name });
  }

  /** Takes the torrent out of the session (data and resume record stay) and remembers its progress. */
  async #detach(entry: TorrentEntry): Promise<void> {
    entry.life.abort();
    if (entry.magnetAbort !== undefined) {
      entry.magnetAbort.abort();
      entry.magnetAbort = undefined;
    }
    entry.pendingMagnet = undefined;
    const t = entry.torrent;
    await this.#session.removeTorrent(entry.id);
    if (t === undefined) return;
    entry.torrent = undefined;
    const s = t.stats();
    this.#goneDown += s.downloadedBytes;
    this.#goneUp += s.uploadedBytes;
    if (t.state !== 'checking') {
      entry.snapshot = { have: t.bitfield(), uploaded: s.totalUploaded, downloaded: s.totalDownloaded };
    }
    if (t.state === 'error' && entry.failure === undefined) entry.failure = t.error?.message;
  }

  // ------------------------------------------------------------------ adding

  /** The folder an add request downloads into, checked to be inside the roots and writable. */
  async #resolveDir(requested: string | undefined): Promise<string> {
    const dir =
      requested === undefined
        ? this.downloadDir
        : await resolveAllowedDir(requested, this.downloadDir, this.#roots);
    try {
      await ensureWritableDirectory(dir);
    } catch (e) {
      throw new DaemonError(
        ErrorCode.DaemonState,
        `cannot download into ${dir}: ${folderProblem(e, dir)}`,
        { path: dir, status: 409 },
        { cause: e },
      );
    }
    return dir;
  }

  /** Adds a torrent from .torrent bytes. */
  async addTorrentFile(
    bytes: Uint8Array,
    options: AddOptions = {},
  ): Promise<{ entry: TorrentEntry; created: boolean }> {
    if (bytes.length > MAX_API_TORRENT_BYTES)
      throw apiError(
        ErrorCode.ApiPayloadTooLarge,
        `a .torrent may not exceed ${MAX_API_TORRENT_BYTES} bytes`,
      );
    if (bytes.length === 0) throw apiError(ErrorCode.ApiBadRequest, 'the .torrent is empty');
    let m: Metainfo;
    try {
      m = parseTorrent(bytes);
    } catch (e) {
      if (!isShoalError(e)) throw e;
      throw new ApiError(e.code, `the .torrent is not usable: ${explainTorrentError(e)}`, {
        status: statusOf(e),
      });
    }
    const id = toHex(m.infoHashV1 ?? m.infoHashV2!);
    const known = this.get(id) ?? (m.infoHashV2 ? this.get(toHex(m.infoHashV2)) : undefined);
    if (known !== undefined) return { entry: known, created: false };
    const count = userFiles(m).length;
    if (options.filePriorities !== undefined && options.filePriorities.length !== count) {
      throw apiError(
        ErrorCode.ApiBadRequest,
        `filePriorities lists ${options.filePriorities.length} files; the torrent has ${count}`,
      );
    }
    const downloadDir = await this.#resolveDir(options.downloadDir);
    const again = this.get(id);
    if (again !== undefined) return { entry: again, created: false };
    const byIndex =
      options.filePriorities === undefined ? undefined : prioritiesByFileIndex(m, options.filePriorities);
    const entry = new TorrentEntry(this.#newRecord(id, m.name, downloadDir, options, true, byIndex), m);
    this.#insert(entry);
    try {
      await this.#store.writeTorrent(id, bytes);
      await this.#persist();
    } catch (e) {
      this.#forget(entry);
      throw e;
    }
    this.#added(entry, options);
    return { entry, created: true };
  }

  /** Adds a magnet link; its metadata is fetched from peers in the background. */
  async addMagnet(uri: string, options: AddOptions = {}): Promise<{ entry: TorrentEntry; created: boolean }> {
    const link = parseMagnet(uri);
    if (!canAddMagnet(this.#session))
      throw apiError(ErrorCode.ApiNotImplemented, 'magnet links need metadata exchange (coming)');
    const id = toHex(link.infoHashV1 ?? link.infoHashV2!);
    const known = this.get(id) ?? (link.infoHashV2 ? this.get(toHex(link.infoHashV2)) : undefined);
    if (known !== undefined) return { entry: known, created: false };
    const downloadDir = await this.#resolveDir(options.downloadDir);
    const again = this.get(id);
    if (again !== undefined) return { entry: again, created: false };
    const record = {
      ...this.#newRecord(id, link.name ?? id, downloadDir, options, false, undefined),
      magnet: uri,
      // By file number until the metadata says which files there are.
      ...(options.filePriorities !== undefined ? { pendingFilePriorities: [...options.filePriorities] } : {}),
    };
    const entry = new TorrentEntry(record, undefined);
    this.#insert(entry);
    try {
      await this.#persist();
    } catch (e) {
      this.#forget(entry);
      throw e;
    }
    this.#added(entry, options);
    return { entry, created: true };
  }

  /** Fetches a .torrent from an http(s) URL and adds it. */
  async addUrl(url: string, options: AddOptions = {}): Promise<{ entry: TorrentEntry; created: boolean }> {
    const bytes = await fetchTorrentFile(url, { timeoutMs: this.#fetchTimeoutMs });
    return this.addTorrentFile(bytes, options);
  }

  #newRecord(
    id: string,
    name: string,
    downloadDir: string,
    o: AddOptions,
    hasMetadata: boolean,
    filePriorities: readonly number[] | undefined,
  ): TorrentRecord {
    const peers = savedPeers([], o.peers ?? []);
    return {
      id,
      name,
      hasMetadata,
      downloadDir,
      ...(filePriorities !== undefined ? { filePriorities: [...filePriorities] } : {}),
      ...(peers.length > 0 ? { peers } : {}),
      paused: o.paused === true,
      addedAt: Date.now(),
    };
  }

  #added(entry: TorrentEntry, _options: AddOptions): void {
    this.#log.info({ id: entry.id, name: entry.name, paused: entry.record.paused }, 'torrent added');
    this.emit('torrent:added', { id: entry.id, name: entry.name });
    if (!entry.record.paused) {
      void entry.run(async () => {
        if (this.#entries.get(entry.id) === entry && !entry.record.paused) void this.#start(entry);
      });
    }
  }

  // ------------------------------------------------------------------ operations

  /** Stops the torrent, keeping its data; it stays paused across restarts. */
  pause(id: string): Promise<TorrentEntry> {
    const entry = this.require(id);
    return entry.run(async () => {
      const running = entry.torrent !== undefined || entry.magnetAbort !== undefined;
      if (entry.record.paused && !running) return entry;
      entry.record = { ...entry.record, paused: true };
      await this.#detach(entry);
      await this.#persist();
      this.#log.info({ id: entry.id }, 'torrent paused');
      this.emit('torrent:paused', { id: entry.id });
      return entry;
    });
  }

  /** Starts a paused torrent again (also retries one stopped by an error). */
  resume(id: string): Promise<TorrentEntry> {
    const entry = this.require(id);
    return entry.run(async () => {
      const running = entry.torrent !== undefined || entry.magnetAbort !== undefined;
      if (!entry.record.paused && running && entry.state !== 'error') return entry;
      if (entry.metainfo === undefined && entry.record.magnet === undefined) {
        throw apiError(ErrorCode.ApiConflict, `cannot start ${entry.id}: ${entry.failure ?? 'no metadata'}`);
      }
      if (entry.torrent !== undefined) await this.#detach(entry);
      entry.failure = undefined;
      entry.record = { ...entry.record, paused: false };
      await this.#persist();
      void this.#start(entry);
      this.#log.info({ id: entry.id }, 'torrent resumed');
      this.emit('torrent:resumed', { id: entry.id });
      return entry;
    });
  }

  /**
   * Re-verifies every piece on disk. Answers once the check has started; a paused torrent is
   * paused again when the check ends.
   */
  verify(id: string): Promise<TorrentEntry> {
    const entry = this.require(id);
    return entry.run(async () => {
      if (entry.metainfo === undefined)
        throw apiError(ErrorCode.ApiConflict, 'the torrent has no metadata yet; nothing to verify');
      if (entry.torrent !== undefined) await this.#detach(entry);
      entry.snapshot = undefined;
      const checked = this.#start(entry, true);
      this.#log.info({ id: entry.id }, 'torrent verify started');
      this.emit('torrent:checking', { id: entry.id });
      if (entry.record.paused) {
        void entry.run(async () => {
          await checked;
          if (entry.record.paused && entry.torrent !== undefined) await this.#detach(entry);
        });
      }
      return entry;
    });
  }

  /**
   * Removes the torrent; with `deleteData`, its files inside its download folder too. From the
   * call on it answers no request (404) but stays in {@link list} — so the dashboard's row and
   * `shoal list` show it — until it is out of the session and its files are deleted; only then
   * is it forgotten and `torrent:removed` emitted.
   */
  remove(id: string, deleteData: boolean): Promise<DeleteReport> {
    const entry = this.require(id);
    entry.removing = true;
    return entry
      .run(async () => {
        await this.#detach(entry);
        await this.#store.forget(entry.id);
        const report =
          deleteData && entry.metainfo !== undefined
            ? await deleteTorrentData(entry.metainfo, entry.record.downloadDir)
            : { deleted: 0, skipped: [] };
        this.#forget(entry);
        await this.#persist();
        this.#log.info({ id: entry.id, deleteData, deleted: report.deleted }, 'torrent removed');
        this.emit('torrent:removed', { id: entry.id });
        return report;
      })
      .catch((e: unknown) => {
        // Failed half-way: it is still the daemon's torrent.
        if (this.#entries.get(entry.id) === entry) entry.removing = false;
        throw e;
      });
  }

  /**
   * Sets file priorities (0 skip, 1 normal, 2 high), all at once (`all`, one per file number)
   * or for some files (`files`, file numbers). File numbers leave padding files out, as
   * `shoal info` and {@link fileInfos} number them.
   */
  setFilePriorities(
    id: string,
    change: { all?: readonly number[]; files?: readonly number[]; priority?: number },
  ) {
    const entry = this.require(id);
    return entry.run(async () => {
      const m = entry.metainfo;
      if (m === undefined)
        throw apiError(ErrorCode.ApiConflict, 'the torrent has no metadata yet; no files to set');
      const count = userFiles(m).length;
      let next: number[];
      if (change.all !== undefined) {
        if (change.all.length !== count)
          throw apiError(
            ErrorCode.ApiBadRequest,
            `priorities lists ${change.all.length} files; the torrent has ${count}`,
          );
        next = prioritiesByFileIndex(m, change.all);
      } else {
        next = entry.priorities();
        for (const n of change.files ?? []) {
          const i = fileIndexOf(m, n);
          if (i === undefined)
            throw apiError(ErrorCode.ApiBadRequest, `file ${n} is out of range (0..${count - 1})`);
          next[i] = change.priority ?? 1;
        }
      }
      entry.record = { ...entry.record, filePriorities: next };
      const t = entry.torrent;
      entry.invalidateStats();
      if (t !== undefined) {
        t.setFilePriorities(next);
        this.#select(entry, t);
        if (!t.isFinished && entry.record.completedAt !== undefined) {
          const { completedAt: _c, ...rest } = entry.record;
          entry.record = rest;
        }
      }
      await this.#persist();
      this.emit('torrent:updated', { id: entry.id });
      return entry;
    });
  }

  /**
   * Adds a peer address to try now and after every restart (kept in the torrent's record, the
   * latest {@link MAX_SAVED_PEERS_PER_TORRENT}).
   */
  async addPeer(id: string, host: string, port: number): Promise<TorrentEntry> {
    const entry = this.require(id);
    if (entry.torrent !== undefined) entry.torrent.addPeer(host, port);
    else if (entry.pendingMagnet !== undefined) entry.pendingMagnet.addPeer(host, port);
    const peers = savedPeers(entry.record.peers ?? [], [{ host, port }]);
    entry.record = { ...entry.record, peers };
    await this.#persist();
    return entry;
  }

  /** Tells the torrent's storage which files are wanted (unselected bytes go to its parts file). */
  #select(entry: TorrentEntry, t: Torrent): void {
    const prio = entry.priorities();
    const have = t.state === 'checking' ? undefined : t.bitfield();
    t.storage
      .setWantedFiles(
        prio.map((p) => p > 0),
        have === undefined ? undefined : (i) => have.get(i),
      )
      .catch((e: unknown) => this.#log.warn({ id: entry.id, err: e }, 'cannot apply the file selection'));
  }

  // ------------------------------------------------------------------ settings and stats

  settings(): SettingsInfo {
    return {
      downloadRateLimit: this.#settings.downloadRateLimit,
      uploadRateLimit: this.#settings.uploadRateLimit,
      downloadDir: this.downloadDir,
      allowedDirs: this.#roots,
      peerPort: this.#session.port,
    };
  }

  async setSettings(change: { downloadRateLimit?: number; uploadRateLimit?: number }): Promise<SettingsInfo> {
    this.#settings = { ...this.#settings, ...change };
    this.#session.setRateLimits({
      ...(change.downloadRateLimit !== undefined ? { download: change.downloadRateLimit } : {}),
      ...(change.uploadRateLimit !== undefined ? { upload: change.uploadRateLimit } : {}),
    });
    await this.#persist();
    const s = this.settings();
    this.emit('settings:changed', s);
    return s;
  }

  /** Session-wide statistics. */
  stats(): SessionStatsInfo {
    const byState = Object.fromEntries(TORRENT_STATES.map((s) => [s, 0])) as Record<TorrentStateName, number>;
    let downloadRate = 0;
    let uploadRate = 0;
    let downloaded = 0;
    let uploaded = 0;
    let sessionDown = this.#goneDown;
    let sessionUp = this.#goneUp;
    let peers = 0;
    let hashFailures = 0;
    let wasted = 0;
    for (const e of this.#entries.values()) {
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
      torrentCount: this.#entries.size,
      torrentsByState: byState,
      peerCount: peers,
      connectionCount: this.#session.connectionCount,
      hashFailures,
      wastedBytes: wasted,
      dhtNodes: dhtNodeCount(this.#session),
      peerPort: this.#session.port,
      uptimeSeconds: Math.floor((Date.now() - this.#startedAt) / 1000),
      version: DAEMON_VERSION,
    };
  }

  // ------------------------------------------------------------------ persistence

  #state(): PersistedState {
    return {
      version: STATE_VERSION,
      settings: { ...this.#settings, peerPort: this.#session.port, downloadDir: this.downloadDir },
      // A torrent being removed is gone for the next start, whatever happens meanwhile.
      torrents: this.list()
        .filter((e) => !e.removing)
        .map((e) => e.record),
    };
  }

  #persist(): Promise<void> {
    return this.#store.save(() => this.#state());
  }

  #persistSoon(): void {
    this.#persist().catch((e: unknown) => this.#log.error({ err: e }, 'cannot save the daemon state'));
  }

  /** Saves the state now. */
  save(): Promise<void> {
    return this.#persist();
  }

  /** Stops starting torrents and ends waits on them (the daemon then closes the session and saves). */
  close(): void {
    this.#closed = true;
    for (const e of this.#entries.values()) {
      e.life.abort();
      e.magnetAbort?.abort();
    }
  }
}
