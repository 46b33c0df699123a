/** Test payloads: deterministic pseudo-random file trees and their digests. */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Deterministic bytes (fast xorshift stream) so failures replay. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (; i < length; i++) out[i] = i & 0xff;
  return out;
}

/** Writes `files` (relative path → size) under `root`; returns the relative paths. */
export async function writeTree(root: string, files: Record<string, number>, seed = 1): Promise<string[]> {
  let s = seed;
  for (const [rel, size] of Object.entries(files)) {
    const p = join(root, rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, pseudoRandomBytes(size, s++));
  }
  return Object.keys(files);
}

/** Piece length of {@link SPLIT_SET_SIZES}. */
export const SPLIT_SET_PIECE = 16 * 1024;
/** Three files whose edges fall inside pieces: a.bin ends in piece 2, b.bin spans 2..4, c.bin 4..5 (v1). */
export const SPLIT_SET_SIZES = {
  'a.bin': 2 * SPLIT_SET_PIECE + 5000,
  'b.bin': 2 * SPLIT_SET_PIECE + 100,
  'c.bin': SPLIT_SET_PIECE + 3000,
};

/** Writes the {@link SPLIT_SET_SIZES} files into `folder`; returns each one's bytes by name. */
export async function writeSplitSet(folder: string, seed: number): Promise<Record<string, Buffer>> {
  await mkdir(folder, { recursive: true });
  const data: Record<string, Buffer> = {};
  let s = seed;
  for (const [name, size] of Object.entries(SPLIT_SET_SIZES)) {
    data[name] = pseudoRandomBytes(size, s++);
    await writeFile(join(folder, name), data[name]);
  }
  return data;
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** sha256 of each relative path under two roots, asserting presence. */
export async function treeDigests(root: string, rels: readonly string[]): Promise<string[]> {
  return Promise.all(rels.map((r) => sha256File(join(root, r))));
}
