/**
 * The handshake and link-control messages: `version` (with BIP 37's relay flag), the empty
 * signals (`verack`, `wtxidrelay` BIP 339, `sendaddrv2` BIP 155, `sendheaders` BIP 130,
 * `getaddr`), `sendcmpct` (BIP 152), `feefilter` (BIP 133) and `ping`/`pong` (BIP 31).
 *
 * version layout: version i32 | services u64 | timestamp i64 | addr_recv (services u64, ip [16],
 * port u16 BE) | addr_from (same) | nonce u64 | user_agent var string | start_height i32 | relay u8.
 * Everything after addr_recv is optional on input (very old peers), as Bitcoin Core reads it; bytes
 * after the relay flag are ignored (future fields).
 */
import { BTC_MAX_USER_AGENT_BYTES } from '../../shared/limits.js';
import type { ByteReader } from '../codec/reader.js';
import type { ByteWriter } from '../codec/writer.js';
import type { NetAddress, VersionMessage } from './types.js';

const ZERO_ADDRESS: NetAddress = Object.freeze({ services: 0n, ip: new Uint8Array(16), port: 0 });

/** Reads the 26-byte network address of `version` (no time field). */
export function readNetAddress(r: ByteReader): NetAddress {
  const services = r.u64le('services');
  const ip = r.bytesView(16, 'ip').slice();
  const port = r.u16be('port');
  return { services, ip, port };
}

export function writeNetAddress(w: ByteWriter, a: NetAddress): void {
  w.u64le(a.services).bytes(a.ip).u16be(a.port);
}

export function readVersion(r: ByteReader): VersionMessage {
  const version = r.i32le('version');
  const services = r.u64le('services');
  const timestamp = r.i64le('timestamp');
  const receiver = readNetAddress(r);
  let sender = ZERO_ADDRESS;
  let nonce = 0n;
  let userAgent = '';
  let startHeight = 0;
  let relay = true;
  if (r.remaining > 0) {
    sender = readNetAddress(r);
    nonce = r.u64le('nonce');
  }
  if (r.remaining > 0) userAgent = r.varString(BTC_MAX_USER_AGENT_BYTES, 'user_agent');
  if (r.remaining > 0) startHeight = r.i32le('start_height');
  if (r.remaining > 0) relay = r.u8('relay') !== 0;
  r.skip(r.remaining);
  return {
    type: 'version',
    version,
    services,
    timestamp,
    receiver,
    sender,
    nonce,
    userAgent,
    startHeight,
    relay,
  };
}

export function writeVersion(w: ByteWriter, m: VersionMessage): void {
  w.i32le(m.version).u64le(m.services).i64le(m.timestamp);
  writeNetAddress(w, m.receiver);
  writeNetAddress(w, m.sender);
  w.u64le(m.nonce)
    .varString(m.userAgent)
    .i32le(m.startHeight)
    .u8(m.relay ? 1 : 0);
}
