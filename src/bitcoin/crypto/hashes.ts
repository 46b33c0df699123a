/** The digests of the Bitcoin protocol, over node:crypto (pure computation, no I/O). */
import { createHash } from 'node:crypto';

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** SHA-256d, SHA-256 applied twice: block and transaction ids, message checksums, merkle nodes. */
export function sha256d(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(
    createHash('sha256')
      .update(sha256(...parts))
      .digest(),
  );
}

/** HASH160, RIPEMD-160 of SHA-256: the 20-byte key and script hashes of P2PKH, P2SH and P2WPKH. */
export function hash160(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('ripemd160').update(createHash('sha256').update(data).digest()).digest());
}
