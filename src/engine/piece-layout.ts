/**
 * Piece geometry and the small value types shared by the picker, the schedulers and the engine:
 * pieces, blocks (BEP 3: 16 KiB, the last block of a piece may be shorter), files and priorities.
 */
import { BLOCK_BYTES } from '../shared/limits.js';

/** Piece (and file) priorities. `Skip` pieces are never requested. */
export const PiecePriority = {
  /** Do not download. */
  Skip: 0,
  /** Default. */
  Normal: 1,
  /** Before every Normal piece. */
  High: 2,
} as const;
export type PiecePriority = (typeof PiecePriority)[keyof typeof PiecePriority];

/** The torrent's piece geometry (a storage `PieceMap` satisfies it). */
export interface PieceLayout {
  readonly pieceCount: number;
  /** Byte length of piece `index` (the last piece, and in v2 each file's last piece, is short). */
  pieceSize(index: number): number;
  /** Bytes of piece `index` peers may request from us, when more than `pieceSize` (v2 block rounding). */
  uploadSize?(index: number): number;
}

/** The v1 layout of `totalBytes` cut into pieces of `pieceLength` (the last one short). */
export function uniformLayout(totalBytes: number, pieceLength: number): PieceLayout {
  const pieceCount = Math.ceil(totalBytes / pieceLength);
  return {
    pieceCount,
    pieceSize: (index) =>
      index < 0 || index >= pieceCount ? 0 : Math.min(pieceLength, totalBytes - index * pieceLength),
  };
}

/** A file's place in the piece space (a metainfo `TorrentFile` satisfies it). */
export interface FileSpan {
  /** Offset of the file's first byte in the piece space. */
  readonly offset: number;
  readonly length: number;
  /** BEP 47 padding files carry no priority of their own. */
  readonly isPadding?: boolean;
}

/** One block: `length` bytes at `offset` inside `piece`. */
export interface BlockRef {
  readonly piece: number;
  readonly offset: number;
  readonly length: number;
}

/** Number of blocks of a piece of `size` bytes. */
export function blocksInPiece(size: number): number {
  return Math.ceil(size / BLOCK_BYTES);
}

/** The block at block index `block` of `piece` (the last block of a piece may be short). */
export function blockAt(layout: PieceLayout, piece: number, block: number): BlockRef {
  const offset = block * BLOCK_BYTES;
  return { piece, offset, length: Math.min(BLOCK_BYTES, layout.pieceSize(piece) - offset) };
}

/**
 * Maps file priorities onto pieces: a piece gets the highest priority of the files it touches,
 * so a piece shared by a skipped and a wanted file is wanted. Padding files (BEP 47) are
 * ignored; a piece that touches only padding takes the highest priority of all files. Files
 * beyond `priorities.length` keep Normal. Returns one priority per piece.
 */
export function piecePrioritiesOfFiles(
  files: readonly FileSpan[],
  priorities: readonly PiecePriority[],
  pieceLength: number,
  pieceCount: number,
): Uint8Array {
  const next = new Uint8Array(pieceCount);
  const touched = new Uint8Array(pieceCount);
  let maxAll = 0;
  files.forEach((f, fi) => {
    if (f.isPadding === true || f.length <= 0) return;
    const prio = priorities[fi] ?? PiecePriority.Normal;
    maxAll = Math.max(maxAll, prio);
    const first = Math.floor(f.offset / pieceLength);
    const last = Math.min(pieceCount - 1, Math.floor((f.offset + f.length - 1) / pieceLength));
    for (let i = first; i <= last; i++) {
      touched[i] = 1;
      if (prio > next[i]!) next[i] = prio;
    }
  });
  for (let i = 0; i < pieceCount; i++) if (touched[i] !== 1) next[i] = maxAll;
  return next;
}
