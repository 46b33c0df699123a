/**
 * BIP 152 messages:
 *
 *   cmpctblock:   header [80] | nonce u64 | n × short id (6 bytes LE) | m × (index CompactSize,
 *                 differentially encoded | transaction)
 *   getblocktxn:  block hash [32] | n × index CompactSize (differentially encoded)
 *   blocktxn:     block hash [32] | n × transaction
 *
 * "Differentially encoded": each index is sent as its distance from the previous one minus one.
 * Decoded indexes are absolute, at most {@link MAX_COMPACT_INDEX} (Bitcoin Core's 16-bit bound),
 * and counts at most {@link BTC_MAX_BLOCK_TXS}.
 */
import { ErrorCode } from '../../shared/errors.js';
import { BTC_MAX_BLOCK_TXS } from '../../shared/limits.js';
import { encodeHeader, readHeader } from '../chain/header.js';
import type { ByteReader } from '../codec/reader.js';
import type { ByteWriter } from '../codec/writer.js';
import { BtcError } from '../errors.js';
import { type CompactBlock, MAX_COMPACT_INDEX, type PrefilledTransaction } from '../tx/compact-block.js';
import { readTransaction, type Transaction, writeTransaction } from '../tx/transaction.js';

const MIN_TX_BYTES = 10;

function indexError(r: ByteReader, command: string): never {
  throw new BtcError(
    ErrorCode.BtcBadMessage,
    `${command}: index above ${MAX_COMPACT_INDEX} (offset ${r.offset})`,
    {
      offset: r.offset,
      command,
    },
  );
}

export function readCmpctBlock(r: ByteReader): CompactBlock {
  const header = readHeader(r);
  const nonce = r.u64le('cmpctblock nonce');
  const nIds = r.count(BTC_MAX_BLOCK_TXS, 6, 'short id count');
  const shortIds: number[] = [];
  for (let i = 0; i < nIds; i++) {
    const lo = r.u32le('short id');
    const hi = r.u16le('short id');
    shortIds.push(hi * 2 ** 32 + lo);
  }
  const nPre = r.count(BTC_MAX_BLOCK_TXS, 1 + MIN_TX_BYTES, 'prefilled count');
  if (nIds + nPre > BTC_MAX_BLOCK_TXS) {
    throw new BtcError(
      ErrorCode.BtcTooLarge,
      `cmpctblock: ${nIds + nPre} transactions exceed ${BTC_MAX_BLOCK_TXS}`,
      {
        command: 'cmpctblock',
      },
    );
  }
  const prefilled: PrefilledTransaction[] = [];
  let index = -1;
  for (let i = 0; i < nPre; i++) {
    index += r.compactSize(MAX_COMPACT_INDEX + 1, 'prefilled index') + 1;
    if (index > MAX_COMPACT_INDEX) indexError(r, 'cmpctblock');
    prefilled.push({ index, tx: readTransaction(r) });
  }
  return { header, nonce, shortIds, prefilled };
}

export function writeCmpctBlock(w: ByteWriter, c: CompactBlock): void {
  w.bytes(encodeHeader(c.header)).u64le(c.nonce).compactSize(c.shortIds.length);
  for (const id of c.shortIds) w.u32le(id % 2 ** 32).u16le(Math.floor(id / 2 ** 32));
  w.compactSize(c.prefilled.length);
  let last = -1;
  for (const p of c.prefilled) {
    w.compactSize(p.index - last - 1);
    last = p.index;
    writeTransaction(w, p.tx);
  }
}

export function readGetBlockTxn(r: ByteReader): { blockHash: Uint8Array; indexes: number[] } {
  const blockHash = r.hash('block hash').slice();
  const n = r.count(BTC_MAX_BLOCK_TXS, 1, 'index count');
  const indexes: number[] = [];
  let index = -1;
  for (let i = 0; i < n; i++) {
    index += r.compactSize(MAX_COMPACT_INDEX + 1, 'index') + 1;
    if (index > MAX_COMPACT_INDEX) indexError(r, 'getblocktxn');
    indexes.push(index);
  }
  return { blockHash, indexes };
}

export function writeGetBlockTxn(w: ByteWriter, blockHash: Uint8Array, indexes: readonly number[]): void {
  w.bytes(blockHash).compactSize(indexes.length);
  let last = -1;
  for (const i of indexes) {
    if (i <= last) throw new RangeError('getblocktxn indexes must ascend');
    w.compactSize(i - last - 1);
    last = i;
  }
}

export function readBlockTxn(r: ByteReader): { blockHash: Uint8Array; txs: Transaction[] } {
  const blockHash = r.hash('block hash').slice();
  const n = r.count(BTC_MAX_BLOCK_TXS, MIN_TX_BYTES, 'blocktxn count');
  const txs: Transaction[] = [];
  for (let i = 0; i < n; i++) txs.push(readTransaction(r));
  return { blockHash, txs };
}

export function writeBlockTxn(w: ByteWriter, blockHash: Uint8Array, txs: readonly Transaction[]): void {
  w.bytes(blockHash).compactSize(txs.length);
  for (const tx of txs) writeTransaction(w, tx);
}
