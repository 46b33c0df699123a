/**
 * A bounded pool of open file handles with positional reads and writes.
 *
 * Handles are opened lazily, kept in least-recently-used order, and closed when the pool
 * would exceed its bound. A handle opened for reading is upgraded (reopened) when a write
 * needs it. Files are created sparse on first write, with their parent folders; nothing here
 * decides *where* — callers pass paths already checked to lie inside the download folder.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode } from '../shared/errors.js';
import { MAX_OPEN_FILES } from '../shared/limits.js';
import { makeDirectory } from './directory.js';
import { StorageError } from './errors.js';

interface Entry {
  handle: FileHandle;
  writable: boolean;
  /** Operations in progress; a busy handle is never closed by eviction. */
  busy: number;
}

export interface FilePoolOptions {
  /** Most handles kept open at once. @default MAX_OPEN_FILES */
  readonly maxOpen?: number;
}

export class FilePool {
  readonly #max: number;
  readonly #open = new Map<string, Entry>();
  readonly #opening = new Map<string, Promise<Entry>>();
  #closed = false;

  constructor(options: FilePoolOptions = {}) {
    this.#max = options.maxOpen ?? MAX_OPEN_FILES;
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
      if (!writable) return { handle: await open(path, constants.O_RDONLY), writable: false, busy: 0 };
      await makeDirectory(dirname(path));
      const handle = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
      return { handle, writable: true, busy: 0 };
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

  /** Writes all of `data` at `position`. */
  async write(path: string, position: number, data: Uint8Array): Promise<void> {
    const e = await this.#acquire(path, true);
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await e.handle.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
    } catch (cause) {
      throw StorageError.from(cause, path, 'write');
    } finally {
      this.#release(e);
    }
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
    await e.handle.close().catch(() => {});
  }

  /** Closes every handle; the pool refuses further use. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#opening.values()].map((p) => p.catch(() => undefined)));
    const all = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(all.map((e) => e.handle.close().catch(() => {})));
  }
}
