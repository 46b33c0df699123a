/**
 * Whole-piece read cache for uploads. Peers request 16 KiB blocks, usually many of the same
 * piece in a row; reading the piece once and serving its blocks from memory turns dozens of
 * small reads into one. Bounded by bytes (least recently used pieces are dropped).
 *
 * The piece buffers are reused: a seeder reading a new 1 MiB buffer per piece allocated its
 * whole upload again as ArrayBuffers, and V8 answered that external memory with a full
 * (mark-compact) collection every ~12 MB, 88 of them per GiB sent, 15 % of the seeder's time.
 * A block handed out is therefore a lease: its bytes stay valid until {@link BlockLease.release}
 * (once the socket has handed them to the kernel). A dropped piece's buffer goes back to the free
 * list only when its last lease is released; a lease that is never released costs only that
 * buffer's reuse (the garbage collector frees it), never another piece's bytes.
 */

/** A block served from the cache, valid until released. */
export interface BlockLease {
  readonly data: Uint8Array;
  /** Call once when done with `data` (later calls do nothing). */
  release(): void;
}

/** Reads piece `index` into `into` (a buffer of the cache's buffer size); returns its bytes. */
export type PieceLoader = (index: number, into: Uint8Array) => Promise<Uint8Array>;

interface Entry {
  readonly buffer: Uint8Array;
  /** The piece's bytes: the start of `buffer`. */
  readonly data: Uint8Array;
  leases: number;
  /** No longer in the cache: the buffer is reused once `leases` is 0. */
  dropped: boolean;
  /** The buffer went back to the free list: this entry must not be leased any more. */
  recycled: boolean;
}

export class PieceReadCache {
  readonly #maxBytes: number;
  readonly #bufferBytes: number;
  readonly #pieces = new Map<number, Entry>();
  readonly #loading = new Map<number, Promise<Entry>>();
  readonly #free: Uint8Array[] = [];
  #bytes = 0;

  /**
   * @param maxBytes bytes of pieces kept.
   * @param bufferBytes size of each piece buffer: the largest piece read (0: no reuse, a buffer
   *   per read, as for a torrent whose pieces are larger than `maxBytes`).
   */
  constructor(maxBytes: number, bufferBytes: number) {
    this.#maxBytes = maxBytes;
    this.#bufferBytes = bufferBytes <= maxBytes ? bufferBytes : 0;
  }

  /** Bytes of the pieces cached. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Buffers waiting for reuse. */
  get freeBuffers(): number {
    return this.#free.length;
  }

  /** A block of `piece`, loading the whole piece with `load` on a miss. */
  async read(piece: number, offset: number, length: number, load: PieceLoader): Promise<BlockLease> {
    let entry = this.#pieces.get(piece);
    if (entry !== undefined) {
      this.#pieces.delete(piece);
      this.#pieces.set(piece, entry);
    } else {
      let pending = this.#loading.get(piece);
      if (pending === undefined) {
        pending = this.#load(piece, load).finally(() => this.#loading.delete(piece));
        this.#loading.set(piece, pending);
        entry = await pending;
        this.#insert(piece, entry);
      } else {
        entry = await pending;
        // Dropped and its buffer reused while this read waited: read the piece again.
        if (entry.recycled) return this.read(piece, offset, length, load);
      }
    }
    if (offset + length > entry.data.length) throw new RangeError(`block beyond piece ${piece}`);
    entry.leases++;
    let released = false;
    return {
      data: entry.data.subarray(offset, offset + length),
      release: () => {
        if (released) return;
        released = true;
        entry.leases--;
        this.#recycle(entry);
      },
    };
  }

  /** Drops a piece (its data changed, e.g. after a failed recheck). */
  invalidate(piece: number): void {
    const e = this.#pieces.get(piece);
    if (e === undefined) return;
    this.#drop(piece, e);
  }

  clear(): void {
    for (const [piece, e] of this.#pieces) this.#drop(piece, e);
  }

  async #load(piece: number, load: PieceLoader): Promise<Entry> {
    const buffer = this.#free.pop() ?? new Uint8Array(this.#bufferBytes);
    try {
      const data = await load(piece, buffer);
      // A loader that could not use the buffer (a larger piece) gave its own: not reused.
      const own = data.buffer === buffer.buffer && this.#bufferBytes > 0;
      return { buffer: own ? buffer : new Uint8Array(0), data, leases: 0, dropped: false, recycled: false };
    } catch (e) {
      if (this.#bufferBytes > 0) this.#free.push(buffer);
      throw e;
    }
  }

  #insert(piece: number, e: Entry): void {
    if (e.data.length > this.#maxBytes) {
      e.dropped = true;
      return;
    }
    const old = this.#pieces.get(piece);
    if (old !== undefined) this.#drop(piece, old);
    this.#pieces.set(piece, e);
    this.#bytes += e.data.length;
    for (const [p, d] of this.#pieces) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#drop(p, d);
    }
  }

  #drop(piece: number, e: Entry): void {
    this.#pieces.delete(piece);
    this.#bytes -= e.data.length;
    e.dropped = true;
    this.#recycle(e);
  }

  #recycle(e: Entry): void {
    if (!e.dropped || e.leases > 0 || e.recycled || e.buffer.length === 0) return;
    e.recycled = true;
    // As many free buffers as the cache can hold pieces; more are left to the GC.
    if ((this.#free.length + 1) * this.#bufferBytes <= this.#maxBytes) this.#free.push(e.buffer);
  }
}
