/**
 * BIP 157 messages:
 *
 *   getcfilters / getcfheaders:  filter type u8 | start height u32 | stop hash [32]
 *   cfilter:                     filter type u8 | block hash [32] | filter var bytes
 *   cfheaders:                   filter type u8 | stop hash [32] | previous filter header [32]
 *                                | n ≤ BTC_MAX_CFHEADERS_PER_MESSAGE × filter hash [32]
 *   getcfcheckpt:                filter type u8 | stop hash [32]
 *   cfcheckpt:                   filter type u8 | stop hash [32] | n ≤ BTC_MAX_CFCHECKPT_HEADERS × header [32]
 */
import {
  BTC_MAX_CFCHECKPT_HEADERS,
  BTC_MAX_CFHEADERS_PER_MESSAGE,
  BTC_MAX_MESSAGE_BYTES,
} from '../../shared/limits.js';
import type { ByteReader } from '../codec/reader.js';
import type { ByteWriter } from '../codec/writer.js';
import type { BtcMessage } from './types.js';

type Of<T extends BtcMessage['type']> = Extract<BtcMessage, { type: T }>;

function hashes(r: ByteReader, max: number, what: string): Uint8Array[] {
  const n = r.count(max, 32, what);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.hash(what).slice());
  return out;
}

export function readFilterRequest<T extends 'getcfilters' | 'getcfheaders'>(r: ByteReader, type: T): Of<T> {
  const filterType = r.u8('filter type');
  const startHeight = r.u32le('start height');
  const stopHash = r.hash('stop hash').slice();
  return { type, filterType, startHeight, stopHash } as Of<T>;
}

export function readCfilter(r: ByteReader): Of<'cfilter'> {
  const filterType = r.u8('filter type');
  const blockHash = r.hash('block hash').slice();
  const filter = r.varBytes(BTC_MAX_MESSAGE_BYTES, 'filter').slice();
  return { type: 'cfilter', filterType, blockHash, filter };
}

export function readCfheaders(r: ByteReader): Of<'cfheaders'> {
  const filterType = r.u8('filter type');
  const stopHash = r.hash('stop hash').slice();
  const previousFilterHeader = r.hash('previous filter header').slice();
  const filterHashes = hashes(r, BTC_MAX_CFHEADERS_PER_MESSAGE, 'filter hashes');
  return { type: 'cfheaders', filterType, stopHash, previousFilterHeader, filterHashes };
}

export function readGetCfcheckpt(r: ByteReader): Of<'getcfcheckpt'> {
  const filterType = r.u8('filter type');
  return { type: 'getcfcheckpt', filterType, stopHash: r.hash('stop hash').slice() };
}

export function readCfcheckpt(r: ByteReader): Of<'cfcheckpt'> {
  const filterType = r.u8('filter type');
  const stopHash = r.hash('stop hash').slice();
  const filterHeaders = hashes(r, BTC_MAX_CFCHECKPT_HEADERS, 'filter headers');
  return { type: 'cfcheckpt', filterType, stopHash, filterHeaders };
}

export function writeFilterMessage(
  w: ByteWriter,
  m: Of<'getcfilters' | 'getcfheaders' | 'cfilter' | 'cfheaders' | 'getcfcheckpt' | 'cfcheckpt'>,
): void {
  w.u8(m.filterType);
  switch (m.type) {
    case 'getcfilters':
    case 'getcfheaders':
      w.u32le(m.startHeight).bytes(m.stopHash);
      return;
    case 'cfilter':
      w.bytes(m.blockHash).varBytes(m.filter);
      return;
    case 'cfheaders':
      w.bytes(m.stopHash).bytes(m.previousFilterHeader).compactSize(m.filterHashes.length);
      for (const h of m.filterHashes) w.bytes(h);
      return;
    case 'getcfcheckpt':
      w.bytes(m.stopHash);
      return;
    case 'cfcheckpt':
      w.bytes(m.stopHash).compactSize(m.filterHeaders.length);
      for (const h of m.filterHeaders) w.bytes(h);
      return;
  }
}
