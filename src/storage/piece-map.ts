/**
 * Maps the torrent's piece space onto its files.
 *
 * The piece space is the v1 concatenation of all files (BEP 47 padding files included) or,
 * for v2-only torrents, the layout where every file starts on a piece boundary (BEP 52). A
 * piece may span several files in v1; in v2 and hybrids it never does. Padding ranges are
 * zeros that are never read from or written to disk.
 *
 * A piece's extent is `[index × pieceLength, min((index + 1) × pieceLength, end))`, where `end`
 * is the end of the whole space. For v2-only torrents the gap between a file's end and the next
 * piece boundary is implicit padding (zeros), as libtorrent lays it out: a file's last piece is
 * full-size on the wire except at the very end of the torrent, while its merkle hash covers the
 * file's bytes only.
 */
import type { Metainfo, TorrentFile } from '../metainfo/types.js';
import { BLOCK_BYTES } from '../shared/limits.js';

/** One contiguous run of a piece inside one file (or inside padding when `file` is -1). */
export interface Segment {
  /** Index into `metainfo.files`, or -1 for padding / alignment gaps (zeros). */
  readonly file: number;
  /** Offset inside the file. */
  readonly fileOffset: number;
  /** Offset inside the piece. */
  readonly pieceOffset: number;
  readonly length: number;
}

export class PieceMap {
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly files: readonly TorrentFile[];
  readonly #spaceEnd: number;
  readonly #v2Only: boolean;
  /** Non-empty files sorted by offset (torrent order already is), for binary search. */
  readonly #dataFiles: number[];

  constructor(m: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'files' | 'version'>) {
    this.pieceLength = m.pieceLength;
    this.pieceCount = m.pieceCount;
    this.files = m.files;
    this.#v2Only = m.version === 'v2';
    this.#dataFiles = [];
    let end = 0;
    m.files.forEach((f, i) => {
      if (f.length > 0) this.#dataFiles.push(i);
      end = Math.max(end, f.offset + f.length);
    });
    this.#spaceEnd = end;
  }

  /** Index into `files` of the file holding piece-space offset `at` (or -1 in a gap). */
  fileAt(at: number): number {
    const list = this.#dataFiles;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = this.files[list[mid]!]!;
      if (at < f.offset) hi = mid - 1;
      else if (at >= f.offset + f.length) lo = mid + 1;
      else return list[mid]!;
    }
    return -1;
  }

  /** Byte length of piece `index` (implicit v2 padding included). */
  pieceSize(index: number): number {
    const start = index * this.pieceLength;
    return Math.max(0, Math.min(start + this.pieceLength, this.#spaceEnd) - start);
  }

  /**
   * Bytes of piece `index` a peer may request. For v2 torrents libtorrent asks for whole 16 KiB
   * blocks even at the very end of the torrent (BEP 52 leaves are whole blocks), so the last
   * piece is servable up to the next block boundary; the bytes past the data are zeros.
   */
  uploadSize(index: number): number {
    const size = this.pieceSize(index);
    return this.#v2Only ? Math.ceil(size / BLOCK_BYTES) * BLOCK_BYTES : size;
  }

  /** Absolute offset of piece `index` in the piece space. */
  pieceStart(index: number): number {
    return index * this.pieceLength;
  }

  /** The runs that make up `length` bytes at `offset` inside piece `index`. */
  segments(index: number, offset = 0, length = this.pieceSize(index) - offset): Segment[] {
    const out: Segment[] = [];
    let at = index * this.pieceLength + offset;
    let pieceOffset = offset;
    let left = length;
    while (left > 0) {
      const fi = this.fileAt(at);
      const f = fi >= 0 ? this.files[fi]! : undefined;
      if (f === undefined || f.isPadding) {
        // A padding file or an alignment gap: zeros up to its end or the next file.
        const next = f !== undefined ? f.offset + f.length : this.#nextFileStart(at);
        // Past the last file (v2 block rounding) everything left is zeros.
        const n = next > at ? Math.min(left, next - at) : left;
        out.push({ file: -1, fileOffset: 0, pieceOffset, length: n });
        at += n;
        pieceOffset += n;
        left -= n;
        continue;
      }
      const n = Math.min(left, f.offset + f.length - at);
      out.push({ file: fi, fileOffset: at - f.offset, pieceOffset, length: n });
      at += n;
      pieceOffset += n;
      left -= n;
    }
    return out;
  }

  /** The range of pieces `[first, last]` that hold bytes of file `index` (empty: first > last). */
  filePieces(index: number): { first: number; last: number } {
    const f = this.files[index]!;
    if (f.length === 0) return { first: 1, last: 0 };
    return {
      first: Math.floor(f.offset / this.pieceLength),
      last: Math.floor((f.offset + f.length - 1) / this.pieceLength),
    };
  }

  /** Start of the first non-empty file beginning after `at` (binary search). */
  #nextFileStart(at: number): number {
    const list = this.#dataFiles;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.files[list[mid]!]!.offset > at) hi = mid;
      else lo = mid + 1;
    }
    return lo < list.length ? this.files[list[lo]!]!.offset : this.#spaceEnd;
  }
}
