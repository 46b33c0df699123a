/**
 * DEV DOCS — the watch folder (Transmission's `watch-dir`): every `*.torrent` file that appears
 * in it is added to the daemon. An added file is renamed `<name>.added` (or deleted, per the
 * `watchDirAction` setting); a file that is no usable torrent is renamed `<name>.invalid` and the
 * reason logged.
 *
 * A file still being written must not be read half-way: a file is taken only once two looks at
 * least {@link WATCH_SETTLE_MS} apart found the same size and modification time (a writer that
 * renames a finished file into place is taken after one settle period too). `node:fs` `watch`
 * wakes the folder up at once; a scan every {@link WATCH_SCAN_INTERVAL_MS} catches what the
 * watcher misses (network and some FUSE file systems send no events).
 *
 * Bounds: at most MAX_WATCH_PENDING_FILES files are followed at once (settling, or failed for a
 * reason of the daemon's, such as a full disk, and waiting for the file to change); more are
 * left for later scans. One scan runs at a time; files are added one by one.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode } from '../shared/errors.js';
import { MAX_API_TORRENT_BYTES, MAX_WATCH_PENDING_FILES } from '../shared/limits.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import type { WatchDirAction } from './api-types.js';
import { DaemonError, statusOf } from './errors.js';

/** Time a file's size and modification time must stay the same before it is read, ms. */
export const WATCH_SETTLE_MS = 1_500;
/** Period of the scan that catches what the file-system watcher misses, ms. */
export const WATCH_SCAN_INTERVAL_MS = 10_000;
/** Delay between a watcher event and the scan it triggers (events come in bursts), ms. */
const WATCH_EVENT_DELAY_MS = 100;

export interface WatchFolderEvents {
  /** A new or changed .torrent was seen; it is read once it has settled. */
  'file:settling': { readonly file: string };
  /** A .torrent was added (or was already there) and renamed or deleted. */
  'file:added': { readonly file: string; readonly id: string };
  /** A file is no usable torrent: renamed `<file>.invalid`. */
  'file:invalid': { readonly file: string; readonly reason: string };
  /** Adding failed for a reason of the daemon's; the file is tried again once it changes. */
  'file:failed': { readonly file: string; readonly reason: string };
}

export interface WatchFolderDeps {
  /** Adds a torrent from its bytes; resolves with its id, rejects with why not. */
  add(bytes: Uint8Array): Promise<string>;
  readonly log: Logger;
}

export interface WatchFolderOptions {
  readonly dir: string;
  readonly action: WatchDirAction;
}

interface Seen {
  /** Size and modification time when last looked at. */
  readonly sig: string;
  /** When it was first seen with that signature (performance.now()). */
  readonly since: number;
}

export class WatchFolder extends TypedEmitter<WatchFolderEvents> {
  readonly dir: string;
  readonly action: WatchDirAction;
  readonly #deps: WatchFolderDeps;
  readonly #settling = new Map<string, Seen>();
  /** Files whose add failed for a reason of the daemon's, by signature: retried once changed. */
  readonly #failed = new Map<string, string>();
  #watcher: FSWatcher | undefined;
  #interval: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #unreadable = false;

  private constructor(deps: WatchFolderDeps, o: WatchFolderOptions) {
    super();
    this.#deps = deps;
    this.dir = o.dir;
    this.action = o.action;
  }

  /**
   * Starts watching `o.dir` (files already in it are added too). Rejects with a DaemonError
   * (status 400) when it is not a readable folder.
   */
  static async open(deps: WatchFolderDeps, o: WatchFolderOptions): Promise<WatchFolder> {
    await WatchFolder.check(o.dir);
    const w = new WatchFolder(deps, o);
    w.#start();
    return w;
  }

  /** Rejects with a DaemonError (status 400) when `dir` is not a readable folder. */
  static async check(dir: string): Promise<void> {
    try {
      if (!(await stat(dir)).isDirectory()) throw new Error('it is not a folder');
      await readdir(dir);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message;
      throw new DaemonError(
        ErrorCode.DaemonState,
        `cannot watch ${dir}: ${why}`,
        { path: dir, status: 400 },
        { cause: e },
      );
    }
  }

  #start(): void {
    try {
      this.#watcher = watch(this.dir, { persistent: false }, () => this.#scanSoon(WATCH_EVENT_DELAY_MS));
      this.#watcher.on('error', (e) => {
        this.#deps.log.warn(
          { dir: this.dir, err: e },
          'watch folder: file-system events lost; scanning only',
        );
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (e) {
      this.#deps.log.warn({ dir: this.dir, err: e }, 'watch folder: no file-system events; scanning only');
    }
    this.#interval = setInterval(() => this.scan(), WATCH_SCAN_INTERVAL_MS);
    this.#interval.unref();
    this.scan();
  }

  #scanSoon(ms: number): void {
    if (this.#closed || this.#soon !== undefined) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.scan();
    }, ms);
    this.#soon.unref();
  }

  /** Looks at the folder now (a scan in progress runs once more after it). */
  scan(): void {
    if (this.#closed) return;
    if (this.#scanning !== undefined) {
      this.#again = true;
      return;
    }
    this.#scanning = this.#scan()
      .catch((e: unknown) => this.#deps.log.error({ dir: this.dir, err: e }, 'watch folder scan failed'))
      .finally(() => {
        this.#scanning = undefined;
        if (this.#again) {
          this.#again = false;
          this.scan();
        } else if (this.#settling.size > 0) this.#scanSoon(WATCH_SETTLE_MS);
      });
  }

  async #scan(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
      this.#unreadable = false;
    } catch (e) {
      if (!this.#unreadable)
        this.#deps.log.warn({ dir: this.dir, err: e }, 'watch folder cannot be read; trying again later');
      this.#unreadable = true;
      return;
    }
    const present = new Set<string>();
    for (const name of names) {
      if (this.#closed) return;
      if (name.startsWith('.') || !name.toLowerCase().endsWith('.torrent')) continue;
      present.add(name);
      const known = this.#settling.get(name);
      if (known === undefined && this.#settling.size + this.#failed.size >= MAX_WATCH_PENDING_FILES) continue;
      let sig: string;
      try {
        const st = await stat(join(this.dir, name));
        if (!st.isFile()) continue;
        sig = `${st.size}:${st.mtimeMs}`;
      } catch {
        continue; // gone meanwhile
      }
      if (this.#failed.get(name) === sig) continue;
      this.#failed.delete(name);
      const now = performance.now();
      if (known === undefined || known.sig !== sig) {
        this.#settling.set(name, { sig, since: now });
        this.emit('file:settling', { file: name });
        continue;
      }
      if (now - known.since < WATCH_SETTLE_MS) continue;
      this.#settling.delete(name);
      await this.#take(name, sig);
    }
    for (const n of this.#settling.keys()) if (!present.has(n)) this.#settling.delete(n);
    for (const n of this.#failed.keys()) if (!present.has(n)) this.#failed.delete(n);
  }

  /** Adds a settled file, then renames or deletes it. */
  async #take(name: string, sig: string): Promise<void> {
    const path = join(this.dir, name);
    const log = this.#deps.log;
    let bytes: Uint8Array;
    try {
      const size = Number(sig.split(':')[0]);
      if (size > MAX_API_TORRENT_BYTES) {
        await this.#invalid(name, sig, `it is larger than ${MAX_API_TORRENT_BYTES} bytes`);
        return;
      }
      bytes = new Uint8Array(await readFile(path));
    } catch (e) {
      this.#fail(name, sig, `cannot read it: ${(e as Error).message}`);
      return;
    }
    let id: string;
    try {
      id = await this.#deps.add(bytes);
    } catch (e) {
      const status = statusOf(e);
      // 400 and 413 say the file itself is at fault; anything else is the daemon's trouble.
      if (status === 400 || status === 413) await this.#invalid(name, sig, (e as Error).message);
      else this.#fail(name, sig, (e as Error).message);
      return;
    }
    try {
      if (this.action === 'delete') await unlink(path);
      else await rename(path, `${path}.added`);
    } catch (e) {
      log.warn(
        { file: path, err: e },
        'watch folder: torrent added, but the file cannot be renamed or deleted',
      );
      this.#failed.set(name, sig);
    }
    log.info({ file: path, id }, 'watch folder: torrent added');
    this.emit('file:added', { file: name, id });
  }

  async #invalid(name: string, sig: string, reason: string): Promise<void> {
    const path = join(this.dir, name);
    this.#deps.log.warn({ file: path, reason }, 'watch folder: not a usable .torrent; renamed .invalid');
    try {
      await rename(path, `${path}.invalid`);
    } catch (e) {
      this.#deps.log.warn({ file: path, err: e }, 'watch folder: cannot rename the file');
      this.#failed.set(name, sig); // not read again until it changes
    }
    this.emit('file:invalid', { file: name, reason });
  }

  #fail(name: string, sig: string, reason: string): void {
    this.#deps.log.warn(
      { file: join(this.dir, name), reason },
      'watch folder: cannot add the torrent; it is tried again once the file changes',
    );
    this.#failed.set(name, sig);
    this.emit('file:failed', { file: name, reason });
  }

  /** Files followed now (settling or failed), for tests and metrics. */
  get pendingCount(): number {
    return this.#settling.size + this.#failed.size;
  }

  /** Stops watching; resolves once a scan in progress has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#interval !== undefined) clearInterval(this.#interval);
    if (this.#soon !== undefined) clearTimeout(this.#soon);
    this.#soon = undefined;
    await this.#scanning;
  }
}
