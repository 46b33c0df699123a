/**
 * Ed25519 (RFC 8032) on raw bytes, for BEP 44 mutable items. node:crypto does the arithmetic (a
 * computation, not I/O, so the DHT stays pure); it takes keys as KeyObjects, so the raw bytes are
 * wrapped in their DER forms (RFC 8410): PKCS #8 around a 32-byte seed, SubjectPublicKeyInfo
 * around a 32-byte public key.
 *
 * Key material is the 32-byte seed, RFC 8032's private key. libtorrent keeps a 64-byte "secret
 * key" instead: SHA-512(seed) clamped (RFC 8032 §5.1.5 steps 1–3). Signing is deterministic in
 * that expansion, so a seed here and libtorrent's secret made from the same seed produce the
 * same public key and the same signatures; only those two ever cross the wire.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { ErrorCode } from '../shared/errors.js';
import { DhtError } from './errors.js';

/** Bytes in an ed25519 seed (RFC 8032's private key). */
export const ED25519_SEED_BYTES = 32;
/** Bytes in an ed25519 public key (BEP 44 `k`). */
export const ED25519_PUBLIC_KEY_BYTES = 32;
/** Bytes in an ed25519 signature (BEP 44 `sig`). */
export const ED25519_SIGNATURE_BYTES = 64;

/** PKCS #8 PrivateKeyInfo for Ed25519 (OID 1.3.101.112), up to the 32 seed bytes. */
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
/** SubjectPublicKeyInfo for Ed25519, up to the 32 public key bytes. */
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/** An ed25519 key pair as raw bytes. */
export interface Ed25519KeyPair {
  /** 32 bytes: what signs. Keep it secret. */
  readonly seed: Uint8Array;
  /** 32 bytes: what verifies (BEP 44 `k`). */
  readonly publicKey: Uint8Array;
}

function concat(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function privateKeyOf(seed: Uint8Array): KeyObject {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_BYTES) {
    throw new DhtError(ErrorCode.DhtInvalidArgument, `an ed25519 seed is ${ED25519_SEED_BYTES} bytes`);
  }
  return createPrivateKey({ key: concat(PKCS8_PREFIX, seed), format: 'der', type: 'pkcs8' });
}

/** The key pair of a 32-byte seed. Throws `DhtInvalidArgument` for a seed of another size. */
export function ed25519KeyPair(seed: Uint8Array): Ed25519KeyPair {
  const spki = createPublicKey(privateKeyOf(seed)).export({ format: 'der', type: 'spki' });
  return { seed: seed.slice(), publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)) };
}

/** The 64-byte signature of `message` by `seed` (deterministic, RFC 8032). */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKeyOf(seed)));
}

/**
 * True when `signature` is `publicKey`'s signature of `message`. False, never an exception, for
 * any other input: keys and signatures of the wrong size, points not on the curve, garbage.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) {
    return false;
  }
  try {
    const key = createPublicKey({ key: concat(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' });
    return verify(null, message, key, signature);
  } catch {
    // OpenSSL refuses some encodings outright: they verify nothing.
    return false;
  }
}
