/**
 * Holds the blocks of pieces being downloaded until each piece is complete, so that a piece is
 * verified in memory and written to disk in one go, after its hash matched (nothing unverified
 * ever reaches the disk on this path).
 *
 * Pieces are assembled in a fixed pool of piece-sized buffers: a block is copied once into its
 * piece's buffer, the buffer is moved (transferred, not copied) to a piece thread, which writes
 * the piece to disk from it once it matched, and back. The pool is allocated lazily and
 * reused, so memory for pieces in flight is bounded by `slots × pieceLength` and steady-state transfers allocate
 * nothing per piece. (Plain ArrayBuffers, not SharedArrayBuffers: copying into shared memory
 * and writing files from it are both several times slower in Node.)
 *
 * When every slot is taken, {@link PieceAssembler.add} refuses the block and the caller writes
 * it straight to disk (the piece is then verified from disk).
 */

import { BLOCK_BYTES } from '../shared/limits.js';

interface Partial {
  readonly slot: number;
  readonly buf: Uint8Array;
  readonly offsets: Set<number>;
  bytes: number;
}

export class PieceAssembler {
  readonly #pieceLength: number;
  readonly #slots: number;
  readonly #buffers: (Uint8Array | undefined)[];
  readonly #free: number[] = [];
  readonly #pieces = new Map<number, Partial>();
  #bytes = 0;

  readonly #bufferBytes: number;

  /**
   * @param pieceLength the torrent's piece length (the largest piece).
   * @param budgetBytes memory for pieces in flight; at least 2 slots are kept.
   * @param tailBytes extra room after each piece (for the hash worker's digests).
   */
  constructor(pieceLength: number, budgetBytes: number, tailBytes = 0) {
    this.#pieceLength = pieceLength;
    this.#bufferBytes = pieceLength + tailBytes;
    this.#slots = Math.max(2, Math.floor(budgetBytes / pieceLength));
    this.#buffers = new Array(this.#slots).fill(undefined);
    for (let i = this.#slots - 1; i >= 0; i--) this.#free.push(i);
  }

  /** Block bytes held across all pieces. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Pieces being assembled. */
  get pieceCount(): number {
    return this.#pieces.size;
  }

  /** Buffers the pool may hold. */
  get slots(): number {
    return this.#slots;
  }

  /** Buffers neither assembling a piece nor taken: what pieces that start can still get. */
  get freeSlots(): number {
    return this.#free.length;
  }

  has(piece: number): boolean {
    return this.#pieces.has(piece);
  }

  /**
   * Copies a block, or a run of consecutive blocks, into its piece's buffer. Returns false (storing nothing) when the piece has
   * no buffer yet and none is free.
   */
  add(piece: number, offset: number, data: Uint8Array): boolean {
    let p = this.#pieces.get(piece);
    if (p === undefined) {
      const slot = this.#free.pop();
      if (slot === undefined) return false;
      let buf = this.#buffers[slot];
      if (buf === undefined) {
        buf = new Uint8Array(this.#bufferBytes);
        this.#buffers[slot] = buf;
      }
      p = { slot, buf, offsets: new Set(), bytes: 0 };
      this.#pieces.set(piece, p);
    }
    if (offset + data.length > this.#pieceLength) return false;
    p.buf.set(data, offset);
    // Counted per 16 KiB block: `data` may be a run of them, and a block may come again.
    const end = offset + data.length;
    for (let at = offset; at < end; at += BLOCK_BYTES) {
      if (p.offsets.has(at)) continue;
      p.offsets.add(at);
      const n = Math.min(BLOCK_BYTES, end - at);
      p.bytes += n;
      this.#bytes += n;
    }
    return true;
  }

  /**
   * Hands a piece's buffer over (the first `length` bytes are the piece); the caller must
   * {@link release} it when done with it. Undefined when the piece is not held.
   */
  take(piece: number): { data: Uint8Array; slot: number; bytes: number } | undefined {
    const p = this.#pieces.get(piece);
    if (p === undefined) return undefined;
    this.#pieces.delete(piece);
    this.#bytes -= p.bytes;
    return { data: p.buf, slot: p.slot, bytes: p.bytes };
  }

  /**
   * Returns a slot taken with {@link take} to the pool. `buffer` replaces the slot's buffer when
   * the original was moved to a worker (and came back as a new object); without it the next
   * user of the slot allocates a fresh one.
   */
  release(slot: number, buffer?: Uint8Array): void {
    if (slot < 0 || slot >= this.#slots || this.#free.includes(slot)) return;
    this.#buffers[slot] = buffer !== undefined && buffer.length === this.#bufferBytes ? buffer : undefined;
    this.#free.push(slot);
  }

  /** Drops a piece being assembled (e.g. its blocks were written to disk instead). */
  drop(piece: number): void {
    const t = this.take(piece);
    if (t !== undefined) this.release(t.slot, t.data);
  }

  /** Forgets every piece (torrent closing); buffers stay allocated for reuse. */
  clear(): void {
    for (const p of this.#pieces.values()) this.release(p.slot, p.buf);
    this.#pieces.clear();
    this.#bytes = 0;
  }
}
