/**
 * Addresses ↔ output scripts, with a network's prefixes: Base58Check for P2PKH and P2SH, Bech32
 * (witness v0: P2WPKH, P2WSH) and Bech32m (v1+: P2TR and future versions) for segwit (BIP 173,
 * BIP 350). Decoding refuses another network's address, the wrong checksum variant for the
 * version, and v0 programs that are neither 20 nor 32 bytes.
 */
import { ErrorCode } from '../../shared/errors.js';
import type { ChainParams } from '../chain/params.js';
import { BtcError } from '../errors.js';
import { base58CheckDecode, base58CheckEncode } from './base58.js';
import { bech32Decode, bech32Encode, convertBits } from './bech32.js';
import { classifyOutputScript, p2pkhScript, p2shScript, witnessScript } from './script.js';

const bad = (why: string): never => {
  throw new BtcError(ErrorCode.BtcBadAddress, why);
};

/** The witness version and program of a segwit address for `hrp`. */
export function decodeSegwitAddress(address: string, hrp: string): { version: number; program: Uint8Array } {
  const d = bech32Decode(address);
  if (d.hrp !== hrp) bad(`address is for "${d.hrp}", not "${hrp}"`);
  if (d.data.length < 1) bad('empty data section');
  const version = d.data[0]!;
  if (version > 16) bad(`invalid witness version ${version}`);
  if ((version === 0) !== (d.variant === 'bech32'))
    bad(`witness v${version} needs ${version === 0 ? 'bech32' : 'bech32m'}`);
  const program = convertBits(d.data.slice(1), 5, 8, false);
  if (program.length < 2 || program.length > 40) bad(`invalid program length ${program.length}`);
  if (version === 0 && program.length !== 20 && program.length !== 32)
    bad(`invalid v0 program length ${program.length}`);
  return { version, program: Uint8Array.from(program) };
}

/** The segwit address of a witness program. */
export function encodeSegwitAddress(hrp: string, version: number, program: Uint8Array): string {
  witnessScript(version, program); // validates version and length
  return bech32Encode(
    hrp,
    [version, ...convertBits([...program], 8, 5, true)],
    version === 0 ? 'bech32' : 'bech32m',
  );
}

/** The output script an address pays to on `params`' network; `BtcBadAddress` otherwise. */
export function addressToScript(address: string, params: ChainParams): Uint8Array {
  const a = params.address;
  if (address.toLowerCase().startsWith(`${a.bech32Hrp}1`)) {
    const { version, program } = decodeSegwitAddress(address, a.bech32Hrp);
    return witnessScript(version, program);
  }
  const payload = base58CheckDecode(address);
  if (payload.length !== 21) bad(`base58 address payload of ${payload.length} bytes, not 21`);
  const version = payload[0]!;
  const hash = payload.subarray(1);
  if (version === a.pubkeyHash) return p2pkhScript(hash);
  if (version === a.scriptHash || version === a.legacyScriptHash) return p2shScript(hash);
  return bad(`version byte ${version} is not a ${params.name} address`);
}

/** The address of a standard output script on `params`' network, or undefined (OP_RETURN, non-standard). */
export function scriptToAddress(script: Uint8Array, params: ChainParams): string | undefined {
  const a = params.address;
  const c = classifyOutputScript(script);
  switch (c.type) {
    case 'p2pkh':
      return base58CheckEncode(Uint8Array.of(a.pubkeyHash, ...c.hash));
    case 'p2sh':
      return base58CheckEncode(Uint8Array.of(a.scriptHash, ...c.hash));
    case 'p2wpkh':
    case 'p2wsh':
      return encodeSegwitAddress(a.bech32Hrp, 0, c.hash);
    case 'p2tr':
      return encodeSegwitAddress(a.bech32Hrp, 1, c.key);
    case 'witness':
      return encodeSegwitAddress(a.bech32Hrp, c.version, c.program);
    case 'op-return':
    case 'nonstandard':
      return undefined;
  }
}
