/**
 * Whole-piece read cache for uploads. Peers request 16 KiB blocks, usually many of the same
 * piece in a row; reading the piece once and serving its blocks from memory turns dozens of
 * small reads into one. Bounded by bytes (least recently used pieces are dropped).
 */
export class PieceReadCache {
  readonly #maxBytes: number;
  readonly #pieces = new Map<number, Uint8Array>();
  readonly #loading = new Map<number, Promise<Uint8Array>>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** A block of `piece`, loading the whole piece with `load` on a miss. */
  async read(
    piece: number,
    offset: number,
    length: number,
    load: (piece: number) => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    let data = this.#pieces.get(piece);
    if (data !== undefined) {
      this.#pieces.delete(piece);
      this.#pieces.set(piece, data);
    } else {
      let pending = this.#loading.get(piece);
      if (pending === undefined) {
        pending = load(piece).finally(() => this.#loading.delete(piece));
        this.#loading.set(piece, pending);
        data = await pending;
        this.#insert(piece, data);
      } else {
        data = await pending;
      }
    }
    return data.subarray(offset, offset + length);
  }

  /** Drops a piece (its data changed, e.g. after a failed recheck). */
  invalidate(piece: number): void {
    const d = this.#pieces.get(piece);
    if (d === undefined) return;
    this.#pieces.delete(piece);
    this.#bytes -= d.length;
  }

  clear(): void {
    this.#pieces.clear();
    this.#bytes = 0;
  }

  #insert(piece: number, data: Uint8Array): void {
    if (data.length > this.#maxBytes) return;
    this.#pieces.set(piece, data);
    this.#bytes += data.length;
    for (const [p, d] of this.#pieces) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#pieces.delete(p);
      this.#bytes -= d.length;
    }
  }
}
