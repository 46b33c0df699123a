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

/**
 * Every layer of a file's tree from `baseHeight` up to the root, built from the base layer's
 * hashes (e.g. the piece layer). Layer 0 of the result is the base, padded with
 * `pad(baseHeight)` to a power of two; the last layer holds the root alone.
 */
export function treeLayersFrom(
  base: readonly Uint8Array[],
  baseHeight: number,
  hasher: Hasher = nodeHasher,
): Uint8Array[][] {
  const width = nextPow2(base.length);
  let layer = base.slice();
  while (layer.length < width) layer.push(padHash(baseHeight, hasher));
  const layers: Uint8Array[][] = [layer];
  while (layer.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2) next.push(hasher.digest('sha256', layer[i]!, layer[i + 1]!));
    layers.push(next);
    layer = next;
  }
  return layers;
}

/**
 * The `hashes` payload answering a BEP 52 hash request against `layers` (from
 * {@link treeLayersFrom}, whose base is the requested base layer): `length` base hashes from
 * `index`, then one uncle per proof layer above the subtree they span, nearest first, up to
 * `proofLayers` layers above the base (the first log2(length) − 1 proof layers are implied by
 * the hashes themselves). `undefined` when the request does not fit the tree.
 */
export function hashesForRequest(
  layers: readonly (readonly Uint8Array[])[],
  index: number,
  length: number,
  proofLayers: number,
): Uint8Array[] | undefined {
  const base = layers[0];
  if (base === undefined || length < 1 || index < 0 || index % length !== 0) return undefined;
  if ((length & (length - 1)) !== 0 || index + length > base.length) return undefined;
  const out = base.slice(index, index + length);
  const span = log2(length);
  let node = index >> span;
  // BEP 52: proof layer k (1-based above the base) holds the uncle at height k; layers 1 … span − 1
  // are implied by the hashes themselves.
  for (let h = span; h <= proofLayers && h < layers.length - 1; h++) {
    const sibling = layers[h]![node ^ 1];
    if (sibling === undefined) return undefined;
    out.push(sibling);
    node >>= 1;
  }
  return out;
}

/**
 * Checks a BEP 52 `hashes` reply: the base hashes and uncles must lead to `root` for a tree
 * whose base layer is `baseWidth` wide (a power of two). Returns the base hashes on success.
 */
export function verifyHashes(
  root: Uint8Array,
  baseWidth: number,
  index: number,
  length: number,
  hashes: Uint8Array,
  hasher: Hasher = nodeHasher,
): Uint8Array[] | undefined {
  if (hashes.length % HASH_BYTES !== 0 || length < 1 || (length & (length - 1)) !== 0) return undefined;
  const all: Uint8Array[] = [];
  for (let i = 0; i < hashes.length; i += HASH_BYTES)
    all.push(new Uint8Array(hashes.subarray(i, i + HASH_BYTES)));
  if (all.length < length || index % length !== 0 || index + length > baseWidth) return undefined;
  const base = all.slice(0, length);
  // Root of the subtree the base hashes span.
  let level = base;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hasher.digest('sha256', level[i]!, level[i + 1]!));
    level = next;
  }
  let node = level[0]!;
  let pos = index / length;
  let width = baseWidth / length;
  for (const uncle of all.slice(length)) {
    if (width <= 1) break;
    node = pos % 2 === 0 ? hasher.digest('sha256', node, uncle) : hasher.digest('sha256', uncle, node);
    pos >>= 1;
    width >>= 1;
  }
  if (width !== 1) return undefined;
  let same = node.length === root.length;
  for (let i = 0; same && i < root.length; i++) same = node[i] === root[i];
  return same ? base : undefined;
}
