/**
 * The BEP 10 extended handshake: the bencoded dictionary sent as `extended` message id 0.
 *
 *   d
 *     1:m  d <name> i<id 0–255>e ... e   extension name → the id the sender wants to receive it as;
 *                                         0 disables (later handshakes are additive, BEP 10)
 *     1:v  <client name and version, UTF-8>
 *     1:p  i<TCP listen port>e
 *     4:reqq i<outstanding requests the sender accepts>e
 *     6:yourip <4 or 16 bytes: the receiver's address as the sender sees it>
 *     4:ipv4 <4 bytes>   4:ipv6 <16 bytes>
 *     13:metadata_size i<bytes of the info dictionary>e          (BEP 9)
 *     11:upload_only i<0|1>e                                     (BEP 21)
 *   e
 *
 * Every item is optional and unknown items are ignored (BEP 10). The input is untrusted: an `m`
 * with more than MAX_EXTENSION_NAMES entries is a bad message; malformed single items (a wrong
 * type, an out-of-range id, port or size, an over-long name or client string) are ignored.
 */
import { asBytes, asDict, asInt, bytesToUtf8, encode } from '../../codec/index.js';
import {
  MAX_CLIENT_VERSION_BYTES,
  MAX_EXTENSION_NAME_BYTES,
  MAX_EXTENSION_NAMES,
  MAX_METADATA_BYTES,
} from '../../shared/limits.js';
import { badPayload, decodePayloadDict } from './payload.js';

/** Extension names Shoal speaks, as they appear in `m`. */
export const ExtensionName = {
  /** BEP 9 metadata exchange. */
  UtMetadata: 'ut_metadata',
  /** BEP 11 peer exchange. */
  UtPex: 'ut_pex',
  /** BEP 55 holepunching. */
  UtHolepunch: 'ut_holepunch',
} as const;

/** The `extended` message sub-id of the extended handshake (BEP 10). */
export const EXTENDED_HANDSHAKE_ID = 0;

/** A decoded (or to-be-encoded) extended handshake. */
export interface ExtendedHandshake {
  /** `m`: extension name → message id (1–255), or 0 for disabled. */
  readonly extensions: ReadonlyMap<string, number>;
  /** `v`: client name and version. */
  readonly client?: string;
  /** `p`: the sender's TCP listen port (1–65535). */
  readonly port?: number;
  /** `reqq`: outstanding requests the sender accepts (≥ 1; the engine clamps it). */
  readonly reqq?: number;
  /** `yourip`: our address as the sender sees it (4 or 16 bytes). */
  readonly yourIp?: Uint8Array;
  /** `ipv4`: the sender's IPv4 address (4 bytes). */
  readonly ipv4?: Uint8Array;
  /** `ipv6`: the sender's IPv6 address (16 bytes). */
  readonly ipv6?: Uint8Array;
  /** `metadata_size` (BEP 9): bytes of the info dictionary, 1–MAX_METADATA_BYTES. */
  readonly metadataSize?: number;
  /** `upload_only` (BEP 21): the sender only uploads (a seed or partial seed). */
  readonly uploadOnly?: boolean;
}

const EXTENSION = 'extended handshake';

/** Decodes an extended handshake payload (after the sub-id byte). Throws {@link WireError}. */
export function decodeExtendedHandshake(payload: Uint8Array): ExtendedHandshake {
  const { dict } = decodePayloadDict(payload, EXTENSION, false);
  const extensions = new Map<string, number>();
  const mValue = dict.get('m');
  if (mValue !== undefined) {
    const m = asDict(mValue);
    if (m === undefined) throw badPayload(EXTENSION, '`m` is not a dictionary');
    if (m.size > MAX_EXTENSION_NAMES) {
      throw badPayload(EXTENSION, `\`m\` has ${m.size} entries, more than ${MAX_EXTENSION_NAMES}`);
    }
    for (const entry of m.entries) {
      const id = asInt(entry.value);
      if (id === undefined || id < 0 || id > 255) continue;
      if (entry.key.length === 0 || entry.key.length > MAX_EXTENSION_NAME_BYTES) continue;
      const name = bytesToUtf8(entry.key);
      if (name === undefined || extensions.has(name)) continue;
      extensions.set(name, id);
    }
  }
  const out: {
    -readonly [K in keyof ExtendedHandshake]: ExtendedHandshake[K];
  } = { extensions };
  const v = asBytes(dict.get('v'));
  if (v !== undefined && v.length <= MAX_CLIENT_VERSION_BYTES) {
    const text = bytesToUtf8(v);
    if (text !== undefined) out.client = text;
  }
  const p = asInt(dict.get('p'));
  if (p !== undefined && p >= 1 && p <= 0xffff) out.port = p;
  const reqq = asInt(dict.get('reqq'));
  if (reqq !== undefined && reqq >= 1) out.reqq = reqq;
  const yourIp = asBytes(dict.get('yourip'));
  if (yourIp !== undefined && (yourIp.length === 4 || yourIp.length === 16)) out.yourIp = yourIp.slice();
  const ipv4 = asBytes(dict.get('ipv4'));
  if (ipv4 !== undefined && ipv4.length === 4) out.ipv4 = ipv4.slice();
  const ipv6 = asBytes(dict.get('ipv6'));
  if (ipv6 !== undefined && ipv6.length === 16) out.ipv6 = ipv6.slice();
  const size = asInt(dict.get('metadata_size'));
  if (size !== undefined && size >= 1 && size <= MAX_METADATA_BYTES) out.metadataSize = size;
  const uploadOnly = asInt(dict.get('upload_only'));
  if (uploadOnly !== undefined) out.uploadOnly = uploadOnly !== 0;
  return out;
}

/**
 * Encodes an extended handshake payload (to send as `extended` sub-id 0). Throws a RangeError on
 * an id outside 0–255 (a programmer error).
 */
export function encodeExtendedHandshake(h: ExtendedHandshake): Uint8Array {
  for (const [name, id] of h.extensions) {
    if (!Number.isInteger(id) || id < 0 || id > 255) throw new RangeError(`extension ${name}: id ${id}`);
  }
  return encode({
    m: new Map(h.extensions),
    v: h.client,
    p: h.port,
    reqq: h.reqq,
    yourip: h.yourIp,
    ipv4: h.ipv4,
    ipv6: h.ipv6,
    metadata_size: h.metadataSize,
    upload_only: h.uploadOnly === undefined ? undefined : h.uploadOnly ? 1 : 0,
  });
}
