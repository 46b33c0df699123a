/**
 * DEV DOCS — the best chain's headers on disk, in the compact record format of
 * `bitcoin/chain/record.ts` (16-byte file header, then 84 bytes per height from height 1: the
 * header and 4 check bytes of its hash).
 *
 * Crash safety, like resume data: the file only ever grows by whole records or is truncated at a
 * fork height, and every record carries its own check. A crash mid-write leaves a sound prefix
 * and at most one torn record; opening decodes up to the first bad record, truncates the rest and
 * re-validates every header (all rules but the proof-of-work hash, which this node checked when it
 * first accepted them). A node that restarts loses at most the headers of the batch in flight.
 *
 * Memory is bounded: the file is read {@link READ_BATCH} records at a time into the
 * `HeaderChain`, which keeps full entries for its window only.
 *
 * Writes are serialized (one in flight) and each batch is flushed to the disk (`datasync`)
 * before the next, so the on-disk prefix is always a prefix of some best chain we held.
 */
import { type FileHandle, open } from 'node:fs/promises';
import {
  type AcceptResult,
  type ChainParams,
  decodeHeaderFile,
  encodeHeaderFileHeader,
  HEADER_RECORD_BYTES,
  HeaderChain,
  type HeaderChainOptions,
  headerRecordOffset,
  RECORD_FILE_HEADER_BYTES,
  writeHeaderRecord,
} from '../bitcoin/index.js';

/** Records read per step when opening. */
const READ_BATCH = 2000;
/** The first record's height: genesis is implied by the chain parameters. */
const START_HEIGHT = 1;

/** What opening the header file found. */
export interface HeaderFileReport {
  /** Headers restored. */
  readonly restored: number;
  /** Bytes cut off the end: a torn or damaged record, or headers that no longer validate. */
  readonly truncatedBytes: number;
}

/** The header file of one network; see the module notes. */
export class HeaderStore {
  readonly path: string;
  readonly #fh: FileHandle;
  /** Height of the last record the file will hold once queued writes are done. */
  #height: number;
  #queue: Promise<void> = Promise.resolve();
  #error: Error | undefined;
  #closed = false;

  private constructor(path: string, fh: FileHandle, height: number) {
    this.path = path;
    this.#fh = fh;
    this.#height = height;
  }

  /**
   * Opens (or creates) the file at `path` and rebuilds the chain it holds. Rejects with
   * `BtcBadRecord` when the file belongs to another format or network.
   */
  static async open(
    path: string,
    params: ChainParams,
    options: HeaderChainOptions = {},
  ): Promise<{ store: HeaderStore; chain: HeaderChain; report: HeaderFileReport }> {
    const fh = await open(path, 'a+').then(async (h) => {
      // 'a+' creates it; positional writes need 'r+'.
      await h.close();
      return open(path, 'r+');
    });
    try {
      const chain = new HeaderChain(params, options);
      const { size } = await fh.stat();
      const fileHeader = encodeHeaderFileHeader(params, START_HEIGHT);
      if (size < RECORD_FILE_HEADER_BYTES) {
        await fh.truncate(0);
        await fh.write(fileHeader, 0, fileHeader.length, 0);
        await fh.datasync();
        return { store: new HeaderStore(path, fh, 0), chain, report: { restored: 0, truncatedBytes: size } };
      }
      const head = new Uint8Array(RECORD_FILE_HEADER_BYTES);
      await fh.read(head, 0, head.length, 0);
      decodeHeaderFile(head, params); // throws on another format or network
      let at = RECORD_FILE_HEADER_BYTES;
      const buf = new Uint8Array(RECORD_FILE_HEADER_BYTES + READ_BATCH * HEADER_RECORD_BYTES);
      buf.set(head, 0);
      let sound = at;
      for (;;) {
        const { bytesRead } = await fh.read(
          buf,
          RECORD_FILE_HEADER_BYTES,
          READ_BATCH * HEADER_RECORD_BYTES,
          at,
        );
        if (bytesRead === 0) break;
        const decoded = decodeHeaderFile(buf.subarray(0, RECORD_FILE_HEADER_BYTES + bytesRead), params);
        const r = chain.acceptHeaders(decoded.headers, Number.POSITIVE_INFINITY, { checkPow: false });
        const accepted = r.error === undefined ? decoded.headers.length : (r.error.details.index ?? 0);
        sound = at + accepted * HEADER_RECORD_BYTES;
        if (r.error !== undefined || decoded.damaged) break;
        at += bytesRead;
      }
      // A record that failed, and everything after it, goes.
      if (chain.height !== (sound - RECORD_FILE_HEADER_BYTES) / HEADER_RECORD_BYTES) {
        sound = headerRecordOffset(START_HEIGHT, chain.height + 1);
      }
      if (sound < size) {
        await fh.truncate(sound);
        await fh.datasync();
      }
      return {
        store: new HeaderStore(path, fh, chain.height),
        chain,
        report: { restored: chain.height, truncatedBytes: size - sound },
      };
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** The last write failure, if any (the node keeps running on its in-memory chain). */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Height the file holds once queued writes are done. */
  get height(): number {
    return this.#height;
  }

  /** The 80-byte header at `height` as written (after queued writes), or undefined beyond the file. */
  async read(height: number): Promise<Uint8Array | undefined> {
    await this.#queue;
    if (this.#closed || height < START_HEIGHT || height > this.#height) return undefined;
    const out = new Uint8Array(80);
    const { bytesRead } = await this.#fh.read(out, 0, 80, headerRecordOffset(START_HEIGHT, height));
    return bytesRead === 80 ? out : undefined;
  }

  /** Queues the best chain's change of one accepted batch: truncate at the fork, append the new headers. */
  record(result: Pick<AcceptResult, 'disconnected' | 'connected'>): void {
    if (this.#closed || (result.disconnected.length === 0 && result.connected.length === 0)) return;
    let from = this.#height + 1;
    if (result.disconnected.length > 0) {
      const fork = Math.min(...result.disconnected.map((e) => e.height)) - 1;
      from = Math.min(from, fork + 1);
    }
    if (result.connected.length > 0 && result.connected[0]!.height < from) from = result.connected[0]!.height;
    const records = new Uint8Array(result.connected.length * HEADER_RECORD_BYTES);
    result.connected.forEach((e, i) => {
      writeHeaderRecord(records, i * HEADER_RECORD_BYTES, e.raw, e.hash);
    });
    const truncateTo = from <= this.#height ? headerRecordOffset(START_HEIGHT, from) : undefined;
    const writeAt = headerRecordOffset(START_HEIGHT, from);
    this.#height = from - 1 + result.connected.length;
    this.#enqueue(async () => {
      if (truncateTo !== undefined) await this.#fh.truncate(truncateTo);
      if (records.length > 0) await this.#fh.write(records, 0, records.length, writeAt);
      await this.#fh.datasync();
    });
  }

  /** Resolves once every queued write is on disk. */
  flush(): Promise<void> {
    return this.#queue;
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    await this.#fh.close();
  }

  #enqueue(op: () => Promise<void>): void {
    this.#queue = this.#queue.then(op).catch((e: unknown) => {
      this.#error = e as Error;
    });
  }
}
