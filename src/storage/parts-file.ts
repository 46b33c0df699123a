/**
 * DEV DOCS — the parts file: where bytes of files the user did not select are kept.
 *
 * A v1 piece may span several files. When only some of them are selected, the pieces at the
 * edges of a selected file also hold bytes of unselected neighbours; the piece is downloaded and
 * verified whole, but those bytes must not appear as (sparse, mostly zero) files named like the
 * real ones. They go here instead, one hidden file per torrent
 * (`<download folder>/.shoal/<info-hash>.parts`), as other clients keep `.parts` files.
 *
 * Layout: a sequence of slots, one per piece that has bytes here, in the order they were first
 * written. Slot `k` starts at `k × (SLOT_HEADER_BYTES + pieceLength)`:
 *
 *   slot   := magic "SHP1" (4 bytes) | piece index (u32, big-endian) | piece bytes (pieceLength)
 *
 * A piece's bytes sit at their offset inside the piece; bytes of selected files are never
 * written into a slot (holes, so the file stays sparse where the file system allows it). The
 * slot table is rebuilt on open from the headers. Nothing here is trusted: a piece is only ever
 * reported verified after its hash matched, whether its bytes came from here or not, so a torn
 * slot (crash between header and data) only costs a re-download of that piece.
 *
 * Owned by one {@link TorrentStorage}; I/O goes through the session's {@link FilePool}.
 */
import { stat, unlink } from 'node:fs/promises';
import { ErrorCode } from '../shared/errors.js';
import { StorageError } from './errors.js';
import type { FilePool } from './file-pool.js';

/** Bytes before each slot's piece data: magic and piece index. */
export const PARTS_SLOT_HEADER_BYTES = 8;
/** "SHP1": Shoal parts file, layout 1. */
const MAGIC = 0x53485031;

export class PartsFile {
  readonly path: string;
  readonly #files: FilePool;
  readonly #pieceLength: number;
  readonly #pieceCount: number;
  /** piece → slot number. */
  readonly #slots = new Map<number, number>();
  /** Header writes of new slots, awaited by writes into them. */
  readonly #headers = new Map<number, Promise<void>>();
  #slotCount = 0;
  #size = 0;
  #loaded: Promise<void> | undefined;

  constructor(path: string, files: FilePool, pieceLength: number, pieceCount: number) {
    this.path = path;
    this.#files = files;
    this.#pieceLength = pieceLength;
    this.#pieceCount = pieceCount;
  }

  get #slotBytes(): number {
    return PARTS_SLOT_HEADER_BYTES + this.#pieceLength;
  }

  /** Reads the slot table from disk (once); a missing file is an empty table. */
  load(): Promise<void> {
    this.#loaded ??= this.#load();
    return this.#loaded;
  }

  async #load(): Promise<void> {
    let size: number;
    try {
      size = (await stat(this.path)).size;
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return;
      throw StorageError.from(e, this.path, 'stat');
    }
    this.#size = size;
    const count = Math.ceil(size / this.#slotBytes);
    const header = new Uint8Array(PARTS_SLOT_HEADER_BYTES);
    const view = new DataView(header.buffer);
    for (let k = 0; k < count; k++) {
      const at = k * this.#slotBytes;
      if (at + PARTS_SLOT_HEADER_BYTES > size) break;
      await this.#files.read(this.path, at, header, 0, PARTS_SLOT_HEADER_BYTES);
      const piece = view.getUint32(4);
      // A slot never written whole (all zeros) or foreign bytes: free for reuse.
      if (view.getUint32(0) === MAGIC && piece < this.#pieceCount && !this.#slots.has(piece))
        this.#slots.set(piece, k);
    }
    this.#slotCount = count;
  }

  /** True when slot data for `piece` exists (not that it is correct: only a hash says that). */
  has(piece: number): boolean {
    return this.#slots.has(piece);
  }

  /** True when `length` bytes at `pieceOffset` of `piece` are inside the file. */
  covers(piece: number, pieceOffset: number, length: number): boolean {
    const k = this.#slots.get(piece);
    return k !== undefined && this.#dataStart(k) + pieceOffset + length <= this.#size;
  }

  /** Position in the parts file of byte `pieceOffset` of `piece`, if it has a slot. */
  position(piece: number, pieceOffset: number): number | undefined {
    const k = this.#slots.get(piece);
    return k === undefined ? undefined : this.#dataStart(k) + pieceOffset;
  }

  #dataStart(slot: number): number {
    return slot * this.#slotBytes + PARTS_SLOT_HEADER_BYTES;
  }

  /** Writes bytes of `piece` at `pieceOffset`, giving the piece a slot first if it has none. */
  async write(piece: number, pieceOffset: number, data: Uint8Array): Promise<void> {
    let k = this.#slots.get(piece);
    if (k === undefined) {
      // Allocated synchronously, so two writes of one piece share one slot.
      k = this.#slotCount++;
      this.#slots.set(piece, k);
      const header = new Uint8Array(PARTS_SLOT_HEADER_BYTES);
      const view = new DataView(header.buffer);
      view.setUint32(0, MAGIC);
      view.setUint32(4, piece);
      const at = k * this.#slotBytes;
      const written = this.#files.write(this.path, at, header).then(() => {
        this.#size = Math.max(this.#size, at + PARTS_SLOT_HEADER_BYTES);
      });
      this.#headers.set(piece, written);
      void written.then(
        () => this.#headers.delete(piece),
        () => this.#headers.delete(piece),
      );
    }
    await this.#headers.get(piece);
    const at = this.#dataStart(k) + pieceOffset;
    await this.#files.write(this.path, at, data);
    this.#size = Math.max(this.#size, at + data.length);
  }

  /** Reads `length` bytes at `pieceOffset` of `piece` into `into` at `at`. */
  async read(
    piece: number,
    pieceOffset: number,
    into: Uint8Array,
    at: number,
    length: number,
  ): Promise<void> {
    const k = this.#slots.get(piece);
    if (k === undefined)
      throw new StorageError(
        ErrorCode.StorageIo,
        `piece ${piece} has no bytes in ${this.path}`,
        this.path,
        'read',
      );
    await this.#files.read(this.path, this.#dataStart(k) + pieceOffset, into, at, length);
  }

  /** Deletes the file (when no unselected file needs it any more). */
  async remove(): Promise<void> {
    await Promise.allSettled(this.#headers.values());
    await this.#files.closeFile(this.path);
    await unlink(this.path).catch((e: { code?: string }) => {
      if (e.code !== 'ENOENT') throw StorageError.from(e, this.path, 'write');
    });
    this.#slots.clear();
    this.#slotCount = 0;
    this.#size = 0;
  }
}
