/**
 * Node ids, the XOR metric (BEP 5) and the BEP 42 rule tying a node id to its IP address.
 *
 * BEP 42 layout of a conforming id (r is a random number in [0, 7]):
 *
 *   crc      = crc32c( (ip & mask) | r << (top) )    -- v4 mask 03 0f 3f ff, v6 mask 01 03 07 0f 1f 3f 7f ff
 *   id[0..1] = crc >> 24, crc >> 16                   -- the first 21 bits come from the crc
 *   id[2]    = (crc >> 8) & 0xf8 | random 3 bits
 *   id[3..18] random
 *   id[19]   = random byte whose low 3 bits are r
 *
 * Ids inside the node are binary strings (see address.ts); the helpers here work on those.
 */
import { ErrorCode } from '../shared/errors.js';
import { isLocalIp, parseIp } from './address.js';
import { NODE_ID_BITS, NODE_ID_BYTES } from './constants.js';
import { DhtError } from './errors.js';
import type { Random } from './random.js';

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    // Castagnoli polynomial 0x1EDC6F41, reflected.
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C (Castagnoli) of `data`, as an unsigned 32-bit integer (BEP 42). */
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff];
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];

/**
 * The BEP 42 crc for an IP (4 or 16 bytes) and `r` in [0, 7]: the first 21 bits of a conforming
 * id are the first 21 bits of this value.
 */
export function bep42Crc(ip: Uint8Array, r: number): number {
  const mask = ip.length === 4 ? V4_MASK : V6_MASK;
  const masked = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) masked[i] = (ip[i] ?? 0) & mask[i]!;
  masked[0] = masked[0]! | ((r & 7) << 5);
  return crc32c(masked);
}

function ipBytes(ip: Uint8Array | string): Uint8Array | undefined {
  return typeof ip === 'string' ? parseIp(ip) : ip;
}

/**
 * True when `id` obeys BEP 42 for `ip` (bytes or text). Addresses on local networks are exempt
 * (BEP 42 §Enforcement), so they always conform; an unparsable IP never does.
 */
export function isValidNodeIdForIp(id: Uint8Array, ip: Uint8Array | string): boolean {
  const addr = ipBytes(ip);
  if (addr === undefined || id.length !== NODE_ID_BYTES) return false;
  if (isLocalIp(addr)) return true;
  const crc = bep42Crc(addr, id[19]! & 7);
  return id[0] === crc >>> 24 && id[1] === ((crc >>> 16) & 0xff) && (id[2]! & 0xf8) === ((crc >>> 8) & 0xf8);
}

const scratchV4 = new Uint8Array(4);
const scratchV6 = new Uint8Array(16);
const scratchId = new Uint8Array(NODE_ID_BYTES);

/**
 * {@link isValidNodeIdForIp} for binary strings: a node id and a compact address (IP and port),
 * without allocating (it runs for every new routing table entry).
 */
export function isConformingKey(idKey: string, addrKey: string): boolean {
  const ip = addrKey.length === 6 ? scratchV4 : addrKey.length === 18 ? scratchV6 : undefined;
  if (ip === undefined || idKey.length !== NODE_ID_BYTES) return false;
  for (let i = 0; i < ip.length; i++) ip[i] = addrKey.charCodeAt(i);
  for (let i = 0; i < NODE_ID_BYTES; i++) scratchId[i] = idKey.charCodeAt(i);
  return isValidNodeIdForIp(scratchId, ip);
}

/**
 * A fresh node id (BEP 5: random 160 bits). With our external IP it conforms to BEP 42, so
 * enforcing nodes store our announces; without one, or for a local address, it is fully random.
 */
export function generateNodeId(random: Random, externalIp?: Uint8Array | string): Uint8Array {
  const id = random.bytes(NODE_ID_BYTES).slice(0, NODE_ID_BYTES);
  const ip = externalIp === undefined ? undefined : ipBytes(externalIp);
  if (ip === undefined || isLocalIp(ip)) return id;
  const crc = bep42Crc(ip, id[19]! & 7);
  id[0] = crc >>> 24;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | (id[2]! & 7);
  return id;
}

/**
 * Compares the XOR distances of binary-string ids `a` and `b` to `target`: negative when `a` is
 * closer, positive when `b` is, 0 when equal.
 */
export function compareDistance(a: string, b: string, target: string): number {
  for (let i = 0; i < NODE_ID_BYTES; i++) {
    const t = target.charCodeAt(i);
    const d = (a.charCodeAt(i) ^ t) - (b.charCodeAt(i) ^ t);
    if (d !== 0) return d;
  }
  return 0;
}

/** Leading zero bits of `a XOR b` (binary-string ids): 160 when equal. */
export function commonPrefixBits(a: string, b: string): number {
  for (let i = 0; i < NODE_ID_BYTES; i++) {
    const x = a.charCodeAt(i) ^ b.charCodeAt(i);
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return NODE_ID_BITS;
}

/**
 * A random binary-string id sharing exactly the first `bits` bits with `own` and differing at
 * bit `bits` (or, when `exact` is false, sharing at least `bits` bits): a target inside one
 * bucket of our routing table, for refreshes.
 */
export function randomIdWithPrefix(own: string, bits: number, random: Random, exact: boolean): string {
  const r = random.bytes(NODE_ID_BYTES);
  const out = new Uint8Array(NODE_ID_BYTES);
  for (let i = 0; i < NODE_ID_BYTES; i++) {
    const o = own.charCodeAt(i);
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    out[i] = (o & mask) | (r[i]! & ~mask & 0xff);
  }
  if (exact && bits < NODE_ID_BITS) {
    const byte = bits >> 3;
    const bit = 0x80 >> (bits & 7);
    out[byte] = (out[byte]! & ~bit) | (~own.charCodeAt(byte) & bit);
  }
  let s = '';
  for (let i = 0; i < NODE_ID_BYTES; i++) s += String.fromCharCode(out[i]!);
  return s;
}

/** `b` if it is 20 bytes (a node id, an info-hash, an item target); else `DhtInvalidArgument`. */
export function checkId20(b: Uint8Array, what: string): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== NODE_ID_BYTES) {
    throw new DhtError(ErrorCode.DhtInvalidArgument, `${what} must be ${NODE_ID_BYTES} bytes`);
  }
  return b;
}

/**
 * The id a node starts with: `given`, else the id of its saved routing table when that conforms
 * to BEP 42 for `externalIp` (or no external IP is known), else a new one (BEP 42 for
 * `externalIp` when known). A copy; `DhtInvalidArgument` when `given` is not 20 bytes.
 */
export function chooseNodeId(
  given: Uint8Array | undefined,
  saved: Uint8Array | undefined,
  externalIp: string | undefined,
  random: Random,
): Uint8Array {
  let id = given;
  if (id === undefined && saved !== undefined) {
    if (externalIp === undefined || isValidNodeIdForIp(saved, externalIp)) id = saved;
  }
  id ??= generateNodeId(random, externalIp);
  if (id.length !== NODE_ID_BYTES) throw new DhtError(ErrorCode.DhtInvalidArgument, 'id must be 20 bytes');
  return id.slice();
}
