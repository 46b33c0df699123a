/**
 * The 768-bit Diffie-Hellman key exchange of MSE/PE.
 *
 * The spec fixes the group: prime P (768 bits, below), generator G = 2, private keys Xa/Xb of
 * 160 bits, public keys Y = G^X mod P, and the shared secret S = Y_remote^X mod P. Every one of
 * them goes on the wire (or into a hash) as 96 bytes, big-endian, left-padded with zeros.
 *
 * The modular exponentiation is OpenSSL's, through one node:crypto `DiffieHellman` object made
 * on first use and re-keyed for every call (calls are synchronous, so sharing it is safe).
 * Making that object checks the prime once, about 30-60 ms; after that a public key costs about
 * 0.07 ms and a shared secret about 0.07 ms (a BigInt square-and-multiply took 0.3 and 0.4 ms on
 * the same machine). No randomness is drawn here: the caller passes the private key's bytes.
 */
import { createDiffieHellman, type DiffieHellman } from 'node:crypto';
import { ErrorCode } from '../../shared/errors.js';
import { fromHex } from '../../shared/hash.js';
import { MseError } from './errors.js';

/** Bytes of an MSE public key or shared secret on the wire: 768 bits. */
export const MSE_KEY_BYTES = 96;
/** Bytes of an MSE private key: the spec's recommended 160 bits. */
export const MSE_PRIVATE_KEY_BYTES = 20;

/** The MSE prime P, big-endian. */
// fromHex, not Buffer: this module is loaded by the browser bundle too (which never runs MSE).
export const MSE_PRIME: Uint8Array = fromHex(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
) as Uint8Array;
/** The MSE generator G. */
export const MSE_GENERATOR = 2;

let group: DiffieHellman | undefined;
function dh(): DiffieHellman {
  group ??= createDiffieHellman(Buffer.from(MSE_PRIME), MSE_GENERATOR);
  return group;
}

/** Left-pads a big-endian integer to {@link MSE_KEY_BYTES} (OpenSSL drops leading zero bytes). */
function pad96(b: Buffer): Uint8Array {
  const out = new Uint8Array(MSE_KEY_BYTES);
  out.set(
    b.subarray(Math.max(0, b.length - MSE_KEY_BYTES)),
    MSE_KEY_BYTES - Math.min(b.length, MSE_KEY_BYTES),
  );
  return out;
}

/** A private key drawn from `randomBytes`, 160 bits with the top bit set (never 0 or 1). */
export function msePrivateKey(randomBytes: (n: number) => Uint8Array): Uint8Array {
  const x = Uint8Array.from(randomBytes(MSE_PRIVATE_KEY_BYTES));
  if (x.length !== MSE_PRIVATE_KEY_BYTES) throw new RangeError('randomBytes returned the wrong length');
  x[0]! |= 0x80;
  return x;
}

/** Y = G^X mod P, 96 bytes big-endian. */
export function msePublicKey(privateKey: Uint8Array): Uint8Array {
  const g = dh();
  g.setPrivateKey(Buffer.from(privateKey));
  return pad96(g.generateKeys());
}

/**
 * True when the 96-byte big-endian `y` lies in [2, P-2]. Outside it (0, 1, P-1, or ≥ P) the
 * shared secret is fixed or undefined whatever our private key, so the exchange hides nothing.
 */
export function isValidMsePublicKey(y: Uint8Array): boolean {
  if (y.length !== MSE_KEY_BYTES) return false;
  // y ≥ 2: some byte before the last is non-zero, or the last is ≥ 2.
  let high = 0;
  for (let k = 0; k < MSE_KEY_BYTES - 1; k++) high |= y[k]!;
  if (high === 0 && y[MSE_KEY_BYTES - 1]! < 2) return false;
  // y ≤ P-2, compared big-endian against P-2 (P ends in 0x63, so P-2 only changes the last byte).
  for (let k = 0; k < MSE_KEY_BYTES; k++) {
    const limit = k === MSE_KEY_BYTES - 1 ? MSE_PRIME[k]! - 2 : MSE_PRIME[k]!;
    if (y[k]! !== limit) return y[k]! < limit;
  }
  return true;
}

/**
 * S = Y^X mod P, 96 bytes big-endian.
 * @throws MseError `SHOAL_ERR_WIRE_MSE_BAD_PUBLIC_KEY` when `remotePublicKey` is outside [2, P-2].
 */
export function mseSharedSecret(privateKey: Uint8Array, remotePublicKey: Uint8Array): Uint8Array {
  if (!isValidMsePublicKey(remotePublicKey)) {
    throw new MseError(ErrorCode.WireMseBadPublicKey, 'MSE public key outside [2, P-2]');
  }
  const g = dh();
  g.setPrivateKey(Buffer.from(privateKey));
  return pad96(g.computeSecret(Buffer.from(remotePublicKey)));
}
