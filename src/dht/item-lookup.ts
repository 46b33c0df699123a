/**
 * The BEP 44 part of one `get` or `put` lookup: what is looked up, the best item the nodes
 * returned, the seq each node returned (for `cas`), the item to put, and why nodes refused it.
 *
 * Answers are trusted only after BEP 44's reader checks: an immutable value must hash to the
 * target; a mutable item's key and salt must hash to it and its signature must verify. The
 * highest valid seq wins. An answer failing a check is "forged" and changes nothing.
 */
import { bytesEqual } from '../shared/hash.js';
import { KrpcErrorCode } from './errors.js';
import { type DhtItem, type DhtItemQuery, itemMatchesTarget, queryTarget } from './item.js';
import type { KrpcItemFields } from './krpc-item.js';
import type { DhtPutRefusals } from './node-types.js';

/** State of one item lookup (see the module docs). */
export class ItemLookup {
  readonly query: DhtItemQuery;
  readonly target: Uint8Array;
  /** The best valid item answered so far (highest seq). */
  best: DhtItem | undefined;
  /** Put lookups: the item to put (once known) and its `cas`. */
  putItem: DhtItem | undefined;
  putCas: bigint | undefined;
  readonly #refusals = { casMismatch: 0, seqTooLow: 0, other: 0 };
  /** The seq each node (by address) returned with a valid item. */
  readonly #seqs = new Map<string, bigint>();

  constructor(query: DhtItemQuery) {
    this.query = query;
    this.target = queryTarget(query);
  }

  /** Refusals of our `put`, by reason. */
  get refusals(): DhtPutRefusals {
    return { ...this.#refusals };
  }

  /**
   * Takes the item fields of the answer from `addr`: `none` when it carried no value, `forged`
   * when the value fails the reader checks, else `valid` (and it becomes the best when newer).
   */
  onAnswer(addr: string, r: KrpcItemFields): 'none' | 'valid' | 'forged' {
    if (r.v === undefined) return 'none';
    const q = this.query;
    let item: DhtItem;
    if (q.type === 'immutable') item = { type: 'immutable', value: r.v };
    else {
      if (r.k === undefined || r.seq === undefined || r.sig === undefined) return 'forged';
      item = { type: 'mutable', value: r.v, publicKey: r.k, salt: q.salt, seq: r.seq, signature: r.sig };
    }
    const best = this.best;
    // The same item as the best one needs no second signature check.
    if (!sameItem(item, best) && !itemMatchesTarget(item, this.target)) return 'forged';
    if (item.type === 'mutable') this.#seqs.set(addr, item.seq);
    if (best === undefined || (item.type === 'mutable' && best.type === 'mutable' && item.seq > best.seq)) {
      this.best = item;
    }
    return 'valid';
  }

  /**
   * The `cas` to send to `addr`: only to a node that returned an item for our `get` (BEP 44: "When
   * sending a put request to a node that did not return any data for the get, the cas field
   * SHOULD NOT be included"). A node holding another seq than `cas` answers 301.
   */
  casFor(addr: string): bigint | undefined {
    return this.putCas !== undefined && this.#seqs.has(addr) ? this.putCas : undefined;
  }

  /** Counts a KRPC error answering our `put`. */
  refused(code: number): void {
    if (code === KrpcErrorCode.CasMismatch) this.#refusals.casMismatch++;
    else if (code === KrpcErrorCode.SeqTooLow) this.#refusals.seqTooLow++;
    else this.#refusals.other++;
  }
}

function sameItem(a: DhtItem, b: DhtItem | undefined): boolean {
  if (b === undefined || a.type !== b.type || !bytesEqual(a.value, b.value)) return false;
  if (a.type === 'immutable' || b.type !== 'mutable') return a.type === 'immutable';
  return a.seq === b.seq && bytesEqual(a.signature, b.signature) && bytesEqual(a.publicKey, b.publicKey);
}
