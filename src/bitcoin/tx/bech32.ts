/**
 * Bech32 (BIP 173) and Bech32m (BIP 350): the checksummed base-32 strings of segwit addresses.
 * Version 0 witness programs use Bech32, versions 1 to 16 Bech32m.
 */
import { ErrorCode } from '../../shared/errors.js';
import { BtcError } from '../errors.js';

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const CHARSET_INDEX = new Map([...CHARSET].map((c, i) => [c, i]));
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
/** Longest Bech32 string, in characters (BIP 173). */
export const BECH32_MAX_LENGTH = 90;

export type Bech32Variant = 'bech32' | 'bech32m';
const CONSTANT: Record<Bech32Variant, number> = { bech32: 1, bech32m: 0x2bc830a3 };

function polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >>> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

const fail = (why: string): never => {
  throw new BtcError(ErrorCode.BtcBadAddress, `bech32: ${why}`);
};

/** Encodes 5-bit `data` under `hrp` (lower case) with the variant's checksum. */
export function bech32Encode(hrp: string, data: readonly number[], variant: Bech32Variant): string {
  const values = [...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0];
  const mod = polymod(values) ^ CONSTANT[variant];
  const checksum = Array.from({ length: 6 }, (_, i) => (mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...data, ...checksum].map((d) => CHARSET[d]).join('')}`;
}

/** Decodes a Bech32 or Bech32m string: its lower-case hrp, its 5-bit data (checksum removed) and variant. */
export function bech32Decode(s: string): { hrp: string; data: number[]; variant: Bech32Variant } {
  if (s.length > BECH32_MAX_LENGTH) fail(`longer than ${BECH32_MAX_LENGTH} characters`);
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (code < 33 || code > 126) fail('character out of range');
  }
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) fail('mixed case');
  const lower = s.toLowerCase();
  const sep = lower.lastIndexOf('1');
  if (sep < 1) fail('empty human-readable part or no separator');
  if (sep + 7 > lower.length) fail('checksum too short');
  const hrp = lower.slice(0, sep);
  const values: number[] = [];
  for (const c of lower.slice(sep + 1)) {
    const v = CHARSET_INDEX.get(c);
    if (v === undefined) fail(`invalid data character ${JSON.stringify(c)}`);
    values.push(v!);
  }
  const mod = polymod([...hrpExpand(hrp), ...values]);
  const variant: Bech32Variant | undefined =
    mod === CONSTANT.bech32 ? 'bech32' : mod === CONSTANT.bech32m ? 'bech32m' : undefined;
  if (variant === undefined) fail('checksum mismatch');
  return { hrp, data: values.slice(0, -6), variant: variant! };
}

/** Regroups bits (8 → 5 with padding, or 5 → 8 refusing more than 4 bits or non-zero padding). */
export function convertBits(data: readonly number[], from: number, to: number, pad: boolean): number[] {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (const v of data) {
    if (v < 0 || v >> from !== 0) fail('value out of range');
    acc = ((acc << from) | v) & 0xffffff;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from) {
    fail('more than 4 bits of padding');
  } else if ((acc << (to - bits)) & maxv) {
    fail('non-zero padding');
  }
  return out;
}
