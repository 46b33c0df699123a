/**
 * What a watch-only wallet can watch: an address, or an output script descriptor (BIP 380-382)
 * with a single key or a raw script, with or without its `#checksum`.
 *
 *   addr(ADDRESS)   raw(HEX)   pk(KEY)   pkh(KEY)   wpkh(KEY)   sh(wpkh(KEY))   sh(SCRIPT)
 *
 * KEY is a hex public key (33 bytes; 65 only for `pk`/`pkh`), optionally after a key origin
 * `[fingerprint/path]`, or a WIF private key (only its public key is kept). Extended keys
 * (xpub/xprv, BIP 32) and taproot (`tr`) are not supported and are refused by name.
 */
import {
  addressToScript,
  BtcError,
  base58CheckDecode,
  type ChainParams,
  hash160,
  OP_CHECKSIG,
  PrivateKey,
  p2pkhScript,
  p2shScript,
  p2wpkhScript,
  pushData,
  scriptToAddress,
} from '../../bitcoin/index.js';
import { ErrorCode } from '../../shared/errors.js';

const INPUT_CHARSET =
  '0123456789()[],\'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#"\\ ';
const CHECKSUM_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0xf5dee51989n, 0xa9fdca3312n, 0x1bab10e32dn, 0x3706b1677an, 0x644d626ffdn];

function polymod(symbols: readonly number[]): bigint {
  let chk = 1n;
  for (const value of symbols) {
    const top = chk >> 35n;
    chk = ((chk & 0x7ffffffffn) << 5n) ^ BigInt(value);
    for (let i = 0; i < 5; i++) if ((top >> BigInt(i)) & 1n) chk ^= GENERATOR[i]!;
  }
  return chk;
}

function expand(s: string): number[] | undefined {
  const symbols: number[] = [];
  const groups: number[] = [];
  for (const c of s) {
    const v = INPUT_CHARSET.indexOf(c);
    if (v < 0) return undefined;
    symbols.push(v & 31);
    groups.push(v >> 5);
    if (groups.length === 3) {
      symbols.push(groups[0]! * 9 + groups[1]! * 3 + groups[2]!);
      groups.length = 0;
    }
  }
  if (groups.length === 1) symbols.push(groups[0]!);
  else if (groups.length === 2) symbols.push(groups[0]! * 3 + groups[1]!);
  return symbols;
}

/** The 8-character BIP 380 checksum of a descriptor (without `#`). */
export function descriptorChecksum(desc: string): string {
  const symbols = expand(desc);
  if (symbols === undefined) bad(`descriptor has a character outside the BIP 380 set`);
  const c = polymod([...symbols!, 0, 0, 0, 0, 0, 0, 0, 0]) ^ 1n;
  let out = '';
  for (let i = 0; i < 8; i++) out += CHECKSUM_CHARSET[Number((c >> BigInt(5 * (7 - i))) & 31n)];
  return out;
}

function bad(why: string): never {
  throw new BtcError(ErrorCode.BtcBadDescriptor, why);
}

/** A parsed watch item: its canonical descriptor (with checksum) and the scripts it stands for. */
export interface ParsedDescriptor {
  /** `SCRIPT#checksum`. */
  readonly descriptor: string;
  /** Output scripts to watch (one per descriptor here: no ranges). */
  readonly scripts: readonly Uint8Array[];
}

/**
 * Parses an address or a descriptor for `params`' network; `BtcBadDescriptor` (or
 * `BtcBadAddress`) when it is neither, its checksum is wrong, or it uses what is not supported.
 */
export function parseWatchItem(text: string, params: ChainParams): ParsedDescriptor {
  const t = text.trim();
  if (!t.includes('(')) {
    // A bare address.
    const script = addressToScript(t, params);
    const body = `addr(${t})`;
    return { descriptor: `${body}#${descriptorChecksum(body)}`, scripts: [script] };
  }
  let body = t;
  const hash = t.lastIndexOf('#');
  if (hash >= 0) {
    body = t.slice(0, hash);
    const sum = t.slice(hash + 1);
    if (sum.length !== 8 || descriptorChecksum(body) !== sum) bad(`descriptor checksum "${sum}" is wrong`);
  }
  const script = parseScript(body, params, 'top');
  return { descriptor: `${body}#${descriptorChecksum(body)}`, scripts: [script] };
}

function call(expr: string): { fn: string; arg: string } {
  const m = /^([a-z_]+)\((.*)\)$/s.exec(expr);
  if (m === null) bad(`"${expr.slice(0, 60)}" is not a descriptor expression`);
  return { fn: m![1]!, arg: m![2]! };
}

function parseScript(expr: string, params: ChainParams, ctx: 'top' | 'sh'): Uint8Array {
  const { fn, arg } = call(expr);
  switch (fn) {
    case 'addr':
      if (ctx !== 'top') bad('addr() only at the top level');
      return addressToScript(arg, params);
    case 'raw':
      if (ctx !== 'top') bad('raw() only at the top level');
      if (!/^([0-9a-fA-F]{2})*$/.test(arg)) bad('raw() takes hex');
      return new Uint8Array(Buffer.from(arg, 'hex'));
    case 'pk': {
      const key = parseKey(arg, params, true);
      return Uint8Array.of(...pushData(key), OP_CHECKSIG);
    }
    case 'pkh':
      return p2pkhScript(hash160(parseKey(arg, params, true)));
    case 'wpkh':
      return p2wpkhScript(hash160(parseKey(arg, params, false)));
    case 'sh': {
      if (ctx !== 'top') bad('sh() only at the top level');
      const inner = parseScript(arg, params, 'sh');
      return p2shScript(hash160(inner));
    }
    case 'tr':
    case 'wsh':
    case 'multi':
    case 'sortedmulti':
    case 'combo':
      return bad(`${fn}() descriptors are not supported (supported: addr, raw, pk, pkh, wpkh, sh)`);
    default:
      return bad(`unknown descriptor function ${fn}()`);
  }
}

function parseKey(text: string, params: ChainParams, allowUncompressed: boolean): Uint8Array {
  let k = text;
  if (k.startsWith('[')) {
    const end = k.indexOf(']');
    if (end < 0 || !/^\[[0-9a-fA-F]{8}(\/\d+['hH]?)*\]$/.test(k.slice(0, end + 1)))
      bad('malformed key origin');
    k = k.slice(end + 1);
  }
  if (/^[xt]p(ub|rv)/.test(k)) bad('extended keys (xpub/xprv) are not supported');
  if (/^(02|03)[0-9a-fA-F]{64}$/.test(k)) return new Uint8Array(Buffer.from(k, 'hex'));
  if (/^04[0-9a-fA-F]{128}$/.test(k)) {
    if (!allowUncompressed) bad('segwit keys must be compressed');
    return new Uint8Array(Buffer.from(k, 'hex'));
  }
  return parseWif(k, params).publicKey;
}

/** Testnet/regtest and mainnet WIF version bytes. */
const WIF_VERSIONS = new Set([0x80, 0xef, 0xb0]);

/**
 * A private key from WIF (base58check: version, 32 bytes, 0x01 for a compressed key) or from 64
 * hex digits. Only compressed keys are supported (P2WPKH needs them).
 */
export function parseWif(text: string, _params: ChainParams): PrivateKey {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return PrivateKey.fromBytes(new Uint8Array(Buffer.from(t, 'hex')));
  let payload: Uint8Array;
  try {
    payload = base58CheckDecode(t);
  } catch {
    return bad('key is neither a hex public key, 64 hex digits nor a WIF private key');
  }
  if (!WIF_VERSIONS.has(payload[0]!)) bad(`WIF version byte ${payload[0]} is not known`);
  if (payload.length !== 34 || payload[33] !== 1) bad('only compressed WIF keys are supported');
  return PrivateKey.fromBytes(payload.subarray(1, 33));
}

/** The address of a watched script, when it has one on `params`' network. */
export function scriptAddress(script: Uint8Array, params: ChainParams): string | undefined {
  return scriptToAddress(script, params);
}
