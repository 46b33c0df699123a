/**
 * Base32 (RFC 4648 §6, alphabet `A–Z2–7`), used by magnet links for 20-byte v1 info-hashes
 * (BEP 9: `xt=urn:btih:` followed by 32 base32 characters).
 *
 * Decoding accepts either case and optional `=` padding (only the exact amount RFC 4648
 * prescribes) and rejects anything non-canonical: characters outside the alphabet, impossible
 * lengths, and non-zero bits left over in the last character.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) {
  DECODE[ALPHABET.charCodeAt(i)] = i;
  DECODE[ALPHABET.toLowerCase().charCodeAt(i)] = i;
}
/** Data characters a padded final group of 8 may hold (for 1, 2, 3 or 4 bytes). */
const PADDED_CHARS = [2, 4, 5, 7];

/** Upper-case base32 of `bytes`; with `=` padding to a multiple of 8 unless `padding` is false. */
export function base32Encode(bytes: Uint8Array, padding = true): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  if (padding) while (out.length % 8 !== 0) out += '=';
  return out;
}

/** Bytes of a base32 string, or `undefined` when it is not canonical RFC 4648 base32. */
export function base32Decode(text: string): Uint8Array | undefined {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* = */) end--;
  const padCount = text.length - end;
  if (padCount > 0) {
    if (text.length % 8 !== 0) return undefined;
    const dataInLast = 8 - padCount;
    if (!PADDED_CHARS.includes(dataInLast)) return undefined;
  }
  const rem = end % 8;
  // A partial group of 1, 3 or 6 characters cannot come from whole bytes.
  if (rem === 1 || rem === 3 || rem === 6) return undefined;
  const out = new Uint8Array(Math.floor((end * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? DECODE[c]! : -1;
    if (v < 0) return undefined;
    buffer = ((buffer << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[n++] = (buffer >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  // Leftover bits must be zero, or two strings would decode to the same bytes.
  if (bits > 0 && (buffer & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}
