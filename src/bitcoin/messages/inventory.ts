/**
 * Inventory and header sync: `inv`/`getdata`/`notfound` (CompactSize n ≤ {@link BTC_MAX_INV_ITEMS}
 * × (type u32 | hash [32])), `getheaders` (version u32 | locator: n ≤ {@link BTC_MAX_LOCATOR_HASHES}
 * hashes | stop hash) and `headers` (n ≤ {@link BTC_MAX_HEADERS_PER_MESSAGE} × (header [80] |
 * tx count CompactSize, ignored as Bitcoin Core ignores it)).
 */
import {
  BTC_MAX_HEADERS_PER_MESSAGE,
  BTC_MAX_INV_ITEMS,
  BTC_MAX_LOCATOR_HASHES,
} from '../../shared/limits.js';
import { HEADER_BYTES } from '../chain/header.js';
import type { ByteReader } from '../codec/reader.js';
import type { ByteWriter } from '../codec/writer.js';
import type { InvItem } from './types.js';

export function readInv(r: ByteReader, command: string): InvItem[] {
  const n = r.count(BTC_MAX_INV_ITEMS, 36, `${command} count`);
  const out: InvItem[] = [];
  for (let i = 0; i < n; i++) {
    const type = r.u32le('inv type');
    out.push({ type, hash: r.hash('inv hash').slice() });
  }
  return out;
}

export function writeInv(w: ByteWriter, items: readonly InvItem[]): void {
  w.compactSize(items.length);
  for (const i of items) w.u32le(i.type).bytes(i.hash);
}

export function readGetHeaders(r: ByteReader): {
  version: number;
  locator: Uint8Array[];
  stopHash: Uint8Array;
} {
  const version = r.u32le('getheaders version');
  const n = r.count(BTC_MAX_LOCATOR_HASHES, 32, 'locator count');
  const locator: Uint8Array[] = [];
  for (let i = 0; i < n; i++) locator.push(r.hash('locator hash').slice());
  return { version, locator, stopHash: r.hash('stop hash').slice() };
}

export function writeGetHeaders(
  w: ByteWriter,
  version: number,
  locator: readonly Uint8Array[],
  stopHash: Uint8Array,
): void {
  w.u32le(version).compactSize(locator.length);
  for (const h of locator) w.bytes(h);
  w.bytes(stopHash);
}

export function readHeaders(r: ByteReader): Uint8Array[] {
  const n = r.count(BTC_MAX_HEADERS_PER_MESSAGE, HEADER_BYTES + 1, 'headers count');
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    // Views of the payload (the frame decoder owns it): the header chain copies what it keeps.
    out.push(r.bytesView(HEADER_BYTES, 'header'));
    r.compactSizeBig('header tx count');
  }
  return out;
}

export function writeHeaders(w: ByteWriter, headers: readonly Uint8Array[]): void {
  w.compactSize(headers.length);
  for (const h of headers) w.bytes(h).u8(0);
}
