/**
 * Address gossip: `addr` (entries of time u32 | services u64 | ip [16] | port u16 BE) and BIP 155
 * `addrv2` (time u32 | services CompactSize | network id u8 | address var bytes | port u16 BE).
 * Both carry at most {@link BTC_MAX_ADDR_PER_MESSAGE} entries; an `addrv2` address is at most
 * {@link BTC_MAX_ADDRV2_ADDRESS_BYTES} long, and one of a known network must have that network's
 * length (as Bitcoin Core refuses the message otherwise).
 */
import { ErrorCode } from '../../shared/errors.js';
import { BTC_MAX_ADDR_PER_MESSAGE, BTC_MAX_ADDRV2_ADDRESS_BYTES } from '../../shared/limits.js';
import type { ByteReader } from '../codec/reader.js';
import type { ByteWriter } from '../codec/writer.js';
import { BtcError } from '../errors.js';
import { readNetAddress, writeNetAddress } from './control.js';
import { ADDRV2_LENGTHS, type AddrEntry, type AddrV2Entry } from './types.js';

/** Size of one `addr` entry, in bytes. */
const ADDR_ENTRY_BYTES = 30;
/** Smallest `addrv2` entry: time, 1-byte services, network id, empty address, port. */
const MIN_ADDRV2_ENTRY_BYTES = 4 + 1 + 1 + 1 + 2;

export function readAddr(r: ByteReader): AddrEntry[] {
  const n = r.count(BTC_MAX_ADDR_PER_MESSAGE, ADDR_ENTRY_BYTES, 'addr count');
  const out: AddrEntry[] = [];
  for (let i = 0; i < n; i++) {
    const time = r.u32le('addr time');
    out.push({ time, ...readNetAddress(r) });
  }
  return out;
}

export function writeAddr(w: ByteWriter, entries: readonly AddrEntry[]): void {
  w.compactSize(entries.length);
  for (const e of entries) {
    w.u32le(e.time);
    writeNetAddress(w, e);
  }
}

export function readAddrV2(r: ByteReader): AddrV2Entry[] {
  const n = r.count(BTC_MAX_ADDR_PER_MESSAGE, MIN_ADDRV2_ENTRY_BYTES, 'addrv2 count');
  const out: AddrV2Entry[] = [];
  for (let i = 0; i < n; i++) {
    const time = r.u32le('addrv2 time');
    const services = r.compactSizeBig('addrv2 services');
    const networkId = r.u8('addrv2 network id');
    const at = r.offset;
    const address = r.varBytes(BTC_MAX_ADDRV2_ADDRESS_BYTES, 'addrv2 address').slice();
    const want = ADDRV2_LENGTHS[networkId];
    if (want !== undefined && address.length !== want) {
      throw new BtcError(
        ErrorCode.BtcBadMessage,
        `addrv2: network ${networkId} address of ${address.length} bytes, not ${want} (offset ${at})`,
        { offset: at, command: 'addrv2' },
      );
    }
    const port = r.u16be('addrv2 port');
    out.push({ time, services, networkId, address, port });
  }
  return out;
}

export function writeAddrV2(w: ByteWriter, entries: readonly AddrV2Entry[]): void {
  w.compactSize(entries.length);
  for (const e of entries)
    w.u32le(e.time).compactSize(e.services).u8(e.networkId).varBytes(e.address).u16be(e.port);
}
