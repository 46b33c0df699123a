/**
 * Holds the blocks of pieces being downloaded until each piece is complete, so that a piece is
 * verified in memory and written to disk in one go, after its hash matched (nothing unverified
 * ever reaches the disk on this path).
 *
 * Memory is bounded by the caller's budget: when {@link PieceAssembler.bytes} exceeds it, the
 * caller spills pieces (`spillCandidate` then `take`) to disk and verifies those from disk.
 * Blocks are kept as the views the frame decoder produced (no copy).
 */

interface Partial {
  readonly blocks: Map<number, Uint8Array>;
  bytes: number;
  /** Insertion order, to spill the oldest first. */
  readonly seq: number;
}

export class PieceAssembler {
  readonly #pieces = new Map<number, Partial>();
  #bytes = 0;
  #seq = 0;

  /** Bytes held across all pieces. */
  get bytes(): number {
    return this.#bytes;
  }

  get pieceCount(): number {
    return this.#pieces.size;
  }

  has(piece: number): boolean {
    return this.#pieces.has(piece);
  }

  /** Stores a block; a second block at the same offset replaces the first. */
  add(piece: number, offset: number, data: Uint8Array): void {
    let p = this.#pieces.get(piece);
    if (p === undefined) {
      p = { blocks: new Map(), bytes: 0, seq: this.#seq++ };
      this.#pieces.set(piece, p);
    }
    const old = p.blocks.get(offset);
    if (old !== undefined) {
      p.bytes -= old.length;
      this.#bytes -= old.length;
    }
    p.blocks.set(offset, data);
    p.bytes += data.length;
    this.#bytes += data.length;
  }

  /** Removes and returns a piece's blocks sorted by offset (empty when none are held). */
  take(piece: number): { offset: number; data: Uint8Array }[] {
    const p = this.#pieces.get(piece);
    if (p === undefined) return [];
    this.#pieces.delete(piece);
    this.#bytes -= p.bytes;
    return [...p.blocks.entries()].sort((a, b) => a[0] - b[0]).map(([offset, data]) => ({ offset, data }));
  }

  /** The piece to spill first: the oldest one held. */
  spillCandidate(): number | undefined {
    let best: number | undefined;
    let bestSeq = Number.POSITIVE_INFINITY;
    for (const [piece, p] of this.#pieces) {
      if (p.seq < bestSeq) {
        best = piece;
        bestSeq = p.seq;
      }
    }
    return best;
  }

  /** Forgets everything (torrent closing). */
  clear(): void {
    this.#pieces.clear();
    this.#bytes = 0;
  }
}
