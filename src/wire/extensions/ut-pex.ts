/**
 * BEP 11 `ut_pex`: peer exchange.
 *
 *   d
 *     5:added    <compact IPv4 peers, 6 bytes each>     7:added.f   <1 flag byte per added peer>
 *     6:added6   <compact IPv6 peers, 18 bytes each>    8:added6.f  <1 flag byte per added6 peer>
 *     7:dropped  <compact IPv4 peers>                   8:dropped6  <compact IPv6 peers>
 *   e
 *
 * Untrusted (BEP 11 §Security): each list is capped at MAX_PEX_PEERS_PER_MESSAGE peers and the
 * rest is ignored (`truncated` tells). A compact string whose length is not a multiple of its
 * entry size, or a listed field that is not a string, is a bad message. A flags string shorter than
 * its peer list leaves the missing flags 0; extra flag bytes are ignored.
 */
import { asBytes, type BencodeDict, encode } from '../../codec/index.js';
import { MAX_PEX_PEERS_PER_MESSAGE } from '../../shared/limits.js';
import { type CompactPeer, decodeCompactPeers, encodeCompactPeers } from './compact-peers.js';
import { badPayload, decodePayloadDict } from './payload.js';

/** BEP 11 peer flags (`added.f`, `added6.f`). */
export const PexFlag = {
  /** Prefers encryption (the `e` field of its extended handshake). */
  PrefersEncryption: 0x01,
  /** Seed / upload only. */
  Seed: 0x02,
  /** Supports uTP. */
  SupportsUtp: 0x04,
  /** Announced `ut_holepunch` in its extended handshake. */
  SupportsHolepunch: 0x08,
  /** We connected out to it: it is reachable. */
  Reachable: 0x10,
} as const;

/** A peer in `added` / `added6`, with its BEP 11 flags (a {@link PexFlag} bit set). */
export interface PexPeer extends CompactPeer {
  readonly flags: number;
}

/** A `ut_pex` message: IPv4 and IPv6 peers together, told apart by `family`. */
export interface PexMessage {
  readonly added: readonly PexPeer[];
  readonly dropped: readonly CompactPeer[];
}

/** A decoded `ut_pex` message. */
export interface DecodedPexMessage extends PexMessage {
  /** True when a list held more than MAX_PEX_PEERS_PER_MESSAGE peers and was cut. */
  readonly truncated: boolean;
}

const EXTENSION = 'ut_pex';

function compactList(
  dict: BencodeDict,
  key: string,
  family: 4 | 6,
): { peers: CompactPeer[]; truncated: boolean } {
  const v = dict.get(key);
  if (v === undefined) return { peers: [], truncated: false };
  const bytes = asBytes(v);
  if (bytes === undefined) throw badPayload(EXTENSION, `\`${key}\` is not a string`);
  const peers = decodeCompactPeers(bytes, family, MAX_PEX_PEERS_PER_MESSAGE);
  if (peers === undefined) {
    throw badPayload(
      EXTENSION,
      `\`${key}\` length ${bytes.length} is not a multiple of ${family === 4 ? 6 : 18}`,
    );
  }
  const size = family === 4 ? 6 : 18;
  return { peers, truncated: bytes.length / size > peers.length };
}

function withFlags(peers: readonly CompactPeer[], flags: Uint8Array | undefined): PexPeer[] {
  return peers.map((p, i) => ({ ...p, flags: flags?.[i] ?? 0 }));
}

/** Decodes a `ut_pex` payload (after the extended sub-id byte). Throws {@link WireError}. */
export function decodeUtPex(payload: Uint8Array): DecodedPexMessage {
  const { dict } = decodePayloadDict(payload, EXTENSION, false);
  const added4 = compactList(dict, 'added', 4);
  const added6 = compactList(dict, 'added6', 6);
  const dropped4 = compactList(dict, 'dropped', 4);
  const dropped6 = compactList(dict, 'dropped6', 6);
  return {
    added: [
      ...withFlags(added4.peers, asBytes(dict.get('added.f'))),
      ...withFlags(added6.peers, asBytes(dict.get('added6.f'))),
    ],
    dropped: [...dropped4.peers, ...dropped6.peers],
    truncated: added4.truncated || added6.truncated || dropped4.truncated || dropped6.truncated,
  };
}

/**
 * Encodes a `ut_pex` payload. Writes all six fields (empty strings for empty lists). Throws a
 * RangeError on a host that is not an IP address or a flags value outside a byte.
 */
export function encodeUtPex(msg: PexMessage): Uint8Array {
  const added4 = msg.added.filter((p) => p.family === 4);
  const added6 = msg.added.filter((p) => p.family === 6);
  const flags = (peers: readonly PexPeer[]): Uint8Array =>
    Uint8Array.from(peers, (p) => {
      if (!Number.isInteger(p.flags) || p.flags < 0 || p.flags > 255)
        throw new RangeError(`flags ${p.flags}`);
      return p.flags;
    });
  return encode({
    added: encodeCompactPeers(added4, 4),
    'added.f': flags(added4),
    added6: encodeCompactPeers(added6, 6),
    'added6.f': flags(added6),
    dropped: encodeCompactPeers(
      msg.dropped.filter((p) => p.family === 4),
      4,
    ),
    dropped6: encodeCompactPeers(
      msg.dropped.filter((p) => p.family === 6),
      6,
    ),
  });
}
