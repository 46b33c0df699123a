/**
 * DEV DOCS — the daemon's torrents.
 *
 * Owns: one {@link TorrentEntry} per torrent the daemon keeps (running, paused, queued, fetching
 * metadata or failed), their queue order ({@link QueueOrder}), the persisted state (through
 * {@link StateStore}) and the settings ({@link SettingsController}). The HTTP routes call it; it
 * adds torrents through {@link TorrentAdder} and drives the {@link Session} through
 * {@link TorrentRunner}.
 *
 * Every torrent with metadata is in the session from its start on, paused ones too (the library's
 * `pause()` / `resume()` / `recheck()`); only a magnet still fetching its metadata, or a torrent
 * whose start failed, is outside it. Resuming a torrent stopped by an error puts it in the
 * session again.
 *
 * Invariants:
 * - Every change a request makes is in `state.json` (atomic write) before the request is
 *   answered, and a torrent's .torrent bytes are on disk before its record is.
 * - Operations on one torrent are serialised ({@link TorrentEntry.run}).
 * - The session's queue order is the daemon's order restricted to the session's torrents.
 */
import type { Logger } from 'pino';
import type { Session } from '../session/index.js';
import { ErrorCode } from '../shared/errors.js';
import { MAX_SAVED_PEERS_PER_TORRENT } from '../shared/limits.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import type {
  BanInfo,
  BlocklistInfo,
  NetworkInfo,
  PeerEventInfo,
  ProxySetting,
  SessionStatsInfo,
  SettingsInfo,
} from './api-types.js';
import type { DaemonEvents } from './daemon-events.js';
import { apiError, torrentNotFound } from './errors.js';
import { networkInfo, nodeStats } from './node-stats.js';
import { type DeleteReport, deleteTorrentData, resolveDownloadDir } from './paths.js';
import { banInfos, peerEvents } from './peer-view.js';
import { type QueueMove, QueueOrder } from './queue-order.js';
import type { DaemonSettings, SettingsChange } from './settings.js';
import { SettingsController } from './settings-controller.js';
import type { PersistedState, StateStore, TorrentRecord } from './state-store.js';
import { STATE_VERSION } from './state-store.js';
import { type AddResult, TorrentAdder } from './torrent-adder.js';
import type { TorrentEntry } from './torrent-entry.js';
import { applyOptions, type TorrentOptionsChange, withChange } from './torrent-options.js';
import { type AddOptions, changedPriorities, type PriorityChange, savedPeers } from './torrent-record.js';
import { restoreEntries } from './torrent-restore.js';
import { TorrentRunner } from './torrent-runner.js';

export { DAEMON_VERSION, type DaemonEvents } from './daemon-events.js';
export { dhtNodeCount } from './node-stats.js';
export { type AddOptions, savedPeers } from './torrent-record.js';
export { canAddMagnet } from './torrent-runner.js';

export interface TorrentManagerInit {
  readonly session: Session;
  readonly store: StateStore;
  readonly log: Logger;
  /** Real path of the default download folder. */
  readonly downloadDir: string;
  /** Real paths of the folders requests may name (the default download folder included). */
  readonly roots: readonly string[];
  readonly fetchTimeoutMs: number;
  /** The settings in force (the session was created with them). */
  readonly settings: DaemonSettings;
  /** The proxy the session was created with. */
  readonly runningProxy: ProxySetting | null;
  readonly restoreConcurrency: number;
}

export class TorrentManager extends TypedEmitter<DaemonEvents> {
  readonly #session: Session;
  readonly #store: StateStore;
  readonly #log: Logger;
  readonly #roots: readonly string[];
  readonly #restoreConcurrency: number;
  readonly downloadDir: string;
  readonly #entries = new Map<string, TorrentEntry>();
  /** v2 info-hash (hex) → id, for hybrids (whose id is the v1 hash). */
  readonly #aliases = new Map<string, string>();
  readonly #queue: QueueOrder<TorrentEntry>;
  readonly #runner: TorrentRunner;
  readonly #settings: SettingsController;
  readonly #adder: TorrentAdder;
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
    this.#restoreConcurrency = init.restoreConcurrency;
    this.downloadDir = init.downloadDir;
    this.#queue = new QueueOrder(init.session);
    // The dashboard's Network panel follows this (the body of GET /api/v1/network).
    const networkChanged = () => this.emit('network:changed', networkInfo(init.session));
    init.session.on('external-address:changed', networkChanged).on('portmap:changed', networkChanged);
    this.#runner = new TorrentRunner({
      session: init.session,
      store: init.store,
      log: init.log,
      queue: this.#queue,
      entry: (id) => this.#entries.get(id),
      insert: (e) => this.#insert(e),
      isClosed: () => this.#closed,
      persist: () => this.#persist(),
      persistSoon: () => this.#persistSoon(),
      emit: (name, payload) => this.emit(name, payload),
      gone: (down, up) => {
        this.#goneDown += down;
        this.#goneUp += up;
      },
      settings: () => this.#settings.current,
    });
    this.#adder = new TorrentAdder({
      session: init.session,
      store: init.store,
      downloadDir: init.downloadDir,
      roots: init.roots,
      fetchTimeoutMs: init.fetchTimeoutMs,
      get: (id) => this.get(id),
      insert: (entry) => {
        this.#insert(entry);
        this.#queue.add(entry);
      },
      forget: (entry) => this.#forget(entry),
      persist: () => this.#persist(),
      added: (entry) => this.#added(entry),
    });
    this.#settings = new SettingsController(
      {
        session: init.session,
        log: init.log,
        downloadDir: init.downloadDir,
        roots: init.roots,
        runningProxy: init.runningProxy,
        persist: () => this.#persist(),
        changed: (info) => this.emit('settings:changed', info),
        addFromWatch: async (bytes) => (await this.addTorrentFile(bytes)).entry.id,
        watchEvent: (name, e) => {
          if (name === 'file:added') this.emit('watch:added', e as DaemonEvents['watch:added']);
          else if (name === 'file:invalid') this.emit('watch:invalid', e as DaemonEvents['watch:invalid']);
        },
      },
      init.settings,
    );
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

  /** Every torrent, in the order they were added. */
  list(): TorrentEntry[] {
    return [...this.#entries.values()];
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The torrent's place in the queue (0 first). */
  queuePosition(entry: TorrentEntry): number {
    return this.#queue.position(entry);
  }

  // ------------------------------------------------------------------ restore

  /**
   * Loads the torrents of a saved state (torrent-restore.ts): every one is listed at once, then
   * they go into the session in queue order, a few at a time, in the background.
   */
  async restore(records: readonly TorrentRecord[]): Promise<void> {
    const { started } = await restoreEntries(
      {
        store: this.#store,
        log: this.#log,
        adopt: (e) => {
          this.#insert(e);
          this.#queue.add(e);
        },
        isCurrent: (e) => this.#entries.get(e.id) === e,
        isClosed: () => this.#closed,
        start: (e) => this.#runner.start(e),
      },
      records,
      this.#restoreConcurrency,
    );
    this.#restoring = started;
  }

  /** Resolves when every restored torrent has been started (or the manager closed). */
  get restored(): Promise<void> {
    return this.#restoring;
  }

  /** Loads the stored IP blocklist (call before {@link restore}: no torrent dials before it). */
  loadBlocklist(): Promise<void> {
    return this.#settings.startBlocklist();
  }

  /** Starts the stored watch folder (call after {@link restore}: the saved torrents are known). */
  startWatchFolder(): Promise<void> {
    return this.#settings.startWatch();
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
    this.#queue.remove(entry);
  }

  // ------------------------------------------------------------------ adding

  /** Adds a torrent from .torrent bytes. */
  addTorrentFile(bytes: Uint8Array, options: AddOptions = {}): Promise<AddResult> {
    return this.#adder.addTorrentFile(bytes, options);
  }

  /** Adds a magnet link; its metadata is fetched from peers in the background. */
  addMagnet(uri: string, options: AddOptions = {}): Promise<AddResult> {
    return this.#adder.addMagnet(uri, options);
  }

  /** Fetches a .torrent from an http(s) URL and adds it. */
  addUrl(url: string, options: AddOptions = {}): Promise<AddResult> {
    return this.#adder.addUrl(url, options);
  }

  #added(entry: TorrentEntry): void {
    this.#log.info({ id: entry.id, name: entry.name, paused: entry.record.paused }, 'torrent added');
    this.emit('torrent:added', { id: entry.id, name: entry.name });
    // A paused torrent with metadata joins the session paused (its data is checked); a paused
    // magnet waits for a resume to fetch its metadata.
    if (entry.record.paused && entry.metainfo === undefined) return;
    void entry.run(async () => {
      if (this.#entries.get(entry.id) === entry && entry.torrent === undefined)
        void this.#runner.start(entry);
    });
  }

  // ------------------------------------------------------------------ operations

  /** Pauses the torrent, keeping its data; it stays paused across restarts. */
  pause(id: string): Promise<TorrentEntry> {
    const entry = this.require(id);
    return entry.run(async () => {
      const t = entry.torrent;
      const running = (t !== undefined && !t.isPaused) || entry.magnetAbort !== undefined;
      if (entry.record.paused && !running) return entry;
      entry.record = { ...entry.record, paused: true };
      entry.life.abort();
      if (entry.magnetAbort !== undefined) await this.#runner.detach(entry);
      if (t !== undefined) await t.pause();
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
      const t = entry.torrent;
      const failed = entry.state === 'error';
      if (!entry.record.paused && !failed && (t !== undefined || entry.magnetAbort !== undefined))
        return entry;
      if (entry.metainfo === undefined && entry.record.magnet === undefined) {
        throw apiError(ErrorCode.ApiConflict, `cannot start ${entry.id}: ${entry.failure ?? 'no metadata'}`);
      }
      entry.failure = undefined;
      entry.record = { ...entry.record, paused: false };
      await this.#persist();
      if (t !== undefined && !failed) {
        entry.renewLife();
        t.resume();
      } else {
        // Not in the session (a magnet, a failed start) or stopped by an error: (re)start it.
        if (t !== undefined) await this.#runner.detach(entry);
        void this.#runner.start(entry);
      }
      this.#log.info({ id: entry.id }, 'torrent resumed');
      this.emit('torrent:resumed', { id: entry.id });
      return entry;
    });
  }

  /**
   * Re-verifies every piece on disk. Answers once the check has started; a paused torrent stays
   * paused.
   */
  verify(id: string): Promise<TorrentEntry> {
    const entry = this.require(id);
    return entry.run(async () => {
      if (entry.metainfo === undefined)
        throw apiError(ErrorCode.ApiConflict, 'the torrent has no metadata yet; nothing to verify');
      const t = entry.torrent;
      if (t !== undefined && t.state !== 'error') {
        t.recheck().catch((e: unknown) => this.#log.warn({ id: entry.id, err: e }, 'verify failed'));
      } else {
        if (t !== undefined) await this.#runner.detach(entry);
        entry.snapshot = undefined;
        void this.#runner.start(entry, true);
      }
      this.#log.info({ id: entry.id }, 'torrent verify started');
      this.emit('torrent:checking', { id: entry.id });
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
        // Where its files are now: the incomplete folder until it completes.
        const dir = entry.torrent?.downloadDir ?? entry.record.downloadDir;
        await this.#runner.detach(entry);
        await this.#store.forget(entry.id);
        const report =
          deleteData && entry.metainfo !== undefined
            ? await deleteTorrentData(entry.metainfo, dir)
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
  setFilePriorities(id: string, change: PriorityChange): Promise<TorrentEntry> {
    const entry = this.require(id);
    return entry.run(async () => {
      const m = entry.metainfo;
      if (m === undefined)
        throw apiError(ErrorCode.ApiConflict, 'the torrent has no metadata yet; no files to set');
      const next = changedPriorities(m, entry.priorities(), change);
      entry.record = { ...entry.record, filePriorities: next };
      const t = entry.torrent;
      entry.invalidateStats();
      if (t !== undefined) {
        t.setFilePriorities(next);
        this.#runner.select(entry, t);
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

  /** Changes the torrent's own limits, bandwidth priority or seed limits (kept across restarts). */
  setOptions(id: string, change: TorrentOptionsChange): Promise<TorrentEntry> {
    const entry = this.require(id);
    return entry.run(async () => {
      const options = withChange(entry.record.options ?? {}, change);
      const { options: _old, ...rest } = entry.record;
      entry.record = Object.keys(options).length > 0 ? { ...rest, options } : rest;
      if (entry.torrent !== undefined) applyOptions(entry.torrent, options);
      await this.#persist();
      this.#log.info({ id: entry.id, options }, 'torrent options changed');
      this.emit('torrent:updated', { id: entry.id });
      return entry;
    });
  }

  /**
   * Moves the torrent's data to `dir` (inside the allowed folders; relative to the download
   * folder) while it runs, and downloads there from now on; kept across restarts. A magnet still
   * fetching its metadata has no data yet: only its folder changes.
   */
  moveStorage(id: string, dir: string): Promise<TorrentEntry> {
    const entry = this.require(id);
    return entry.run(async () => {
      const target = await resolveDownloadDir(dir, this.downloadDir, this.#roots);
      const t = entry.torrent;
      if (t === undefined && entry.metainfo !== undefined)
        throw apiError(
          ErrorCode.ApiConflict,
          'the torrent is not running (failed or stopped); resume it, then move it',
        );
      const from = t?.downloadDir ?? entry.record.downloadDir;
      await t?.moveStorage(target);
      entry.record = { ...entry.record, downloadDir: target };
      await this.#persist();
      this.#log.info({ id: entry.id, from, to: target }, 'torrent data moved');
      this.emit('torrent:updated', { id: entry.id });
      return entry;
    });
  }

  /** Moves the torrent in the queue (one place, to an end, or to a position); kept across restarts. */
  async moveInQueue(id: string, how: QueueMove | number): Promise<TorrentEntry> {
    const entry = this.require(id);
    const at = this.#queue.move(entry, how);
    await this.#persist();
    this.#log.info({ id: entry.id, position: at }, 'torrent moved in the queue');
    this.emit('torrent:updated', { id: entry.id });
    return entry;
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

  /** The torrent's recent peer events, oldest first (empty while it is not in the session). */
  peerLog(id: string): PeerEventInfo[] {
    return peerEvents(this.require(id).torrent);
  }

  /** Addresses banned for the whole node, oldest first. */
  /** How the node is reachable (`GET /api/v1/network`). */
  network(): NetworkInfo {
    return networkInfo(this.#session);
  }

  bans(): BanInfo[] {
    return banInfos(this.#session);
  }

  // ------------------------------------------------------------------ settings and stats

  settings(): SettingsInfo {
    return this.#settings.info();
  }

  /** The settings in force (the proxy's password included: never for the API). */
  get currentSettings(): DaemonSettings {
    return this.#settings.current;
  }

  /** The watch folder, while one is set and readable. */
  get watchFolder() {
    return this.#settings.watchFolder;
  }

  setSettings(change: SettingsChange): Promise<SettingsInfo> {
    return this.#settings.update(change);
  }

  reloadBlocklist(): Promise<BlocklistInfo> {
    return this.#settings.reloadBlocklist();
  }

  /** Session-wide statistics. */
  stats(): SessionStatsInfo {
    return nodeStats(this.#entries.values(), {
      session: this.#session,
      goneDownloaded: this.#goneDown,
      goneUploaded: this.#goneUp,
      startedAt: this.#startedAt,
    });
  }

  // ------------------------------------------------------------------ persistence

  #state(): PersistedState {
    return {
      version: STATE_VERSION,
      settings: { ...this.#settings.current, peerPort: this.#session.port, downloadDir: this.downloadDir },
      // A torrent being removed is gone for the next start, whatever happens meanwhile.
      torrents: this.list()
        .filter((e) => !e.removing)
        .map((e) => ({ ...e.record, queuePosition: this.#queue.position(e) })),
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

  /**
   * Stops starting torrents, ends waits on them and stops the watch folder (the daemon then
   * closes the session and saves).
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const e of this.#entries.values()) {
      e.life.abort();
      e.magnetAbort?.abort();
    }
    await this.#settings.close();
  }
}
