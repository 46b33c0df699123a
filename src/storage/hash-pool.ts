/**
 * The threads that hash: piece hashes straight from files (creating a torrent, rechecking data
 * on disk), and received pieces, which they also write to disk once they match
 * ({@link HashPool.hashPieceBuffer} with `store`).
 *
 * Plain digests of buffers ({@link HashPool.digest}, and a piece checked without being stored)
 * run on libuv's thread pool instead (WebCrypto's `subtle.digest`, which copies the bytes once
 * on the calling thread and hashes on a pool thread), at most `threads` at a time but never
 * fewer than {@link MIN_DIGESTS_IN_FLIGHT}. A worker thread is a whole V8 isolate, so threads
 * start only when a task needs one (or with `warmUp`).
 *
 * Two kinds, each at most `threads`:
 * - **Piece threads** (`piece-threads.ts`, plain worker threads running `piece-task.ts`, ~10
 *   MB each, about a bare isolate): received pieces, moved to the thread and back; with `store`
 *   the thread writes a piece that matches. A download runs one from start to end.
 * - **piscina workers** (`hash-worker.ts`, a few MB more each: they load piscina): file ranges
 *   streamed through one reusable buffer with positional reads (so a task's memory is bounded
 *   whatever the piece or file size), and merkle roots of copied buffers
 *   ({@link HashPool.merkleRoot}). They start for torrent creation and checks of data on disk.
 *
 * Each call is one task; callers bound how many they keep in flight. `destroy()` stops every
 * thread; a destroyed pool rejects new work.
 *
 * The worker files are found next to this module with this module's own extension: `.ts` when
 * running from source under tsx (whose loader the worker threads inherit through `execArgv`),
 * `.js` in the built `dist/`.
 */

import { webcrypto } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import type { HashAlgorithm } from '../shared/hash.js';
import { BLOCK_BYTES } from '../shared/limits.js';
import { StorageError } from './errors.js';
import type { HashSegment, HashTask, HashTaskResult, PieceRun } from './hash-worker.js';
import type { PieceStore, PiecesFailure, PieceTask } from './piece-task.js';
import { PieceThreads } from './piece-threads.js';

export type { FileSegment, HashSegment, PieceRun, ZeroSegment } from './hash-worker.js';
export { READ_CHUNK_BYTES } from './hash-worker.js';
export type { PieceStore, PieceWrite } from './piece-task.js';
export { PIECE_DIGEST_TAIL_BYTES, PIECE_STORED_AT } from './piece-task.js';

import { PIECE_DIGEST_TAIL_BYTES, PIECE_STORED_AT } from './piece-task.js';

const EXT = extname(fileURLToPath(import.meta.url));
const here = (file: string): string => fileURLToPath(new URL(`./${file}`, import.meta.url));
const WORKER_FILE = here(`hash-worker${EXT}`);
/** From source, a CommonJS shim loads `piece-thread.ts` (see piece-thread-entry.cjs). */
const PIECE_THREAD =
  EXT === '.ts'
    ? { entry: here('piece-thread-entry.cjs'), workerData: here('piece-thread.ts') }
    : { entry: here(`piece-thread${EXT}`) };

/**
 * Young generation of each hash thread, in MiB. The threads allocate little on the JS heap (the
 * piece buffers are moved in and out, digests are small), so V8's default of up to 48 MiB per
 * isolate would be mostly idle memory.
 */
export const HASH_WORKER_YOUNG_GENERATION_MB = 4;

export interface HashPoolOptions {
  /** Worker threads. @default os.availableParallelism() (the machine's cores) */
  readonly threads?: number;
  /**
   * Tasks handed to each thread at once (piscina's `concurrentTasksPerWorker`): more than one
   * keeps a thread busy while the main thread is too busy to hand it the next task as soon as
   * the last one is done. @default 1
   */
  readonly tasksPerThread?: number;
  /**
   * Let the threads write the pieces they check (`hashPieceBuffer` with `store`). `false` saves
   * the memory of a thread (~10–13 MB) while nothing else needs one: a v1 piece is then checked
   * on libuv's pool and its caller writes it, from the main thread. @default true
   */
  readonly storeOnThreads?: boolean;
}

/** Options of one hashing call. */
export interface HashCallOptions {
  /** Aborts the call: a queued task is dropped, a running one stops with its thread. */
  readonly signal?: AbortSignal;
}

/** A range-hashing job: a stream of file ranges and zeros, cut into pieces (see {@link PieceRun}). */
export interface HashRangesJob {
  readonly segments: readonly HashSegment[];
  readonly runs: readonly PieceRun[];
  /** Refuse to open a path whose last component is a symbolic link. @default false */
  readonly noFollow?: boolean;
}

/** The digests of a {@link HashRangesJob}. */
export interface HashRangesResult {
  /** SHA-1 of every piece of a run with `sha1` set, 20 bytes each, in order (BEP 3). */
  readonly sha1: Uint8Array;
  /** Merkle root of every piece of a run with `merkleBytes > 0`, 32 bytes each, in order (BEP 52). */
  readonly merkle: Uint8Array;
}

function failureError(f: PiecesFailure): StorageError {
  const cause = f.errno === undefined ? undefined : Object.assign(new Error(f.message), { code: f.errno });
  return new StorageError(ErrorCode.StorageIo, f.message, f.path, f.op, cause);
}

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

function invalidJob(message: string): ShoalError {
  return new ShoalError(ErrorCode.SessionInvalidArgument, `invalid hash job: ${message}`, {
    argument: 'job',
  });
}

/** Checks that a job is well formed: the worker trusts it. */
function checkJob(job: HashRangesJob): void {
  const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
  let streamBytes = 0;
  for (const seg of job.segments) {
    if (!isCount(seg.length) || (seg.kind === 'file' && !isCount(seg.offset))) {
      throw invalidJob('segment offsets and lengths must be non-negative integers');
    }
    streamBytes += seg.length;
  }
  let pieceBytes = 0;
  for (const run of job.runs) {
    if (!isCount(run.count) || !isCount(run.length) || !isCount(run.merkleBytes)) {
      throw invalidJob('run counts and lengths must be non-negative integers');
    }
    if (run.merkleBytes > run.length) throw invalidJob('merkleBytes exceeds the piece length');
    if (
      run.merkleBytes > 0 &&
      (!isPowerOfTwo(run.merkleLeaves) || run.merkleLeaves * BLOCK_BYTES < run.merkleBytes)
    ) {
      throw invalidJob(`${run.merkleLeaves} leaves cannot hold ${run.merkleBytes} bytes of 16 KiB blocks`);
    }
    pieceBytes += run.count * run.length;
  }
  if (pieceBytes !== streamBytes) {
    throw invalidJob(`the pieces cover ${pieceBytes} bytes but the segments hold ${streamBytes}`);
  }
}

/**
 * Tasks a session's pool hands each thread at once ({@link HashPoolOptions.tasksPerThread}).
 * Piece checks are small tasks, and a thread is handed new ones only when the main thread's
 * event loop takes its answers: at most this many checks per turn of a busy event loop. With 1,
 * a 50-peer lab in one process had checks wait 1.5 s at the median (up to 14 s); with 8, a
 * 100-peer lab still had them wait 4–6 s at the median (up to 30 s: 8 checks per ~30 ms turn is
 * fewer than the swarm completes), complete pieces were announced late, so the seed's fresh-first
 * view lagged and it sent 2.2 copies; with 64, checks took 0.1–0.3 s and the seed sent 1.17.
 * The callers bound the pieces they submit (assembly buffers, recheck lanes), and the buffers
 * are moved, not copied, so a deeper hand-over costs no memory. @default 64
 */
export const VERIFY_TASKS_PER_THREAD = 64;

/**
 * Digests that may run on libuv's pool at once, whatever `threads` says. With one, each piece's
 * digest starts only when the event loop has taken the last one's result: on 2 cores
 * (`hashThreads` = 1) a 1 GiB web seed download held complete pieces waiting 19–22 ms each, and
 * stopped reading 500–650 times. With two the next digest starts while one runs.
 */
export const MIN_DIGESTS_IN_FLIGHT = 2;

/** A pool of hashing threads. Create one per process (or per session) and share it. */
export class HashPool {
  /** Worker threads once started. */
  readonly threads: number;
  /** Digests run on libuv's pool at once: `threads`, at least MIN_DIGESTS_IN_FLIGHT. */
  readonly digestSlots: number;
  readonly #tasksPerThread: number;
  /** See {@link HashPoolOptions.storeOnThreads}. */
  readonly storeOnThreads: boolean;
  #pool: Piscina<HashTask, HashTaskResult> | undefined;
  #pieces: PieceThreads | undefined;
  #destroyed = false;
  /** Digests running on libuv's pool, and the calls waiting for one of the `threads` places. */
  #digesting = 0;
  readonly #digestQueue: (() => void)[] = [];

  constructor(options: HashPoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isSafeInteger(threads) || threads < 1) {
      throw new ShoalError(
        ErrorCode.SessionInvalidArgument,
        `hash pool threads must be a positive integer, got ${threads}`,
        { argument: 'threads' },
      );
    }
    this.threads = threads;
    this.digestSlots = Math.max(MIN_DIGESTS_IN_FLIGHT, threads);
    this.#tasksPerThread = options.tasksPerThread ?? 1;
    this.storeOnThreads = options.storeOnThreads ?? true;
  }

  /** The piece threads (received pieces), started on first use. */
  #pieceThreads(): PieceThreads {
    if (this.#destroyed) throw destroyedError();
    this.#pieces ??= new PieceThreads({
      count: this.threads,
      ...PIECE_THREAD,
      youngGenerationMb: HASH_WORKER_YOUNG_GENERATION_MB,
    });
    return this.#pieces;
  }

  /** The worker threads for files and merkle roots (piscina), started on first use. */
  #workers(): Piscina<HashTask, HashTaskResult> {
    if (this.#destroyed) throw destroyedError();
    this.#pool ??= new Piscina<HashTask, HashTaskResult>({
      filename: WORKER_FILE,
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: this.#tasksPerThread,
      name: 'default',
      resourceLimits: { maxYoungGenerationSizeMb: HASH_WORKER_YOUNG_GENERATION_MB },
    });
    return this.#pool;
  }

  /**
   * Starts the worker threads, and resolves once the digest path is ready (WebCrypto loads on
   * first use), so that the first pieces are not held up by start-up: a thread takes ~0.15 s to
   * start (a web seed delivers 50–100 pieces meanwhile).
   */
  async warmUp(): Promise<void> {
    if (this.storeOnThreads) this.#pieceThreads().start();
    await this.digest('sha1', [new Uint8Array(1)]);
  }

  /** Worker threads currently alive (0 before the first task that needs one, and once destroyed). */
  get liveThreads(): number {
    return (this.#pool?.threads.length ?? 0) + (this.#pieces?.live ?? 0);
  }

  /** True once {@link destroy} was called. */
  get isDestroyed(): boolean {
    return this.#destroyed;
  }

  /** Digests running on libuv's pool now, and calls waiting for a place. */
  get digests(): { readonly running: number; readonly waiting: number } {
    return { running: this.#digesting, waiting: this.#digestQueue.length };
  }

  /**
   * `algorithm` digest of `data` on libuv's thread pool, at most {@link digestSlots} at once (so
   * hashing takes about the cores the pool was given). `data` is copied on this thread when the
   * digest starts; the caller may reuse it once the promise settles.
   */
  async #threadDigest(algorithm: HashAlgorithm, data: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.#destroyed) throw destroyedError();
    if (this.#digesting >= this.digestSlots) {
      await new Promise<void>((resolve) => this.#digestQueue.push(resolve));
    } else this.#digesting++;
    try {
      if (this.#destroyed) throw destroyedError();
      signal?.throwIfAborted();
      return new Uint8Array(await webcrypto.subtle.digest(algorithm === 'sha1' ? 'SHA-1' : 'SHA-256', data));
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason;
      throw StorageError.from(err, '', 'hash');
    } finally {
      // The place passes straight to the next caller in line.
      const next = this.#digestQueue.shift();
      if (next !== undefined) next();
      else this.#digesting--;
    }
  }

  async #run(task: HashTask, options: HashCallOptions): Promise<HashTaskResult> {
    const pool = this.#workers();
    try {
      return await pool.run(task, options.signal === undefined ? {} : { signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted === true) throw options.signal.reason;
      throw StorageError.from(err, '', 'hash');
    }
  }

  /**
   * Reads the job's stream and hashes each of its pieces: SHA-1 of the whole piece and/or the
   * BEP 52 merkle root of its first `merkleBytes` bytes, per run. Used to create torrents and
   * to recheck data on disk. Throws a `StorageError` (`SHOAL_ERR_STORAGE_IO`, op `open` or
   * `read`, with the path) when a file is missing, unreadable or shorter than its segment, and
   * a `ShoalError` (`SHOAL_ERR_SESSION_INVALID_ARGUMENT`) for a malformed job (the segments
   * must hold exactly the runs' bytes; merkle leaves must be a power of two with room for the
   * data).
   */
  async hashRanges(job: HashRangesJob, options: HashCallOptions = {}): Promise<HashRangesResult> {
    checkJob(job);
    const task: HashTask = {
      type: 'pieces',
      segments: job.segments,
      runs: job.runs,
      noFollow: job.noFollow === true,
    };
    const result = await this.#run(task, options);
    if (result instanceof Uint8Array) throw new Error('hash worker answered a pieces task with a digest');
    if (!result.ok) throw failureError(result);
    return { sha1: result.sha1, merkle: result.merkle };
  }

  /**
   * Hashes a received piece without copying it: `buffer` (its first `length` bytes are the
   * piece, and its last PIECE_DIGEST_TAIL_BYTES are room for the digests) is moved to a worker
   * and back. The caller must use the returned buffer from then on (the one passed in is
   * detached). Returns the SHA-1 and/or the BEP 52 merkle root asked for, and whether the
   * piece was `stored`: with `store`, the worker writes it when the digests match, so one
   * thread checks and writes each piece without a turn of this thread's event loop between,
   * and writes to a file never wait in the kernel for each other (a v1 piece without `store`
   * is hashed on libuv's pool instead, the buffer staying here). A failed write throws a
   * `StorageError` (op `write`, with the path); the buffer is then not given back. A pool made
   * with `storeOnThreads: false` ignores `store`: the caller writes a piece not `stored`.
   */
  async hashPieceBuffer(
    buffer: Uint8Array,
    length: number,
    opts: {
      readonly sha1: boolean;
      readonly merkleBytes: number;
      readonly merkleLeaves: number;
      /** Also write the piece, on the worker, if it matches (see {@link PieceStore}). */
      readonly store?: PieceStore;
    },
  ): Promise<{ buffer: Uint8Array; sha1?: Uint8Array; merkle?: Uint8Array; stored: boolean }> {
    if (length + PIECE_DIGEST_TAIL_BYTES > buffer.length || buffer.byteOffset !== 0) {
      throw new RangeError('piece buffer too small for the piece and its digests');
    }
    const store = this.storeOnThreads ? opts.store : undefined;
    if (opts.merkleBytes === 0 && store === undefined) {
      // SHA-1 only (v1), nothing to write: on libuv's pool; the buffer stays here.
      if (!opts.sha1) return { buffer, stored: false };
      const tail = buffer.length - PIECE_DIGEST_TAIL_BYTES;
      const sha1 = await this.#threadDigest('sha1', buffer.subarray(0, length));
      buffer.set(sha1, tail);
      return { buffer, sha1, stored: false };
    }
    const threads = this.#pieceThreads();
    const task: PieceTask = {
      type: 'piece',
      data: buffer,
      length,
      sha1: opts.sha1,
      merkleBytes: opts.merkleBytes,
      merkleLeaves: opts.merkleLeaves,
      ...(store !== undefined ? { store } : {}),
    };
    let back: Uint8Array | PiecesFailure;
    try {
      back = await threads.run(task);
    } catch (err) {
      throw StorageError.from(err, '', 'hash');
    }
    // A write failed: the buffer stayed with the worker (the caller's slot gets a new one).
    if (!(back instanceof Uint8Array)) throw failureError(back);
    const tail = back.length - PIECE_DIGEST_TAIL_BYTES;
    return {
      buffer: back,
      ...(opts.sha1 ? { sha1: back.slice(tail, tail + 20) } : {}),
      ...(opts.merkleBytes > 0 ? { merkle: back.slice(tail + 20, tail + PIECE_STORED_AT) } : {}),
      stored: back[tail + PIECE_STORED_AT] === 1,
    };
  }

  /**
   * Digest of the concatenation of `parts` (e.g. SHA-1 of a v1 piece received from a peer), on
   * libuv's thread pool. The parts are copied (joined first when there are several).
   */
  async digest(
    algorithm: HashAlgorithm,
    parts: readonly Uint8Array[],
    options: HashCallOptions = {},
  ): Promise<Uint8Array> {
    options.signal?.throwIfAborted();
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return this.#threadDigest(algorithm, data, options.signal);
  }

  /**
   * BEP 52 merkle root of `data`'s 16 KiB blocks in a tree of `leaves` leaves (a power of two
   * with room for every block; missing leaves are zero hashes): the hash of a v2 piece received
   * from a peer, to compare with its piece layer entry. `data` is copied to the worker.
   */
  async merkleRoot(data: Uint8Array, leaves: number, options: HashCallOptions = {}): Promise<Uint8Array> {
    if (!isPowerOfTwo(leaves) || leaves * BLOCK_BYTES < data.length) {
      throw new ShoalError(
        ErrorCode.SessionInvalidArgument,
        `${leaves} leaves cannot hold ${data.length} bytes of 16 KiB blocks`,
        { argument: 'leaves' },
      );
    }
    const result = await this.#run({ type: 'merkle', data, leaves }, options);
    if (!(result instanceof Uint8Array)) throw new Error('hash worker answered a merkle task with pieces');
    return result;
  }

  /** Stops every thread. Work still queued or running is rejected. Safe to call twice. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    // Calls waiting for a digest place go on, and fail as destroyed.
    for (const next of this.#digestQueue.splice(0)) next();
    const pool = this.#pool;
    const pieces = this.#pieces;
    this.#pool = undefined;
    this.#pieces = undefined;
    await Promise.all([pool?.destroy(), pieces?.close()]);
  }
}

function destroyedError(): StorageError {
  return new StorageError(ErrorCode.StorageIo, 'the hash pool is destroyed', '', 'hash');
}
