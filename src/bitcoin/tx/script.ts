/**
 * Output script templates and the few script encodings a light wallet needs: pushes of data, the
 * standard output forms (P2PKH, P2SH, P2WPKH, P2WSH, P2TR and other witness versions), and
 * recognising them.
 */
import { ErrorCode } from '../../shared/errors.js';
import { BtcError } from '../errors.js';

export const OP_0 = 0x00;
export const OP_PUSHDATA1 = 0x4c;
export const OP_PUSHDATA2 = 0x4d;
export const OP_PUSHDATA4 = 0x4e;
export const OP_1 = 0x51;
export const OP_16 = 0x60;
export const OP_RETURN = 0x6a;
export const OP_DUP = 0x76;
export const OP_EQUAL = 0x87;
export const OP_EQUALVERIFY = 0x88;
export const OP_HASH160 = 0xa9;
export const OP_CODESEPARATOR = 0xab;
export const OP_CHECKSIG = 0xac;

/** The minimal push of `data` (a direct push below 76 bytes, else OP_PUSHDATA1/2/4). */
export function pushData(data: Uint8Array): Uint8Array {
  const n = data.length;
  let head: number[];
  if (n < OP_PUSHDATA1) head = [n];
  else if (n <= 0xff) head = [OP_PUSHDATA1, n];
  else if (n <= 0xffff) head = [OP_PUSHDATA2, n & 0xff, n >>> 8];
  else head = [OP_PUSHDATA4, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
  const out = new Uint8Array(head.length + n);
  out.set(head, 0);
  out.set(data, head.length);
  return out;
}

function need(bytes: Uint8Array, n: number, what: string): void {
  if (bytes.length !== n)
    throw new BtcError(ErrorCode.BtcInvalidArgument, `${what} must be ${n} bytes, got ${bytes.length}`);
}

/** OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG. */
export function p2pkhScript(pubkeyHash: Uint8Array): Uint8Array {
  need(pubkeyHash, 20, 'a P2PKH key hash');
  return Uint8Array.of(OP_DUP, OP_HASH160, 20, ...pubkeyHash, OP_EQUALVERIFY, OP_CHECKSIG);
}

/** OP_HASH160 <20> OP_EQUAL (BIP 16). */
export function p2shScript(scriptHash: Uint8Array): Uint8Array {
  need(scriptHash, 20, 'a P2SH script hash');
  return Uint8Array.of(OP_HASH160, 20, ...scriptHash, OP_EQUAL);
}

/** A witness program output: OP_n <program> (BIP 141), version 0 to 16, program 2 to 40 bytes. */
export function witnessScript(version: number, program: Uint8Array): Uint8Array {
  if (!Number.isInteger(version) || version < 0 || version > 16) {
    throw new BtcError(ErrorCode.BtcInvalidArgument, `witness version ${version} outside 0..16`);
  }
  if (program.length < 2 || program.length > 40) {
    throw new BtcError(
      ErrorCode.BtcInvalidArgument,
      `witness program of ${program.length} bytes outside 2..40`,
    );
  }
  return Uint8Array.of(version === 0 ? OP_0 : OP_1 + version - 1, program.length, ...program);
}

/** OP_0 <20>: P2WPKH. */
export function p2wpkhScript(pubkeyHash: Uint8Array): Uint8Array {
  need(pubkeyHash, 20, 'a P2WPKH key hash');
  return witnessScript(0, pubkeyHash);
}

/** OP_0 <32>: P2WSH. */
export function p2wshScript(scriptHash: Uint8Array): Uint8Array {
  need(scriptHash, 32, 'a P2WSH script hash');
  return witnessScript(0, scriptHash);
}

/** OP_1 <32>: P2TR (BIP 341), the x-only output key. */
export function p2trScript(outputKey: Uint8Array): Uint8Array {
  need(outputKey, 32, 'a P2TR output key');
  return witnessScript(1, outputKey);
}

/** What an output script is. */
export type OutputScript =
  | { readonly type: 'p2pkh'; readonly hash: Uint8Array }
  | { readonly type: 'p2sh'; readonly hash: Uint8Array }
  | { readonly type: 'p2wpkh'; readonly hash: Uint8Array }
  | { readonly type: 'p2wsh'; readonly hash: Uint8Array }
  | { readonly type: 'p2tr'; readonly key: Uint8Array }
  | { readonly type: 'witness'; readonly version: number; readonly program: Uint8Array }
  | { readonly type: 'op-return' }
  | { readonly type: 'nonstandard' };

/** The witness version and program of a witness output script (BIP 141's pattern), or undefined. */
export function witnessProgram(script: Uint8Array): { version: number; program: Uint8Array } | undefined {
  const n = script.length;
  if (n < 4 || n > 42) return undefined;
  const op = script[0]!;
  if (op !== OP_0 && (op < OP_1 || op > OP_16)) return undefined;
  if (script[1] !== n - 2) return undefined;
  return { version: op === OP_0 ? 0 : op - OP_1 + 1, program: script.subarray(2) };
}

/** Recognises the standard output forms. */
export function classifyOutputScript(script: Uint8Array): OutputScript {
  const s = script;
  if (
    s.length === 25 &&
    s[0] === OP_DUP &&
    s[1] === OP_HASH160 &&
    s[2] === 20 &&
    s[23] === OP_EQUALVERIFY &&
    s[24] === OP_CHECKSIG
  ) {
    return { type: 'p2pkh', hash: s.subarray(3, 23) };
  }
  if (s.length === 23 && s[0] === OP_HASH160 && s[1] === 20 && s[22] === OP_EQUAL)
    return { type: 'p2sh', hash: s.subarray(2, 22) };
  if (s.length > 0 && s[0] === OP_RETURN) return { type: 'op-return' };
  const w = witnessProgram(s);
  if (w !== undefined) {
    if (w.version === 0 && w.program.length === 20) return { type: 'p2wpkh', hash: w.program };
    if (w.version === 0 && w.program.length === 32) return { type: 'p2wsh', hash: w.program };
    if (w.version === 1 && w.program.length === 32) return { type: 'p2tr', key: w.program };
    return { type: 'witness', version: w.version, program: w.program };
  }
  return { type: 'nonstandard' };
}

/**
 * `script` with every OP_CODESEPARATOR removed (the legacy sighash's script code). Pushed data is
 * skipped, not searched; a truncated push ends the scan and keeps the rest as it is.
 */
export function removeCodeSeparators(script: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < script.length) {
    const op = script[i]!;
    let len = 1;
    if (op > 0 && op < OP_PUSHDATA1) len = 1 + op;
    else if (op === OP_PUSHDATA1) len = 2 + (script[i + 1] ?? 0);
    else if (op === OP_PUSHDATA2) len = 3 + ((script[i + 1] ?? 0) | ((script[i + 2] ?? 0) << 8));
    else if (op === OP_PUSHDATA4) {
      len =
        5 +
        ((script[i + 1] ?? 0) | ((script[i + 2] ?? 0) << 8) | ((script[i + 3] ?? 0) << 16)) +
        (script[i + 4] ?? 0) * 2 ** 24;
    }
    if (op !== OP_CODESEPARATOR)
      for (let k = i; k < Math.min(i + len, script.length); k++) out.push(script[k]!);
    i += len;
  }
  return Uint8Array.from(out);
}
