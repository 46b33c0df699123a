/**
 * The light node's mempool: transactions peers announced (and our own), kept to rebuild compact
 * blocks (BIP 152) and to show the wallet's unconfirmed payments. It validates nothing (a light
 * node cannot): entries are a cache, bounded by count and bytes, oldest evicted first, and dropped
 * once a block we fetched includes them.
 *
 * Announcements (`inv` of MSG_TX, MSG_WTX) are fetched with `getdata` of the same kind (witness
 * form), at most {@link BTC_MAX_TX_REQUESTS_PER_PEER} per peer at once; a request not answered
 * within {@link TX_REQUEST_TIMEOUT_MS} is forgotten (peers may answer `notfound`, or nothing).
 */
import {
  bytesToHex,
  encodeTransaction,
  type InvItem,
  InvType,
  type Transaction,
  txid,
  wtxid,
} from '../bitcoin/index.js';
import {
  BTC_MAX_MEMPOOL_BYTES,
  BTC_MAX_MEMPOOL_TXS,
  BTC_MAX_TX_REQUESTS_PER_PEER,
} from '../shared/limits.js';
import type { BtcPeer } from './peer.js';

/** Time a peer has to send a transaction we asked for, ms; then the request is forgotten. */
export const TX_REQUEST_TIMEOUT_MS = 60_000;

interface Entry {
  readonly tx: Transaction;
  readonly txid: string;
  readonly wtxid: string;
  readonly bytes: number;
}

/** See the module notes. Hashes are internal-order hex. */
export class Mempool {
  readonly #byTxid = new Map<string, Entry>();
  readonly #byWtxid = new Map<string, Entry>();
  #bytes = 0;
  /** Hash → (peer, time) of a request in flight. */
  readonly #requested = new Map<string, { peer: BtcPeer; at: number }>();
  readonly #perPeer = new Map<BtcPeer, number>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  get size(): number {
    return this.#byTxid.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Requests in flight (for tests of the bound). */
  requestsInFlight(peer: BtcPeer): number {
    return this.#perPeer.get(peer) ?? 0;
  }

  has(hashHex: string): boolean {
    return this.#byTxid.has(hashHex) || this.#byWtxid.has(hashHex);
  }

  /** The transaction with this txid or wtxid (internal-order hex). */
  get(hashHex: string): Transaction | undefined {
    return (this.#byTxid.get(hashHex) ?? this.#byWtxid.get(hashHex))?.tx;
  }

  /** Every transaction held. */
  transactions(): IterableIterator<Transaction> {
    const it = this.#byTxid.values();
    return (function* () {
      for (const e of it) yield e.tx;
    })();
  }

  /** An `inv` from `peer`: asks for the transactions we neither hold nor asked for. */
  onInv(peer: BtcPeer, items: readonly InvItem[]): void {
    const want: InvItem[] = [];
    let inFlight = this.#perPeer.get(peer) ?? 0;
    for (const item of items) {
      if (item.type !== InvType.Tx && item.type !== InvType.Wtx) continue;
      const key = bytesToHex(item.hash);
      peer.addKnownInv(key);
      if (this.has(key) || this.#requested.has(key)) continue;
      if (inFlight >= BTC_MAX_TX_REQUESTS_PER_PEER) break;
      inFlight++;
      this.#requested.set(key, { peer, at: this.#now() });
      want.push({ type: item.type === InvType.Wtx ? InvType.Wtx : InvType.WitnessTx, hash: item.hash });
    }
    this.#perPeer.set(peer, inFlight);
    if (want.length > 0) peer.send({ type: 'getdata', items: want });
  }

  /** A `tx` from `peer` (asked for or not). Returns true when it was new and kept. */
  onTx(peer: BtcPeer, tx: Transaction): boolean {
    const id = bytesToHex(txid(tx));
    const wid = bytesToHex(wtxid(tx));
    this.#settle(id);
    this.#settle(wid);
    peer.addKnownInv(id);
    peer.addKnownInv(wid);
    return this.add(tx);
  }

  /** Adds a transaction (ours, or relayed); false when already held or larger than the whole pool. */
  add(tx: Transaction): boolean {
    const id = bytesToHex(txid(tx));
    if (this.#byTxid.has(id)) return false;
    const bytes = encodeTransaction(tx).length;
    if (bytes > BTC_MAX_MEMPOOL_BYTES) return false;
    const e: Entry = { tx, txid: id, wtxid: bytesToHex(wtxid(tx)), bytes };
    this.#byTxid.set(id, e);
    this.#byWtxid.set(e.wtxid, e);
    this.#bytes += bytes;
    while (this.#byTxid.size > BTC_MAX_MEMPOOL_TXS || this.#bytes > BTC_MAX_MEMPOOL_BYTES) {
      const oldest = this.#byTxid.values().next().value;
      if (oldest === undefined) break;
      this.#remove(oldest);
    }
    return true;
  }

  /** A `notfound`: forget those requests. */
  onNotFound(items: readonly InvItem[]): void {
    for (const item of items) this.#settle(bytesToHex(item.hash));
  }

  /** Drops transactions a block included (txids, internal-order hex). */
  removeMined(txids: Iterable<string>): void {
    for (const id of txids) {
      const e = this.#byTxid.get(id);
      if (e !== undefined) this.#remove(e);
    }
  }

  /** The peer closed: its requests are forgotten. */
  peerClosed(peer: BtcPeer): void {
    this.#perPeer.delete(peer);
    for (const [k, r] of this.#requested) if (r.peer === peer) this.#requested.delete(k);
  }

  /** Forgets requests past their deadline. */
  tick(): void {
    const now = this.#now();
    for (const [k, r] of this.#requested) if (now - r.at > TX_REQUEST_TIMEOUT_MS) this.#settle(k);
  }

  #settle(key: string): void {
    const r = this.#requested.get(key);
    if (r === undefined) return;
    this.#requested.delete(key);
    const n = (this.#perPeer.get(r.peer) ?? 1) - 1;
    this.#perPeer.set(r.peer, Math.max(0, n));
  }

  #remove(e: Entry): void {
    this.#byTxid.delete(e.txid);
    this.#byWtxid.delete(e.wtxid);
    this.#bytes -= e.bytes;
  }
}
