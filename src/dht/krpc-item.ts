/**
 * The BEP 44 parts of KRPC: the arguments of `get` and `put` queries and the item fields of a
 * `get` response. krpc.ts calls these; they share its error convention (a {@link DhtError}
 * `DhtBadMessage` whose `details.reply` carries the KRPC error to answer with).
 *
 * Grammar (values verbatim: `v` is kept as the bencoded bytes that were sent):
 *
 *   get arguments  := { id, target: bytes[20], seq?: int }
 *   put arguments  := { id, token, v: any }                                          -- immutable
 *                   | { id, token, v: any, k: bytes[32], seq: int, sig: bytes[64],
 *                       salt?: bytes[0..64], cas?: int }                              -- mutable
 *   get response   += { k?: bytes[32], seq?: int, sig?: bytes[64], v?: any }
 *
 * Bounds of a `put` map to BEP 44's error codes: `v` over `MAX_DHT_ITEM_VALUE_BYTES` → 205, `salt`
 * over `MAX_DHT_ITEM_SALT_BYTES` → 207, anything else malformed → 203. Sequence numbers and `cas`
 * are 0 to 2^63 − 1. The signature is not checked here: the item store does that.
 *
 * A response's item fields are read leniently: a field of the wrong shape is dropped (the lookup
 * then sees no item from that node) while the rest of the reply, its nodes and token, stays usable.
 */
import { type BencodeDict, BencodeRaw, type BencodeValue, type Encodable } from '../codec/index.js';
import { ErrorCode } from '../shared/errors.js';
import { MAX_DHT_ITEM_SALT_BYTES, MAX_DHT_ITEM_VALUE_BYTES, MAX_KRPC_TOKEN_BYTES } from '../shared/limits.js';
import { NODE_ID_BYTES } from './constants.js';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from './ed25519.js';
import { DhtError, KrpcErrorCode } from './errors.js';
import { type DhtItem, toSeq } from './item.js';

const EMPTY = new Uint8Array(0);

/** Arguments of a `get` query (BEP 44). */
export interface KrpcGetArgs {
  readonly target: Uint8Array;
  /** Only a mutable item with a higher seq is wanted. */
  readonly seq?: bigint;
}

/** Arguments of a `put` query (BEP 44): the item (signature unchecked), the token, and `cas`. */
export interface KrpcPutArgs {
  readonly token: Uint8Array;
  readonly item: DhtItem;
  /** Mutable puts: the seq the writer expects to replace. */
  readonly cas?: bigint;
}

/** The item fields of a `get` response, each present only when well formed. */
export interface KrpcItemFields {
  /** The value's bencoded bytes, verbatim. */
  readonly v?: Uint8Array;
  readonly k?: Uint8Array;
  readonly seq?: bigint;
  readonly sig?: Uint8Array;
}

type Reply = { readonly t: Uint8Array; readonly code: KrpcErrorCode };

function bad(reason: string, t: Uint8Array, code: KrpcErrorCode = KrpcErrorCode.Protocol): DhtError {
  return new DhtError(ErrorCode.DhtBadMessage, reason, { t, code } satisfies Reply);
}

function bytesOf(v: BencodeValue | undefined): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

/** A seq or cas: an integer in 0..2^63−1 (the codec gives number or bigint), else undefined. */
function seqOf(v: BencodeValue | undefined): bigint | undefined {
  return typeof v === 'number' || typeof v === 'bigint' ? toSeq(v) : undefined;
}

/** Decodes the arguments of a `get` query. */
export function decodeGetArgs(a: BencodeDict, t: Uint8Array): KrpcGetArgs {
  const target = bytesOf(a.get('target'));
  if (target?.length !== NODE_ID_BYTES) throw bad('get without a 20-byte "target"', t);
  const seqV = a.get('seq');
  if (seqV === undefined) return { target: target.slice() };
  const seq = seqOf(seqV);
  if (seq === undefined) throw bad('get with a "seq" that is not in 0..2^63-1', t);
  return { target: target.slice(), seq };
}

/** Decodes the arguments of a `put` query (see the module docs for the error codes). */
export function decodePutArgs(a: BencodeDict, t: Uint8Array): KrpcPutArgs {
  const token = bytesOf(a.get('token'));
  if (token === undefined || token.length > MAX_KRPC_TOKEN_BYTES) throw bad('put without a valid "token"', t);
  const raw = a.raw('v');
  if (raw === undefined) throw bad('put without a value "v"', t);
  if (raw.length > MAX_DHT_ITEM_VALUE_BYTES) {
    throw bad(
      `put value of ${raw.length} bytes exceeds ${MAX_DHT_ITEM_VALUE_BYTES}`,
      t,
      KrpcErrorCode.MessageTooBig,
    );
  }
  // Plain copies: the datagram may be a Buffer, and items outlive it.
  const value = new Uint8Array(raw);
  const kV = a.get('k');
  if (kV === undefined) return { token: token.slice(), item: { type: 'immutable', value } };
  const k = bytesOf(kV);
  if (k?.length !== ED25519_PUBLIC_KEY_BYTES)
    throw bad(`put with a "k" that is not ${ED25519_PUBLIC_KEY_BYTES} bytes`, t);
  const saltV = a.get('salt');
  const salt = saltV === undefined ? EMPTY : bytesOf(saltV);
  if (salt === undefined) throw bad('put with a "salt" that is not a string', t);
  if (salt.length > MAX_DHT_ITEM_SALT_BYTES) {
    throw bad(
      `put salt of ${salt.length} bytes exceeds ${MAX_DHT_ITEM_SALT_BYTES}`,
      t,
      KrpcErrorCode.SaltTooBig,
    );
  }
  const seq = seqOf(a.get('seq'));
  if (seq === undefined) throw bad('mutable put without a "seq" in 0..2^63-1', t);
  const sig = bytesOf(a.get('sig'));
  if (sig?.length !== ED25519_SIGNATURE_BYTES) {
    throw bad(`mutable put without a ${ED25519_SIGNATURE_BYTES}-byte "sig"`, t);
  }
  const item: DhtItem = {
    type: 'mutable',
    value,
    publicKey: new Uint8Array(k),
    salt: new Uint8Array(salt),
    seq,
    signature: new Uint8Array(sig),
  };
  const casV = a.get('cas');
  if (casV === undefined) return { token: token.slice(), item };
  const cas = seqOf(casV);
  if (cas === undefined) throw bad('put with a "cas" that is not in 0..2^63-1', t);
  return { token: token.slice(), item, cas };
}

/** Reads the item fields of a `get` response (leniently, see the module docs). */
export function decodeItemFields(r: BencodeDict): KrpcItemFields {
  const out: { -readonly [K in keyof KrpcItemFields]: KrpcItemFields[K] } = {};
  const v = r.raw('v');
  // Plain copies: the datagram may be a Buffer, and items outlive it.
  if (v !== undefined && v.length <= MAX_DHT_ITEM_VALUE_BYTES) out.v = new Uint8Array(v);
  const k = bytesOf(r.get('k'));
  if (k?.length === ED25519_PUBLIC_KEY_BYTES) out.k = new Uint8Array(k);
  const seq = seqOf(r.get('seq'));
  if (seq !== undefined) out.seq = seq;
  const sig = bytesOf(r.get('sig'));
  if (sig?.length === ED25519_SIGNATURE_BYTES) out.sig = new Uint8Array(sig);
  return out;
}

/** Whether a decoded dictionary might carry item fields (a cheap test before the lookups above). */
export function hasItemFields(r: BencodeDict): boolean {
  for (const e of r.entries) {
    const key = e.key;
    // 'k', 'v', 'seq', 'sig': the only keys of a get response starting with k, v or s.
    if (key.length > 0 && (key[0] === 0x6b || key[0] === 0x76 || key[0] === 0x73)) return true;
  }
  return false;
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const K = {
  cas: ascii('cas'),
  k: ascii('k'),
  salt: ascii('salt'),
  seq: ascii('seq'),
  sig: ascii('sig'),
  v: ascii('v'),
};

/** Adds the `put` arguments of `item` (and `cas`) to the argument dictionary `a`, for the encoder. */
export function setPutArgs(a: Map<Uint8Array, Encodable>, item: DhtItem, cas: bigint | undefined): void {
  a.set(K.v, new BencodeRaw(item.value));
  if (item.type === 'immutable') return;
  a.set(K.k, item.publicKey);
  a.set(K.seq, item.seq);
  a.set(K.sig, item.signature);
  // BEP 44: an empty salt is the same as none, and is not sent.
  if (item.salt.length > 0) a.set(K.salt, item.salt);
  if (cas !== undefined) a.set(K.cas, cas);
}

/** Adds the item fields of a `get` response to the result dictionary `r`, for the encoder. */
export function setItemFields(r: Map<Uint8Array, Encodable>, f: KrpcItemFields): void {
  if (f.v !== undefined) r.set(K.v, new BencodeRaw(f.v));
  if (f.k !== undefined) r.set(K.k, f.k);
  if (f.seq !== undefined) r.set(K.seq, f.seq);
  if (f.sig !== undefined) r.set(K.sig, f.sig);
}
