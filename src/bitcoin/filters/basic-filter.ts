/**
 * The BIP 158 basic block filter (type 0): a Golomb-coded set of every output script of the block
 * except OP_RETURN ones, and every script the block's inputs spend (the coinbase spends none),
 * with empty scripts left out and duplicates counted once. Its SipHash key is the first 16 bytes
 * of the block hash (internal byte order).
 */

import { type Block, blockHash } from '../tx/block.js';
import { OP_RETURN } from '../tx/script.js';
import { BASIC_FILTER_PARAMS, buildGcs, Gcs } from './gcs.js';

/** The filter type byte of the basic filter (BIP 158). */
export const BASIC_FILTER_TYPE = 0;

/**
 * The filter's items: the block's output scripts (not OP_RETURN, not empty) and `spentScripts`,
 * the scripts of the outputs the block's non-coinbase inputs spend (empty ones are dropped).
 */
export function basicFilterItems(block: Block, spentScripts: readonly Uint8Array[]): Uint8Array[] {
  const items: Uint8Array[] = [];
  for (const tx of block.txs) {
    for (const out of tx.outputs) {
      if (out.script.length > 0 && out.script[0] !== OP_RETURN) items.push(out.script);
    }
  }
  for (const s of spentScripts) if (s.length > 0) items.push(s);
  return items;
}

/** The serialized basic filter of `block` (N as a CompactSize, then the coded set). */
export function buildBasicFilter(block: Block, spentScripts: readonly Uint8Array[]): Uint8Array {
  return buildGcs(
    basicFilterItems(block, spentScripts),
    blockHash(block).subarray(0, 16),
    BASIC_FILTER_PARAMS,
  );
}

/** A basic filter ready to match scripts, for the block with hash `blockHash` (internal order). */
export function basicFilter(filter: Uint8Array, blockHashBytes: Uint8Array): Gcs {
  return new Gcs(filter, blockHashBytes.subarray(0, 16), BASIC_FILTER_PARAMS);
}
