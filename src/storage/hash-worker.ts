/**
 * The hash worker: runs in a piscina worker thread (see `hash-pool.ts`), one task at a time.
 * (Received pieces go to piece threads instead: `piece-task.ts`.)
 *
 * A `pieces` task describes a byte stream — file ranges read with positional reads, and runs of
 * zeros for BEP 47 padding — cut into consecutive pieces. For each piece the worker computes,
 * as asked, the SHA-1 of the whole piece (BEP 3) and the BEP 52 merkle root of the piece's file
 * data: SHA-256 of every 16 KiB block, reduced to one hash over a fixed number of leaves, the
 * missing leaves being zero hashes. It streams through one reusable buffer of
 * {@link READ_CHUNK_BYTES}, so memory does not grow with the piece length or the file size.
 * Chunks start at piece-relative multiples of the chunk size, which is a multiple of the block
 * size, so blocks never straddle chunks.
 *
 * File errors are returned as data ({@link PiecesFailure}), not thrown: errors thrown in a
 * worker lose their fields crossing the thread boundary.
 */

import { createHash } from 'node:crypto';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import type { HashAlgorithm } from '../shared/hash.js';
import { BLOCK_BYTES } from '../shared/limits.js';
import { errnoOf, leaves, merkleRoot, type PiecesFailure, reduceInPlace, sha256 } from './piece-task.js';

/** Size of each worker's read buffer, in bytes (a multiple of the 16 KiB block). */
export const READ_CHUNK_BYTES = 1024 * 1024;

const SHA1_BYTES = 20;
const SHA256_BYTES = 32;

/** Bytes `[offset, offset + length)` of the file at `path`. */
export interface FileSegment {
  readonly kind: 'file';
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

/** `length` zero bytes (a BEP 47 padding file). */
export interface ZeroSegment {
  readonly kind: 'zeros';
  readonly length: number;
}

export type HashSegment = FileSegment | ZeroSegment;

/** `count` consecutive pieces of the same shape. */
export interface PieceRun {
  readonly count: number;
  /** Bytes of the stream each piece consumes. */
  readonly length: number;
  /** Compute the SHA-1 of each piece (all `length` bytes). */
  readonly sha1: boolean;
  /** Bytes at the start of each piece that are v2 file data; 0 for no merkle root. */
  readonly merkleBytes: number;
  /** Leaves of each piece's merkle subtree (a power of two ≥ ceil(merkleBytes / 16 KiB)). */
  readonly merkleLeaves: number;
}

/** Hash the pieces of a stream of file ranges and zeros. */
export interface PiecesTask {
  readonly type: 'pieces';
  /** The stream, in order; its total length is the sum of the runs' bytes. */
  readonly segments: readonly HashSegment[];
  readonly runs: readonly PieceRun[];
  /** Refuse to open a path whose last component is a symbolic link (`O_NOFOLLOW`). */
  readonly noFollow?: boolean;
}

/** Digest of the concatenation of `parts`. */
export interface DigestTask {
  readonly type: 'digest';
  readonly algorithm: HashAlgorithm;
  readonly parts: readonly Uint8Array[];
}

/** BEP 52 merkle root of `data`'s 16 KiB blocks over `leaves` leaves. */
export interface MerkleTask {
  readonly type: 'merkle';
  readonly data: Uint8Array;
  readonly leaves: number;
}

export type HashTask = PiecesTask | DigestTask | MerkleTask;

/** The digests of a {@link PiecesTask}. */
export interface PiecesResult {
  readonly ok: true;
  /** SHA-1 of each piece with `sha1` set, 20 bytes each, in order. */
  readonly sha1: Uint8Array;
  /** Merkle root of each piece with `merkleBytes > 0`, 32 bytes each, in order. */
  readonly merkle: Uint8Array;
}

export type HashTaskResult = PiecesResult | PiecesFailure | Uint8Array;

let chunk: Buffer | undefined;

class ReadFailure extends Error {
  constructor(
    readonly op: 'open' | 'read',
    readonly path: string,
    message: string,
    readonly errno: string | undefined,
  ) {
    super(message);
  }
}

/** Reads the segments in order into a caller's buffer. */
class SegmentReader {
  readonly #segments: readonly HashSegment[];
  readonly #fds = new Map<string, number>();
  readonly #flags: number;
  #index = 0;
  #within = 0;

  constructor(segments: readonly HashSegment[], noFollow: boolean) {
    this.#segments = segments;
    this.#flags = noFollow ? constants.O_RDONLY | constants.O_NOFOLLOW : constants.O_RDONLY;
  }

  #fd(path: string): number {
    let fd = this.#fds.get(path);
    if (fd === undefined) {
      try {
        fd = openSync(path, this.#flags);
      } catch (err) {
        throw new ReadFailure('open', path, `cannot open ${path}: ${(err as Error).message}`, errnoOf(err));
      }
      this.#fds.set(path, fd);
    }
    return fd;
  }

  /** Fills `buf[0, n)` with the next `n` bytes of the stream. */
  fill(buf: Buffer, n: number): void {
    let at = 0;
    while (at < n) {
      const seg = this.#segments[this.#index];
      if (seg === undefined) throw new Error('hash task: segments shorter than pieces');
      const take = Math.min(n - at, seg.length - this.#within);
      if (seg.kind === 'zeros') {
        buf.fill(0, at, at + take);
      } else {
        const fd = this.#fd(seg.path);
        let done = 0;
        while (done < take) {
          let got: number;
          try {
            got = readSync(fd, buf, at + done, take - done, seg.offset + this.#within + done);
          } catch (err) {
            throw new ReadFailure(
              'read',
              seg.path,
              `cannot read ${seg.path}: ${(err as Error).message}`,
              errnoOf(err),
            );
          }
          if (got === 0) {
            throw new ReadFailure(
              'read',
              seg.path,
              `${seg.path} is shorter than when it was listed (was it changed while hashing?)`,
              undefined,
            );
          }
          done += got;
        }
      }
      at += take;
      this.#within += take;
      if (this.#within === seg.length) {
        this.#index++;
        this.#within = 0;
      }
    }
  }

  close(): void {
    for (const fd of this.#fds.values()) closeSync(fd);
    this.#fds.clear();
  }
}

function hashPieces(task: PiecesTask): PiecesResult | PiecesFailure {
  chunk ??= Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
  const buf = chunk;
  let sha1Count = 0;
  let merkleCount = 0;
  for (const run of task.runs) {
    if (run.sha1) sha1Count += run.count;
    if (run.merkleBytes > 0) merkleCount += run.count;
  }
  const sha1Out = new Uint8Array(sha1Count * SHA1_BYTES);
  const merkleOut = new Uint8Array(merkleCount * SHA256_BYTES);
  let sha1At = 0;
  let merkleAt = 0;
  const reader = new SegmentReader(task.segments, task.noFollow === true);
  try {
    for (const run of task.runs) {
      const nodes = run.merkleBytes > 0 ? leaves(run.merkleLeaves) : undefined;
      for (let p = 0; p < run.count; p++) {
        const sha1 = run.sha1 ? createHash('sha1') : undefined;
        let leafCount = 0;
        for (let pos = 0; pos < run.length; pos += READ_CHUNK_BYTES) {
          const n = Math.min(READ_CHUNK_BYTES, run.length - pos);
          reader.fill(buf, n);
          sha1?.update(buf.subarray(0, n));
          if (nodes !== undefined) {
            const dataEnd = Math.min(n, run.merkleBytes - pos);
            for (let b = 0; b < dataEnd; b += BLOCK_BYTES) {
              nodes.set(
                sha256(buf.subarray(b, Math.min(b + BLOCK_BYTES, dataEnd))),
                leafCount * SHA256_BYTES,
              );
              leafCount++;
            }
          }
        }
        if (sha1 !== undefined) {
          sha1Out.set(sha1.digest(), sha1At);
          sha1At += SHA1_BYTES;
        }
        if (nodes !== undefined) {
          merkleOut.set(reduceInPlace(nodes, leafCount, run.merkleLeaves), merkleAt);
          merkleAt += SHA256_BYTES;
        }
      }
    }
  } catch (err) {
    if (err instanceof ReadFailure) {
      const failure: PiecesFailure = { ok: false, op: err.op, path: err.path, message: err.message };
      return err.errno === undefined ? failure : { ...failure, errno: err.errno };
    }
    throw err;
  } finally {
    reader.close();
  }
  return { ok: true, sha1: sha1Out, merkle: merkleOut };
}

/** The piscina entry point. */
export default function runHashTask(task: HashTask): HashTaskResult {
  switch (task.type) {
    case 'pieces':
      return hashPieces(task);
    case 'digest': {
      const h = createHash(task.algorithm);
      for (const part of task.parts) h.update(part);
      return new Uint8Array(h.digest());
    }
    case 'merkle':
      return merkleRoot(task.data, task.leaves);
  }
}
