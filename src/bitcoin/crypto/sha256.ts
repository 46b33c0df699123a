/**
 * SHA-256 (FIPS 180-4) in JavaScript, for the short inputs a header sync hashes by the thousand
 * (80-byte headers, 32-byte digests, small message payloads).
 *
 * Why not node:crypto for these: each native digest is a Buffer with a backing store outside the
 * JS heap, freed only when a collection finds it; at sync speed that garbage alone held several
 * MiB of resident memory. Here the only allocation is the 32-byte result, which V8 keeps on its
 * heap (typed arrays up to 64 bytes are), and the work arrays are reused. Longer inputs go to
 * node:crypto (faster there; see hashes.ts). The block function is shared/sha-blocks.ts.
 */
import { SHA256_IV, sha256Block, shaPad, shaState } from '../../shared/sha-blocks.js';

const W = new Int32Array(64);
const H = new Int32Array(8);
const TAIL = new Uint8Array(128);

/** SHA-256 of `data` (any length; meant for short ones). */
export function sha256js(data: Uint8Array): Uint8Array {
  H.set(SHA256_IV);
  const n = data.length;
  const full = n - (n % 64);
  for (let at = 0; at < full; at += 64) sha256Block(H, W, data, at);
  TAIL.set(data.subarray(full), 0);
  const end = shaPad(TAIL, n - full, n);
  sha256Block(H, W, TAIL, 0);
  if (end === 128) sha256Block(H, W, TAIL, 64);
  return shaState(H);
}
