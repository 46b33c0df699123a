/**
 * Synchronous digests used by the pure layers. Pure code receives a {@link Hasher} so tests and
 * simulations may substitute their own; the default wraps node:crypto (no I/O involved).
 */
import { createHash } from 'node:crypto';

export type HashAlgorithm = 'sha1' | 'sha256';

export interface Hasher {
  /** Digest of the concatenation of `parts`. */
  digest(algorithm: HashAlgorithm, ...parts: Uint8Array[]): Uint8Array;
}

export const nodeHasher: Hasher = {
  digest(algorithm, ...parts) {
    const h = createHash(algorithm);
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  },
};

export function sha1(data: Uint8Array): Uint8Array {
  return nodeHasher.digest('sha1', data);
}

export function sha256(data: Uint8Array): Uint8Array {
  return nodeHasher.digest('sha256', data);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of bytes (no `Buffer`: the browser bundle uses this too). */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i] as number];
  return s;
}

/** Bytes from hex; `undefined` when `s` is not even-length hex. */
export function fromHex(s: string): Uint8Array | undefined {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Constant-shape byte equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
