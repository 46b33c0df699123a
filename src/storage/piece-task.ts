/**
 * A received piece's check, and its write when it matches: what a piece thread runs
 * (`piece-thread.ts`, started by `piece-threads.ts`), and the BEP 52 merkle arithmetic the
 * hash worker shares. Imports no thread library, so a piece thread loads only this.
 *
 * File errors are returned as data ({@link PiecesFailure}), not thrown: errors thrown in a
 * worker lose their fields crossing the thread boundary.
 */

import { createHash, hash as oneShotHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { padHash } from '../metainfo/merkle.js';
import { bytesEqual } from '../shared/hash.js';
import { BLOCK_BYTES, HASH_THREAD_WRITE_CALL_BYTES } from '../shared/limits.js';

const SHA1_BYTES = 20;
const SHA256_BYTES = 32;

/** Bytes `[from, from + length)` of a piece go to `position` of the file open as `fd`. */
export interface PieceWrite {
  readonly fd: number;
  /** The file's path, for error messages. */
  readonly path: string;
  readonly from: number;
  readonly length: number;
  readonly position: number;
}

/**
 * Where a verified piece goes: its writes, done only when every expected digest given matches.
 * The caller keeps each `fd` open until the task settles (`FilePool.lease`).
 */
export interface PieceStore {
  readonly sha1?: Uint8Array;
  readonly merkle?: Uint8Array;
  readonly writes: readonly PieceWrite[];
}

/**
 * Hash one received piece held in a buffer that is moved (not copied) to the worker and back:
 * the first `length` bytes are the piece; the digests are written into the buffer's last
 * {@link PIECE_DIGEST_TAIL_BYTES} bytes (SHA-1 at `tail`, merkle root at `tail + 20`, and at
 * `tail + 52` a byte that is 1 when the piece was stored).
 */
export interface PieceTask {
  readonly type: 'piece';
  readonly data: Uint8Array;
  readonly length: number;
  readonly sha1: boolean;
  /** Bytes of v2 file data at the start of the piece; 0 for no merkle root. */
  readonly merkleBytes: number;
  readonly merkleLeaves: number;
  /** Write the piece if it matches (see {@link PieceStore}). */
  readonly store?: PieceStore;
}

/** Where a {@link PieceTask}'s "stored" byte is, from the start of its buffer's tail. */
export const PIECE_STORED_AT = SHA1_BYTES + SHA256_BYTES;

/**
 * Room at the end of a {@link PieceTask} buffer for its digests (SHA-1 then SHA-256) and the
 * byte that says it was stored.
 */
export const PIECE_DIGEST_TAIL_BYTES = PIECE_STORED_AT + 1;

/** A file could not be opened, read to the expected length, or written. */
export interface PiecesFailure {
  readonly ok: false;
  readonly op: 'open' | 'read' | 'write';
  readonly path: string;
  readonly message: string;
  /** The Node error code (`ENOENT`, `EACCES`, …) when there is one. */
  readonly errno?: string;
}

export const sha256: (data: Uint8Array) => Uint8Array =
  typeof oneShotHash === 'function'
    ? (data) => oneShotHash('sha256', data, 'buffer')
    : (data) => createHash('sha256').update(data).digest();

let leafBuffer = new Uint8Array(0);

/** A reusable buffer for `count` leaf hashes. */
export function leaves(count: number): Uint8Array {
  if (leafBuffer.length < count * SHA256_BYTES) leafBuffer = new Uint8Array(count * SHA256_BYTES);
  return leafBuffer;
}

/**
 * Reduces `count` leaf hashes stored at the start of `nodes` to the root of a tree of `width`
 * leaves (a power of two ≥ count), in place; absent nodes at height h are `padHash(h)`.
 */
export function reduceInPlace(nodes: Uint8Array, count: number, width: number): Uint8Array {
  let height = 0;
  let n = count;
  let w = width;
  while (w > 1) {
    const next = Math.ceil(n / 2);
    for (let i = 0; i < next; i++) {
      if (2 * i + 1 >= n) nodes.set(padHash(height), (2 * i + 1) * SHA256_BYTES);
      nodes.set(sha256(nodes.subarray(2 * i * SHA256_BYTES, (2 * i + 2) * SHA256_BYTES)), i * SHA256_BYTES);
    }
    n = next;
    w /= 2;
    height++;
  }
  return nodes.slice(0, SHA256_BYTES);
}

/** The `code` of a Node error (`ENOENT`, …), if it has one. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** BEP 52 merkle root of `data`'s 16 KiB blocks over `width` leaves. */
export function merkleRoot(data: Uint8Array, width: number): Uint8Array {
  const count = Math.ceil(data.length / BLOCK_BYTES);
  if (count === 0) return padHash(Math.log2(width)).slice();
  const nodes = leaves(Math.max(width, 1));
  for (let i = 0; i < count; i++) {
    nodes.set(sha256(data.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES)), i * SHA256_BYTES);
  }
  return reduceInPlace(nodes, count, width);
}

/**
 * Runs a {@link PieceTask}: the digests go into the buffer's tail, and with `store` the piece is
 * written when they match. Returns the buffer (for the caller to move back) or the failed write.
 */
export function runPieceTask(task: PieceTask): Uint8Array | PiecesFailure {
  const d = task.data;
  const tail = d.length - PIECE_DIGEST_TAIL_BYTES;
  const sha1 = task.sha1 ? createHash('sha1').update(d.subarray(0, task.length)).digest() : undefined;
  const merkle =
    task.merkleBytes > 0 ? merkleRoot(d.subarray(0, task.merkleBytes), task.merkleLeaves) : undefined;
  if (sha1 !== undefined) d.set(sha1, tail);
  if (merkle !== undefined) d.set(merkle, tail + SHA1_BYTES);
  d[tail + PIECE_STORED_AT] = 0;
  const store = task.store;
  if (store !== undefined && matches(sha1, store.sha1) && matches(merkle, store.merkle)) {
    const failure = writePiece(d, store.writes);
    if (failure !== undefined) return failure;
    d[tail + PIECE_STORED_AT] = 1;
  }
  return d;
}

/** True when no digest is expected, or `got` is it. */
function matches(got: Uint8Array | undefined, expected: Uint8Array | undefined): boolean {
  return expected === undefined || (got !== undefined && bytesEqual(got, expected));
}

/** Writes the piece's parts in calls of at most HASH_THREAD_WRITE_CALL_BYTES, one after another. */
function writePiece(d: Uint8Array, writes: readonly PieceWrite[]): PiecesFailure | undefined {
  for (const w of writes) {
    try {
      for (let done = 0; done < w.length; ) {
        const n = Math.min(HASH_THREAD_WRITE_CALL_BYTES, w.length - done);
        const wrote = writeSync(w.fd, d, w.from + done, n, w.position + done);
        if (wrote <= 0) throw new Error('the file took no bytes');
        done += wrote;
      }
    } catch (err) {
      const message = `write failed for ${w.path}: ${(err as Error).message}`;
      const errno = errnoOf(err);
      const failure: PiecesFailure = { ok: false, op: 'write', path: w.path, message };
      return errno === undefined ? failure : { ...failure, errno };
    }
  }
  return undefined;
}
