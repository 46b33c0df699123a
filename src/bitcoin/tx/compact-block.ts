/**
 * BIP 152 compact blocks: short transaction ids and block reconstruction.
 *
 * A short id is SipHash-2-4 of a transaction's id, keyed by the first 16 bytes of
 * SHA-256(header ‖ nonce as 8 bytes little-endian), truncated to its low 48 bits. Version 1 uses
 * txids, version 2 (segwit) wtxids.
 *
 * Reconstruction: the prefilled transactions go to their indexes; each short id, in order, takes
 * the next free index and is looked up among the transactions the node already has (its mempool).
 * A short id matching no transaction, or more than one, is missing and is asked for with
 * `getblocktxn`; the `blocktxn` answer fills the gaps in order. Short ids can collide, so the
 * finished block's merkle root is checked: a mismatch means "fetch the full block", never a fault
 * of the peer. Two equal short ids in one compact block also mean "fetch the full block".
 */
import { ErrorCode } from '../../shared/errors.js';
import { BTC_MAX_BLOCK_TXS } from '../../shared/limits.js';
import { type BlockHeader, encodeHeader } from '../chain/header.js';
import { hashToHex } from '../codec/hex.js';
import { sha256 } from '../crypto/hashes.js';
import { type SipKey, siphash24Into, sipKey } from '../crypto/siphash.js';
import { BtcError } from '../errors.js';
import { type Block, verifyBlockCommitments } from './block.js';
import { type Transaction, txid, wtxid } from './transaction.js';

/** Largest index a compact block's transaction may have (BIP 152's indexes are 16-bit in Bitcoin Core). */
export const MAX_COMPACT_INDEX = 0xffff;

/** A transaction given in full inside a compact block, at its absolute index. */
export interface PrefilledTransaction {
  readonly index: number;
  readonly tx: Transaction;
}

/** A `cmpctblock` (BIP 152 HeaderAndShortIDs), with absolute prefilled indexes. */
export interface CompactBlock {
  readonly header: BlockHeader;
  readonly nonce: bigint;
  /** 48-bit short ids, in block order of the transactions not prefilled. */
  readonly shortIds: readonly number[];
  readonly prefilled: readonly PrefilledTransaction[];
}

/** The SipHash key of a compact block's short ids. */
export function shortIdKey(header: BlockHeader, nonce: bigint): SipKey {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt.asUintN(64, nonce), true);
  return sipKey(sha256(encodeHeader(header), n));
}

/** The 48-bit short id of a transaction id (txid or wtxid) under `key`. */
export function shortId(key: SipKey, id: Uint8Array): number {
  const h = siphash24Into(key, id);
  return (h[1]! & 0xffff) * 2 ** 32 + h[0]!;
}

/**
 * The compact form of `block` for a peer: `prefill` indexes (the coinbase, 0, by default) sent in
 * full, short ids for the rest (of wtxids for version 2, txids for version 1).
 */
export function makeCompactBlock(
  block: Block,
  nonce: bigint,
  version: 1 | 2,
  prefill: readonly number[] = [0],
): CompactBlock {
  const key = shortIdKey(block.header, nonce);
  const pre = new Set(prefill);
  const shortIds: number[] = [];
  const prefilled: PrefilledTransaction[] = [];
  block.txs.forEach((tx, index) => {
    if (pre.has(index)) prefilled.push({ index, tx });
    else shortIds.push(shortId(key, version === 2 ? wtxid(tx) : txid(tx)));
  });
  return { header: block.header, nonce, shortIds, prefilled };
}

/** A block being rebuilt from a compact block: `missing` lists the indexes to ask for with `getblocktxn`. */
export interface PartialBlock {
  readonly header: BlockHeader;
  readonly slots: readonly (Transaction | undefined)[];
  /** Indexes with no transaction yet, ascending. */
  readonly missing: readonly number[];
}

/**
 * Starts rebuilding `cmpct` from the transactions the node has (`mempool`: any map of them; keys
 * are not used). Throws `BtcCompactBlock` when the compact block is inconsistent (indexes out of
 * order or range, duplicate short ids): fetch the full block instead.
 */
export function startReconstruction(
  cmpct: CompactBlock,
  mempool: ReadonlyMap<unknown, Transaction> | Iterable<Transaction>,
  version: 1 | 2,
): PartialBlock {
  const total = cmpct.shortIds.length + cmpct.prefilled.length;
  const fail = (why: string): never => {
    throw new BtcError(ErrorCode.BtcCompactBlock, `compact block: ${why}`);
  };
  if (total === 0) fail('no transactions');
  if (total > BTC_MAX_BLOCK_TXS) fail(`${total} transactions exceed ${BTC_MAX_BLOCK_TXS}`);
  const slots: (Transaction | undefined)[] = new Array(total).fill(undefined);
  const filled = new Array<boolean>(total).fill(false);
  let last = -1;
  for (const p of cmpct.prefilled) {
    if (p.index <= last || p.index >= total) fail(`prefilled index ${p.index} out of order or range`);
    slots[p.index] = p.tx;
    filled[p.index] = true;
    last = p.index;
  }
  // Short id → its index in the block; an id seen twice makes the compact block useless.
  const byShortId = new Map<number, number>();
  let k = 0;
  for (let i = 0; i < total; i++) {
    if (filled[i]) continue;
    const id = cmpct.shortIds[k++]!;
    if (byShortId.has(id)) fail('duplicate short ids');
    byShortId.set(id, i);
  }
  const key = shortIdKey(cmpct.header, cmpct.nonce);
  const collided = new Set<number>();
  const txs = isMap(mempool) ? mempool.values() : mempool;
  for (const tx of txs) {
    const at = byShortId.get(shortId(key, version === 2 ? wtxid(tx) : txid(tx)));
    if (at === undefined) continue;
    // Two of our transactions share the short id: neither can be trusted to be the one.
    if (slots[at] !== undefined) collided.add(at);
    slots[at] = tx;
  }
  for (const at of collided) slots[at] = undefined;
  const missing: number[] = [];
  for (let i = 0; i < total; i++) if (slots[i] === undefined) missing.push(i);
  return { header: cmpct.header, slots, missing };
}

function isMap<K, V>(m: ReadonlyMap<K, V> | Iterable<V>): m is ReadonlyMap<K, V> {
  return (
    typeof (m as ReadonlyMap<K, V>).get === 'function' &&
    typeof (m as ReadonlyMap<K, V>).values === 'function'
  );
}

/**
 * Finishes a reconstruction with the transactions of a `blocktxn` answer (in the order of
 * `missing`) and checks the result against the header. Throws `BtcCompactBlock` when the count is
 * wrong or the block does not match (a short-id collision): fetch the full block.
 */
export function finishReconstruction(partial: PartialBlock, txs: readonly Transaction[] = []): Block {
  if (txs.length !== partial.missing.length) {
    throw new BtcError(
      ErrorCode.BtcCompactBlock,
      `blocktxn carries ${txs.length} transactions, ${partial.missing.length} were missing`,
    );
  }
  const slots = partial.slots.slice();
  partial.missing.forEach((at, i) => {
    slots[at] = txs[i];
  });
  const block: Block = { header: partial.header, txs: slots as Transaction[] };
  try {
    verifyBlockCommitments(block);
  } catch (e) {
    throw new BtcError(
      ErrorCode.BtcCompactBlock,
      `reconstructed block does not match its header (${hashToHex(partial.header.merkleRoot)})`,
      {},
      { cause: e },
    );
  }
  return block;
}
