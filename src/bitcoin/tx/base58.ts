/**
 * Base58 and Base58Check (the legacy address and key encodings): big-number base conversion with
 * leading zero bytes kept as leading '1's, and a 4-byte SHA-256d checksum.
 */
import { ErrorCode } from '../../shared/errors.js';
import { sha256d } from '../crypto/hashes.js';
import { BtcError } from '../errors.js';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));
/** Longest Base58 string decoded, in characters: far above any address, so a long input costs nothing. */
const MAX_BASE58_CHARS = 128;

export function base58Encode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  return '1'.repeat(zeros) + out;
}

export function base58Decode(s: string): Uint8Array {
  if (s.length > MAX_BASE58_CHARS)
    throw new BtcError(ErrorCode.BtcBadAddress, `base58 string longer than ${MAX_BASE58_CHARS}`);
  let zeros = 0;
  while (zeros < s.length && s[zeros] === '1') zeros++;
  let n = 0n;
  for (const c of s) {
    const v = INDEX.get(c);
    if (v === undefined)
      throw new BtcError(ErrorCode.BtcBadAddress, `invalid base58 character ${JSON.stringify(c)}`);
    n = n * 58n + BigInt(v);
  }
  const body: number[] = [];
  while (n > 0n) {
    body.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return Uint8Array.from([...new Array(zeros).fill(0), ...body]);
}

/** Base58 of `payload` followed by the first 4 bytes of its SHA-256d. */
export function base58CheckEncode(payload: Uint8Array): string {
  const out = new Uint8Array(payload.length + 4);
  out.set(payload);
  out.set(sha256d(payload).subarray(0, 4), payload.length);
  return base58Encode(out);
}

/** The payload of a Base58Check string; `BtcBadAddress` when the checksum fails. */
export function base58CheckDecode(s: string): Uint8Array {
  const raw = base58Decode(s);
  if (raw.length < 4) throw new BtcError(ErrorCode.BtcBadAddress, 'base58check string too short');
  const payload = raw.subarray(0, raw.length - 4);
  const check = sha256d(payload);
  for (let i = 0; i < 4; i++) {
    if (raw[raw.length - 4 + i] !== check[i])
      throw new BtcError(ErrorCode.BtcBadAddress, 'base58check checksum mismatch');
  }
  return payload.slice();
}
