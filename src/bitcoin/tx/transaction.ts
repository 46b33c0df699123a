/**
 * Transactions: parse and serialize, with segregated witness (BIP 141, BIP 144), and their two ids.
 *
 * Layout (BIP 144 extended form when any input has a witness):
 *
 *   version i32 | [marker 0x00 | flag 0x01] | inputs: CompactSize n × (txid [32] | vout u32 |
 *   script_sig var | sequence u32) | outputs: CompactSize n × (value i64 | script var) |
 *   [witness: per input, CompactSize n × item var] | lock_time u32
 *
 * Parsing follows Bitcoin Core: an empty input list read where the count should be means a flag
 * byte follows; flags other than 1 are refused ("unknown optional data"), as is a witness flag
 * whose witnesses are all empty ("superfluous witness record"). The txid hashes the form without
 * witness, the wtxid the full form (equal for transactions without witness).
 */
import { ErrorCode } from '../../shared/errors.js';
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { sha256d } from '../crypto/hashes.js';
import { BtcError } from '../errors.js';

/** A reference to an output of an earlier transaction. */
export interface OutPoint {
  /** Txid of the transaction, internal byte order. */
  readonly txid: Uint8Array;
  /** Index of the output in it. */
  readonly index: number;
}

export interface TxInput {
  readonly prevout: OutPoint;
  readonly scriptSig: Uint8Array;
  readonly sequence: number;
  /** The witness stack (BIP 141); empty when the input has none. */
  readonly witness: readonly Uint8Array[];
}

export interface TxOutput {
  /** Amount, in base units (satoshis, litoshis). */
  readonly value: bigint;
  readonly script: Uint8Array;
}

export interface Transaction {
  readonly version: number;
  readonly inputs: readonly TxInput[];
  readonly outputs: readonly TxOutput[];
  readonly lockTime: number;
}

/** Smallest serialized input (outpoint, empty script, sequence), in bytes: bounds a declared count. */
const MIN_INPUT_BYTES = 41;
/** Smallest serialized output (value, empty script), in bytes. */
const MIN_OUTPUT_BYTES = 9;

/** True when any input carries a witness. */
export function hasWitness(tx: Transaction): boolean {
  return tx.inputs.some((i) => i.witness.length > 0);
}

/** True for a coinbase: one input spending the null outpoint. */
export function isCoinbase(tx: Transaction): boolean {
  const i = tx.inputs[0];
  return (
    tx.inputs.length === 1 &&
    i !== undefined &&
    i.prevout.index === 0xffffffff &&
    i.prevout.txid.every((b) => b === 0)
  );
}

/** Reads one transaction at the reader's position. Byte fields are views of the input. */
export function readTransaction(r: ByteReader): Transaction {
  const start = r.offset;
  const bad = (why: string): never => {
    throw new BtcError(ErrorCode.BtcBadTransaction, `transaction at offset ${start}: ${why}`, {
      offset: start,
    });
  };
  const version = r.i32le('tx version');
  let flags = 0;
  let inputs = readInputs(r);
  let outputs: TxOutput[] = [];
  if (inputs.length === 0) {
    flags = r.u8('tx flags');
    if (flags !== 0) {
      inputs = readInputs(r);
      outputs = readOutputs(r);
    }
  } else {
    outputs = readOutputs(r);
  }
  if (flags & 1) {
    flags ^= 1;
    const withWitness: TxInput[] = [];
    for (const input of inputs) {
      const n = r.count(Number.POSITIVE_INFINITY, 1, 'witness item count');
      const witness: Uint8Array[] = [];
      for (let k = 0; k < n; k++) witness.push(r.varBytes(r.remaining, 'witness item'));
      withWitness.push({ ...input, witness });
    }
    inputs = withWitness;
    if (!inputs.some((i) => i.witness.length > 0)) bad('superfluous witness record');
  }
  if (flags !== 0) bad(`unknown optional data (flags 0x${flags.toString(16)})`);
  const lockTime = r.u32le('tx lock_time');
  return { version, inputs, outputs, lockTime };
}

function readInputs(r: ByteReader): TxInput[] {
  const n = r.count(Number.POSITIVE_INFINITY, MIN_INPUT_BYTES, 'input count');
  const out: TxInput[] = [];
  for (let i = 0; i < n; i++) {
    const txid = r.hash('prevout txid');
    const index = r.u32le('prevout index');
    const scriptSig = r.varBytes(r.remaining, 'script_sig');
    const sequence = r.u32le('sequence');
    out.push({ prevout: { txid, index }, scriptSig, sequence, witness: [] });
  }
  return out;
}

function readOutputs(r: ByteReader): TxOutput[] {
  const n = r.count(Number.POSITIVE_INFINITY, MIN_OUTPUT_BYTES, 'output count');
  const out: TxOutput[] = [];
  for (let i = 0; i < n; i++) {
    const value = r.i64le('output value');
    const script = r.varBytes(r.remaining, 'script_pubkey');
    out.push({ value, script });
  }
  return out;
}

/** Parses exactly one transaction from `bytes` (a `tx` message payload). */
export function decodeTransaction(bytes: Uint8Array): Transaction {
  const r = new ByteReader(bytes);
  const tx = readTransaction(r);
  r.expectEnd('tx');
  return tx;
}

/** Writes `tx`; with `witness` (default: when it has one) in the BIP 144 extended form. */
export function writeTransaction(w: ByteWriter, tx: Transaction, witness = hasWitness(tx)): void {
  w.i32le(tx.version);
  if (witness) w.u8(0).u8(1);
  w.compactSize(tx.inputs.length);
  for (const i of tx.inputs) {
    w.bytes(i.prevout.txid).u32le(i.prevout.index).varBytes(i.scriptSig).u32le(i.sequence);
  }
  w.compactSize(tx.outputs.length);
  for (const o of tx.outputs) w.i64le(o.value).varBytes(o.script);
  if (witness) {
    for (const i of tx.inputs) {
      w.compactSize(i.witness.length);
      for (const item of i.witness) w.varBytes(item);
    }
  }
  w.u32le(tx.lockTime);
}

/** The serialized transaction (with its witness when it has one, unless `witness` is false). */
export function encodeTransaction(tx: Transaction, witness = hasWitness(tx)): Uint8Array {
  const w = new ByteWriter(256);
  writeTransaction(w, tx, witness);
  return w.finish();
}

/** The txid: SHA-256d of the serialization without witness, internal byte order. */
export function txid(tx: Transaction): Uint8Array {
  return sha256d(encodeTransaction(tx, false));
}

/** The wtxid (BIP 141): SHA-256d of the full serialization; the txid when there is no witness. */
export function wtxid(tx: Transaction): Uint8Array {
  return sha256d(encodeTransaction(tx));
}

/** Size of the serialization without witness, in bytes. */
export function baseSize(tx: Transaction): number {
  return encodeTransaction(tx, false).length;
}

/** BIP 141 weight: base size × 3 + total size. */
export function weight(tx: Transaction): number {
  return baseSize(tx) * 3 + encodeTransaction(tx).length;
}
