/**
 * Puts the daemon's torrents in the {@link Session} and keeps each {@link TorrentEntry} in step
 * with its session torrent: the start options from the record (folder, file priorities, paused,
 * own limits), a magnet's metadata fetch and what follows it, the torrent's events (progress
 * invalidates cached figures; bans and hash failures are logged at `warn`; a seed limit pauses the
 * record too), its place in the queue, and taking it out of the session again.
 *
 * Invariant: `entry.torrent` is set from the session's `torrent:added` for that entry until
 * {@link TorrentRunner.detach}; a torrent whose entry is gone is removed from the session.
 */
import type { Logger } from 'pino';
import {
  type MagnetLink,
  parseMagnet,
  prioritiesByFileIndex,
  torrentFileFromInfo,
  userFiles,
} from '../metainfo/index.js';
import type { PendingMagnet, Session, Torrent, TorrentOptions } from '../session/index.js';
import type { DaemonEvents } from './daemon-events.js';
import type { QueueOrder } from './queue-order.js';
import type { DaemonSettings } from './settings.js';
import type { StateStore } from './state-store.js';
import type { TorrentEntry } from './torrent-entry.js';
import { libraryOptions } from './torrent-options.js';

/** A session that can add magnets (BEP 9 metadata exchange). */
interface MagnetSession {
  addMagnet(link: MagnetLink, options: TorrentOptions & { signal?: AbortSignal }): Promise<Torrent>;
  pendingMagnets?(): PendingMagnet[];
}

/** True when the session supports `addMagnet` (the daemon answers 501 to magnets otherwise). */
export function canAddMagnet(session: object): session is MagnetSession {
  return typeof (session as { addMagnet?: unknown }).addMagnet === 'function';
}

/** What the runner needs from the manager. */
export interface RunnerHost {
  readonly session: Session;
  readonly store: StateStore;
  readonly log: Logger;
  readonly queue: QueueOrder<TorrentEntry>;
  /** The entry kept under `id` (exactly that id), if any. */
  entry(id: string): TorrentEntry | undefined;
  /** Indexes `entry` again (a magnet's metadata adds a v2 alias). */
  insert(entry: TorrentEntry): void;
  isClosed(): boolean;
  persist(): Promise<void>;
  persistSoon(): void;
  emit<K extends keyof DaemonEvents>(name: K, payload: DaemonEvents[K]): void;
  /** A torrent leaves the session: its session totals (payload bytes) are kept. */
  gone(downloaded: number, uploaded: number): void;
  /** The daemon's settings in force. */
  settings(): DaemonSettings;
}

export class TorrentRunner {
  readonly #h: RunnerHost;

  constructor(host: RunnerHost) {
    this.#h = host;
    host.session.on('torrent:added', ({ id }) => this.#onSessionAdded(id));
  }

  /**
   * Puts the torrent in the session (resume data, or a check, first; paused if its record is).
   * Resolves once it runs, waits or failed to start; a magnet's metadata is fetched in the
   * background.
   */
  start(entry: TorrentEntry, recheck = false): Promise<void> {
    const m = entry.metainfo;
    if (m === undefined) {
      this.#startMagnet(entry);
      return Promise.resolve();
    }
    entry.failure = undefined;
    entry.renewLife();
    const r = entry.record;
    const { incompleteDir, preallocation } = this.#h.settings();
    const options: TorrentOptions = {
      downloadDir: r.downloadDir,
      // The session keeps a torrent whose data is already in downloadDir there.
      ...(incompleteDir !== null ? { incompleteDir } : {}),
      preallocation,
      ...(r.filePriorities !== undefined ? { filePriorities: r.filePriorities } : {}),
      ...(recheck ? { recheck: true } : {}),
      ...(r.paused ? { paused: true } : {}),
      ...libraryOptions(r.options),
    };
    return this.#h.session.addTorrent(m, options).then(
      () => {},
      (e: unknown) => {
        entry.failure = `cannot start: ${(e as Error).message}`;
        this.#h.emit('torrent:error', { id: entry.id, message: entry.failure });
      },
    );
  }

  /** Takes the torrent out of the session (data and resume record stay) and remembers its progress. */
  async detach(entry: TorrentEntry): Promise<void> {
    entry.life.abort();
    if (entry.magnetAbort !== undefined) {
      entry.magnetAbort.abort();
      entry.magnetAbort = undefined;
    }
    entry.pendingMagnet = undefined;
    const t = entry.torrent;
    await this.#h.session.removeTorrent(entry.id);
    if (t === undefined) return;
    entry.torrent = undefined;
    const s = t.stats();
    this.#h.gone(s.downloadedBytes, s.uploadedBytes);
    if (t.state !== 'checking') {
      entry.snapshot = { have: t.bitfield(), uploaded: s.totalUploaded, downloaded: s.totalDownloaded };
    }
    if (t.state === 'error' && entry.failure === undefined) entry.failure = t.error?.message;
  }

  /** Tells the torrent's storage which files are wanted (unselected bytes go to its parts file). */
  select(entry: TorrentEntry, t: Torrent): void {
    const prio = entry.priorities();
    const have = t.state === 'checking' ? undefined : t.bitfield();
    t.storage
      .setWantedFiles(
        prio.map((p) => p > 0),
        have === undefined ? undefined : (i) => have.get(i),
      )
      .catch((e: unknown) => this.#h.log.warn({ id: entry.id, err: e }, 'cannot apply the file selection'));
  }

  #onSessionAdded(id: string): void {
    const entry = this.#h.entry(id);
    const t = this.#h.session.getTorrent(id);
    if (entry === undefined || t === undefined) return;
    entry.torrent = t;
    entry.pendingMagnet = undefined;
    entry.failure = undefined;
    entry.metainfo ??= t.metainfo;
    entry.invalidateStats();
    // Before the torrent first touches its files (it starts right after this event).
    this.select(entry, t);
    for (const p of entry.peerList()) t.addPeer(p.host, p.port);
    // The session appends it to its queue right after this event: then it takes its place.
    queueMicrotask(() => {
      if (entry.torrent === t) this.#h.queue.place(entry);
    });
    this.#watch(entry, t);
  }

  /** Follows the torrent's events while it is the entry's. */
  #watch(entry: TorrentEntry, t: Torrent): void {
    const { log } = this.#h;
    const id = entry.id;
    const mine = (): boolean => entry.torrent === t;
    const invalidate = (): void => {
      if (mine()) entry.invalidateStats();
    };
    t.on('piece', invalidate);
    t.on('hash-failed', invalidate);
    t.on('state', ({ state }) => {
      invalidate();
      // A recheck gives the torrent a fresh engine whose session counts start at zero: the
      // node's session totals keep what this one moved.
      if (state === 'checking' && mine()) {
        const s = t.stats();
        this.#h.gone(s.downloadedBytes, s.uploadedBytes);
      }
    });
    t.on('peer', (e) => {
      invalidate();
      if (!mine()) return;
      if (e.type === 'banned') {
        log.warn({ id, address: e.address, evidence: e.reason }, 'peer banned');
        this.#h.emit('peer:banned', { id, address: e.address, reason: e.reason ?? '' });
      } else if (e.type === 'hash-failed')
        log.warn({ id, peers: e.address, reason: e.reason }, 'piece failed its hash check');
      else log.debug({ id, ...e }, `peer ${e.type}`);
    });
    t.on('done', () => {
      invalidate();
      if (!mine() || entry.record.completedAt !== undefined) return;
      entry.record = { ...entry.record, completedAt: Date.now() };
      log.info({ id, name: entry.name }, 'torrent finished');
      this.#h.emit('torrent:finished', { id, name: entry.name });
      this.#h.persistSoon();
    });
    t.on('error', ({ error }) => {
      invalidate();
      if (!mine()) return;
      entry.life.abort();
      log.warn({ id, err: error }, 'torrent stopped by an error');
      this.#h.emit('torrent:error', { id, message: error.message });
    });
    t.on('seed-limit', ({ reason, ratio }) => {
      if (!mine()) return;
      // The torrent pauses itself; the record follows, so it stays paused across restarts.
      entry.record = { ...entry.record, paused: true };
      entry.life.abort();
      const why = reason === 'ratio' ? `seed ratio ${ratio.toFixed(2)} reached` : 'seed idle limit reached';
      log.info({ id, reason, ratio }, `torrent paused: ${why}`);
      // Announced once it is in state.json, as a paused request is.
      this.#h
        .persist()
        .catch((e: unknown) => log.error({ err: e }, 'cannot save the daemon state'))
        .finally(() => this.#h.emit('torrent:paused', { id, reason: why }));
    });
  }

  #startMagnet(entry: TorrentEntry): void {
    const session = this.#h.session;
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
    entry.renewLife();
    const { incompleteDir, preallocation } = this.#h.settings();
    const fetched = session.addMagnet(link, {
      downloadDir: entry.record.downloadDir,
      ...(incompleteDir !== null ? { incompleteDir } : {}),
      preallocation,
      signal: ac.signal,
      ...libraryOptions(entry.record.options),
    });
    entry.pendingMagnet = session.pendingMagnets?.().find((p) => p.id === entry.id);
    for (const p of entry.peerList()) entry.pendingMagnet?.addPeer(p.host, p.port);
    fetched.then(
      (t) =>
        entry.run(async () => {
          if (entry.magnetAbort === ac) entry.magnetAbort = undefined;
          entry.pendingMagnet = undefined;
          if (this.#h.entry(entry.id) !== entry) {
            await this.#h.session.removeTorrent(entry.id);
            return;
          }
          await this.#onMetadata(entry, t, link);
          if (entry.record.paused) {
            entry.life.abort();
            await t.pause();
          }
        }),
      (e: unknown) => {
        if (entry.magnetAbort === ac) entry.magnetAbort = undefined;
        entry.pendingMagnet = undefined;
        if (ac.signal.aborted || this.#h.isClosed()) return;
        entry.failure = `metadata fetch failed: ${(e as Error).message}`;
        this.#h.log.warn({ id: entry.id, err: e }, 'magnet metadata fetch failed');
        this.#h.emit('torrent:error', { id: entry.id, message: entry.failure });
      },
    );
  }

  async #onMetadata(entry: TorrentEntry, t: Torrent, link: MagnetLink): Promise<void> {
    const m = t.metainfo;
    entry.metainfo = m;
    this.#h.insert(entry);
    await this.#h.store.writeTorrent(
      entry.id,
      torrentFileFromInfo(m.infoBytes, { trackers: m.trackers, webSeeds: m.webSeeds }),
    );
    let priorities = entry.record.filePriorities;
    const pending = entry.record.pendingFilePriorities;
    if (priorities === undefined && pending !== undefined) {
      if (pending.length === userFiles(m).length) priorities = prioritiesByFileIndex(m, pending);
      else
        this.#h.log.warn(
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
      this.select(entry, t);
    }
    entry.invalidateStats();
    await this.#h.persist();
    this.#h.log.info({ id: entry.id, name: m.name }, 'magnet metadata received');
    this.#h.emit('torrent:metadata', { id: entry.id, name: m.name });
  }
}
