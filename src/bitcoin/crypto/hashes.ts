/**
 * The digests of the Bitcoin protocol, over node:crypto (pure computation, no I/O).
 *
 * One-shot `crypto.hash` (Node ≥ 20.12): a header sync hashes every header and every message,
 * and a `Hash` object per digest (plus the copy of its output) was most of the native garbage
 * of a sync; each digest here is one buffer, returned as a plain `Uint8Array` view of it. Inputs
 * up to {@link JS_HASH_MAX_BYTES} (headers, digests, small messages) are hashed in JavaScript
 * instead (sha256.ts): no native buffer at all.
 */
import { createHash, hash } from 'node:crypto';
import { sha256js } from './sha256.js';

/** Longest input hashed by sha256.ts rather than node:crypto, bytes. */
const JS_HASH_MAX_BYTES = 256;

function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) {
    const p = parts[0]!;
    return p.length <= JS_HASH_MAX_BYTES ? sha256js(p) : view(hash('sha256', p, 'buffer'));
  }
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return view(h.digest());
}

/** SHA-256d, SHA-256 applied twice: block and transaction ids, message checksums, merkle nodes. */
export function sha256d(...parts: Uint8Array[]): Uint8Array {
  return sha256js(sha256(...parts));
}

/** HASH160, RIPEMD-160 of SHA-256: the 20-byte key and script hashes of P2PKH, P2SH and P2WPKH. */
export function hash160(data: Uint8Array): Uint8Array {
  return view(hash('ripemd160', hash('sha256', data, 'buffer'), 'buffer'));
}
