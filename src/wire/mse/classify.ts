/**
 * Telling an incoming connection's protocol from its first bytes: a plaintext BitTorrent
 * handshake starts with `\x13BitTorrent protocol` (BEP 3); anything else may be MSE (whose first
 * 96 bytes are a random-looking public key) or another protocol.
 */
import { PROTOCOL_STRING } from '../handshake.js';

/** `\x13BitTorrent protocol`: the first 20 bytes of every plaintext BitTorrent handshake. */
const PREFIX = Uint8Array.from([PROTOCOL_STRING.length, ...PROTOCOL_STRING]);

/** Bytes {@link classifyFirstBytes} needs at most to decide. */
export const CLASSIFY_PREFIX_BYTES = PREFIX.length;

/** What a connection's first bytes look like. */
export type FirstBytesKind = 'bittorrent' | 'not-bittorrent' | 'need-more';

/**
 * `bittorrent` once the 20-byte prefix is there, `not-bittorrent` as soon as one byte differs
 * from it (an MSE candidate), `need-more` while the bytes so far agree with it.
 */
export function classifyFirstBytes(bytes: Uint8Array): FirstBytesKind {
  const n = Math.min(bytes.length, PREFIX.length);
  for (let k = 0; k < n; k++) if (bytes[k] !== PREFIX[k]) return 'not-bittorrent';
  return n === PREFIX.length ? 'bittorrent' : 'need-more';
}
