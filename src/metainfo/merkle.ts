/**
 * BitTorrent v2 merkle trees (BEP 52).
 *
 * Each file has its own binary SHA-256 tree whose leaves are the hashes of its 16 KiB blocks
 * (the last block may be short). The leaf count is padded to a power of two; padding leaves
 * are 32 zero bytes, so a padding node at height h is `pad(h) = sha256(pad(h-1) || pad(h-1))`.
 * The "piece layer" is the layer at height log2(pieceLength / 16 KiB); it is stored in the
 * torrent only for files larger than one piece, and the file's `pieces root` is the tree's root.
 */

import { type Hasher, nodeHasher } from '../shared/hash.js';
import { BLOCK_BYTES } from '../shared/limits.js';

export const HASH_BYTES = 32;

const padCache: Uint8Array[] = [new Uint8Array(HASH_BYTES)];

/** The hash of an all-padding subtree of the given height (0 = a zero leaf). */
export function padHash(height: number, hasher: Hasher = nodeHasher): Uint8Array {
  while (padCache.length <= height) {
    const below = padCache[padCache.length - 1]!;
    padCache.push(hasher.digest('sha256', below, below));
  }
  return padCache[height]!;
}

/** Smallest power of two ≥ n (1 for n ≤ 1). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** log2 of a power of two. */
export function log2(n: number): number {
  return Math.round(Math.log2(n));
}

/**
 * Root of a tree layer: `nodes` are at `height`, padded with `pad(height)` up to `width`
 * (a power of two ≥ nodes.length).
 */
export function rootOfLayer(
  nodes: readonly Uint8Array[],
  height: number,
  width = nextPow2(nodes.length),
  hasher: Hasher = nodeHasher,
): Uint8Array {
  let layer = nodes.slice();
  let h = height;
  let w = width;
  while (w > 1) {
    const pad = padHash(h, hasher);
    const next: Uint8Array[] = [];
    for (let i = 0; i < w; i += 2) {
      const left = layer[i] ?? pad;
      const right = layer[i + 1] ?? pad;
      if (i >= layer.length) break; // everything from here is padding
      next.push(hasher.digest('sha256', left, right));
    }
    layer = next;
    w /= 2;
    h++;
  }
  return layer[0] ?? padHash(h, hasher);
}

/** Blocks in a file of `length` bytes. */
export function blockCount(length: number): number {
  return Math.ceil(length / BLOCK_BYTES);
}

/**
 * Piece layer of a file from its block (leaf) hashes: one hash per piece, each the root of a
 * `pieceLength / 16 KiB`-leaf subtree padded with zero leaves.
 */
export function pieceLayerFromBlocks(
  blockHashes: readonly Uint8Array[],
  pieceLength: number,
  hasher: Hasher = nodeHasher,
): Uint8Array[] {
  const perPiece = pieceLength / BLOCK_BYTES;
  const out: Uint8Array[] = [];
  for (let i = 0; i < blockHashes.length; i += perPiece) {
    out.push(rootOfLayer(blockHashes.slice(i, i + perPiece), 0, perPiece, hasher));
  }
  return out;
}

/** `pieces root` of a non-empty file from its block hashes. */
export function fileRootFromBlocks(
  blockHashes: readonly Uint8Array[],
  hasher: Hasher = nodeHasher,
): Uint8Array {
  return rootOfLayer(blockHashes, 0, nextPow2(blockHashes.length), hasher);
}

/** `pieces root` of a file from its piece layer (file larger than one piece). */
export function fileRootFromPieceLayer(
  pieceHashes: readonly Uint8Array[],
  pieceLength: number,
  hasher: Hasher = nodeHasher,
): Uint8Array {
  const height = log2(pieceLength / BLOCK_BYTES);
  return rootOfLayer(pieceHashes, height, nextPow2(pieceHashes.length), hasher);
}
