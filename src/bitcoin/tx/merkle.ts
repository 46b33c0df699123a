/**
 * Merkle trees of transaction ids: the root a header commits to, and inclusion proofs.
 *
 * A level with an odd count pairs its last hash with itself. That makes two different lists hash
 * to the same root (CVE-2012-2459: [a, b, c] and [a, b, c, c]), so the computation reports a
 * "mutated" list, one where two paired hashes are equal at any level, as Bitcoin Core does; a
 * block whose list is mutated is refused whatever its root.
 */
import { bytesEqual } from '../../shared/hash.js';
import { sha256d } from '../crypto/hashes.js';

/** The root of `hashes` and whether the list is mutated. The root of no hashes is 32 zero bytes. */
export function merkleRoot(hashes: readonly Uint8Array[]): { root: Uint8Array; mutated: boolean } {
  if (hashes.length === 0) return { root: new Uint8Array(32), mutated: false };
  let level = hashes.slice();
  let mutated = false;
  while (level.length > 1) {
    for (let i = 0; i + 1 < level.length; i += 2) if (bytesEqual(level[i]!, level[i + 1]!)) mutated = true;
    if (level.length % 2 === 1) level.push(level[level.length - 1]!);
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(level[i]!, level[i + 1]!));
    level = next;
  }
  return { root: level[0]!.slice(), mutated };
}

/** A proof that the hash at `index` is in a tree: the sibling at each level, bottom up. */
export interface MerkleProof {
  readonly index: number;
  readonly siblings: readonly Uint8Array[];
}

/** The inclusion proof of `hashes[index]`. */
export function merkleProof(hashes: readonly Uint8Array[], index: number): MerkleProof {
  if (!Number.isInteger(index) || index < 0 || index >= hashes.length) {
    throw new RangeError(`index ${index} outside ${hashes.length} hashes`);
  }
  const siblings: Uint8Array[] = [];
  let level = hashes.slice();
  let i = index;
  while (level.length > 1) {
    if (level.length % 2 === 1) level.push(level[level.length - 1]!);
    siblings.push(level[i ^ 1]!.slice());
    const next: Uint8Array[] = [];
    for (let k = 0; k < level.length; k += 2) next.push(sha256d(level[k]!, level[k + 1]!));
    level = next;
    i >>= 1;
  }
  return { index, siblings };
}

/** The root `leaf` reaches along `proof`. */
export function rootFromProof(leaf: Uint8Array, proof: MerkleProof): Uint8Array {
  let h = leaf;
  let i = proof.index;
  for (const s of proof.siblings) {
    h = i & 1 ? sha256d(s, h) : sha256d(h, s);
    i >>>= 1;
  }
  return h;
}

/** True when `proof` takes `leaf` to `root` (and the index has no bits beyond the proof's depth). */
export function verifyMerkleProof(leaf: Uint8Array, proof: MerkleProof, root: Uint8Array): boolean {
  if (proof.siblings.length < 32 && proof.index >>> proof.siblings.length !== 0) return false;
  return bytesEqual(rootFromProof(leaf, proof), root);
}
