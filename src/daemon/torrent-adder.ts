/**
 * Adding torrents to the daemon (part of {@link TorrentManager}): from .torrent bytes, a magnet
 * link or an http(s) URL. Each add checks what it is given (a torrent that does not parse, file
 * priorities of the wrong length, a magnet when the session cannot fetch metadata, a download
 * folder outside the allowed roots or not writable), answers with the existing entry when the
 * torrent is already there (by its v1 or v2 info-hash), and otherwise inserts a new entry, writes
 * its .torrent bytes, then its record, before it tells the manager it was added. A failed write
 * takes the entry out again.
 */
import { parseMagnet, prioritiesByFileIndex, userFiles } from '../metainfo/index.js';
import type { Session } from '../session/index.js';
import { ErrorCode } from '../shared/errors.js';
import { toHex } from '../shared/hash.js';
import { apiError } from './errors.js';
import { fetchTorrentFile } from './fetch-torrent.js';
import { resolveDownloadDir } from './paths.js';
import type { StateStore } from './state-store.js';
import { TorrentEntry } from './torrent-entry.js';
import { type AddOptions, newRecord, parseUploadedTorrent } from './torrent-record.js';
import { canAddMagnet } from './torrent-runner.js';

/** What an add answers: the entry, and whether this call created it. */
export interface AddResult {
  readonly entry: TorrentEntry;
  readonly created: boolean;
}

/** What adding needs from the manager. */
export interface TorrentAdderHost {
  readonly session: Session;
  readonly store: StateStore;
  readonly downloadDir: string;
  readonly roots: readonly string[];
  readonly fetchTimeoutMs: number;
  /** The entry for a torrent id (v1 hash, or v2 for a v2-only torrent; hybrids also by v2). */
  get(id: string): TorrentEntry | undefined;
  /** Puts a new entry in the manager's map and queue. */
  insert(entry: TorrentEntry): void;
  /** Takes an entry out again (its record could not be written). */
  forget(entry: TorrentEntry): void;
  /** Writes the persisted state. */
  persist(): Promise<void>;
  /** The entry is added and saved: log, event, start. */
  added(entry: TorrentEntry): void;
}

/** See the module notes. */
export class TorrentAdder {
  readonly #host: TorrentAdderHost;

  constructor(host: TorrentAdderHost) {
    this.#host = host;
  }

  /** Adds a torrent from .torrent bytes. */
  async addTorrentFile(bytes: Uint8Array, options: AddOptions = {}): Promise<AddResult> {
    const h = this.#host;
    const m = parseUploadedTorrent(bytes);
    const id = toHex(m.infoHashV1 ?? m.infoHashV2!);
    const known = h.get(id) ?? (m.infoHashV2 ? h.get(toHex(m.infoHashV2)) : undefined);
    if (known !== undefined) return { entry: known, created: false };
    const count = userFiles(m).length;
    if (options.filePriorities !== undefined && options.filePriorities.length !== count) {
      throw apiError(
        ErrorCode.ApiBadRequest,
        `filePriorities lists ${options.filePriorities.length} files; the torrent has ${count}`,
      );
    }
    const downloadDir = await resolveDownloadDir(options.downloadDir, h.downloadDir, h.roots);
    const again = h.get(id);
    if (again !== undefined) return { entry: again, created: false };
    const byIndex =
      options.filePriorities === undefined ? undefined : prioritiesByFileIndex(m, options.filePriorities);
    const entry = new TorrentEntry(newRecord(id, m.name, downloadDir, options, true, byIndex), m);
    return this.#commit(entry, () => h.store.writeTorrent(id, bytes));
  }

  /** Adds a magnet link; its metadata is fetched from peers in the background. */
  async addMagnet(uri: string, options: AddOptions = {}): Promise<AddResult> {
    const h = this.#host;
    const link = parseMagnet(uri);
    if (!canAddMagnet(h.session))
      throw apiError(ErrorCode.ApiNotImplemented, 'magnet links need metadata exchange (coming)');
    const id = toHex(link.infoHashV1 ?? link.infoHashV2!);
    const known = h.get(id) ?? (link.infoHashV2 ? h.get(toHex(link.infoHashV2)) : undefined);
    if (known !== undefined) return { entry: known, created: false };
    const downloadDir = await resolveDownloadDir(options.downloadDir, h.downloadDir, h.roots);
    const again = h.get(id);
    if (again !== undefined) return { entry: again, created: false };
    const record = {
      ...newRecord(id, link.name ?? id, downloadDir, options, false, undefined),
      magnet: uri,
      // By file number until the metadata says which files there are.
      ...(options.filePriorities !== undefined ? { pendingFilePriorities: [...options.filePriorities] } : {}),
    };
    return this.#commit(new TorrentEntry(record, undefined));
  }

  /** Inserts a new entry, writes what it needs (`before`, then the record), and reports it added. */
  async #commit(entry: TorrentEntry, before?: () => Promise<void>): Promise<AddResult> {
    const h = this.#host;
    h.insert(entry);
    try {
      await before?.();
      await h.persist();
    } catch (e) {
      h.forget(entry);
      throw e;
    }
    h.added(entry);
    return { entry, created: true };
  }

  /** Fetches a .torrent from an http(s) URL and adds it. */
  async addUrl(url: string, options: AddOptions = {}): Promise<AddResult> {
    const bytes = await fetchTorrentFile(url, { timeoutMs: this.#host.fetchTimeoutMs });
    return this.addTorrentFile(bytes, options);
  }
}
