/**
 * Signature hashes: what an ECDSA signature in an input commits to.
 *
 * - Legacy (P2PKH, P2SH, bare scripts): the transaction serialized without witness after blanking
 *   every input script but the signed one, which holds the script code; SIGHASH_NONE drops the
 *   outputs, SIGHASH_SINGLE keeps the one at the input's index, ANYONECANPAY keeps only the signed
 *   input. The hash type is appended as 4 bytes.
 * - Witness v0 (BIP 143: P2WPKH, P2WSH): a fixed-layout preimage of hashPrevouts, hashSequence,
 *   the outpoint, the script code, the amount, the sequence, hashOutputs, lock time and type.
 *
 * Both return the preimage; the signature hash is its SHA-256d. SIGHASH_SINGLE with no output at
 * the input's index (legacy "hash of one") is refused rather than signed.
 */
import { ErrorCode } from '../../shared/errors.js';
import { ByteWriter } from '../codec/writer.js';
import { sha256d } from '../crypto/hashes.js';
import { BtcError } from '../errors.js';
import { removeCodeSeparators } from './script.js';
import { type Transaction, type TxInput, type TxOutput, writeTransaction } from './transaction.js';

/** Signature hash types (the byte appended to a signature). */
export const SighashType = {
  All: 0x01,
  None: 0x02,
  Single: 0x03,
  AnyoneCanPay: 0x80,
} as const;

function baseType(hashType: number): number {
  return hashType & 0x1f;
}

function checkIndex(tx: Transaction, index: number, hashType: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= tx.inputs.length) {
    throw new BtcError(ErrorCode.BtcInvalidArgument, `input ${index} outside ${tx.inputs.length} inputs`);
  }
  if (baseType(hashType) === SighashType.Single && index >= tx.outputs.length) {
    throw new BtcError(
      ErrorCode.BtcInvalidArgument,
      `SIGHASH_SINGLE on input ${index} without a matching output`,
    );
  }
}

/** The legacy signature-hash preimage of input `index` spending an output locked by `scriptCode`. */
export function legacySighashPreimage(
  tx: Transaction,
  index: number,
  scriptCode: Uint8Array,
  hashType: number,
): Uint8Array {
  checkIndex(tx, index, hashType);
  const type = baseType(hashType);
  const anyone = (hashType & SighashType.AnyoneCanPay) !== 0;
  const code = removeCodeSeparators(scriptCode);
  const empty = new Uint8Array(0);
  let inputs: TxInput[] = tx.inputs.map((input, i) => ({
    prevout: input.prevout,
    scriptSig: i === index ? code : empty,
    // NONE and SINGLE let the other inputs update their sequence.
    sequence: i !== index && (type === SighashType.None || type === SighashType.Single) ? 0 : input.sequence,
    witness: [],
  }));
  if (anyone) inputs = [inputs[index]!];
  let outputs: readonly TxOutput[] = tx.outputs;
  if (type === SighashType.None) outputs = [];
  else if (type === SighashType.Single) {
    outputs = tx.outputs.slice(0, index + 1).map((o, i) => (i === index ? o : { value: -1n, script: empty }));
  }
  const w = new ByteWriter(256);
  writeTransaction(w, { version: tx.version, inputs, outputs, lockTime: tx.lockTime }, false);
  w.u32le(hashType >>> 0);
  return w.finish();
}

/** The BIP 143 (witness v0) signature-hash preimage of input `index`, spending `amount` locked by `scriptCode`. */
export function witnessV0SighashPreimage(
  tx: Transaction,
  index: number,
  scriptCode: Uint8Array,
  amount: bigint,
  hashType: number,
): Uint8Array {
  checkIndex(tx, index, hashType);
  const type = baseType(hashType);
  const anyone = (hashType & SighashType.AnyoneCanPay) !== 0;
  const zero: Uint8Array = new Uint8Array(32);
  let hashPrevouts = zero;
  if (!anyone) {
    const w = new ByteWriter(36 * tx.inputs.length);
    for (const i of tx.inputs) w.bytes(i.prevout.txid).u32le(i.prevout.index);
    hashPrevouts = sha256d(w.finish());
  }
  let hashSequence = zero;
  if (!anyone && type !== SighashType.Single && type !== SighashType.None) {
    const w = new ByteWriter(4 * tx.inputs.length);
    for (const i of tx.inputs) w.u32le(i.sequence);
    hashSequence = sha256d(w.finish());
  }
  let hashOutputs = zero;
  if (type !== SighashType.Single && type !== SighashType.None) {
    const w = new ByteWriter(64 * tx.outputs.length);
    for (const o of tx.outputs) w.i64le(o.value).varBytes(o.script);
    hashOutputs = sha256d(w.finish());
  } else if (type === SighashType.Single) {
    const o = tx.outputs[index]!;
    hashOutputs = sha256d(new ByteWriter(64).i64le(o.value).varBytes(o.script).finish());
  }
  const input = tx.inputs[index]!;
  return new ByteWriter(160 + scriptCode.length)
    .i32le(tx.version)
    .bytes(hashPrevouts)
    .bytes(hashSequence)
    .bytes(input.prevout.txid)
    .u32le(input.prevout.index)
    .varBytes(scriptCode)
    .i64le(amount)
    .u32le(input.sequence)
    .bytes(hashOutputs)
    .u32le(tx.lockTime)
    .u32le(hashType >>> 0)
    .finish();
}

/** The signature hash of a preimage (SHA-256d), the 32 bytes an ECDSA signature signs. */
export function sighashOf(preimage: Uint8Array): Uint8Array {
  return sha256d(preimage);
}
