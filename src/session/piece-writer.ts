/**
 * DEV DOCS — the receive path of one torrent: from a received block to a verified piece on disk.
 *
 * Blocks are copied into their piece's assembly buffer ({@link PieceAssembler}); a complete
 * piece's buffer is *moved* to a hash thread, which writes it to its files only if the hash
 * matches (`TorrentStorage.verifyAndWrite`), and comes back.
 * When every buffer is busy with partial pieces, a piece goes to disk block by block as it
 * arrives (*spilled*) and is verified from there once complete.
 *
 * Smart ban: when a piece fails, the SHA-1 of each of its blocks goes to the engine with the
 * verdict, and when a piece that failed before passes, so do the verified blocks' digests: the
 * engine compares them and bans exactly the senders of blocks that differ (engine/smart-ban.ts).
 *
 * Invariants:
 * - a piece is reported verified to the engine only after its hash matched and, for a spilled
 *   piece, after every block write of that piece finished;
 * - unverified block writes in flight are bounded by MAX_PENDING_WRITE_BYTES, and complete
 *   pieces waiting for their check by VERIFY_BACKLOG_SHARE of the buffers; and while pieces are
 *   being checked, at least MIN_FREE_ASSEMBLY_BUFFERS stay free. Past any of these bounds the
 *   host stops reading its peers (TCP then slows the senders) until they drain. Without the
 *   pause the next pieces would find no buffer and go to disk block by block, to be read back
 *   for their check, which costs more CPU exactly when there is none to spare. (The last bound
 *   waits only for checks, which finish whatever is read, so it cannot stall the download.)
 */
import type { EngineAction, TorrentEngine } from '../engine/index.js';
import { sha1 } from '../shared/hash.js';
import {
  BLOCK_BYTES,
  MAX_PENDING_WRITE_BYTES,
  MIN_FREE_ASSEMBLY_BUFFERS,
  VERIFY_BACKLOG_SHARE,
} from '../shared/limits.js';
import { PIECE_DIGEST_TAIL_BYTES } from '../storage/hash-pool.js';
import { PieceAssembler } from '../storage/piece-assembler.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';

/** What the receive path needs from its torrent. */
export interface PieceWriterHost {
  readonly storage: TorrentStorage;
  readonly engine: TorrentEngine;
  now(): number;
  isClosed(): boolean;
  run(actions: EngineAction[]): void;
  /** The torrent cannot go on (its files cannot be written). */
  fail(error: unknown): void;
  /** A piece failed: BEP 52 leaf-hash blame may name the bad blocks' senders at once. */
  onPieceFailed(index: number, data: Uint8Array, senders: readonly (string | undefined)[]): void;
  /** A piece was verified (true) or failed (false), and the engine was told. */
  onVerified(index: number, ok: boolean): void;
  /** Peers must stop (true) or may resume (false) being read. */
  setReadingPaused(paused: boolean): void;
}

/** The SHA-1 of every 16 KiB block of `data` (smart-ban evidence). */
export function blockDigests(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += BLOCK_BYTES)
    out.push(sha1(data.subarray(at, Math.min(at + BLOCK_BYTES, data.length))));
  return out;
}

/**
 * Complete pieces that may wait for their hash check and write, out of `slots` assembly
 * buffers, before peers stop being read: {@link VERIFY_BACKLOG_SHARE} of them, and always one
 * buffer left for a piece being assembled.
 */
export function verifyBacklogLimit(slots: number): number {
  return Math.max(1, Math.min(slots - 1, Math.floor(slots * VERIFY_BACKLOG_SHARE)));
}

/** The receive path; see the module notes. */
export class PieceWriter {
  readonly #host: PieceWriterHost;
  readonly #assembler: PieceAssembler;
  readonly #verifyBacklogLimit: number;
  readonly #minFreeBuffers: number;
  /** Pieces whose blocks went to disk unverified (memory budget): verified from disk. */
  readonly #spilled = new Set<number>();
  #spilledTotal = 0;
  /** Writes in flight per piece, and pieces waiting for them before verification. */
  readonly #writesInFlight = new Map<number, number>();
  readonly #verifyWhenWritten = new Set<number>();
  readonly #verifying = new Set<number>();
  #pendingWriteBytes = 0;
  /** Pieces verified from an assembly buffer right now (each holds a buffer until written). */
  #verifyingInMemory = 0;
  #readingPaused = false;

  constructor(host: PieceWriterHost, pieceLength: number) {
    this.#host = host;
    this.#assembler = new PieceAssembler(pieceLength, MAX_PENDING_WRITE_BYTES, PIECE_DIGEST_TAIL_BYTES);
    this.#verifyBacklogLimit = verifyBacklogLimit(this.#assembler.slots);
    this.#minFreeBuffers = Math.min(MIN_FREE_ASSEMBLY_BUFFERS, this.#assembler.slots - 1);
  }

  /** Pieces spilled to disk since the torrent started. */
  get spilledTotal(): number {
    return this.#spilledTotal;
  }

  /** Peers are not being read because writing or checking is behind. */
  get readingPaused(): boolean {
    return this.#readingPaused;
  }

  /** Verifications or writes are in flight (close waits for them). */
  get busy(): boolean {
    return this.#verifying.size > 0 || this.#pendingWriteBytes > 0;
  }

  /** Resolves once no verification or write is in flight. */
  async idle(): Promise<void> {
    while (this.busy) await new Promise((r) => setImmediate(r));
  }

  /**
   * Takes a received block. `data` is valid only during this call (a view of a read buffer that
   * the next read reuses): it is copied into its piece's buffer, or for a write to disk.
   */
  writeBlock(piece: number, offset: number, data: Uint8Array): void {
    if (this.#spilled.has(piece)) {
      this.#writeToDisk(piece, offset, data);
      return;
    }
    if (!this.#assembler.add(piece, offset, data)) {
      // Every assembly buffer is busy: this piece goes to disk as it arrives, verified from there.
      this.#spilled.add(piece);
      this.#spilledTotal++;
      this.#writeToDisk(piece, offset, data);
      return;
    }
    if (!this.#readingPaused && this.#assembler.freeSlots < this.#minFreeBuffers) this.#updateReadPause();
  }

  /** Every block of `index` arrived: verify it. */
  onPieceComplete(index: number): void {
    if (this.#spilled.has(index)) {
      if ((this.#writesInFlight.get(index) ?? 0) > 0) this.#verifyWhenWritten.add(index);
      else void this.#verifyOnDisk(index);
      return;
    }
    const held = this.#assembler.take(index);
    if (held === undefined) return;
    void this.#verifyInMemory(index, held.data, held.slot);
  }

  /** Drops every buffered block (the torrent closes). */
  clear(): void {
    this.#assembler.clear();
  }

  async #verifyInMemory(index: number, slab: Uint8Array, slot: number): Promise<void> {
    const host = this.#host;
    this.#verifying.add(index);
    this.#verifyingInMemory++;
    this.#updateReadPause();
    // Who sent each block: read before the verdict resets the piece.
    const senders = host.engine.blockSenders(index);
    let buffer: Uint8Array | undefined;
    try {
      const r = host.isClosed()
        ? await host.storage.verifyBuffer(index, slab)
        : await host.storage.verifyAndWrite(index, slab);
      buffer = r.buffer;
      const data = buffer.subarray(0, host.storage.map.pieceSize(index));
      const digests = !r.ok || host.engine.wantsBlockDigests(index) ? blockDigests(data) : undefined;
      this.#afterVerify(index, r.ok, digests, data, senders);
    } catch (e) {
      host.fail(e);
    } finally {
      this.#assembler.release(slot, buffer);
      this.#verifying.delete(index);
      this.#verifyingInMemory--;
      this.#updateReadPause();
    }
  }

  /** Writes a block in place, unverified. `borrowed` is copied: see {@link writeBlock}. */
  #writeToDisk(piece: number, offset: number, borrowed: Uint8Array): void {
    // A copy: `borrowed.slice()` would not be one when it is a Buffer (Buffer#slice is a view).
    const data = new Uint8Array(borrowed);
    this.#writesInFlight.set(piece, (this.#writesInFlight.get(piece) ?? 0) + 1);
    this.#pendingWriteBytes += data.length;
    this.#updateReadPause();
    this.#host.storage.writeBlock(piece, offset, data).then(
      () => {
        this.#pendingWriteBytes -= data.length;
        this.#updateReadPause();
        const left = (this.#writesInFlight.get(piece) ?? 1) - 1;
        if (left > 0) this.#writesInFlight.set(piece, left);
        else {
          this.#writesInFlight.delete(piece);
          if (this.#verifyWhenWritten.delete(piece)) void this.#verifyOnDisk(piece);
        }
      },
      (e: unknown) => {
        this.#pendingWriteBytes -= data.length;
        this.#host.fail(e);
      },
    );
  }

  #updateReadPause(): void {
    const pause =
      this.#pendingWriteBytes > MAX_PENDING_WRITE_BYTES ||
      this.#verifyingInMemory >= this.#verifyBacklogLimit ||
      (this.#verifyingInMemory > 0 && this.#assembler.freeSlots < this.#minFreeBuffers);
    if (pause === this.#readingPaused) return;
    // Hysteresis on the write bytes: resume once half of them are written.
    if (!pause && this.#pendingWriteBytes > MAX_PENDING_WRITE_BYTES / 2) return;
    this.#readingPaused = pause;
    this.#host.setReadingPaused(pause);
  }

  async #verifyOnDisk(index: number): Promise<void> {
    const host = this.#host;
    if (this.#verifying.has(index)) return;
    this.#verifying.add(index);
    const senders = host.engine.blockSenders(index);
    let ok = false;
    let data: Uint8Array | undefined;
    try {
      ok = await host.storage.verifyPiece(index);
      if (!ok || host.engine.wantsBlockDigests(index)) data = await host.storage.readPiece(index);
    } catch (e) {
      host.fail(e);
      return;
    } finally {
      this.#verifying.delete(index);
    }
    this.#spilled.delete(index);
    this.#afterVerify(index, ok, data === undefined ? undefined : blockDigests(data), data, senders);
  }

  #afterVerify(
    index: number,
    ok: boolean,
    digests: Uint8Array[] | undefined,
    data: Uint8Array | undefined,
    senders: readonly (string | undefined)[],
  ): void {
    const host = this.#host;
    if (host.isClosed()) return;
    host.run(
      host.engine.onPieceVerified(
        index,
        ok,
        host.now(),
        digests === undefined ? {} : { blockDigests: digests },
      ),
    );
    if (!ok && data !== undefined) host.onPieceFailed(index, data, senders);
    host.onVerified(index, ok);
  }
}
