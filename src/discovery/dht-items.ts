/**
 * BEP 44 operations of a DHT runtime: `get` and `put` of items, run on every address family at
 * once (src/discovery/dht-runtime.ts calls these with its running families).
 *
 * DEV DOCS
 * - A get runs one `getItem` lookup per family and keeps the best item: an immutable one (the node
 *   already checked that it hashes to the target), else the mutable one with the highest seq (the
 *   node already checked its key and signature).
 * - A put runs one `putItem` lookup per family. A ready item (immutable, already signed, or signed
 *   here from a key, value and seq) goes with the lookup. A read-modify-write put (`update`) lets
 *   every family's lookup stop at `put:ready`, hands the best current item to `update`, signs the
 *   result as seq + 1 with `cas` = the current seq, and completes every family's put with it.
 * - Every operation takes an `AbortSignal`; aborting, closing the runtime or a throwing `update`
 *   cancels the lookups. Nothing is put again later: keeping items alive is the caller's business
 *   (BEP 44: re-put about once an hour; items may expire after 2 hours).
 */
import { randomBytes } from 'node:crypto';
import { type BencodeValue, decode, encode } from '../codec/index.js';
import {
  checkItem,
  DhtError,
  type DhtItem,
  type DhtItemQuery,
  type DhtLookupFinishedEvent,
  type Ed25519KeyPair,
  ed25519KeyPair,
  immutableTarget,
  itemTarget,
  type MutableItem,
  signMutableItem,
  toSeq,
} from '../dht/index.js';
import { ErrorCode } from '../shared/errors.js';
import { MAX_DHT_ITEM_SALT_BYTES, MAX_DHT_ITEM_VALUE_DEPTH } from '../shared/limits.js';
import type { DhtFamily } from './dht-family.js';
import { runOnFamilies } from './dht-lookups.js';
import type { DhtGetResult, DhtGetTarget, DhtItemCurrent, DhtPutRequest, DhtPutResult } from './dht-types.js';

const EMPTY = new Uint8Array(0);

/**
 * An ed25519 key pair for mutable items (BEP 44): from `seed` (32 bytes) when given, else from 32
 * fresh random bytes. Keep `seed` secret; publish `publicKey` (e.g. in a BEP 46 magnet link).
 */
export function createDhtKeyPair(seed?: Uint8Array): Ed25519KeyPair {
  return ed25519KeyPair(seed ?? new Uint8Array(randomBytes(32)));
}

function invalid(message: string): DhtError {
  return new DhtError(ErrorCode.DhtInvalidArgument, message);
}

/** The item query for a `get` target (see {@link DhtGetTarget}). */
export function itemQueryOf(target: DhtGetTarget): DhtItemQuery {
  if (target instanceof Uint8Array) {
    if (target.length !== 20) throw invalid('an immutable item target is 20 bytes (SHA-1 of the value)');
    return { type: 'immutable', target };
  }
  const salt = target.salt ?? EMPTY;
  if (!(target.publicKey instanceof Uint8Array) || target.publicKey.length !== 32) {
    throw invalid('a mutable item public key is 32 bytes');
  }
  if (salt.length > MAX_DHT_ITEM_SALT_BYTES)
    throw invalid(`a salt is at most ${MAX_DHT_ITEM_SALT_BYTES} bytes`);
  return { type: 'mutable', publicKey: target.publicKey, salt };
}

function decodeValue(value: Uint8Array): BencodeValue {
  return decode(value, { mode: 'lenient', maxDepth: MAX_DHT_ITEM_VALUE_DEPTH });
}

/** Runs a BEP 44 get on `families` (see the module docs); undefined when no node had the item. */
export async function runItemGet(
  families: readonly DhtFamily[],
  query: DhtItemQuery,
  signal: AbortSignal | undefined,
): Promise<DhtGetResult | undefined> {
  const done = await runOnFamilies(families, (f, now) => f.node.getItem(query, now), signal);
  let best: DhtItem | undefined;
  for (const e of done) {
    const item = e.item;
    if (item === undefined) continue;
    if (best === undefined || (item.type === 'mutable' && best.type === 'mutable' && item.seq > best.seq)) {
      best = item;
    }
  }
  if (best === undefined) return undefined;
  return {
    target: itemTarget(best),
    item: best,
    value: decodeValue(best.value),
    queries: done.reduce((n, e) => n + e.queries, 0),
    responses: done.reduce((n, e) => n + e.responses, 0),
  };
}

/** The item a put request names, signed when it carries a key (see {@link DhtPutRequest}). */
function readyItem(req: Exclude<DhtPutRequest, { update: unknown }>): DhtItem {
  if ('item' in req) {
    checkItem(req.item);
    return req.item;
  }
  const value = encode(req.value);
  if (!('keyPair' in req)) {
    const item: DhtItem = { type: 'immutable', value };
    checkItem(item);
    return item;
  }
  return signMutableItem(req.keyPair, value, req.seq, req.salt ?? EMPTY);
}

function queryOfItem(item: DhtItem): DhtItemQuery {
  return item.type === 'immutable'
    ? { type: 'immutable', target: immutableTarget(item.value) }
    : { type: 'mutable', publicKey: item.publicKey, salt: item.salt };
}

function summary(item: DhtItem, done: readonly DhtLookupFinishedEvent[]): DhtPutResult {
  const refused = { casMismatch: 0, seqTooLow: 0, other: 0 };
  for (const e of done) {
    refused.casMismatch += e.putRefusals?.casMismatch ?? 0;
    refused.seqTooLow += e.putRefusals?.seqTooLow ?? 0;
    refused.other += e.putRefusals?.other ?? 0;
  }
  return {
    target: itemTarget(item),
    item,
    storedTo: done.reduce((n, e) => n + e.announcedTo, 0),
    refused,
    queries: done.reduce((n, e) => n + e.queries, 0),
  };
}

/** Runs a BEP 44 put on `families` (see the module docs). */
export async function runItemPut(
  families: readonly DhtFamily[],
  req: DhtPutRequest,
  signal: AbortSignal | undefined,
): Promise<DhtPutResult> {
  if (!('update' in req)) {
    const item = readyItem(req);
    let cas: bigint | undefined;
    if ('cas' in req && req.cas !== undefined) {
      cas = toSeq(req.cas);
      if (cas === undefined) throw invalid(`cas ${req.cas} is not a sequence number`);
    }
    const opts = cas === undefined ? { item } : { item, cas };
    const done = await runOnFamilies(
      families,
      (f, now) => f.node.putItem(queryOfItem(item), now, opts),
      signal,
    );
    return summary(item, done);
  }
  const salt = req.salt ?? EMPTY;
  const query = itemQueryOf({ publicKey: req.keyPair.publicKey, salt });
  let put: MutableItem | undefined;
  const done = await runOnFamilies(families, (f, now) => f.node.putItem(query, now), signal, {
    onReady: (ready) => {
      let current: MutableItem | undefined;
      for (const r of ready) {
        const c = r.e.current;
        if (c?.type === 'mutable' && (current === undefined || c.seq > current.seq)) current = c;
      }
      const view: DhtItemCurrent | undefined =
        current === undefined
          ? undefined
          : { value: decodeValue(current.value), encoded: current.value, seq: current.seq };
      const item = signMutableItem(req.keyPair, encode(req.update(view)), (current?.seq ?? 0n) + 1n, salt);
      put = item;
      const now = performance.now();
      for (const r of ready) r.f.node.completePut(r.id, item, now, current?.seq);
      for (const r of ready) r.f.flush();
    },
  });
  return summary(put!, done);
}
