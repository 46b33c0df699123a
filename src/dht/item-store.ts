/**
 * The BEP 44 items a node stores for others: immutable values and signed mutable values, by
 * target, with expiry.
 *
 * DEV DOCS
 * - Owns: the items by target (binary string), their expiry times and sizes, and a per-IP rate
 *   limiter for `put`s (a put may cost an ed25519 verification).
 * - Driven by: the DhtNode's query responder (`get` reads, `put` writes after the token check) and
 *   its maintenance (`purge`). Pure: time is passed in.
 * - Bounds: `MAX_DHT_ITEMS` items and `MAX_DHT_ITEM_STORE_BYTES` bytes. When full, the items
 *   farthest from our node id make room for a closer one (a Kademlia node is responsible for what
 *   is near it); an item no closer than every stored one is refused. Items expire
 *   `DHT_ITEM_TTL_MS` after their last put (BEP 44: 2 hours).
 * - A refused put says why with BEP 44's codes: 202 rate limited or full, 203 malformed, 205 value
 *   too big, 206 invalid signature, 207 salt too big, 301 `cas` mismatch, 302 sequence number not
 *   newer. A refusal never changes what is stored.
 * - Mutable rules (BEP 44 §Mutable Items): `cas`, when given and an item is stored, must equal the
 *   stored seq; a lower seq is refused; an equal seq is accepted only with the same value (then it
 *   refreshes the expiry); the signature is verified before anything is stored.
 */
import { ErrorCode } from '../shared/errors.js';
import { bytesEqual } from '../shared/hash.js';
import {
  DHT_ITEM_TTL_MS,
  DHT_PUT_BURST_GLOBAL,
  DHT_PUT_BURST_PER_IP,
  DHT_PUT_RATE_GLOBAL,
  DHT_PUT_RATE_PER_IP,
  MAX_DHT_ITEM_SALT_BYTES,
  MAX_DHT_ITEM_STORE_BYTES,
  MAX_DHT_ITEM_VALUE_BYTES,
  MAX_DHT_ITEMS,
} from '../shared/limits.js';
import { bytesToBinary } from './address.js';
import { NODE_ID_BYTES } from './constants.js';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from './ed25519.js';
import { DhtError, KrpcErrorCode } from './errors.js';
import { type DhtItem, itemTarget, itemValueProblem, toSeq, verifyMutableItem } from './item.js';
import { compareDistance } from './node-id.js';
import { RateLimiter } from './rate-limiter.js';

/** Bytes an item is charged for besides its value, key, salt and signature (target, seq, expiry). */
const ITEM_OVERHEAD_BYTES = 40;

/** Tunables of an item store; every field has a default. */
export interface ItemStoreInit {
  /** An item not put again for this long is forgotten, in ms. @default DHT_ITEM_TTL_MS */
  readonly ttlMs?: number;
  /** @default MAX_DHT_ITEMS */
  readonly maxItems?: number;
  /** @default MAX_DHT_ITEM_STORE_BYTES */
  readonly maxBytes?: number;
  /** Sustained puts per second per source IP. @default DHT_PUT_RATE_PER_IP */
  readonly putRatePerIp?: number;
  /** Burst of puts per source IP. @default DHT_PUT_BURST_PER_IP */
  readonly putBurstPerIp?: number;
  /** Sustained puts per second over all sources. @default DHT_PUT_RATE_GLOBAL */
  readonly putRateGlobal?: number;
  /** Burst of puts over all sources. @default DHT_PUT_BURST_GLOBAL */
  readonly putBurstGlobal?: number;
}

/** What became of a `put`. */
export type ItemPutResult =
  | {
      readonly ok: true;
      /** `new` target, `updated` to a higher seq, or `refreshed` (same item again: new expiry). */
      readonly stored: 'new' | 'updated' | 'refreshed';
    }
  | { readonly ok: false; readonly code: KrpcErrorCode; readonly reason: string };

interface Stored {
  readonly key: string;
  readonly item: DhtItem;
  readonly bytes: number;
  expires: number;
}

function refuse(code: KrpcErrorCode, reason: string): ItemPutResult {
  return { ok: false, code, reason };
}

/** Bytes an item is charged for in the store. */
export function itemStoreBytes(item: DhtItem): number {
  const own =
    item.type === 'immutable' ? 0 : item.publicKey.length + item.salt.length + item.signature.length;
  return item.value.length + own + ITEM_OVERHEAD_BYTES;
}

/** The items a node stores for others (see the module docs). */
export class ItemStore {
  readonly #ownKey: string;
  readonly #ttlMs: number;
  readonly #maxItems: number;
  readonly #maxBytes: number;
  readonly #limiter: RateLimiter;
  readonly #items = new Map<string, Stored>();
  #bytes = 0;
  #refused = 0;

  /** `ownId`: our node id (20 bytes), to decide which items are ours to keep when full. */
  constructor(ownId: Uint8Array, init: ItemStoreInit, now: number) {
    if (ownId.length !== NODE_ID_BYTES)
      throw new DhtError(ErrorCode.DhtInvalidArgument, 'ownId must be 20 bytes');
    this.#ownKey = bytesToBinary(ownId);
    this.#ttlMs = init.ttlMs ?? DHT_ITEM_TTL_MS;
    this.#maxItems = init.maxItems ?? MAX_DHT_ITEMS;
    this.#maxBytes = init.maxBytes ?? MAX_DHT_ITEM_STORE_BYTES;
    this.#limiter = new RateLimiter(
      {
        ratePerSec: init.putRatePerIp ?? DHT_PUT_RATE_PER_IP,
        burst: init.putBurstPerIp ?? DHT_PUT_BURST_PER_IP,
        globalRatePerSec: init.putRateGlobal ?? DHT_PUT_RATE_GLOBAL,
        globalBurst: init.putBurstGlobal ?? DHT_PUT_BURST_GLOBAL,
      },
      now,
    );
  }

  /** Items stored (expired ones included until the next `purge` or read). */
  get size(): number {
    return this.#items.size;
  }

  /** Bytes charged for the stored items (see {@link itemStoreBytes}). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Puts refused since the store was made, for any reason. */
  get refused(): number {
    return this.#refused;
  }

  /** The live item stored under `target` (20 bytes), if any. */
  get(target: Uint8Array, now: number): DhtItem | undefined {
    const key = bytesToBinary(target);
    const s = this.#items.get(key);
    if (s === undefined) return undefined;
    if (s.expires <= now) {
      this.#delete(s);
      return undefined;
    }
    return s.item;
  }

  /**
   * Stores `item` put by the node at `sourceIp` (its IP as a binary string), after the token was
   * checked. `cas` is the put's compare-and-swap seq (mutable items only).
   */
  put(item: DhtItem, cas: bigint | undefined, sourceIp: string, now: number): ItemPutResult {
    const r = this.#put(item, cas, sourceIp, now);
    if (!r.ok) this.#refused++;
    return r;
  }

  #put(item: DhtItem, cas: bigint | undefined, sourceIp: string, now: number): ItemPutResult {
    if (!this.#limiter.allow(sourceIp, now)) return refuse(KrpcErrorCode.Server, 'too many puts');
    if (item.value.length > MAX_DHT_ITEM_VALUE_BYTES) {
      return refuse(
        KrpcErrorCode.MessageTooBig,
        `value of ${item.value.length} bytes exceeds ${MAX_DHT_ITEM_VALUE_BYTES}`,
      );
    }
    const why = itemValueProblem(item.value);
    if (why !== undefined) return refuse(KrpcErrorCode.Protocol, why);
    const key = bytesToBinary(itemTarget(item));
    const old = this.#items.get(key);
    const current = old !== undefined && old.expires > now ? old : undefined;
    if (item.type === 'mutable') {
      if (item.salt.length > MAX_DHT_ITEM_SALT_BYTES) {
        return refuse(
          KrpcErrorCode.SaltTooBig,
          `salt of ${item.salt.length} bytes exceeds ${MAX_DHT_ITEM_SALT_BYTES}`,
        );
      }
      if (
        item.publicKey.length !== ED25519_PUBLIC_KEY_BYTES ||
        item.signature.length !== ED25519_SIGNATURE_BYTES
      ) {
        return refuse(KrpcErrorCode.Protocol, 'key or signature of the wrong length');
      }
      if (toSeq(item.seq) === undefined) return refuse(KrpcErrorCode.Protocol, 'seq out of range');
      // The cheap checks against what is stored come before the signature's cost.
      if (current?.item.type === 'mutable') {
        const seq = current.item.seq;
        if (cas !== undefined && cas !== seq)
          return refuse(KrpcErrorCode.CasMismatch, `cas ${cas} but seq ${seq}`);
        if (item.seq < seq) return refuse(KrpcErrorCode.SeqTooLow, `seq ${item.seq} is less than ${seq}`);
        if (item.seq === seq && !bytesEqual(item.value, current.item.value)) {
          return refuse(KrpcErrorCode.SeqTooLow, `seq ${item.seq} is not greater than ${seq}`);
        }
      }
      if (!verifyMutableItem(item)) return refuse(KrpcErrorCode.InvalidSignature, 'invalid signature');
      if (current?.item.type === 'mutable' && item.seq === current.item.seq) {
        current.expires = now + this.#ttlMs;
        return { ok: true, stored: 'refreshed' };
      }
    } else if (current !== undefined) {
      current.expires = now + this.#ttlMs;
      return { ok: true, stored: 'refreshed' };
    }
    const copy: DhtItem =
      item.type === 'immutable'
        ? { type: 'immutable', value: item.value.slice() }
        : {
            type: 'mutable',
            value: item.value.slice(),
            publicKey: item.publicKey.slice(),
            salt: item.salt.slice(),
            seq: item.seq,
            signature: item.signature.slice(),
          };
    const entry: Stored = { key, item: copy, bytes: itemStoreBytes(copy), expires: now + this.#ttlMs };
    // The item it replaces frees its room first, and comes back if the new one does not fit.
    if (old !== undefined) this.#delete(old);
    if (!this.#makeRoom(entry, now)) {
      if (current !== undefined) this.#insert(current);
      return refuse(KrpcErrorCode.Server, 'item store full');
    }
    this.#insert(entry);
    return { ok: true, stored: current === undefined ? 'new' : 'updated' };
  }

  /** Makes room for `entry`, evicting the items farther from us than it; false when it cannot. */
  #makeRoom(entry: Stored, now: number): boolean {
    const fits = () => this.#items.size < this.#maxItems && this.#bytes + entry.bytes <= this.#maxBytes;
    if (fits()) return true;
    if (entry.bytes > this.#maxBytes) return false;
    this.purge(now);
    while (!fits()) {
      let far: Stored | undefined;
      for (const s of this.#items.values()) {
        if (far === undefined || compareDistance(s.key, far.key, this.#ownKey) > 0) far = s;
      }
      if (far === undefined || compareDistance(far.key, entry.key, this.#ownKey) <= 0) return false;
      this.#delete(far);
    }
    return true;
  }

  #insert(s: Stored): void {
    this.#items.set(s.key, s);
    this.#bytes += s.bytes;
  }

  #delete(s: Stored): void {
    if (this.#items.get(s.key) !== s) return;
    this.#items.delete(s.key);
    this.#bytes -= s.bytes;
  }

  /** Forgets expired items and idle rate-limit entries. */
  purge(now: number): void {
    for (const s of this.#items.values()) if (s.expires <= now) this.#delete(s);
    this.#limiter.purge(now);
  }
}
