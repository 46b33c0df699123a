/**
 * From blocks the engine asked of a web seed to HTTP ranges (pure).
 *
 * The engine asks a web seed's virtual peer for 16 KiB blocks, in runs of consecutive pieces
 * (the picker's `runs`). {@link PendingBlocks} keeps the blocks not yet fetched, keyed by their
 * offset in the piece space, and hands out the first run of consecutive ones up to a size; a run
 * may cross pieces and files. {@link fileRanges} then maps a run onto the byte ranges of the
 * files that hold it (one HTTP request each; zeros for BEP 47 padding and v2 alignment gaps,
 * which no server holds).
 */
import type { BlockRef } from '../../engine/index.js';
import type { Segment } from '../../storage/piece-map.js';

/** The piece space as the planner sees it (a storage `PieceMap` fits). */
export interface PieceSpace {
  readonly pieceLength: number;
  segments(index: number, offset: number, length: number): Segment[];
}

/** Bytes `[start, start + length)` of file `file` (an index into the metainfo's files; -1: zeros). */
export interface FileRange {
  readonly file: number;
  readonly start: number;
  readonly length: number;
}

/** Blocks asked of a web seed and not yet fetched, ordered by their place in the piece space. */
export class PendingBlocks {
  readonly #pieceLength: number;
  readonly #blocks = new Map<number, BlockRef>();
  #bytes = 0;

  constructor(pieceLength: number) {
    this.#pieceLength = pieceLength;
  }

  /** Offset of `b` in the piece space. */
  offsetOf(b: BlockRef): number {
    return b.piece * this.#pieceLength + b.offset;
  }

  get size(): number {
    return this.#blocks.size;
  }

  /** Bytes of the blocks held. */
  get bytes(): number {
    return this.#bytes;
  }

  add(b: BlockRef): void {
    const at = this.offsetOf(b);
    const old = this.#blocks.get(at);
    if (old !== undefined) this.#bytes -= old.length;
    this.#blocks.set(at, b);
    this.#bytes += b.length;
  }

  /** Removes `b`; false when it was not held. */
  delete(b: BlockRef): boolean {
    const at = this.offsetOf(b);
    const old = this.#blocks.get(at);
    if (old === undefined) return false;
    this.#blocks.delete(at);
    this.#bytes -= old.length;
    return true;
  }

  /** Every block held, in no particular order. */
  values(): IterableIterator<BlockRef> {
    return this.#blocks.values();
  }

  /** Removes and returns every block. */
  clear(): BlockRef[] {
    const all = [...this.#blocks.values()];
    this.#blocks.clear();
    this.#bytes = 0;
    return all;
  }

  /**
   * Removes and returns the run of consecutive blocks that starts at the lowest offset held:
   * at least one block, then more while they follow each other and the run stays within
   * `maxBytes` (and within one piece when `onePiece`, for BEP 17). A run that `maxBytes` cuts
   * short ends at the last piece boundary in it when it has one, so that one piece comes from
   * one run: the torrent then assembles at most one piece per run at a time, where pieces split
   * between runs fetched side by side would each hold an assembly buffer until both got there.
   */
  takeRun(maxBytes: number, onePiece = false): BlockRef[] {
    if (this.#blocks.size === 0) return [];
    const keys = [...this.#blocks.keys()].sort((a, b) => a - b);
    const run: BlockRef[] = [];
    let bytes = 0;
    let next = keys[0]!;
    let cut = false;
    for (const k of keys) {
      if (k !== next) break;
      const b = this.#blocks.get(k)!;
      if (run.length > 0 && onePiece && b.piece !== run[0]!.piece) break;
      if (run.length > 0 && bytes + b.length > maxBytes) {
        cut = b.offset !== 0;
        break;
      }
      run.push(b);
      bytes += b.length;
      next = k + b.length;
    }
    if (cut) {
      // Back to where the last piece in the run starts, unless the whole run is in one piece.
      let end = run.length;
      while (end > 1 && run[end - 1]!.offset !== 0) end--;
      if (end > 1) run.length = end - 1;
    }
    for (const b of run) this.delete(b);
    return run;
  }
}

/**
 * The file ranges, in order, that hold the bytes of `run` (consecutive blocks): adjacent bytes
 * of one file merge into one range, and padding into one range of zeros (file -1).
 */
export function fileRanges(space: PieceSpace, run: readonly BlockRef[]): FileRange[] {
  const out: { file: number; start: number; length: number }[] = [];
  for (const b of run) {
    for (const s of space.segments(b.piece, b.offset, b.length)) {
      const last = out.at(-1);
      if (
        last !== undefined &&
        last.file === s.file &&
        (s.file === -1 || last.start + last.length === s.fileOffset)
      )
        last.length += s.length;
      else out.push({ file: s.file, start: s.file === -1 ? 0 : s.fileOffset, length: s.length });
    }
  }
  return out;
}

/**
 * Bytes one new job may take: a connection's share of everything asked of the web seed
 * (waiting and in flight, over `connections`), at least one block and at most `maxBytes`.
 */
export function jobShare(
  pendingBytes: number,
  inFlightBytes: number,
  connections: number,
  maxBytes: number,
): number {
  const share = Math.ceil((pendingBytes + inFlightBytes) / Math.max(1, connections));
  return Math.max(1, Math.min(maxBytes, share));
}
