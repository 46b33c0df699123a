/**
 * Magnet URIs (BEP 9), with the v2 `btmh` form (BEP 52), peer addresses `x.pe` (BEP 9),
 * select-only file indices `so` (BEP 53) and mutable torrents `xs=urn:btpk` / `s` (BEP 46).
 *
 * Grammar accepted by {@link parseMagnet} (parameters in any order, `&`-separated, values
 * percent-encoded; a parameter may carry a numeric suffix such as `xt.1` or `tr.2`):
 *
 *   magnet  := 'magnet:?' param ( '&' param )*
 *   xt      := 'urn:btih:' ( hex{40} | base32{32} )      -- v1 info-hash, 20 bytes
 *            | 'urn:btmh:' '1220' hex{64}               -- multihash sha2-256, v2 info-hash
 *   dn      := display name ('+' means a space)
 *   tr, ws  := tracker URL, web seed URL (repeatable)
 *   x.pe    := host ':' port | '[' ipv6 ']' ':' port     -- port 1–65535 (repeatable)
 *   so      := item ( ',' item )*,  item := n | n '-' m   -- inclusive ranges, n ≤ m
 *   xs      := 'urn:btpk:' hex{64}                        -- BEP 46: ed25519 public key, 32 bytes
 *   s       := hex{0,128}                                 -- BEP 46: salt, at most 64 bytes
 *
 * Other `xt` and `xs` namespaces (ed2k, sha1, a .torrent URL, …) and unknown parameters are
 * ignored. A hybrid torrent's magnet carries both a btih and a btmh `xt`. {@link parseMagnet}
 * needs an info-hash; {@link parseMutableMagnet} needs a BEP 46 key instead (a BEP 46 link may have
 * no `xt` at all). The BEP 46 item value `{ih: <info-hash>}` is encoded and decoded by
 * {@link encodeMutableTorrentValue} and {@link decodeMutableTorrentValue}.
 */
import { asBytes, asDict, type BencodeValue, encode as bencode, decode } from '../codec/index.js';
import { ErrorCode } from '../shared/errors.js';
import { fromHex, toHex } from '../shared/hash.js';
import {
  MAX_DHT_ITEM_SALT_BYTES,
  MAX_DHT_ITEM_VALUE_BYTES,
  MAX_MAGNET_LENGTH,
  MAX_MAGNET_SELECT_INDICES,
  MAX_TORRENT_FILES,
} from '../shared/limits.js';
import { base32Decode } from './base32.js';
import { MagnetError, PeerAddressError } from './errors.js';
import type { MagnetLink, Metainfo, MutableMagnetLink, PeerAddress } from './types.js';

const PREFIX = /^magnet:\?/i;
/** Multihash prefix of a 32-byte sha2-256 digest: function code 0x12, length 0x20. */
const MULTIHASH_SHA256 = '1220';
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;
const DIGITS = /^[0-9]+$/;
/** BEP 46: an ed25519 public key is 32 bytes. */
const PUBLIC_KEY_BYTES = 32;

function fail(message: string, parameter: string): never {
  throw new MagnetError(ErrorCode.MagnetInvalid, message, parameter);
}

function percentDecode(value: string, parameter: string, plusIsSpace: boolean): string {
  const v = plusIsSpace ? value.replace(/\+/g, ' ') : value;
  try {
    return decodeURIComponent(v);
  } catch {
    return fail(`parameter ${parameter} has invalid percent-encoding or UTF-8`, parameter);
  }
}

function encode(value: string, parameter: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return fail(`${parameter} is not valid Unicode text`, parameter);
  }
}

function parseBtih(value: string): Uint8Array {
  if (value.length === 40) {
    const bytes = fromHex(value);
    if (bytes === undefined) fail('urn:btih info-hash of 40 characters is not hex', 'xt');
    return bytes;
  }
  if (value.length === 32) {
    const bytes = base32Decode(value);
    // 32 characters hold exactly 20 bytes unless '=' padding shortened them.
    if (bytes === undefined || bytes.length !== 20) {
      fail('urn:btih info-hash of 32 characters is not valid base32 of 20 bytes', 'xt');
    }
    return bytes;
  }
  return fail(`urn:btih info-hash has ${value.length} characters; expected 40 (hex) or 32 (base32)`, 'xt');
}

function parseBtmh(value: string): Uint8Array {
  if (!value.toLowerCase().startsWith(MULTIHASH_SHA256)) {
    fail('urn:btmh multihash is not sha2-256 of 32 bytes (prefix 1220)', 'xt');
  }
  const hex = value.slice(MULTIHASH_SHA256.length);
  if (hex.length !== 64) {
    fail(`urn:btmh sha2-256 digest has ${hex.length} hex characters; expected 64`, 'xt');
  }
  const bytes = fromHex(hex);
  if (bytes === undefined) fail('urn:btmh digest is not hex', 'xt');
  return bytes;
}

function parsePort(text: string, bad: (why: string) => never): number {
  if (!DIGITS.test(text) || text.length > 5) bad(`port ${JSON.stringify(text)} is not a number`);
  const port = Number(text);
  if (port < 1 || port > 65535) bad(`port ${port} is outside 1–65535`);
  return port;
}

/** `host:port` or `[ipv6]:port`; `bad` throws with the reason. */
function peerAddress(text: string, bad: (why: string) => never): PeerAddress {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) bad('no closing "]"');
    const host = text.slice(1, close);
    if (!host.includes(':') || !IPV6.test(host)) bad('invalid IPv6 address');
    if (text[close + 1] !== ':') bad('no port');
    return { host, port: parsePort(text.slice(close + 2), bad) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) bad('no port (expected HOST:PORT or [IPv6]:PORT)');
  const host = text.slice(0, colon);
  if (host.includes(':')) bad('an IPv6 address needs brackets: [IPv6]:PORT');
  if (!HOSTNAME.test(host)) bad('invalid host');
  return { host, port: parsePort(text.slice(colon + 1), bad) };
}

/**
 * A peer address from `host:port` or `[ipv6]:port` (BEP 9 `x.pe`). IPv6 hosts are returned
 * without brackets. Throws {@link MagnetError} naming `parameter`.
 */
export function parsePeerAddress(text: string, parameter = 'x.pe'): PeerAddress {
  return peerAddress(text, (why) => fail(`peer ${JSON.stringify(text)}: ${why}`, parameter));
}

/**
 * A peer address a user typed (`--peer`, `--dht-bootstrap`, `shoal peer add`): `HOST:PORT` or
 * `[IPv6]:PORT`, port 1–65535. IPv6 hosts are returned without brackets. Throws
 * {@link PeerAddressError} (`SHOAL_ERR_PEER_ADDRESS_INVALID`) naming `option`.
 */
export function parseHostPort(text: string, option = 'peer'): PeerAddress {
  return peerAddress(text, (why) => {
    throw new PeerAddressError(
      `${option} ${JSON.stringify(text)} is not a peer address: ${why}`,
      text,
      option,
    );
  });
}

function formatPeer(peer: PeerAddress): string {
  const host = peer.host.includes(':') ? `[${peer.host}]` : peer.host;
  const text = `${host}:${peer.port}`;
  // Only emit what parseMagnet accepts back.
  const back = parsePeerAddress(text);
  if (back.host !== peer.host || back.port !== peer.port) fail(`peer ${text} is not a valid address`, 'x.pe');
  return text;
}

function parseIndex(text: string): number {
  if (!DIGITS.test(text) || text.length > 7) fail(`so index ${JSON.stringify(text)} is not a number`, 'so');
  const n = Number(text);
  if (n >= MAX_TORRENT_FILES)
    fail(`so index ${n} is beyond the ${MAX_TORRENT_FILES} files a torrent may have`, 'so');
  return n;
}

/**
 * Expands a BEP 53 select-only list (`0,2,4-6`) into sorted, distinct file indices. The
 * expansion is bounded by MAX_MAGNET_SELECT_INDICES. Throws {@link MagnetError} (`so`).
 */
export function parseSelectOnly(text: string): number[] {
  if (text.length === 0) fail('so is empty', 'so');
  const picked = new Set<number>();
  let expanded = 0;
  for (const item of text.split(',')) {
    const dash = item.indexOf('-');
    const from = parseIndex(dash < 0 ? item : item.slice(0, dash));
    const to = dash < 0 ? from : parseIndex(item.slice(dash + 1));
    if (to < from) fail(`so range ${item} runs backwards`, 'so');
    expanded += to - from + 1;
    if (expanded > MAX_MAGNET_SELECT_INDICES) {
      fail(`so selects more than ${MAX_MAGNET_SELECT_INDICES} file indices`, 'so');
    }
    for (let i = from; i <= to; i++) picked.add(i);
  }
  return [...picked].sort((a, b) => a - b);
}

/** BEP 53 text for sorted-or-not indices, with consecutive runs folded into ranges. */
export function formatSelectOnly(indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function parsePublicKey(value: string): Uint8Array {
  const bytes = value.length === 2 * PUBLIC_KEY_BYTES ? fromHex(value) : undefined;
  if (bytes === undefined) fail(`urn:btpk public key is not ${2 * PUBLIC_KEY_BYTES} hex digits`, 'xs');
  return bytes;
}

function parseSalt(value: string): Uint8Array {
  const bytes = fromHex(value);
  if (bytes === undefined) fail('salt s is not hex', 's');
  if (bytes.length > MAX_DHT_ITEM_SALT_BYTES) {
    fail(`salt s of ${bytes.length} bytes is longer than ${MAX_DHT_ITEM_SALT_BYTES}`, 's');
  }
  return bytes;
}

/** Every parameter of a magnet URI, checked; which of them must be present is the caller's rule. */
function parseParams(uri: string): { -readonly [K in keyof MagnetLink]: MagnetLink[K] } {
  if (uri.length > MAX_MAGNET_LENGTH) {
    fail(`magnet URI of ${uri.length} characters is longer than ${MAX_MAGNET_LENGTH}`, 'uri');
  }
  const text = uri.trim();
  if (!PREFIX.test(text)) fail('not a magnet URI (expected "magnet:?")', 'uri');
  let infoHashV1: Uint8Array | undefined;
  let infoHashV2: Uint8Array | undefined;
  let name: string | undefined;
  const trackers: string[] = [];
  const webSeeds: string[] = [];
  const peers: PeerAddress[] = [];
  const seenTrackers = new Set<string>();
  const seenWebSeeds = new Set<string>();
  const seenPeers = new Set<string>();
  // Every `so` parameter is expanded together, so the bound holds for the whole URI.
  const selectParts: string[] = [];
  let publicKey: Uint8Array | undefined;
  // BEP 46's `s` means something only beside a key; elsewhere it is an unknown parameter.
  let saltText: string | undefined;

  for (const part of text.slice('magnet:?'.length).split('&')) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    // `xt.1`, `tr.2`: a numeric suffix only distinguishes repeats.
    const key = part
      .slice(0, eq)
      .toLowerCase()
      .replace(/\.[0-9]+$/, '');
    const raw = part.slice(eq + 1);
    switch (key) {
      case 'xt': {
        const value = percentDecode(raw, 'xt', false);
        const lower = value.toLowerCase();
        if (lower.startsWith('urn:btih:')) {
          const h = parseBtih(value.slice(9));
          if (infoHashV1 !== undefined && toHex(infoHashV1) !== toHex(h)) {
            fail('two different urn:btih info-hashes', 'xt');
          }
          infoHashV1 = h;
        } else if (lower.startsWith('urn:btmh:')) {
          const h = parseBtmh(value.slice(9));
          if (infoHashV2 !== undefined && toHex(infoHashV2) !== toHex(h)) {
            fail('two different urn:btmh info-hashes', 'xt');
          }
          infoHashV2 = h;
        }
        break;
      }
      case 'dn': {
        const value = percentDecode(raw, 'dn', true);
        if (name === undefined && value.length > 0) name = value;
        break;
      }
      case 'tr': {
        const value = percentDecode(raw, 'tr', false);
        if (value.length > 0 && !seenTrackers.has(value)) {
          seenTrackers.add(value);
          trackers.push(value);
        }
        break;
      }
      case 'ws': {
        const value = percentDecode(raw, 'ws', false);
        if (value.length > 0 && !seenWebSeeds.has(value)) {
          seenWebSeeds.add(value);
          webSeeds.push(value);
        }
        break;
      }
      case 'x.pe': {
        const peer = parsePeerAddress(percentDecode(raw, 'x.pe', false));
        const id = `${peer.host}|${peer.port}`;
        if (!seenPeers.has(id)) {
          seenPeers.add(id);
          peers.push(peer);
        }
        break;
      }
      case 'so': {
        selectParts.push(percentDecode(raw, 'so', false));
        break;
      }
      case 'xs': {
        const value = percentDecode(raw, 'xs', false);
        if (!value.toLowerCase().startsWith('urn:btpk:')) break;
        const k = parsePublicKey(value.slice(9));
        if (publicKey !== undefined && toHex(publicKey) !== toHex(k))
          fail('two different urn:btpk keys', 'xs');
        publicKey = k;
        break;
      }
      case 's': {
        const value = percentDecode(raw, 's', false);
        if (saltText !== undefined && saltText.toLowerCase() !== value.toLowerCase()) {
          fail('two different salts', 's');
        }
        saltText = value;
        break;
      }
      default:
        break;
    }
  }
  const link: {
    -readonly [K in keyof MagnetLink]: MagnetLink[K];
  } = { trackers, webSeeds, peers };
  if (infoHashV1 !== undefined) link.infoHashV1 = infoHashV1;
  if (infoHashV2 !== undefined) link.infoHashV2 = infoHashV2;
  if (name !== undefined) link.name = name;
  if (selectParts.length > 0) link.selectOnly = parseSelectOnly(selectParts.join(','));
  if (publicKey !== undefined) {
    link.publicKey = publicKey;
    link.salt = saltText === undefined ? new Uint8Array(0) : parseSalt(saltText);
  }
  return link;
}

/**
 * Parses a magnet URI (BEP 9; `btmh` per BEP 52; `so` per BEP 53; a BEP 46 key and salt are kept
 * when the link also has an info-hash). Throws {@link MagnetError} (code `MagnetInvalid`,
 * `details.parameter` naming the bad parameter) when the text is not a magnet, is longer than
 * MAX_MAGNET_LENGTH, has no BitTorrent `xt` (a BEP 46 link without one is read by
 * {@link parseMutableMagnet}), or has a malformed hash, key, salt, peer, select-only list or
 * percent-encoding.
 */
export function parseMagnet(uri: string): MagnetLink {
  const link = parseParams(uri);
  if (link.infoHashV1 === undefined && link.infoHashV2 === undefined) {
    const hint = link.publicKey === undefined ? '' : ' (a BEP 46 link: resolve it with parseMutableMagnet)';
    fail(`magnet URI has no urn:btih or urn:btmh xt parameter${hint}`, 'xt');
  }
  return link;
}

/**
 * Parses a BEP 46 magnet URI, `magnet:?xs=urn:btpk:<public key hex>&s=<salt hex>`, with any other
 * magnet parameters (an `xt` is optional). Throws {@link MagnetError} like {@link parseMagnet},
 * and when the link has no `xs=urn:btpk` key.
 */
export function parseMutableMagnet(uri: string): MutableMagnetLink {
  const link = parseParams(uri);
  if (link.publicKey === undefined || link.salt === undefined) {
    fail('magnet URI has no xs=urn:btpk public key (BEP 46)', 'xs');
  }
  return link as MutableMagnetLink;
}

/**
 * Builds a magnet URI: `xt=urn:btih:<hex>` and/or `xt=urn:btmh:1220<hex>`, then BEP 46's
 * `xs=urn:btpk:<hex>` and `s=<hex>` (only when the salt is not empty), then `dn`, `tr`, `ws`,
 * `x.pe` and `so` (BEP 9, 52, 53). `parseMagnet(buildMagnet(x))` (or `parseMutableMagnet` for a
 * link without an info-hash) gives back `x` (with duplicates removed and `so` sorted). Throws
 * {@link MagnetError} when the link has neither a hash nor a BEP 46 key, a hash or key of the
 * wrong size, a salt over 64 bytes, an invalid peer, text that is not valid Unicode, or would
 * exceed MAX_MAGNET_LENGTH.
 */
export function buildMagnet(link: MagnetLink): string {
  const params: string[] = [];
  if (link.infoHashV1 === undefined && link.infoHashV2 === undefined && link.publicKey === undefined) {
    fail('a magnet link needs a v1 or v2 info-hash or a BEP 46 public key', 'xt');
  }
  if (link.infoHashV1 !== undefined) {
    if (link.infoHashV1.length !== 20) fail(`v1 info-hash has ${link.infoHashV1.length} bytes, not 20`, 'xt');
    params.push(`xt=urn:btih:${toHex(link.infoHashV1)}`);
  }
  if (link.infoHashV2 !== undefined) {
    if (link.infoHashV2.length !== 32) fail(`v2 info-hash has ${link.infoHashV2.length} bytes, not 32`, 'xt');
    params.push(`xt=urn:btmh:${MULTIHASH_SHA256}${toHex(link.infoHashV2)}`);
  }
  if (link.publicKey !== undefined) {
    if (link.publicKey.length !== PUBLIC_KEY_BYTES) {
      fail(`public key has ${link.publicKey.length} bytes, not ${PUBLIC_KEY_BYTES}`, 'xs');
    }
    params.push(`xs=urn:btpk:${toHex(link.publicKey)}`);
  }
  if (link.salt !== undefined && link.salt.length > 0) {
    if (link.publicKey === undefined) fail('a salt needs a BEP 46 public key', 's');
    if (link.salt.length > MAX_DHT_ITEM_SALT_BYTES) {
      fail(`salt of ${link.salt.length} bytes is longer than ${MAX_DHT_ITEM_SALT_BYTES}`, 's');
    }
    params.push(`s=${toHex(link.salt)}`);
  }
  if (link.name !== undefined && link.name.length > 0) params.push(`dn=${encode(link.name, 'dn')}`);
  for (const t of link.trackers) if (t.length > 0) params.push(`tr=${encode(t, 'tr')}`);
  for (const w of link.webSeeds) if (w.length > 0) params.push(`ws=${encode(w, 'ws')}`);
  for (const p of link.peers) {
    // Brackets and colons stay readable; anything else (an IPv6 zone's "%") is escaped.
    const text = encode(formatPeer(p), 'x.pe').replace(/%3A/g, ':').replace(/%5B/g, '[').replace(/%5D/g, ']');
    params.push(`x.pe=${text}`);
  }
  if (link.selectOnly !== undefined && link.selectOnly.length > 0) {
    for (const i of link.selectOnly) {
      if (!Number.isSafeInteger(i) || i < 0 || i >= MAX_TORRENT_FILES) fail(`so index ${i} is invalid`, 'so');
    }
    params.push(`so=${formatSelectOnly(link.selectOnly)}`);
  }
  const uri = `magnet:?${params.join('&')}`;
  if (uri.length > MAX_MAGNET_LENGTH) {
    fail(`magnet URI would be ${uri.length} characters, more than ${MAX_MAGNET_LENGTH}`, 'uri');
  }
  return uri;
}

/**
 * The magnet link of a parsed torrent: its info-hashes, name, trackers (all tiers, in order,
 * without duplicates) and web seeds.
 */
export function magnetFromMetainfo(m: Metainfo): MagnetLink {
  const trackers = [...new Set(m.trackers.flat())];
  const link: { -readonly [K in keyof MagnetLink]: MagnetLink[K] } = {
    name: m.name,
    trackers,
    webSeeds: [...m.webSeeds],
    peers: [],
  };
  if (m.infoHashV1 !== undefined) link.infoHashV1 = m.infoHashV1;
  if (m.infoHashV2 !== undefined) link.infoHashV2 = m.infoHashV2;
  return link;
}

/**
 * The value of a BEP 46 mutable item: the bencoded dictionary `{ih: <info-hash>}` (20 bytes for
 * v1, 32 for v2). Throws {@link MagnetError} (`ih`) for a hash of another size.
 */
export function encodeMutableTorrentValue(infoHash: Uint8Array): Uint8Array {
  if (infoHash.length !== 20 && infoHash.length !== 32) {
    fail(`info-hash of ${infoHash.length} bytes; expected 20 (v1) or 32 (v2)`, 'ih');
  }
  return bencode({ ih: infoHash });
}

/**
 * The info-hash in a BEP 46 mutable item's value (its bencoded bytes): the `ih` of a dictionary,
 * 20 or 32 bytes; other keys are ignored. Throws {@link MagnetError} (`ih`) for anything else,
 * e.g. a value someone else published under the key.
 */
export function decodeMutableTorrentValue(value: Uint8Array): Uint8Array {
  if (value.length > MAX_DHT_ITEM_VALUE_BYTES) fail(`value of ${value.length} bytes is too long`, 'ih');
  let v: BencodeValue;
  try {
    v = decode(value, { mode: 'lenient' });
  } catch {
    return fail('the item value is not bencode', 'ih');
  }
  const ih = asBytes(asDict(v)?.get('ih'));
  if (ih === undefined) return fail('the item value is not a dictionary with an "ih" string', 'ih');
  if (ih.length !== 20 && ih.length !== 32) fail(`ih of ${ih.length} bytes; expected 20 or 32`, 'ih');
  return new Uint8Array(ih);
}
