/**
 * secp256k1 ECDSA through node:crypto, and signing of the two simple spends a light wallet makes:
 * P2WPKH (BIP 143) and P2PKH (legacy).
 *
 * node:crypto hashes what it signs, so a signature over the sighash SHA-256d(preimage) is made by
 * signing SHA-256(preimage) with the 'sha256' digest. Signatures are DER with a low S (Bitcoin
 * Core's relay policy, BIP 146's LOW_S): an S above half the group order is replaced by n − S.
 * Nonces come from OpenSSL, so signatures are valid but not RFC 6979-deterministic.
 */
import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  ECDH,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { ErrorCode } from '../../shared/errors.js';
import { hash160, sha256 } from '../crypto/hashes.js';
import { BtcError } from '../errors.js';
import { p2pkhScript, pushData } from './script.js';
import { legacySighashPreimage, SighashType, witnessV0SighashPreimage } from './sighash.js';
import type { Transaction, TxInput } from './transaction.js';

/** The order of secp256k1's group. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;

/** A secp256k1 private key with its compressed public key. */
export class PrivateKey {
  /** The 33-byte compressed public key. */
  readonly publicKey: Uint8Array;
  readonly #key: KeyObject;

  private constructor(key: KeyObject, publicKey: Uint8Array) {
    this.#key = key;
    this.publicKey = publicKey;
  }

  /** The key of a 32-byte secret; `BtcBadKey` when it is 0 or not below the group order. */
  static fromBytes(secret: Uint8Array): PrivateKey {
    if (secret.length !== 32)
      throw new BtcError(ErrorCode.BtcBadKey, `a private key is 32 bytes, got ${secret.length}`);
    let d = 0n;
    for (const b of secret) d = (d << 8n) | BigInt(b);
    if (d === 0n || d >= N) throw new BtcError(ErrorCode.BtcBadKey, 'private key outside 1..n-1');
    const ecdh = createECDH('secp256k1');
    ecdh.setPrivateKey(secret);
    const full = ecdh.getPublicKey();
    const key = createPrivateKey({
      key: {
        kty: 'EC',
        crv: 'secp256k1',
        d: Buffer.from(secret).toString('base64url'),
        x: full.subarray(1, 33).toString('base64url'),
        y: full.subarray(33, 65).toString('base64url'),
      },
      format: 'jwk',
    });
    return new PrivateKey(key, new Uint8Array(ecdh.getPublicKey(null, 'compressed')));
  }

  /** HASH160 of the compressed public key: what P2PKH and P2WPKH outputs lock to. */
  get publicKeyHash(): Uint8Array {
    return hash160(this.publicKey);
  }

  /** A low-S DER signature of the sighash SHA-256d(`preimage`). */
  signPreimage(preimage: Uint8Array): Uint8Array {
    const der = sign('sha256', sha256(preimage), { key: this.#key, dsaEncoding: 'der' });
    return lowS(new Uint8Array(der));
  }
}

/** True when `signature` (DER, without the hash type byte) signs SHA-256d(`preimage`) for `publicKey` (33 or 65 bytes). */
export function verifyPreimage(publicKey: Uint8Array, preimage: Uint8Array, signature: Uint8Array): boolean {
  try {
    const full = ECDH.convertKey(publicKey, 'secp256k1', undefined, undefined, 'uncompressed') as Buffer;
    const key = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'secp256k1',
        x: full.subarray(1, 33).toString('base64url'),
        y: full.subarray(33, 65).toString('base64url'),
      },
      format: 'jwk',
    });
    return verify('sha256', sha256(preimage), { key, dsaEncoding: 'der' }, signature);
  } catch {
    // Not a point on the curve, or not DER: not a valid signature.
    return false;
  }
}

/** The DER signature with S replaced by n − S when S is above n / 2. */
export function lowS(der: Uint8Array): Uint8Array {
  const { r, s } = parseDer(der);
  return s > HALF_N ? encodeDer(r, N - s) : der;
}

/** R and S of a DER ECDSA signature; `BtcBadKey` when it is not strict DER. */
export function parseDer(der: Uint8Array): { r: bigint; s: bigint } {
  const bad = (): never => {
    throw new BtcError(ErrorCode.BtcBadKey, 'not a DER ECDSA signature');
  };
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) bad();
  const readInt = (at: number): { v: bigint; next: number } => {
    if (der[at] !== 0x02) bad();
    const len = der[at + 1]!;
    if (len === 0 || at + 2 + len > der.length) bad();
    let v = 0n;
    for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(der[at + 2 + i]!);
    return { v, next: at + 2 + len };
  };
  const r = readInt(2);
  const s = readInt(r.next);
  if (s.next !== der.length) bad();
  return { r: r.v, s: s.v };
}

function derInt(v: bigint): number[] {
  const bytes: number[] = [];
  while (v > 0n) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return [0x02, bytes.length, ...bytes];
}

/** DER encoding of (r, s). */
export function encodeDer(r: bigint, s: bigint): Uint8Array {
  const body = [...derInt(r), ...derInt(s)];
  return Uint8Array.from([0x30, body.length, ...body]);
}

function withInput(tx: Transaction, index: number, input: TxInput): Transaction {
  return { ...tx, inputs: tx.inputs.map((old, i) => (i === index ? input : old)) };
}

/**
 * `tx` with input `index` signed as a P2WPKH spend of `amount` by `key`: an empty script_sig and
 * the witness [signature ‖ hash type, public key]. The script code is the key's P2PKH script (BIP 143).
 */
export function signP2wpkhInput(
  tx: Transaction,
  index: number,
  key: PrivateKey,
  amount: bigint,
  hashType: number = SighashType.All,
): Transaction {
  const preimage = witnessV0SighashPreimage(tx, index, p2pkhScript(key.publicKeyHash), amount, hashType);
  const sig = Uint8Array.of(...key.signPreimage(preimage), hashType);
  const input = tx.inputs[index]!;
  return withInput(tx, index, { ...input, scriptSig: new Uint8Array(0), witness: [sig, key.publicKey] });
}

/** `tx` with input `index` signed as a P2PKH spend by `key`: script_sig = <signature ‖ hash type> <public key>. */
export function signP2pkhInput(
  tx: Transaction,
  index: number,
  key: PrivateKey,
  hashType: number = SighashType.All,
): Transaction {
  const preimage = legacySighashPreimage(tx, index, p2pkhScript(key.publicKeyHash), hashType);
  const sig = Uint8Array.of(...key.signPreimage(preimage), hashType);
  const input = tx.inputs[index]!;
  const scriptSig = Uint8Array.of(...pushData(sig), ...pushData(key.publicKey));
  return withInput(tx, index, { ...input, scriptSig, witness: [] });
}
