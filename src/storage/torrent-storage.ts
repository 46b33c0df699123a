/**
 * The disk side of one torrent: where each byte of the piece space lives, block reads and
 * writes, and piece verification on the hash pool.
 *
 * Blocks are written in place as they arrive; a piece becomes trusted only when
 * {@link TorrentStorage.verifyPiece} re-reads it (from the page cache, on a worker thread) and
 * its hash matches: SHA-1 for v1, the BEP 52 merkle root for v2, both for hybrids. Every path
 * is built with `joinSafe`, so no torrent can name a file outside the download folder.
 * Padding files are never created, read or written.
 *
 * File selection ({@link TorrentStorage.setWantedFiles}): the bytes of a file the user did not
 * select that share a piece with a selected one go to the torrent's {@link PartsFile}, never to
 * a file named like the real one, unless that real file already exists (selected before, or
 * the user's own copy): then its bytes stay in it. When such a file is selected later, its
 * verified bytes are moved from the parts file into place. Without a selection every file is
 * wanted and no parts file is used. Segments are routed per file, so reads, writes, hashing and
 * resume checks all see the bytes where they are.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  blockCount,
  joinSafe,
  type Metainfo,
  nextPow2,
  storagePath,
  type TorrentFile,
} from '../metainfo/index.js';
import { bytesEqual, toHex } from '../shared/hash.js';
import { BLOCK_BYTES } from '../shared/limits.js';
import { StorageError } from './errors.js';
import type { FileLease, FilePool } from './file-pool.js';
import type { HashPool, HashSegment, PieceRun } from './hash-pool.js';
import { PartsFile } from './parts-file.js';
import { PieceMap, type Segment } from './piece-map.js';

/** Pieces verified concurrently per hash thread during a full recheck. */
export const RECHECK_PIECES_PER_THREAD = 2;

/** What a piece must hash to. */
interface ExpectedHashes {
  readonly sha1?: Uint8Array;
  /** v2: merkle root of the piece's file data in a tree of `leaves` leaves. */
  readonly merkle?: { readonly root: Uint8Array; readonly leaves: number; readonly bytes: number };
}

export interface TorrentStorageInit {
  readonly metainfo: Metainfo;
  /** Folder the torrent's files go under. */
  readonly downloadDir: string;
  readonly files: FilePool;
  readonly hashes: HashPool;
  /**
   * The parts file (bytes of unselected files that share pieces with selected ones).
   * @default `<downloadDir>/.shoal/<info-hash hex>.parts`
   */
  readonly partsPath?: string;
}

export class TorrentStorage {
  readonly metainfo: Metainfo;
  readonly map: PieceMap;
  readonly downloadDir: string;
  readonly #files: FilePool;
  readonly #hashes: HashPool;
  readonly #paths: readonly string[];
  /** v2 piece layers by hex root: the torrent's, plus those fetched from peers. */
  readonly #layers: Map<string, Uint8Array>;
  readonly #parts: PartsFile;
  /** By file index: the file's bytes live in the parts file (unselected, no real file). */
  readonly #inParts: boolean[];
  /** By file index: selected (padding files never are). */
  #wanted: boolean[];
  /** A selection change in progress; every file access waits for it. */
  #pending: Promise<void> | undefined;
  /** The parts file's contents were attributed to files (at the first selection). */
  #partsKnown = false;

  constructor(init: TorrentStorageInit) {
    this.metainfo = init.metainfo;
    this.map = new PieceMap(init.metainfo);
    this.downloadDir = init.downloadDir;
    this.#files = init.files;
    this.#hashes = init.hashes;
    this.#layers = new Map(init.metainfo.pieceLayers);
    // Checked once here: every later file access goes through these paths.
    this.#paths = init.metainfo.files.map((f) =>
      f.isPadding ? '' : joinSafe(init.downloadDir, storagePath(init.metainfo, f)),
    );
    const m = init.metainfo;
    const id = toHex(m.infoHashV1 ?? m.infoHashV2 ?? new Uint8Array(0));
    this.#parts = new PartsFile(
      init.partsPath ?? join(init.downloadDir, '.shoal', `${id}.parts`),
      init.files,
      m.pieceLength,
      m.pieceCount,
    );
    this.#inParts = m.files.map(() => false);
    this.#wanted = m.files.map((f) => !f.isPadding);
  }

  /** Path of the parts file (it exists only while an unselected file has bytes in it). */
  get partsPath(): string {
    return this.#parts.path;
  }

  /** True when file `index` is selected (see {@link setWantedFiles}). */
  isWanted(index: number): boolean {
    return this.#wanted[index] === true;
  }

  /**
   * Says which files the user selected, by file index (padding files are ignored; missing
   * entries count as selected). From then on, bytes of an unselected file whose real file does
   * not exist go to the parts file; a file selected now whose bytes were there gets them moved
   * into place — only those of verified pieces when `isVerified` is given. Every file access
   * waits until the change is done.
   */
  setWantedFiles(wanted: readonly boolean[], isVerified?: (piece: number) => boolean): Promise<void> {
    const previous = this.#pending ?? Promise.resolve();
    const run = previous.then(() => this.#applyWanted(wanted, isVerified));
    const tracked: Promise<void> = run.then(
      () => this.#untrack(tracked),
      () => this.#untrack(tracked),
    );
    this.#pending = tracked;
    return run;
  }

  async #applyWanted(wanted: readonly boolean[], isVerified?: (piece: number) => boolean): Promise<void> {
    const files = this.metainfo.files;
    await this.#parts.load();
    if (!this.#partsKnown) {
      // First selection since start: a file whose bytes were left in the parts file by an
      // earlier run (and that has no real file) is found there.
      this.#partsKnown = true;
      for (let i = 0; i < files.length; i++) {
        if (files[i]!.isPadding || files[i]!.length === 0) continue;
        const { first, last } = this.map.filePieces(i);
        if (!(this.#parts.has(first) || this.#parts.has(last))) continue;
        if (!(await exists(this.#paths[i]!))) this.#inParts[i] = true;
      }
    }
    const next = files.map((f, i) => !f.isPadding && wanted[i] !== false);
    for (let i = 0; i < files.length; i++) {
      if (files[i]!.isPadding) continue;
      if (!next[i] && !this.#inParts[i]) {
        // Bytes already in a real file stay there; otherwise they wait in the parts file.
        if (!(await exists(this.#paths[i]!))) this.#inParts[i] = true;
      } else if (next[i] && this.#inParts[i]) {
        await this.#moveIntoPlace(i, isVerified);
        this.#inParts[i] = false;
        if (files[i]!.length === 0) await this.#files.truncate(this.#paths[i]!, 0);
      }
    }
    this.#wanted = next;
    if (!this.#inParts.includes(true)) await this.#parts.remove();
  }

  /** Copies file `index`'s bytes from the parts file to the real file. */
  async #moveIntoPlace(index: number, isVerified?: (piece: number) => boolean): Promise<void> {
    const { first, last } = this.map.filePieces(index);
    for (let p = first; p <= last; p++) {
      if (!this.#parts.has(p) || (isVerified !== undefined && !isVerified(p))) continue;
      for (const s of this.map.segments(p)) {
        if (s.file !== index || !this.#parts.covers(p, s.pieceOffset, s.length)) continue;
        const buf = Buffer.allocUnsafe(s.length);
        await this.#parts.read(p, s.pieceOffset, buf, 0, s.length);
        await this.#files.write(this.#paths[index]!, s.fileOffset, buf);
      }
    }
  }

  #untrack(p: Promise<void>): void {
    if (this.#pending === p) this.#pending = undefined;
  }

  /** Waits for a selection change in progress, if any. */
  async #settled(): Promise<void> {
    while (this.#pending !== undefined) await this.#pending;
  }

  /** Absolute path of file `index` (empty for padding files). */
  filePath(index: number): string {
    return this.#paths[index] ?? '';
  }

  /** Writes a block (any run inside one piece) in place. */
  writeBlock(piece: number, offset: number, data: Uint8Array): Promise<void> {
    return this.#write(piece, offset, data, true);
  }

  /**
   * Writes `data` at `offset` of `piece`; `ordered`: after the writes to the same files made
   * before (see FilePool.write; the parts file always keeps its order).
   */
  async #write(piece: number, offset: number, data: Uint8Array, ordered: boolean): Promise<void> {
    if (this.#pending !== undefined) await this.#settled();
    const writes: Promise<void>[] = [];
    for (const s of this.map.segments(piece, offset, data.length)) {
      if (s.file < 0) continue;
      const rel = s.pieceOffset - offset;
      const bytes = data.subarray(rel, rel + s.length);
      writes.push(
        this.#inParts[s.file] === true
          ? this.#parts.write(piece, s.pieceOffset, bytes)
          : this.#files.write(this.#paths[s.file]!, s.fileOffset, bytes, { ordered }),
      );
    }
    await Promise.all(writes);
  }

  /**
   * Reads `length` bytes at `offset` of `piece` (padding reads as zeros) into the start of
   * `into` when it is large enough, else into a new buffer; returns them.
   */
  async readBlock(piece: number, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    if (this.#pending !== undefined) await this.#settled();
    // Not zero-filled (zeroing every piece a seeder reads showed in its profiles): the segments
    // cover every byte, each one either read (a short read throws) or padding, zeroed here.
    const segments = this.map.segments(piece, offset, length);
    const out =
      into !== undefined && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    if (segments.reduce((n, s) => n + s.length, 0) !== length) out.fill(0);
    const reads: Promise<void>[] = [];
    for (const s of segments) {
      const at = s.pieceOffset - offset;
      if (s.file < 0) out.fill(0, at, at + s.length);
      else if (this.#inParts[s.file] === true)
        reads.push(this.#parts.read(piece, s.pieceOffset, out, at, s.length));
      else reads.push(this.#files.read(this.#paths[s.file]!, s.fileOffset, out, at, s.length));
    }
    await Promise.all(reads);
    return out;
  }

  /** Adds a verified v2 piece layer (fetched from peers) so the file's pieces can be checked. */
  setPieceLayer(rootHex: string, layer: Uint8Array): void {
    this.#layers.set(rootHex, layer);
  }

  /** Writes a whole verified piece (one write per file segment). */
  writePiece(index: number, data: Uint8Array): Promise<void> {
    // A verified piece's bytes are written once, and no other write touches them meanwhile: it
    // need not wait for the writes to its files made before.
    return this.#write(index, 0, data, false);
  }

  /** Reads a whole piece as peers may request it (padding, and v2 block rounding, as zeros). */
  readPiece(index: number, into?: Uint8Array): Promise<Uint8Array> {
    return this.readBlock(index, 0, this.map.uploadSize(index), into);
  }

  /**
   * Verifies a received piece held in `buffer` (first `pieceSize` bytes; room for digests at the
   * end), moving the buffer to a hash worker and back without a copy. Use the returned buffer
   * afterwards: the one passed in is detached.
   */
  async verifyBuffer(index: number, buffer: Uint8Array): Promise<{ ok: boolean; buffer: Uint8Array }> {
    const expected = this.#expected(index);
    if (expected === undefined) return { ok: false, buffer };
    const size = this.map.pieceSize(index);
    const r = await this.#hashes.hashPieceBuffer(buffer, size, hashOptions(expected));
    return { ok: matches(expected, r.sha1, r.merkle), buffer: r.buffer };
  }

  /**
   * Verifies a received piece held in `buffer` as {@link verifyBuffer} does and, when it
   * matches, writes it to its files: both on a hash thread, from the same memory (the write to
   * a file the user did not select, kept in the parts file, is made here afterwards, as are all
   * writes when the pool was made with `storeOnThreads: false`). Use the returned buffer
   * afterwards: the one passed in may be detached.
   */
  async verifyAndWrite(index: number, buffer: Uint8Array): Promise<{ ok: boolean; buffer: Uint8Array }> {
    const expected = this.#expected(index);
    if (expected === undefined) return { ok: false, buffer };
    if (this.#pending !== undefined) await this.#settled();
    const size = this.map.pieceSize(index);
    const segments = this.map.segments(index, 0, size).filter((s) => s.file >= 0);
    if (!this.#hashes.storeOnThreads || segments.some((s) => this.#inParts[s.file] === true)) {
      const r = await this.verifyBuffer(index, buffer);
      if (r.ok) await this.writePiece(index, r.buffer.subarray(0, size));
      return r;
    }
    const leases: FileLease[] = [];
    try {
      for (const s of segments) leases.push(await this.#files.lease(this.#paths[s.file]!));
      const writes = segments.map((s, i) => ({
        fd: leases[i]!.fd,
        path: this.#paths[s.file]!,
        from: s.pieceOffset,
        length: s.length,
        position: s.fileOffset,
      }));
      const r = await this.#hashes.hashPieceBuffer(buffer, size, {
        ...hashOptions(expected),
        store: {
          ...(expected.sha1 !== undefined ? { sha1: expected.sha1 } : {}),
          ...(expected.merkle !== undefined ? { merkle: expected.merkle.root } : {}),
          writes,
        },
      });
      const ok = matches(expected, r.sha1, r.merkle);
      // The thread compared the same digests: it stores a piece exactly when it matches.
      if (ok !== r.stored) throw new Error(`piece ${index}: matches ${ok}, but stored ${r.stored}`);
      return { ok, buffer: r.buffer };
    } finally {
      for (const l of leases) l.release();
    }
  }

  /** True when `data` (the whole piece, as received) matches the piece's hash(es). */
  async verifyData(index: number, data: Uint8Array): Promise<boolean> {
    const expected = this.#expected(index);
    if (expected === undefined || data.length !== this.map.pieceSize(index)) return false;
    const [sha1, merkle] = await Promise.all([
      expected.sha1 === undefined ? undefined : this.#hashes.digest('sha1', [data]),
      expected.merkle === undefined
        ? undefined
        : this.#hashes.merkleRoot(data.subarray(0, expected.merkle.bytes), expected.merkle.leaves),
    ]);
    if (expected.sha1 !== undefined && (sha1 === undefined || !bytesEqual(sha1, expected.sha1))) return false;
    if (
      expected.merkle !== undefined &&
      (merkle === undefined || !bytesEqual(merkle, expected.merkle.root))
    ) {
      return false;
    }
    return true;
  }

  /** True when the piece on disk matches its hash(es). Missing files count as a mismatch. */
  async verifyPiece(index: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#pending !== undefined) await this.#settled();
    const expected = this.#expected(index);
    if (expected === undefined) return false;
    const segments = this.#segments(index);
    if (segments === undefined) return false;
    const size = this.map.pieceSize(index);
    const run: PieceRun = {
      count: 1,
      length: size,
      sha1: expected.sha1 !== undefined,
      merkleBytes: expected.merkle?.bytes ?? 0,
      merkleLeaves: expected.merkle?.leaves ?? 1,
    };
    try {
      const r = await this.#hashes.hashRanges(
        { segments, runs: [run] },
        signal === undefined ? {} : { signal },
      );
      if (expected.sha1 !== undefined && !bytesEqual(r.sha1, expected.sha1)) return false;
      if (expected.merkle !== undefined && !bytesEqual(r.merkle, expected.merkle.root)) return false;
      return true;
    } catch (e) {
      if (e instanceof StorageError && e.details.op !== 'hash') return false;
      throw e;
    }
  }

  /**
   * Hashes every piece on disk; returns the verified ones. Pieces whose files are missing or
   * short are simply not verified.
   */
  async recheck(
    onProgress?: (checkedPieces: number, pieceCount: number) => void,
    signal?: AbortSignal,
  ): Promise<boolean[]> {
    if (this.#pending !== undefined) await this.#settled();
    const n = this.map.pieceCount;
    const result = new Array<boolean>(n).fill(false);
    const present = await this.#presentFiles();
    let next = 0;
    let checked = 0;
    const worker = async () => {
      while (next < n) {
        signal?.throwIfAborted();
        const i = next++;
        const usable = this.map.segments(i).every((s) => {
          if (s.file < 0) return true;
          if (this.#inParts[s.file] === true) return this.#parts.covers(i, s.pieceOffset, s.length);
          return present[s.file] === true;
        });
        result[i] = usable ? await this.verifyPiece(i, signal) : false;
        onProgress?.(++checked, n);
      }
    };
    const lanes = Math.max(1, this.#hashes.threads * RECHECK_PIECES_PER_THREAD);
    await Promise.all(Array.from({ length: lanes }, worker));
    return result;
  }

  /** Creates the zero-length files that are selected (they never receive a block). */
  async createEmptyFiles(): Promise<void> {
    if (this.#pending !== undefined) await this.#settled();
    for (let i = 0; i < this.metainfo.files.length; i++) {
      const f = this.metainfo.files[i]!;
      if (f.length === 0 && !f.isPadding && this.#wanted[i] === true)
        await this.#files.truncate(this.#paths[i]!, 0);
    }
  }

  /** Size and mtime of every file (0/0 when missing), for resume records. */
  async fileStats(): Promise<{ size: number; mtimeMs: number }[]> {
    if (this.#pending !== undefined) await this.#settled();
    return Promise.all(
      this.metainfo.files.map(async (f, i) => {
        if (f.isPadding) return { size: 0, mtimeMs: 0 };
        try {
          const st = await stat(this.#paths[i]!);
          return { size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
        } catch {
          return { size: 0, mtimeMs: 0 };
        }
      }),
    );
  }

  /**
   * Checks a resume record's claims against the disk: every file holding a claimed piece must
   * exist and be long enough. Returns the pieces that remain trusted.
   */
  async trustedPieces(claimed: readonly boolean[]): Promise<boolean[]> {
    const stats = await this.fileStats();
    return claimed.map((has, i) => {
      if (!has) return false;
      return this.map.segments(i).every((s) => {
        if (s.file < 0) return true;
        if (this.#inParts[s.file] === true) return this.#parts.covers(i, s.pieceOffset, s.length);
        return (stats[s.file]?.size ?? 0) >= s.fileOffset + s.length;
      });
    });
  }

  async #presentFiles(): Promise<boolean[]> {
    const stats = await this.fileStats();
    return this.metainfo.files.map((f, i) => f.isPadding || stats[i]!.size >= f.length);
  }

  /** The hash pool's view of a piece; `undefined` when bytes of it are nowhere on disk. */
  #segments(index: number): HashSegment[] | undefined {
    const out: HashSegment[] = [];
    for (const s of this.map.segments(index)) {
      const at = this.#locate(index, s);
      if (at === undefined) return undefined;
      out.push(at);
    }
    return out;
  }

  #locate(piece: number, s: Segment): HashSegment | undefined {
    if (s.file < 0) return { kind: 'zeros', length: s.length };
    if (this.#inParts[s.file] !== true)
      return { kind: 'file', path: this.#paths[s.file]!, offset: s.fileOffset, length: s.length };
    const at = this.#parts.position(piece, s.pieceOffset);
    return at === undefined
      ? undefined
      : { kind: 'file', path: this.#parts.path, offset: at, length: s.length };
  }

  #expected(index: number): ExpectedHashes | undefined {
    const m = this.metainfo;
    let sha1: Uint8Array | undefined;
    if (m.pieces !== undefined) sha1 = m.pieces.subarray(index * 20, index * 20 + 20);
    let merkle: ExpectedHashes['merkle'];
    if (m.version !== 'v1') {
      const fi = this.map.fileAt(index * m.pieceLength);
      const f: TorrentFile | undefined = m.files[fi];
      if (f === undefined || f.isPadding || f.piecesRoot === undefined)
        return sha1 === undefined ? undefined : { sha1 };
      const inFile = index - Math.floor(f.offset / m.pieceLength);
      const bytes = Math.min(m.pieceLength, f.length - inFile * m.pieceLength);
      if (f.length <= m.pieceLength) {
        merkle = { root: f.piecesRoot, leaves: nextPow2(blockCount(f.length)), bytes };
      } else {
        const layer = this.#layers.get(toHex(f.piecesRoot));
        if (layer === undefined) {
          // v2 magnet without piece layers yet: only SHA-1 (hybrid) can check it.
          if (sha1 === undefined) return undefined;
        } else {
          merkle = {
            root: layer.subarray(inFile * 32, inFile * 32 + 32),
            leaves: m.pieceLength / BLOCK_BYTES,
            bytes,
          };
        }
      }
    }
    if (sha1 === undefined && merkle === undefined) return undefined;
    return { ...(sha1 === undefined ? {} : { sha1 }), ...(merkle === undefined ? {} : { merkle }) };
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** What to compute of a piece to check it against `expected`. */
function hashOptions(expected: ExpectedHashes): {
  sha1: boolean;
  merkleBytes: number;
  merkleLeaves: number;
} {
  return {
    sha1: expected.sha1 !== undefined,
    merkleBytes: expected.merkle?.bytes ?? 0,
    merkleLeaves: expected.merkle?.leaves ?? 1,
  };
}

/** True when the digests computed are the ones expected. */
function matches(expected: ExpectedHashes, sha1?: Uint8Array, merkle?: Uint8Array): boolean {
  return (
    (expected.sha1 === undefined || (sha1 !== undefined && bytesEqual(sha1, expected.sha1))) &&
    (expected.merkle === undefined || (merkle !== undefined && bytesEqual(merkle, expected.merkle.root)))
  );
}
