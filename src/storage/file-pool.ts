/**
 * A bounded pool of open file handles with positional reads and writes.
 *
 * Handles are opened lazily, kept in least-recently-used order, and closed when the pool
 * would exceed its bound. A handle opened for reading is upgraded (reopened) when a write
 * needs it. Files are created sparse on first write, with their parent folders; nothing here
 * decides *where* — callers pass paths already checked to lie inside the download folder.
 *
 * Write calls to one file go one after another, in the order they were made, so that
 * overlapping writes end with the last one's bytes. One call is cut into parts of at most
 * MAX_WRITE_CALL_BYTES, sent side by side. A caller that knows its write overlaps no other in
 * flight (a verified piece: its bytes are written once) may skip the queue (`ordered: false`):
 * each queued write starts only when the event loop takes the last one's completion, and while
 * the main thread is busy that wait held verified pieces in their buffers long enough to stop
 * a 1 GiB web seed download 500–650 times (0.5–0.7 s of about 2 s; docs/BENCHMARKS.md). The
 * kernel serializes writes to one file anyway (the inode's lock), and libuv's threads that wait
 * for it spin meanwhile: on this VM, when page-cache copies are slow, 17 % of a download's CPU.
 *
 * So verified pieces are written elsewhere: {@link FilePool.lease} lends a writable file's
 * descriptor to a hash thread, which writes each piece it checked one call after another
 * (`TorrentStorage.verifyAndWrite`). A leased handle is neither evicted nor closed until the
 * lease is given back, so its descriptor number is never reused for another file meanwhile.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode } from '../shared/errors.js';
import { MAX_OPEN_FILES, MAX_WRITE_CALL_BYTES } from '../shared/limits.js';
import { makeDirectory } from './directory.js';
import { StorageError } from './errors.js';

interface Entry {
  handle: FileHandle;
  writable: boolean;
  /** Operations in progress; a busy handle is never closed by eviction. */
  busy: number;
  /** Leases out ({@link FilePool.lease}): the handle is closed only once they are all back. */
  leases: number;
  /** Calls waiting for the leases to come back. */
  readonly drained: (() => void)[];
}

/** A writable file's descriptor, lent out until {@link FileLease.release} (see `FilePool.lease`). */
export interface FileLease {
  readonly fd: number;
  /** Gives the descriptor back; later calls do nothing. */
  release(): void;
}

export interface FilePoolOptions {
  /** Most handles kept open at once. @default MAX_OPEN_FILES */
  readonly maxOpen?: number;
  /** Opens a file (tests watch the handles' calls through it). @default fs/promises `open` */
  readonly openFile?: (path: string, flags: number, mode?: number) => Promise<FileHandle>;
}

export class FilePool {
  readonly #max: number;
  readonly #openFile: (path: string, flags: number, mode?: number) => Promise<FileHandle>;
  readonly #open = new Map<string, Entry>();
  readonly #opening = new Map<string, Promise<Entry>>();
  /** Per path, settles when the last write queued to it is done (see {@link FilePool.write}). */
  readonly #lastWrite = new Map<string, Promise<void>>();
  #closed = false;

  constructor(options: FilePoolOptions = {}) {
    this.#max = options.maxOpen ?? MAX_OPEN_FILES;
    this.#openFile = options.openFile ?? open;
  }

  /** Number of handles currently open. */
  get openCount(): number {
    return this.#open.size;
  }

  async #acquire(path: string, writable: boolean): Promise<Entry> {
    if (this.#closed) throw new StorageError(ErrorCode.SessionClosed, 'file pool is closed', path, 'open');
    let e = this.#open.get(path);
    if (e !== undefined && (e.writable || !writable)) {
      // Refresh LRU position.
      this.#open.delete(path);
      this.#open.set(path, e);
      e.busy++;
      return e;
    }
    const pending = this.#opening.get(path);
    if (pending !== undefined) {
      const p = await pending;
      if (p.writable || !writable) {
        p.busy++;
        return p;
      }
    }
    const opening = this.#openHandle(path, writable, e);
    this.#opening.set(path, opening);
    try {
      e = await opening;
    } finally {
      this.#opening.delete(path);
    }
    this.#open.set(path, e);
    e.busy++;
    await this.#evict();
    return e;
  }

  async #openHandle(path: string, writable: boolean, previous: Entry | undefined): Promise<Entry> {
    if (previous !== undefined) {
      this.#open.delete(path);
      await previous.handle.close().catch(() => {});
    }
    try {
      if (!writable) return { ...newEntry(await this.#openFile(path, constants.O_RDONLY)), writable: false };
      await makeDirectory(dirname(path));
      const handle = await this.#openFile(path, constants.O_RDWR | constants.O_CREAT, 0o644);
      return { ...newEntry(handle), writable: true };
    } catch (cause) {
      throw StorageError.from(cause, path, 'open');
    }
  }

  async #evict(): Promise<void> {
    for (const [path, e] of this.#open) {
      if (this.#open.size <= this.#max) break;
      if (e.busy > 0) continue;
      this.#open.delete(path);
      await e.handle.close().catch(() => {});
    }
  }

  #release(e: Entry): void {
    e.busy--;
  }

  /** Reads exactly `length` bytes at `position` into `target` at `targetOffset`. */
  async read(path: string, position: number, target: Uint8Array, targetOffset: number, length: number) {
    const e = await this.#acquire(path, false);
    try {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await e.handle.read(
          target,
          targetOffset + done,
          length - done,
          position + done,
        );
        if (bytesRead === 0) {
          throw new StorageError(ErrorCode.StorageIo, `short read from ${path}`, path, 'read');
        }
        done += bytesRead;
      }
    } catch (cause) {
      throw StorageError.from(cause, path, 'read');
    } finally {
      this.#release(e);
    }
  }

  /**
   * Writes all of `data` at `position`, in parts of at most MAX_WRITE_CALL_BYTES written side by
   * side: after the writes to the same file queued before, unless `ordered` is false (the
   * caller vouches that no write in flight overlaps this one; it then waits for none).
   */
  async write(
    path: string,
    position: number,
    data: Uint8Array,
    opts: { readonly ordered?: boolean } = {},
  ): Promise<void> {
    // Queued before anything is awaited, so that writes land in the order they were made.
    const ordered = opts.ordered !== false;
    const before = ordered ? this.#lastWrite.get(path) : undefined;
    let finished!: () => void;
    const mine = new Promise<void>((resolve) => {
      finished = resolve;
    });
    if (ordered) this.#lastWrite.set(path, mine);
    let e: Entry | undefined;
    try {
      if (before !== undefined) await before;
      e = await this.#acquire(path, true);
      const handle = e.handle;
      // The parts are disjoint: they go side by side (one round trip through libuv's pool, not
      // one per part, which held a 1 MiB piece's write for 8 turns of a busy event loop).
      const parts: Promise<void>[] = [];
      for (let at = 0; at < data.length; at += MAX_WRITE_CALL_BYTES)
        parts.push(
          writeAll(handle, data, at, Math.min(MAX_WRITE_CALL_BYTES, data.length - at), position + at),
        );
      await Promise.all(parts);
    } catch (cause) {
      throw StorageError.from(cause, path, 'write');
    } finally {
      finished();
      if (this.#lastWrite.get(path) === mine) this.#lastWrite.delete(path);
      if (e !== undefined) this.#release(e);
    }
  }

  /**
   * Lends out the descriptor of `path` open for writing (creating the file and its folders), for
   * writes made elsewhere (a hash thread writing a verified piece). The handle stays open, and is
   * not evicted, until the lease is released: {@link closeFile} and {@link close} wait for that,
   * so a descriptor in use is never closed and reused for another file.
   */
  async lease(path: string): Promise<FileLease> {
    const e = await this.#acquire(path, true);
    e.leases++;
    let out = true;
    return {
      fd: e.handle.fd,
      release: () => {
        if (!out) return;
        out = false;
        e.leases--;
        this.#release(e);
        if (e.leases === 0) for (const wake of e.drained.splice(0)) wake();
      },
    };
  }

  /** Closes `e`'s handle once its leases are back. */
  async #closeEntry(e: Entry): Promise<void> {
    if (e.leases > 0) await new Promise<void>((resolve) => e.drained.push(resolve));
    await e.handle.close().catch(() => {});
  }

  /** Sets a file's size (creating it), e.g. for zero-length files or preallocation. */
  async truncate(path: string, length: number): Promise<void> {
    const e = await this.#acquire(path, true);
    try {
      const st = await e.handle.stat();
      if (st.size !== length) await e.handle.truncate(length);
    } catch (cause) {
      throw StorageError.from(cause, path, 'truncate');
    } finally {
      this.#release(e);
    }
  }

  /** Flushes written data of every open writable handle to disk. */
  async sync(): Promise<void> {
    await Promise.all(
      [...this.#open.values()].filter((e) => e.writable).map((e) => e.handle.datasync().catch(() => {})),
    );
  }

  /** Closes one file's handle (before deleting or moving it). */
  async closeFile(path: string): Promise<void> {
    const e = this.#open.get(path);
    if (e === undefined) return;
    this.#open.delete(path);
    await this.#closeEntry(e);
  }

  /** Closes every handle; the pool refuses further use. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#opening.values()].map((p) => p.catch(() => undefined)));
    const all = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(all.map((e) => this.#closeEntry(e)));
  }
}

/** Writes `length` bytes of `data` from `offset` at `position`, however many calls it takes. */
async function writeAll(
  handle: FileHandle,
  data: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesWritten } = await handle.write(data, offset + done, length - done, position + done);
    done += bytesWritten;
  }
}

function newEntry(handle: FileHandle): Omit<Entry, 'writable'> {
  return { handle, busy: 0, leases: 0, drained: [] };
}
