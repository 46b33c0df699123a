/**
 * DEV DOCS — the BIP 157 filter headers this node accepted (after checking them against the
 * checkpoints and across peers), one per best-chain height from genesis, in memory and on disk.
 *
 * File: a 16-byte header ("SHFH", format version u16 LE, 2 bytes zero, the network magic, 4
 * bytes zero), then one 68-byte record per height from 0: the block hash (internal order), the
 * filter header, and the first 4 bytes of SHA-256d of those 64 bytes. Like the header file it only
 * grows by whole records or is truncated at a fork, each record checks itself, and a torn tail is
 * cut off when opening. Opening also cuts every record whose block hash is no longer the best
 * chain's at its height (a reorganisation the header file saw and this file did not).
 *
 * Memory: 32 bytes per height (the filter headers, in one growable buffer); block hashes live in
 * the header chain's height index.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { BtcError, type ChainParams, type HeaderChain, sha256d } from '../bitcoin/index.js';
import { ErrorCode } from '../shared/errors.js';
import { bytesEqual } from '../shared/hash.js';

const FILE_MAGIC = Uint8Array.of(0x53, 0x48, 0x46, 0x48); // "SHFH"
const FILE_VERSION = 1;
const FILE_HEADER_BYTES = 16;
const RECORD_BYTES = 68;
const READ_BATCH = 4096;

/** Filter headers by height, backed by a file; see the module notes. */
export class FilterHeaderStore {
  readonly path: string;
  readonly #fh: FileHandle;
  #headers = new Uint8Array(32 * 1024);
  #count = 0;
  /** Records the file holds once queued writes are done. */
  #fileCount: number;
  #queue: Promise<void> = Promise.resolve();
  #error: Error | undefined;
  #closed = false;

  private constructor(path: string, fh: FileHandle, fileCount: number) {
    this.path = path;
    this.#fh = fh;
    this.#fileCount = fileCount;
  }

  /** Opens (or creates) the file and keeps the records that still match `chain`'s best chain. */
  static async open(path: string, params: ChainParams, chain: HeaderChain): Promise<FilterHeaderStore> {
    const fh = await open(path, 'a+').then(async (h) => {
      await h.close();
      return open(path, 'r+');
    });
    try {
      const { size } = await fh.stat();
      const head = new Uint8Array(FILE_HEADER_BYTES);
      head.set(FILE_MAGIC, 0);
      new DataView(head.buffer).setUint16(4, FILE_VERSION, true);
      head.set(params.magic, 8);
      if (size < FILE_HEADER_BYTES) {
        await fh.truncate(0);
        await fh.write(head, 0, FILE_HEADER_BYTES, 0);
        await fh.datasync();
        return new FilterHeaderStore(path, fh, 0);
      }
      const got = new Uint8Array(FILE_HEADER_BYTES);
      await fh.read(got, 0, FILE_HEADER_BYTES, 0);
      if (!bytesEqual(got, head)) {
        throw new BtcError(
          ErrorCode.BtcBadRecord,
          `filter header file ${path}: not a ${params.name} filter header file of format ${FILE_VERSION}`,
        );
      }
      const store = new FilterHeaderStore(path, fh, 0);
      const buf = new Uint8Array(READ_BATCH * RECORD_BYTES);
      let at = FILE_HEADER_BYTES;
      let height = 0;
      outer: for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, at);
        const whole = Math.floor(bytesRead / RECORD_BYTES);
        for (let i = 0; i < whole; i++) {
          const rec = buf.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES);
          const check = sha256d(rec.subarray(0, 64));
          const best = chain.hashAt(height);
          if (
            !bytesEqual(check.subarray(0, 4), rec.subarray(64, 68)) ||
            best === undefined ||
            !bytesEqual(best, rec.subarray(0, 32))
          )
            break outer;
          store.#push(rec.subarray(32, 64));
          height++;
        }
        if (bytesRead < buf.length) break;
        at += bytesRead;
      }
      store.#fileCount = store.#count;
      const sound = FILE_HEADER_BYTES + store.#count * RECORD_BYTES;
      if (sound < size) {
        await fh.truncate(sound);
        await fh.datasync();
      }
      return store;
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Heights held: the filter header of every height below this is known. */
  get count(): number {
    return this.#count;
  }

  /** Height of the last filter header held (-1: none). */
  get tipHeight(): number {
    return this.#count - 1;
  }

  /** The last write failure, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** The filter header at `height`, or undefined when not held. */
  at(height: number): Uint8Array | undefined {
    if (!Number.isInteger(height) || height < 0 || height >= this.#count) return undefined;
    return this.#headers.slice(height * 32, height * 32 + 32);
  }

  /**
   * Appends the filter headers of heights `count`, `count + 1`, … with their block hashes (the
   * caller checked them).
   */
  append(entries: readonly { blockHash: Uint8Array; filterHeader: Uint8Array }[]): void {
    if (entries.length === 0) return;
    const records = new Uint8Array(entries.length * RECORD_BYTES);
    entries.forEach((e, i) => {
      const rec = records.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES);
      rec.set(e.blockHash, 0);
      rec.set(e.filterHeader, 32);
      rec.set(sha256d(rec.subarray(0, 64)).subarray(0, 4), 64);
      this.#push(e.filterHeader);
    });
    const writeAt = FILE_HEADER_BYTES + this.#fileCount * RECORD_BYTES;
    this.#fileCount += entries.length;
    this.#enqueue(async () => {
      await this.#fh.write(records, 0, records.length, writeAt);
      await this.#fh.datasync();
    });
  }

  /** Forgets every height from `height` up (a reorganisation). */
  truncate(height: number): void {
    if (height >= this.#count) return;
    this.#count = Math.max(0, height);
    this.#fileCount = this.#count;
    const to = FILE_HEADER_BYTES + this.#count * RECORD_BYTES;
    this.#enqueue(async () => {
      await this.#fh.truncate(to);
      await this.#fh.datasync();
    });
  }

  flush(): Promise<void> {
    return this.#queue;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    await this.#fh.close();
  }

  #push(header: Uint8Array): void {
    if ((this.#count + 1) * 32 > this.#headers.length) {
      const bigger = new Uint8Array(this.#headers.length * 2);
      bigger.set(this.#headers.subarray(0, this.#count * 32));
      this.#headers = bigger;
    }
    this.#headers.set(header, this.#count * 32);
    this.#count++;
  }

  #enqueue(op: () => Promise<void>): void {
    this.#queue = this.#queue.then(op).catch((e: unknown) => {
      this.#error = e as Error;
    });
  }
}
