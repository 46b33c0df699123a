/**
 * Blocks: parse and serialize, and the checks that tie a block's transactions to its header (the
 * merkle root, refused when mutated) and, for segwit blocks, to the coinbase's witness commitment
 * (BIP 141). A light node checks both before it trusts a block it fetched to match a filter.
 *
 * Layout: header [80] | CompactSize n | n transactions.
 */

import { ErrorCode } from '../../shared/errors.js';
import { bytesEqual } from '../../shared/hash.js';
import { BTC_MAX_BLOCK_TXS } from '../../shared/limits.js';
import { type BlockHeader, encodeHeader, HEADER_BYTES, headerHash, readHeader } from '../chain/header.js';
import { hashToHex } from '../codec/hex.js';
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { sha256d } from '../crypto/hashes.js';
import { BtcError } from '../errors.js';
import { merkleRoot } from './merkle.js';
import {
  hasWitness,
  readTransaction,
  type Transaction,
  txid,
  writeTransaction,
  wtxid,
} from './transaction.js';

export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly Transaction[];
}

/** Smallest serializable transaction, in bytes (Bitcoin Core's MIN_SERIALIZABLE_TRANSACTION_WEIGHT / 4). */
const MIN_TX_BYTES = 10;

/** Reads a block at the reader's position. */
export function readBlock(r: ByteReader): Block {
  const header = readHeader(r);
  const n = r.count(BTC_MAX_BLOCK_TXS, MIN_TX_BYTES, 'block tx count');
  const txs: Transaction[] = [];
  for (let i = 0; i < n; i++) txs.push(readTransaction(r));
  return { header, txs };
}

/** Parses exactly one block (a `block` message payload). */
export function decodeBlock(bytes: Uint8Array): Block {
  const r = new ByteReader(bytes);
  const b = readBlock(r);
  r.expectEnd('block');
  return b;
}

export function writeBlock(w: ByteWriter, block: Block): void {
  w.bytes(encodeHeader(block.header)).compactSize(block.txs.length);
  for (const tx of block.txs) writeTransaction(w, tx);
}

export function encodeBlock(block: Block): Uint8Array {
  const w = new ByteWriter(HEADER_BYTES + 256 * block.txs.length);
  writeBlock(w, block);
  return w.finish();
}

/** The block's hash (its header's SHA-256d), internal byte order. */
export function blockHash(block: Block): Uint8Array {
  return headerHash(encodeHeader(block.header));
}

/** Prefix of the coinbase output that carries the witness commitment: OP_RETURN, push 36, 0xaa21a9ed. */
const COMMITMENT_PREFIX = Uint8Array.of(0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed);

/** The witness commitment of a coinbase (its last output starting with the BIP 141 prefix), or undefined. */
export function witnessCommitment(coinbase: Transaction): Uint8Array | undefined {
  for (let i = coinbase.outputs.length - 1; i >= 0; i--) {
    const s = coinbase.outputs[i]!.script;
    if (s.length >= 38 && COMMITMENT_PREFIX.every((b, k) => s[k] === b)) return s.subarray(6, 38);
  }
  return undefined;
}

/**
 * Checks that the block's transactions are the ones its header commits to: at least one, the
 * merkle root of their txids equal to the header's and not mutated, and, when any has a witness,
 * the coinbase's witness commitment equal to SHA-256d(witness root ‖ reserved value). Throws
 * `BtcBadBlock`.
 */
export function verifyBlockCommitments(block: Block): void {
  const hash = hashToHex(blockHash(block));
  const bad = (why: string): never => {
    throw new BtcError(ErrorCode.BtcBadBlock, `block ${hash}: ${why}`, { hash });
  };
  if (block.txs.length === 0) bad('no transactions');
  const { root, mutated } = merkleRoot(block.txs.map(txid));
  if (mutated) bad('mutated transaction list (duplicate merkle pair)');
  if (!bytesEqual(root, block.header.merkleRoot)) bad('merkle root does not match the header');
  const coinbase = block.txs[0]!;
  const commitment = witnessCommitment(coinbase);
  if (commitment === undefined) {
    if (block.txs.some(hasWitness)) bad('witness data without a witness commitment');
    return;
  }
  if (!block.txs.some(hasWitness)) return;
  const reserved = coinbase.inputs[0]?.witness;
  if (reserved === undefined || reserved.length !== 1 || reserved[0]!.length !== 32) {
    bad('coinbase witness is not one 32-byte reserved value');
  }
  const leaves = block.txs.map((tx, i) => (i === 0 ? new Uint8Array(32) : wtxid(tx)));
  const witnessRoot = merkleRoot(leaves).root;
  if (!bytesEqual(sha256d(witnessRoot, reserved![0]!), commitment)) bad('witness commitment does not match');
}
