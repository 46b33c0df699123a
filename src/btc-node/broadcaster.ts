/**
 * Sending our own transactions the way the protocol expects: announce with `inv` (MSG_WTX by
 * wtxid to peers that sent `wtxidrelay`, MSG_TX by txid to the others), answer the `getdata` that
 * follows with the `tx`. A transaction stays pending, announced to every peer that connects,
 * until a block confirms it; at most {@link BTC_MAX_PENDING_BROADCASTS} are pending at once.
 *
 * Any other `getdata` (blocks, filtered blocks, unknown transactions) is answered `notfound`: a
 * light node serves nothing else.
 */
import {
  BtcError,
  bytesToHex,
  hashToHex,
  type InvItem,
  InvType,
  type Transaction,
  txid,
  wtxid,
} from '../bitcoin/index.js';
import { ErrorCode } from '../shared/errors.js';
import { BTC_MAX_PENDING_BROADCASTS } from '../shared/limits.js';
import type { BtcPeer } from './peer.js';

interface Pending {
  readonly tx: Transaction;
  readonly txid: Uint8Array;
  readonly wtxid: Uint8Array;
  /** Endpoints of the peers that fetched it. */
  readonly fetchedBy: Set<string>;
  readonly waiters: ((endpoint: string) => void)[];
}

/** See the module notes. */
export class Broadcaster {
  /** Pending transactions by txid and by wtxid (internal-order hex). */
  readonly #byHash = new Map<string, Pending>();
  readonly #pending = new Map<string, Pending>();

  /** Transactions pending (txids, display hex). */
  pending(): string[] {
    return [...this.#pending.values()].map((p) => hashToHex(p.txid));
  }

  /**
   * Starts announcing `tx` to `peers`; `onFetched` runs each time a peer fetches it. Returns the
   * txid (display hex). `BtcLimit` when too many are pending.
   */
  add(tx: Transaction, peers: readonly BtcPeer[]): { txid: string; fetched: Promise<string> } {
    const id = txid(tx);
    const key = bytesToHex(id);
    let p = this.#pending.get(key);
    if (p === undefined) {
      if (this.#pending.size >= BTC_MAX_PENDING_BROADCASTS) {
        throw new BtcError(
          ErrorCode.BtcLimit,
          `${BTC_MAX_PENDING_BROADCASTS} transactions are already waiting for a block`,
        );
      }
      p = { tx, txid: id, wtxid: wtxid(tx), fetchedBy: new Set(), waiters: [] };
      this.#pending.set(key, p);
      this.#byHash.set(key, p);
      this.#byHash.set(bytesToHex(p.wtxid), p);
    }
    const pending = p;
    const fetched = new Promise<string>((resolve) => {
      const first = pending.fetchedBy.values().next().value;
      if (first !== undefined) resolve(first);
      else pending.waiters.push(resolve);
    });
    for (const peer of peers) this.#announce(peer, pending);
    return { txid: hashToHex(id), fetched };
  }

  /** A new peer: it hears of every pending transaction. */
  peerReady(peer: BtcPeer): void {
    for (const p of this.#pending.values()) this.#announce(peer, p);
  }

  /** A `getdata`: our pending transactions are sent, everything else is `notfound`. */
  onGetData(peer: BtcPeer, items: readonly InvItem[]): void {
    const missing: InvItem[] = [];
    for (const item of items) {
      const isTx = item.type === InvType.Tx || item.type === InvType.Wtx || item.type === InvType.WitnessTx;
      const p = isTx ? this.#byHash.get(bytesToHex(item.hash)) : undefined;
      if (p === undefined) {
        missing.push(item);
        continue;
      }
      peer.send({ type: 'tx', tx: p.tx });
      // Fetched counts once the peer has processed it (a ping answered after it): a node that
      // closes right away would otherwise drop the transaction with its unprocessed messages.
      const tx = p;
      void peer.roundTrip().then(() => {
        if (tx.fetchedBy.has(peer.endpoint)) return;
        tx.fetchedBy.add(peer.endpoint);
        for (const w of tx.waiters.splice(0)) w(peer.endpoint);
      });
    }
    if (missing.length > 0) peer.send({ type: 'notfound', items: missing });
  }

  /** A block confirmed these txids (internal-order hex): they are no longer announced. */
  confirmed(txids: Iterable<string>): void {
    for (const k of txids) {
      const p = this.#pending.get(k);
      if (p === undefined) continue;
      this.#pending.delete(k);
      this.#byHash.delete(k);
      this.#byHash.delete(bytesToHex(p.wtxid));
    }
  }

  #announce(peer: BtcPeer, p: Pending): void {
    if (!peer.isReady) return;
    const item: InvItem = peer.features.wtxidRelay
      ? { type: InvType.Wtx, hash: p.wtxid }
      : { type: InvType.Tx, hash: p.txid };
    peer.addKnownInv(bytesToHex(item.hash));
    peer.send({ type: 'inv', items: [item] });
  }
}
