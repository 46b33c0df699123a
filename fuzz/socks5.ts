/**
 * Fuzz target for the SOCKS5 client negotiation (src/net/socks5-protocol.ts) and the UDP
 * datagram decoder. Input layout: byte 0 is a control byte (bit 0: we have credentials; bits
 * 1-2: the target kind; bits 5-7: the read size), the rest is what the proxy sends. The seeds are
 * real proxy answers (no auth, RFC 1929 auth, every address type, bytes after the reply) and
 * every prefix of them: truncated input must only ever wait. The machine may only return or
 * throw a ShoalError; a result needs at least the smallest legal answer.
 */
import { decodeSocks5UdpDatagram, Socks5Handshake } from '../src/net/socks5-protocol.js';
import { isShoalError } from '../src/shared/errors.js';
import type { FuzzTarget } from './target.js';

const TARGETS = ['192.0.2.1', '2001:db8::1', 'tracker.example', '198.51.100.7'];
const READ_SIZES = [1 << 20, 1, 2, 3, 5, 7, 10, 64];
/** Method selection (2) + the shortest reply: an empty host name (4 + 1 + 0 + 2). */
const MIN_ANSWER = 9;

const ANSWERS = [
  [5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90],
  [5, 2, 1, 0, 5, 0, 0, 4, ...new Array(16).fill(1), 0, 80, 9, 9],
  [5, 0, 5, 0, 0, 3, 4, 0x61, 0x62, 0x63, 0x64, 0, 1],
  [5, 0, 5, 5],
  [5, 0xff],
];

export const target: FuzzTarget = {
  seeds() {
    const out: Uint8Array[] = [];
    for (const a of ANSWERS)
      for (const control of [0, 1, 0x21, 0xe3])
        for (let n = 0; n <= a.length; n++) out.push(Uint8Array.from([control, ...a.slice(0, n)]));
    return out;
  },
  run(input) {
    if (input.length === 0) return;
    const control = input[0]!;
    const h = new Socks5Handshake({
      command: 'connect',
      target: { host: TARGETS[(control >> 1) & 3]!, port: 6881 },
      proxyName: 'fuzz',
      ...(control & 1 ? { username: 'user', password: 'pass' } : {}),
    });
    h.start();
    const body = input.subarray(1);
    const size = READ_SIZES[control >> 5]!;
    decodeSocks5UdpDatagram(body);
    try {
      for (let at = 0; at < body.length; at += size) {
        const step = h.push(body.subarray(at, at + size));
        if (step.result !== undefined && Math.min(at + size, body.length) < MIN_ANSWER)
          throw new Error('a result from too few bytes');
      }
    } catch (e) {
      if (!isShoalError(e)) throw e;
    }
  },
};
