/**
 * The UDP front end's datagram handler (BEP 15), the tracker's hot path.
 *
 * Anti-spoofing and amplification (why replies are the size they are):
 * - A UDP source address can be forged, so a tracker must never send much to an address that
 *   has not proven it receives our packets. The proof is the connection id: a keyed hash of the
 *   source address and port under a secret that rotates every minute (see connection-ids.ts),
 *   sent only in the connect reply, which goes to that address.
 * - Unauthenticated exchanges never amplify: a connect reply is 16 bytes for a request of at
 *   least 16 bytes. Everything else without a valid id for its source address — wrong,
 *   expired or guessed — is dropped unanswered (not even an error packet, so a forged packet
 *   reflects nothing). Malformed, truncated and oversized (> TRACKER_MAX_UDP_PACKET_BYTES)
 *   datagrams are dropped the same way.
 * - Authenticated replies are bounded by TRACKER_MAX_UDP_REPLY_BYTES (1232 bytes: one
 *   unfragmented datagram on the IPv6 minimum MTU): at most 202 IPv4 or 67 IPv6 peers, whatever
 *   `num_want` says. Against a 98-byte announce that is a factor of ≤ 12.6, and it only ever goes
 *   to an address that just proved it reads our replies; a scrape reply (8 + 12·N) is always
 *   smaller than its request (16 + 20·N). Error packets are cut to the request's size.
 */

import {
  parseIpAddress,
  parseIpv4,
  UDP_ANNOUNCE_REQUEST_BYTES,
  UDP_ANNOUNCE_RESPONSE_HEADER_BYTES,
  UDP_CONNECT_BYTES,
  UDP_PROTOCOL_ID_HI,
  UDP_PROTOCOL_ID_LO,
  UDP_SCRAPE_ENTRY_BYTES,
  UDP_SCRAPE_REQUEST_HEADER_BYTES,
  UDP_SCRAPE_RESPONSE_HEADER_BYTES,
  UdpAction,
} from '../discovery/index.js';
import {
  MAX_UDP_SCRAPE_HASHES,
  TRACKER_MAX_UDP_PACKET_BYTES,
  TRACKER_MAX_UDP_REPLY_BYTES,
} from '../shared/limits.js';
import type { StateAnnounce, TrackedPeer } from './swarm-state.js';
import type { TrackerCore } from './tracker-core.js';

const EVENTS = ['none', 'completed', 'started', 'stopped'] as const;

/** Handles BEP 15 datagrams for one {@link TrackerCore}; keeps scratch buffers between calls. */
export class UdpTrackerHandler {
  readonly #core: TrackerCore;
  readonly #ip4 = Buffer.alloc(4);
  readonly #scratch: { -readonly [K in keyof StateAnnounce]-?: NonNullable<StateAnnounce[K]> } = {
    infoHashKey: '',
    family: 4,
    ip4: 0,
    ip6: new Uint8Array(0),
    port: 0,
    peerId: '',
    left: 0,
    event: 'none',
  };
  #out: Buffer = Buffer.alloc(0);
  #at = 0;
  readonly #visit = (p: TrackedPeer): void => {
    const out = this.#out;
    if (p.family === 4) {
      out.writeUInt32BE(p.ip4, this.#at);
      out.writeUInt16BE(p.port, this.#at + 4);
      this.#at += 6;
    } else {
      out.set(p.ip6, this.#at);
      out.writeUInt16BE(p.port, this.#at + 16);
      this.#at += 18;
    }
  };

  constructor(core: TrackerCore) {
    this.#core = core;
  }

  /**
   * Handles one datagram from `address`:`port` (as the socket reports it; IPv4-mapped IPv6
   * counts as IPv4). Returns the reply to send back, or `undefined` to send nothing.
   */
  handle(msg: Buffer, address: string, port: number): Buffer | undefined {
    const core = this.#core;
    if (msg.length < UDP_CONNECT_BYTES || msg.length > TRACKER_MAX_UDP_PACKET_BYTES) {
      core.counters.udpDropped++;
      return undefined;
    }
    let family: 4 | 6;
    let ip4 = 0;
    let addr: Uint8Array;
    let memoKey: number | string;
    const v4 = parseIpv4(address);
    if (v4 !== undefined) {
      family = 4;
      ip4 = v4;
      this.#ip4.writeUInt32BE(v4, 0);
      addr = this.#ip4;
      memoKey = v4 * 65536 + port;
    } else {
      const ip = parseIpAddress(address);
      if (ip === undefined) {
        core.counters.udpDropped++;
        return undefined;
      }
      family = ip.family;
      addr = ip.bytes;
      if (family === 4) {
        ip4 =
          addr.length === 4 ? ((addr[0]! << 24) | (addr[1]! << 16) | (addr[2]! << 8) | addr[3]!) >>> 0 : 0;
        memoKey = ip4 * 65536 + port;
      } else {
        memoKey = `${address}|${port}`;
      }
    }
    const action = msg.readUInt32BE(8);
    const tid = msg.readUInt32BE(12);
    if (action === UdpAction.Connect) {
      if (msg.readUInt32BE(0) !== UDP_PROTOCOL_ID_HI || msg.readUInt32BE(4) !== UDP_PROTOCOL_ID_LO) {
        core.counters.udpDropped++;
        return undefined;
      }
      core.counters.udpConnects++;
      const out = Buffer.allocUnsafe(UDP_CONNECT_BYTES);
      out.writeUInt32BE(UdpAction.Connect, 0);
      out.writeUInt32BE(tid, 4);
      core.ids.issue(addr, port).copy(out, 8);
      return out;
    }
    if (action !== UdpAction.Announce && action !== UdpAction.Scrape) {
      core.counters.udpDropped++;
      return undefined;
    }
    if (
      (action === UdpAction.Announce && msg.length < UDP_ANNOUNCE_REQUEST_BYTES) ||
      !core.ids.verify(msg, addr, port, memoKey)
    ) {
      core.counters.udpDropped++;
      return undefined;
    }
    return action === UdpAction.Announce
      ? this.#announce(msg, tid, family, ip4, addr)
      : this.#scrape(msg, tid);
  }

  #error(tid: number, message: string, requestBytes: number): Buffer {
    this.#core.counters.udpFailures++;
    const text = Buffer.from(message, 'utf8').subarray(0, Math.max(0, requestBytes - 8));
    const out = Buffer.allocUnsafe(8 + text.length);
    out.writeUInt32BE(UdpAction.Error, 0);
    out.writeUInt32BE(tid, 4);
    text.copy(out, 8);
    return out;
  }

  #announce(msg: Buffer, tid: number, family: 4 | 6, ip4: number, addr: Uint8Array): Buffer {
    const core = this.#core;
    const eventCode = msg.readUInt32BE(80);
    const event = EVENTS[eventCode];
    if (event === undefined) return this.#error(tid, 'invalid event', msg.length);
    const peerPort = msg.readUInt16BE(96);
    if (peerPort === 0) return this.#error(tid, 'invalid port', msg.length);
    const leftHi = msg.readUInt32BE(64);
    // `left` is signed 64-bit: negative is nonsense, taken as "not a seeder".
    const left = leftHi >= 0x80000000 ? 1 : leftHi * 2 ** 32 + msg.readUInt32BE(68);
    const key = msg.toString('latin1', 16, 36);
    // One scratch request object, reused: the state copies what it keeps.
    const a = this.#scratch;
    a.infoHashKey = key;
    a.family = family;
    a.ip4 = ip4;
    a.ip6 = addr;
    a.port = peerPort;
    a.peerId = msg.toString('latin1', 36, 56);
    a.left = left;
    a.event = event;
    const r = core.state.announce(a);
    if (!r.ok) return this.#error(tid, r.reason, msg.length);
    core.counters.udpAnnounces++;
    const stride = family === 4 ? 6 : 18;
    const fit = Math.floor((TRACKER_MAX_UDP_REPLY_BYTES - UDP_ANNOUNCE_RESPONSE_HEADER_BYTES) / stride);
    const want = event === 'stopped' ? 0 : Math.min(fit, core.numwant(msg.readInt32BE(92)));
    const out = Buffer.allocUnsafe(UDP_ANNOUNCE_RESPONSE_HEADER_BYTES + stride * want);
    out.writeUInt32BE(UdpAction.Announce, 0);
    out.writeUInt32BE(tid, 4);
    out.writeUInt32BE(core.intervalS, 8);
    out.writeUInt32BE(r.counts.incomplete, 12);
    out.writeUInt32BE(r.counts.complete, 16);
    this.#out = out;
    this.#at = UDP_ANNOUNCE_RESPONSE_HEADER_BYTES;
    core.state.sample(key, family, want, a, this.#visit);
    const end = this.#at;
    this.#out = Buffer.alloc(0);
    return end === out.length ? out : out.subarray(0, end);
  }

  #scrape(msg: Buffer, tid: number): Buffer {
    const core = this.#core;
    const n = Math.min(
      MAX_UDP_SCRAPE_HASHES,
      Math.floor((msg.length - UDP_SCRAPE_REQUEST_HEADER_BYTES) / 20),
    );
    core.counters.udpScrapes++;
    const out = Buffer.allocUnsafe(UDP_SCRAPE_RESPONSE_HEADER_BYTES + UDP_SCRAPE_ENTRY_BYTES * n);
    out.writeUInt32BE(UdpAction.Scrape, 0);
    out.writeUInt32BE(tid, 4);
    for (let i = 0; i < n; i++) {
      const at = UDP_SCRAPE_REQUEST_HEADER_BYTES + 20 * i;
      const key = msg.toString('latin1', at, at + 20);
      const c = core.state.isAllowed(key)
        ? core.state.counts(key)
        : { complete: 0, incomplete: 0, downloaded: 0 };
      const o = UDP_SCRAPE_RESPONSE_HEADER_BYTES + UDP_SCRAPE_ENTRY_BYTES * i;
      out.writeUInt32BE(c.complete, o);
      out.writeUInt32BE(c.downloaded, o + 4);
      out.writeUInt32BE(c.incomplete, o + 8);
    }
    return out;
  }
}
