/**
 * BEP 44 items: what the DHT stores besides peers. An immutable item is a bencoded value stored
 * under its SHA-1; a mutable item is a bencoded value signed by an ed25519 key, stored under
 * SHA-1(public key ‖ salt), and replaced only by a higher sequence number.
 *
 * What a signature covers (BEP 44 §Signature Verification), the value as its verbatim bencoded
 * bytes, the salt part only when the salt is not empty:
 *
 *   [ "4:salt" len(salt) ":" salt ] "3:seqi" seq "e1:v" bencoded-value
 *
 * Values are kept as their bencoded bytes everywhere ({@link DhtItem.value}): a signature and a
 * target are over the bytes as they appeared on the wire, and decoding then re-encoding is not
 * always the identity.
 */
import { decodeWithInfo } from '../codec/index.js';
import { ErrorCode } from '../shared/errors.js';
import { bytesEqual, sha1 } from '../shared/hash.js';
import {
  MAX_DHT_ITEM_SALT_BYTES,
  MAX_DHT_ITEM_VALUE_BYTES,
  MAX_DHT_ITEM_VALUE_DEPTH,
} from '../shared/limits.js';
import {
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SIGNATURE_BYTES,
  type Ed25519KeyPair,
  ed25519Sign,
  ed25519Verify,
} from './ed25519.js';
import { DhtError } from './errors.js';

/** Largest sequence number (BEP 44: "SHOULD not exceed MAX_INT64"); negative ones are refused too. */
export const DHT_ITEM_MAX_SEQ = 0x7fff_ffff_ffff_ffffn;

/** An immutable item (BEP 44 §Immutable Items): stored under SHA-1 of its value. */
export interface ImmutableItem {
  readonly type: 'immutable';
  /** The value's bencoded bytes (at most `MAX_DHT_ITEM_VALUE_BYTES`). */
  readonly value: Uint8Array;
}

/** A mutable item (BEP 44 §Mutable Items): signed, stored under SHA-1(publicKey ‖ salt). */
export interface MutableItem {
  readonly type: 'mutable';
  /** The value's bencoded bytes (at most `MAX_DHT_ITEM_VALUE_BYTES`). */
  readonly value: Uint8Array;
  /** The ed25519 public key `k` (32 bytes). */
  readonly publicKey: Uint8Array;
  /** The salt (0 to `MAX_DHT_ITEM_SALT_BYTES` bytes; empty means none). */
  readonly salt: Uint8Array;
  /** The sequence number, 0 to {@link DHT_ITEM_MAX_SEQ}. */
  readonly seq: bigint;
  /** The ed25519 signature `sig` (64 bytes) of {@link signatureBuffer}. */
  readonly signature: Uint8Array;
}

/** A BEP 44 item. */
export type DhtItem = ImmutableItem | MutableItem;

/** What a reader asks for: an immutable item by target, or a mutable one by key and salt. */
export type DhtItemQuery =
  | { readonly type: 'immutable'; readonly target: Uint8Array }
  | { readonly type: 'mutable'; readonly publicKey: Uint8Array; readonly salt: Uint8Array };

/** Target of an immutable item: SHA-1 of the bencoded value (BEP 44). */
export function immutableTarget(value: Uint8Array): Uint8Array {
  return sha1(value);
}

/** Target of a mutable item: SHA-1 of the public key followed by the salt (BEP 44). */
export function mutableTarget(publicKey: Uint8Array, salt: Uint8Array = new Uint8Array(0)): Uint8Array {
  const buf = new Uint8Array(publicKey.length + salt.length);
  buf.set(publicKey);
  buf.set(salt, publicKey.length);
  return sha1(buf);
}

/** The 20-byte target an item is stored under. */
export function itemTarget(item: DhtItem): Uint8Array {
  return item.type === 'immutable' ? immutableTarget(item.value) : mutableTarget(item.publicKey, item.salt);
}

/** The 20-byte target a query looks up. */
export function queryTarget(q: DhtItemQuery): Uint8Array {
  return q.type === 'immutable' ? q.target : mutableTarget(q.publicKey, q.salt);
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** The bytes a mutable item's signature covers (see the module docs). */
export function signatureBuffer(salt: Uint8Array, seq: bigint, value: Uint8Array): Uint8Array {
  const seqPart = ascii(`3:seqi${seq}e1:v`);
  const parts = salt.length === 0 ? [seqPart, value] : [ascii(`4:salt${salt.length}:`), salt, seqPart, value];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** True when a mutable item's signature is its key's signature of its value, seq and salt. */
export function verifyMutableItem(item: MutableItem): boolean {
  return ed25519Verify(item.publicKey, signatureBuffer(item.salt, item.seq, item.value), item.signature);
}

/**
 * Why `value` is not an item value (one bencoded value, at most `MAX_DHT_ITEM_VALUE_BYTES`, nested
 * at most `MAX_DHT_ITEM_VALUE_DEPTH` deep), or undefined when it is.
 */
export function itemValueProblem(value: Uint8Array): string | undefined {
  if (value.length > MAX_DHT_ITEM_VALUE_BYTES) {
    return `value of ${value.length} bytes exceeds ${MAX_DHT_ITEM_VALUE_BYTES}`;
  }
  try {
    decodeWithInfo(value, { mode: 'lenient', maxDepth: MAX_DHT_ITEM_VALUE_DEPTH });
    return undefined;
  } catch (e) {
    return `value is not one bencoded value: ${(e as Error).message}`;
  }
}

/** A valid sequence number as a bigint, or undefined. */
export function toSeq(seq: number | bigint): bigint | undefined {
  if (typeof seq === 'number' && !Number.isSafeInteger(seq)) return undefined;
  const s = BigInt(seq);
  return s >= 0n && s <= DHT_ITEM_MAX_SEQ ? s : undefined;
}

function invalid(message: string): DhtError {
  return new DhtError(ErrorCode.DhtItemInvalid, message);
}

/**
 * Signs a mutable item: `value` (bencoded bytes), `seq` and `salt` with `keyPair`. Throws
 * `DhtItemInvalid` for a value, salt or seq outside BEP 44's bounds.
 */
export function signMutableItem(
  keyPair: Ed25519KeyPair,
  value: Uint8Array,
  seq: number | bigint,
  salt: Uint8Array = new Uint8Array(0),
): MutableItem {
  const s = toSeq(seq);
  if (s === undefined) throw invalid(`seq ${seq} is not in 0..${DHT_ITEM_MAX_SEQ}`);
  const item: MutableItem = {
    type: 'mutable',
    value: value.slice(),
    publicKey: keyPair.publicKey.slice(),
    salt: salt.slice(),
    seq: s,
    signature: new Uint8Array(ED25519_SIGNATURE_BYTES),
  };
  checkItem(item, false);
  return { ...item, signature: ed25519Sign(keyPair.seed, signatureBuffer(item.salt, s, item.value)) };
}

/**
 * Checks an item against BEP 44 before it is sent or stored: value, salt, key and signature
 * sizes, seq range and (unless `verifySignature` is false) the signature itself. Throws
 * `DhtItemInvalid` naming the first problem.
 */
export function checkItem(item: DhtItem, verifySignature = true): void {
  const why = itemValueProblem(item.value);
  if (why !== undefined) throw invalid(why);
  if (item.type === 'immutable') return;
  if (item.publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw invalid(`public key of ${item.publicKey.length} bytes, not ${ED25519_PUBLIC_KEY_BYTES}`);
  }
  if (item.salt.length > MAX_DHT_ITEM_SALT_BYTES) {
    throw invalid(`salt of ${item.salt.length} bytes exceeds ${MAX_DHT_ITEM_SALT_BYTES}`);
  }
  if (toSeq(item.seq) === undefined) throw invalid(`seq ${item.seq} is not in 0..${DHT_ITEM_MAX_SEQ}`);
  if (item.signature.length !== ED25519_SIGNATURE_BYTES) {
    throw invalid(`signature of ${item.signature.length} bytes, not ${ED25519_SIGNATURE_BYTES}`);
  }
  if (verifySignature && !verifyMutableItem(item)) throw invalid('the signature does not verify');
}

/**
 * True when `item` is a valid answer to a lookup for `target` (BEP 44: readers MUST check that
 * the key hashes to the target and that the signature verifies; immutable values must hash to it).
 */
export function itemMatchesTarget(item: DhtItem, target: Uint8Array): boolean {
  if (!bytesEqual(itemTarget(item), target)) return false;
  return item.type === 'immutable' || verifyMutableItem(item);
}
