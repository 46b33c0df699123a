/**
 * Creating a torrent from a file or a folder on disk (BEP 3 v1, BEP 52 v2, hybrid).
 *
 * Three steps: list the files ({@link listInputFiles}), lay them out and plan hashing jobs
 * ({@link planLayout} in the pure metainfo layer, {@link planHashJobs} here), then hash on the
 * worker pool and build the .torrent ({@link buildTorrent}). The main thread only plans and
 * collects digests; the workers read the files with positional reads and hash, a bounded number
 * of jobs at a time, so memory stays flat whatever the payload size.
 *
 * What gets in (the choices mktorrent and libtorrent users expect, made safe):
 * - Regular files, at any depth; hidden files (dot files) included; empty folders left out
 *   (a torrent cannot hold them).
 * - Symbolic links below the input path are never followed, so nothing outside the input path
 *   can end up in the torrent; they are skipped and reported in `skipped`. The input path itself
 *   may be a symbolic link: the user named it.
 * - Sockets, FIFOs and devices are skipped and reported.
 * - Names Shoal would refuse to load from a torrent (not UTF-8, Windows device names, trailing
 *   dots, control characters…; see `path-safety.ts`) are skipped and reported, so that every
 *   torrent Shoal creates is one it can open.
 * - No BEP 47 attributes besides `p` for padding (no `x`/`h`), as mktorrent and Transmission:
 *   the info-hash then depends on the data and names only.
 */

import type { Dirent } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  buildTorrent,
  type CreateFileEntry,
  checkMetaOptions,
  pieceLeafCount,
  planLayout,
  SHOAL_CREATED_BY,
  type TorrentLayout,
  type TorrentMetaOptions,
} from '../metainfo/create.js';
import { MetainfoError } from '../metainfo/errors.js';
import { unsafePathComponentReason } from '../metainfo/path-safety.js';
import { assertPieceLength, autoPieceLength } from '../metainfo/piece-size.js';
import type { TorrentFile, TorrentVersion, TrackerTiers } from '../metainfo/types.js';
import { ErrorCode } from '../shared/errors.js';
import { MAX_PATH_DEPTH, MAX_TORRENT_FILES } from '../shared/limits.js';
import { StorageError } from './errors.js';
import { HashPool, type HashRangesJob } from './hash-pool.js';
import type { HashSegment, PieceRun } from './hash-worker.js';

/**
 * Largest amount of piece data per hashing job, in bytes (a job is at least one piece). Each
 * task costs a little CPU on both threads, so big torrents get big jobs.
 */
export const CREATE_JOB_MAX_BYTES = 16 * 1024 * 1024;
/** Smallest amount of piece data per hashing job, in bytes (a job is at least one piece). */
export const CREATE_JOB_MIN_BYTES = 1024 * 1024;
/** Jobs per pool thread the payload is cut into at least (so the threads end together). */
export const CREATE_JOBS_PER_THREAD_MIN = 8;

/**
 * Job size for a payload: the payload split into {@link CREATE_JOBS_PER_THREAD_MIN} jobs per
 * thread, within [CREATE_JOB_MIN_BYTES, CREATE_JOB_MAX_BYTES].
 */
export function createJobBytes(spaceLength: number, threads: number): number {
  const even = Math.ceil(spaceLength / (threads * CREATE_JOBS_PER_THREAD_MIN));
  return Math.min(CREATE_JOB_MAX_BYTES, Math.max(CREATE_JOB_MIN_BYTES, even));
}
/** Jobs kept in flight per pool thread: one running, one queued. */
export const CREATE_JOBS_PER_THREAD = 2;
/** Files stat'ed at once while listing a folder. */
const STAT_BATCH = 64;

export interface CreateTorrentOptions {
  /** Which metadata to write. @default 'v1' */
  readonly version?: TorrentVersion;
  /** Piece length in bytes, a power of two ≥ 16 KiB. @default autoPieceLength(total size) */
  readonly pieceLength?: number;
  /** The torrent's `name`. @default the input path's last component */
  readonly name?: string;
  /** Tracker tiers (BEP 12); `announce` is the first URL. */
  readonly trackers?: TrackerTiers;
  /** Web seeds (BEP 19 `url-list`). */
  readonly webSeeds?: readonly string[];
  /** BEP 27 private flag. @default false */
  readonly isPrivate?: boolean;
  readonly comment?: string;
  /** `creation date` in seconds since the epoch; `null` leaves it out. @default now */
  readonly creationDate?: number | null;
  /** `created by`; `null` leaves it out. @default 'Shoal/0.1.0' */
  readonly createdBy?: string | null;
  /** Hybrid padding placement, see `LayoutOptions.tailPadding`. @default true (libtorrent's) */
  readonly tailPadding?: boolean;
  /** Called after each hashing job with the payload bytes hashed so far and the total. */
  readonly onProgress?: (hashedBytes: number, totalBytes: number) => void;
  /** Stops listing or hashing; the promise then rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** A pool to hash on (left running). @default a new pool, destroyed before returning */
  readonly hashPool?: HashPool;
  /** Threads of the pool created when `hashPool` is not given. @default the machine's cores */
  readonly threads?: number;
}

/** Something under the input path that was left out, and why. */
export interface SkippedEntry {
  /** Path relative to the input folder, components joined with `/`. */
  readonly path: string;
  readonly reason: 'symlink' | 'special-file' | 'unsafe-name';
  /** For `unsafe-name`, what is wrong with the name. */
  readonly detail?: string;
}

export interface CreatedTorrent {
  /** The .torrent file. */
  readonly bytes: Uint8Array;
  /** The bencoded info dictionary within `bytes`. */
  readonly infoBytes: Uint8Array;
  readonly infoHashV1?: Uint8Array;
  readonly infoHashV2?: Uint8Array;
  readonly version: TorrentVersion;
  readonly name: string;
  /** The v1 single-file form (the input was a file); its one file's path is `[name]`. */
  readonly isSingleFile: boolean;
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** Files in torrent order, padding included, with `piecesRoot` for v2 and hybrid. */
  readonly files: readonly TorrentFile[];
  /** Payload bytes (padding not counted). */
  readonly totalLength: number;
  /** Entries under the input folder that were left out. */
  readonly skipped: readonly SkippedEntry[];
}

/** A file found under the input path. */
export interface ListedFile {
  /** Components below the input folder (for a single file: its name). */
  readonly path: readonly string[];
  readonly length: number;
  /** Where to read it. */
  readonly absolutePath: string;
}

/** The result of {@link listInputFiles}. */
export interface ListedInput {
  /** The input path's last component, as given (not resolved through a symbolic link). */
  readonly name: string;
  /** The input is a file, not a folder. */
  readonly isSingleFile: boolean;
  /** Regular files in v2 `file tree` order. */
  readonly files: readonly ListedFile[];
  readonly skipped: readonly SkippedEntry[];
}

function createError(message: string, field: string): MetainfoError {
  return new MetainfoError(ErrorCode.MetainfoCreate, message, field);
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Lists the regular files of `inputPath` (a file, or a folder walked depth first in raw
 * UTF-8 byte order of the names), by the rules in the module header. Throws a `MetainfoError`
 * (`SHOAL_ERR_METAINFO_CREATE`) when the path does not exist, is neither a file nor a folder,
 * or holds more files or deeper folders than a torrent may; a `StorageError`
 * (`SHOAL_ERR_STORAGE_IO`) when a folder cannot be read.
 */
export async function listInputFiles(inputPath: string, signal?: AbortSignal): Promise<ListedInput> {
  let root: string;
  try {
    root = await realpath(inputPath);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') throw createError(`path does not exist: ${inputPath}`, 'path');
    throw StorageError.from(err, inputPath, 'stat');
  }
  const rootStat = await stat(root).catch((err: unknown) => {
    throw StorageError.from(err, inputPath, 'stat');
  });
  // Named as the user wrote it (a symbolic link's own name, not its target's), like mktorrent.
  const name = basename(resolve(inputPath)) || basename(root);
  if (rootStat.isFile()) {
    return {
      name,
      isSingleFile: true,
      files: [{ path: [name], length: rootStat.size, absolutePath: root }],
      skipped: [],
    };
  }
  if (!rootStat.isDirectory()) throw createError(`not a regular file or a folder: ${inputPath}`, 'path');

  const files: ListedFile[] = [];
  const skipped: SkippedEntry[] = [];
  const walk = async (dir: string, rel: readonly string[]): Promise<void> => {
    signal?.throwIfAborted();
    let entries: Dirent<Buffer>[];
    try {
      entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      throw StorageError.from(err, dir, 'stat');
    }
    entries.sort((a, b) => Buffer.compare(a.name, b.name));
    const pending: ListedFile[] = [];
    const flush = async (): Promise<void> => {
      const sizes = await Promise.all(
        pending.map((f) =>
          lstat(f.absolutePath).then(
            (s) => s.size,
            (err: unknown) => {
              throw StorageError.from(err, f.absolutePath, 'stat');
            },
          ),
        ),
      );
      pending.forEach((f, i) => {
        files.push({ ...f, length: sizes[i]! });
      });
      pending.length = 0;
    };
    for (const entry of entries) {
      let component: string;
      try {
        component = strictUtf8.decode(entry.name);
      } catch {
        const shown = [...rel, entry.name.toString('utf8')].join('/');
        skipped.push({ path: shown, reason: 'unsafe-name', detail: 'not valid UTF-8' });
        continue;
      }
      const path = [...rel, component];
      const shown = path.join('/');
      if (entry.isSymbolicLink()) {
        skipped.push({ path: shown, reason: 'symlink' });
        continue;
      }
      if (!entry.isFile() && !entry.isDirectory()) {
        skipped.push({ path: shown, reason: 'special-file' });
        continue;
      }
      const reason = unsafePathComponentReason(component);
      if (reason !== undefined) {
        skipped.push({ path: shown, reason: 'unsafe-name', detail: reason });
        continue;
      }
      if (path.length > MAX_PATH_DEPTH) {
        throw createError(`${shown} is more than ${MAX_PATH_DEPTH} folders deep`, 'path');
      }
      const absolutePath = join(dir, component);
      if (entry.isDirectory()) {
        // Files come before a later sibling folder's files: keep the order by flushing first.
        await flush();
        await walk(absolutePath, path);
      } else {
        if (files.length + pending.length >= MAX_TORRENT_FILES) {
          throw createError(`more than ${MAX_TORRENT_FILES} files`, 'files');
        }
        pending.push({ path, length: 0, absolutePath });
        if (pending.length >= STAT_BATCH) await flush();
      }
    }
    await flush();
  };
  await walk(root, []);
  return { name, isSingleFile: false, files, skipped };
}

/** One hashing job and where its digests go. */
export interface PlannedJob {
  readonly job: HashRangesJob;
  /** Index of the job's first piece. */
  readonly firstPiece: number;
  readonly pieceCount: number;
  /** Payload bytes read by the job (padding zeros not counted). */
  readonly dataBytes: number;
}

/**
 * Cuts the layout's piece space into jobs of about `jobBytes` (whole pieces, at least one).
 * Every piece of a v1 or hybrid torrent is hashed with SHA-1 over its bytes, padding zeros
 * included; every piece of a v2 or hybrid torrent gets the merkle root of its one file's
 * blocks (see `TorrentHashes.v2Pieces`). `paths[i]` is where `layout.files[i]` is read from
 * (unused for padding files).
 */
export function* planHashJobs(
  layout: TorrentLayout,
  paths: readonly (string | undefined)[],
  jobBytes: number = CREATE_JOB_MAX_BYTES,
): Generator<PlannedJob> {
  const { pieceLength: P, pieceCount, files, spaceLength, version } = layout;
  const hasV1 = version !== 'v2';
  const hasV2 = version !== 'v1';
  // Cursor over the files owning v2 data (non-padding, non-empty), in offset order.
  const dataFiles = files.map((f, i) => ({ f, i })).filter(({ f }) => !f.isPadding && f.length > 0);
  let owner = 0;
  // Cursor over all files for cutting byte ranges into segments.
  let cursor = 0;

  let segments: HashSegment[] = [];
  let runs: PieceRun[] = [];
  let dataBytes = 0;
  let jobFirst = 0;
  let jobLength = 0;

  const addRange = (start: number, end: number): void => {
    while (cursor < files.length && files[cursor]!.offset + files[cursor]!.length <= start) cursor++;
    for (let i = cursor; i < files.length && start < end; i++) {
      const f = files[i]!;
      if (f.length === 0) continue;
      if (f.offset >= end) break;
      const from = Math.max(start, f.offset);
      const to = Math.min(end, f.offset + f.length);
      if (to <= from) continue;
      const last = segments[segments.length - 1];
      if (f.isPadding) {
        if (last?.kind === 'zeros')
          segments[segments.length - 1] = { kind: 'zeros', length: last.length + to - from };
        else segments.push({ kind: 'zeros', length: to - from });
      } else {
        const path = paths[i];
        if (path === undefined) throw new Error(`no path for file ${i}`);
        const offset = from - f.offset;
        if (last?.kind === 'file' && last.path === path && last.offset + last.length === offset) {
          segments[segments.length - 1] = { ...last, length: last.length + to - from };
        } else {
          segments.push({ kind: 'file', path, offset, length: to - from });
        }
        dataBytes += to - from;
      }
    }
  };

  const addPiece = (run: Omit<PieceRun, 'count'>): void => {
    const last = runs[runs.length - 1];
    if (
      last !== undefined &&
      last.length === run.length &&
      last.sha1 === run.sha1 &&
      last.merkleBytes === run.merkleBytes &&
      last.merkleLeaves === run.merkleLeaves
    ) {
      runs[runs.length - 1] = { ...last, count: last.count + 1 };
    } else {
      runs.push({ ...run, count: 1 });
    }
  };

  for (let k = 0; k < pieceCount; k++) {
    const start = k * P;
    let merkleBytes = 0;
    let merkleLeaves = 0;
    if (hasV2) {
      while (dataFiles[owner]!.f.offset + dataFiles[owner]!.f.length <= start) owner++;
      const f = dataFiles[owner]!.f;
      merkleBytes = Math.min(P, f.offset + f.length - start);
      merkleLeaves = pieceLeafCount(f.length, P);
    }
    const length = hasV1 ? Math.min(P, spaceLength - start) : merkleBytes;
    addRange(start, start + length);
    addPiece({ length, sha1: hasV1, merkleBytes, merkleLeaves });
    jobLength += length;
    if (jobLength >= jobBytes || k === pieceCount - 1) {
      yield {
        job: { segments, runs, noFollow: true },
        firstPiece: jobFirst,
        pieceCount: k + 1 - jobFirst,
        dataBytes,
      };
      segments = [];
      runs = [];
      dataBytes = 0;
      jobLength = 0;
      jobFirst = k + 1;
    }
  }
}

/**
 * Hashes the layout's pieces on `pool`: v1 SHA-1 piece hashes and/or v2 per-piece merkle roots.
 * At most `pool.threads × CREATE_JOBS_PER_THREAD` jobs are in flight. On abort no new job
 * starts, running jobs finish, and the promise rejects with `signal.reason`.
 */
export async function hashLayout(
  layout: TorrentLayout,
  paths: readonly (string | undefined)[],
  pool: HashPool,
  options: { onProgress?: (hashed: number, total: number) => void; signal?: AbortSignal } = {},
): Promise<{ v1Pieces?: Uint8Array; v2Pieces?: Uint8Array }> {
  const { signal, onProgress } = options;
  const v1 = layout.version !== 'v2' ? new Uint8Array(layout.pieceCount * 20) : undefined;
  const v2 = layout.version !== 'v1' ? new Uint8Array(layout.pieceCount * 32) : undefined;
  const maxInFlight = pool.threads * CREATE_JOBS_PER_THREAD;
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let hashed = 0;
  for (const planned of planHashJobs(layout, paths, createJobBytes(layout.spaceLength, pool.threads))) {
    if (failure !== undefined || signal?.aborted === true) break;
    const done: Promise<void> = pool
      .hashRanges(planned.job)
      .then((r) => {
        v1?.set(r.sha1, planned.firstPiece * 20);
        v2?.set(r.merkle, planned.firstPiece * 32);
        hashed += planned.dataBytes;
        onProgress?.(hashed, layout.totalLength);
      })
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  signal?.throwIfAborted();
  if (failure !== undefined) throw failure.error;
  const out: { v1Pieces?: Uint8Array; v2Pieces?: Uint8Array } = {};
  if (v1 !== undefined) out.v1Pieces = v1;
  if (v2 !== undefined) out.v2Pieces = v2;
  return out;
}

/**
 * Creates a torrent of the file or folder at `inputPath` (BEP 3, BEP 52, hybrid per BEP 52 with
 * BEP 47 padding). See the module header for what is included. Errors: `MetainfoError`
 * (`SHOAL_ERR_METAINFO_CREATE`) for bad options or input ("path does not exist", "no files to
 * add", "piece length must be a power of two ≥ 16 KiB…"), `StorageError`
 * (`SHOAL_ERR_STORAGE_IO`) for a failed read; `signal.reason` when aborted.
 */
export async function createTorrent(
  inputPath: string,
  options: CreateTorrentOptions = {},
): Promise<CreatedTorrent> {
  const { signal } = options;
  signal?.throwIfAborted();
  const version = options.version ?? 'v1';
  if (version !== 'v1' && version !== 'v2' && version !== 'hybrid') {
    throw createError(`unknown torrent version ${JSON.stringify(version)}`, 'version');
  }
  const creationDate =
    options.creationDate === undefined ? Math.floor(Date.now() / 1000) : (options.creationDate ?? undefined);
  const createdBy = options.createdBy === undefined ? SHOAL_CREATED_BY : (options.createdBy ?? undefined);
  const meta: TorrentMetaOptions = {
    ...(options.trackers === undefined ? {} : { trackers: options.trackers }),
    ...(options.webSeeds === undefined ? {} : { webSeeds: options.webSeeds }),
    ...(options.isPrivate === undefined ? {} : { isPrivate: options.isPrivate }),
    ...(options.comment === undefined ? {} : { comment: options.comment }),
    ...(creationDate === undefined ? {} : { creationDate }),
    ...(createdBy === undefined ? {} : { createdBy }),
  };
  checkMetaOptions(meta);
  if (options.pieceLength !== undefined) assertPieceLength(options.pieceLength);
  // Start the threads now, so that they boot while the files are listed.
  const pool =
    options.hashPool ?? new HashPool(options.threads === undefined ? {} : { threads: options.threads });
  let listed: ListedInput;
  let layout: TorrentLayout;
  let hashes: { v1Pieces?: Uint8Array; v2Pieces?: Uint8Array };
  try {
    listed = await listInputFiles(inputPath, signal);
    if (listed.files.length === 0) throw createError(`no files to add in ${inputPath}`, 'files');
    const entries: CreateFileEntry[] = listed.files.map((f) => ({ path: f.path, length: f.length }));
    const totalLength = entries.reduce((n, e) => n + e.length, 0);
    layout = planLayout(entries, {
      name: options.name ?? listed.name,
      pieceLength: options.pieceLength ?? autoPieceLength(totalLength),
      version,
      isSingleFile: listed.isSingleFile,
      ...(options.tailPadding === undefined ? {} : { tailPadding: options.tailPadding }),
    });
    // Map the layout's (sorted, padded) files back to where they are on disk.
    const byPath = new Map<string, string>();
    for (const f of listed.files) byPath.set(f.path.join('/'), f.absolutePath);
    const single = listed.isSingleFile ? listed.files[0]!.absolutePath : undefined;
    const paths = layout.files.map((f) =>
      f.isPadding ? undefined : (single ?? byPath.get(f.path.join('/'))),
    );
    const hashOptions: { onProgress?: (hashed: number, total: number) => void; signal?: AbortSignal } = {};
    if (options.onProgress !== undefined) hashOptions.onProgress = options.onProgress;
    if (signal !== undefined) hashOptions.signal = signal;
    options.onProgress?.(0, layout.totalLength);
    hashes = await hashLayout(layout, paths, pool, hashOptions);
  } finally {
    if (options.hashPool === undefined) await pool.destroy();
  }

  const built = buildTorrent(layout, hashes, meta);
  const created: {
    -readonly [K in keyof CreatedTorrent]: CreatedTorrent[K];
  } = {
    bytes: built.bytes,
    infoBytes: built.infoBytes,
    version,
    name: layout.name,
    isSingleFile: layout.isSingleFile,
    pieceLength: layout.pieceLength,
    pieceCount: layout.pieceCount,
    files: built.files,
    totalLength: layout.totalLength,
    skipped: listed.skipped,
  };
  if (built.infoHashV1 !== undefined) created.infoHashV1 = built.infoHashV1;
  if (built.infoHashV2 !== undefined) created.infoHashV2 = built.infoHashV2;
  return created;
}
