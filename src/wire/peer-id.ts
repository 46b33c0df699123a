/**
 * Peer ids (BEP 3 §peer protocol, BEP 20 conventions): generating ours in Azureus style
 * (`-SH0100-` followed by 12 random characters) and naming the client behind a peer's id.
 */
import { HANDSHAKE_ID_BYTES } from './handshake.js';

/** Shoal's Azureus-style peer id prefix: client code `SH`, version 0.1.0.0. */
export const SHOAL_PEER_ID_PREFIX = '-SH0100-';

/** Number of random characters after the 8-character prefix. */
export const PEER_ID_RANDOM_BYTES = HANDSHAKE_ID_BYTES - SHOAL_PEER_ID_PREFIX.length;

// 64 URL-unreserved characters, so `byte & 63` maps random bytes without bias and the id needs no
// escaping in tracker URLs.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * A 20-byte peer id: `prefix` (8 ASCII characters, Azureus style `-XXvvvv-`) followed by 12
 * characters drawn from `randomBytes` (at least 12 bytes; randomness is injected, the wire layer is
 * pure). Throws a RangeError on a bad prefix or too few random bytes.
 */
export function generatePeerId(randomBytes: Uint8Array, prefix: string = SHOAL_PEER_ID_PREFIX): Uint8Array {
  if (prefix.length !== 8 || !/^[\x20-\x7e]{8}$/.test(prefix)) {
    throw new RangeError('peer id prefix must be 8 printable ASCII characters');
  }
  if (randomBytes.length < PEER_ID_RANDOM_BYTES) {
    throw new RangeError(`generatePeerId needs ${PEER_ID_RANDOM_BYTES} random bytes`);
  }
  const id = new Uint8Array(HANDSHAKE_ID_BYTES);
  for (let i = 0; i < 8; i++) id[i] = prefix.charCodeAt(i);
  for (let i = 0; i < PEER_ID_RANDOM_BYTES; i++) id[8 + i] = ALPHABET.charCodeAt(randomBytes[i]! & 63);
  return id;
}

/** A client named from its peer id. */
export interface ClientInfo {
  /** Client name, e.g. `libtorrent`, or the raw two-letter code of an unknown Azureus-style client. */
  readonly name: string;
  /** Version as dotted digits, when the id encodes one. */
  readonly version: string | undefined;
}

const AZUREUS_CLIENTS: Readonly<Record<string, string>> = {
  LT: 'libtorrent',
  lt: 'libTorrent (rakshasa)',
  qB: 'qBittorrent',
  TR: 'Transmission',
  WW: 'WebTorrent',
  DE: 'Deluge',
  SH: 'Shoal',
  UT: 'µTorrent',
  UM: 'µTorrent Mac',
  BT: 'BitTorrent',
  AZ: 'Azureus',
  BI: 'BiglyBT',
  KT: 'KTorrent',
  FD: 'Free Download Manager',
  LW: 'LimeWire',
};

function versionDigit(c: number): string | undefined {
  if (c >= 0x30 && c <= 0x39) return String(c - 0x30);
  if (c >= 0x41 && c <= 0x5a) return String(c - 0x41 + 10); // 'A' = 10, as libtorrent encodes it
  if (c >= 0x61 && c <= 0x7a) return String(c - 0x61 + 10);
  return undefined;
}

/**
 * Names the client behind a peer id: Azureus-style ids (`-XXvvvv-`, e.g. libtorrent `-LT`,
 * qBittorrent `-qB`, Transmission `-TR`, WebTorrent `-WW`, Deluge `-DE`, µTorrent `-UT`, Shoal
 * `-SH`) and aria2 (`A2-1-37-0-`). Returns `undefined` for ids in no known style. The result is
 * advisory: any peer can send any id (BEP 10's `v` is more reliable).
 */
export function clientFromPeerId(peerId: Uint8Array): ClientInfo | undefined {
  if (peerId.length !== HANDSHAKE_ID_BYTES) return undefined;
  const ascii = (from: number, to: number): string => String.fromCharCode(...peerId.subarray(from, to));
  // aria2: "A2-<major>-<minor>-<patch>-" then random bytes.
  if (ascii(0, 3) === 'A2-') {
    const m = /^A2-(\d{1,3})-(\d{1,3})-(\d{1,3})-/.exec(ascii(0, HANDSHAKE_ID_BYTES));
    return { name: 'aria2', version: m === null ? undefined : `${m[1]}.${m[2]}.${m[3]}` };
  }
  if (peerId[0] !== 0x2d || peerId[7] !== 0x2d) return undefined;
  const code = ascii(1, 3);
  if (!/^[A-Za-z0-9]{2}$/.test(code)) return undefined;
  const digits: string[] = [];
  for (let i = 3; i < 7; i++) {
    const d = versionDigit(peerId[i]!);
    if (d === undefined) break;
    digits.push(d);
  }
  // Most clients put major.minor.patch in the first three characters; a fourth is a build or tag.
  const version = digits.length >= 3 ? digits.slice(0, 3).join('.') : undefined;
  return { name: AZUREUS_CLIENTS[code] ?? code, version };
}
