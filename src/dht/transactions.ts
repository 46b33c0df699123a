/**
 * Our outstanding KRPC queries ("transactions", BEP 5 `t`) and their deadlines.
 *
 * Each query gets a 2-byte transaction id unique among those in flight, a sequence number unique
 * for the node's life (so a stale deadline of a reused id is recognised), a timeout deadline and,
 * for lookup queries, an earlier "stall" deadline. At most `MAX_DHT_PENDING_QUERIES` are open.
 * Pure: the DhtNode passes the time in and drives the deadlines from `tick`.
 */
import { MAX_DHT_PENDING_QUERIES } from '../shared/limits.js';
import { MinHeap } from './min-heap.js';
import type { Random } from './random.js';

/** Why we sent a query: who hears about its end. */
export type TxnPurpose = 'lookup' | 'announce' | 'put' | 'ping' | 'maintenance';

/** One query in flight. */
export interface Txn {
  /** Transaction id (the 2 bytes of `t`, big-endian). */
  readonly tid: number;
  /** Unique for the node's life: ping ids and deadline matching use it. */
  readonly seq: number;
  /** The address asked (binary string): only it may answer. */
  readonly to: string;
  readonly purpose: TxnPurpose;
  readonly sentAt: number;
  /** The id we expect to answer, when known (for liveness bookkeeping). */
  readonly expectedId: string | undefined;
  readonly lookupId: number;
}

interface Deadline {
  readonly at: number;
  readonly seq: number;
  readonly tid: number;
  readonly stall: boolean;
}

/** The open transactions of a node (see the module docs). */
export class TransactionTable {
  readonly #txns = new Map<number, Txn>();
  readonly #deadlines = new MinHeap<Deadline>();
  readonly #timeoutMs: number;
  readonly #stallMs: number;
  #nextTid: number;
  #seq = 0;

  constructor(random: Random, timing: { readonly timeoutMs: number; readonly stallMs: number }) {
    this.#timeoutMs = timing.timeoutMs;
    this.#stallMs = timing.stallMs;
    this.#nextTid = random.int(0x10000);
  }

  /** Transactions open. */
  get size(): number {
    return this.#txns.size;
  }

  /** Opens a transaction; undefined when `MAX_DHT_PENDING_QUERIES` are already open. */
  open(
    to: string,
    purpose: TxnPurpose,
    expectedId: string | undefined,
    lookupId: number,
    now: number,
  ): Txn | undefined {
    if (this.#txns.size >= MAX_DHT_PENDING_QUERIES) return undefined;
    let tid = this.#nextTid;
    while (this.#txns.has(tid)) tid = (tid + 1) & 0xffff;
    this.#nextTid = (tid + 1) & 0xffff;
    const seq = ++this.#seq;
    const txn: Txn = { tid, seq, to, purpose, sentAt: now, expectedId, lookupId };
    this.#txns.set(tid, txn);
    if (purpose === 'lookup') this.#deadlines.push({ at: now + this.#stallMs, seq, tid, stall: true });
    this.#deadlines.push({ at: now + this.#timeoutMs, seq, tid, stall: false });
    return txn;
  }

  /**
   * Closes and returns the transaction that `t` answers, when the answer came from `from` (the
   * address asked); undefined for anything unsolicited or spoofed (the transaction stays open).
   */
  take(t: Uint8Array, from: string): Txn | undefined {
    const txn = t.length === 2 ? this.#txns.get((t[0]! << 8) | t[1]!) : undefined;
    if (txn === undefined || txn.to !== from) return undefined;
    this.#txns.delete(txn.tid);
    return txn;
  }

  /**
   * The next deadline due at `now`, if any: a stalled lookup query (still open) or a timed-out
   * query (closed by this call). Call repeatedly until undefined.
   */
  popDue(now: number): { readonly txn: Txn; readonly stall: boolean } | undefined {
    for (let d = this.#deadlines.peek(); d !== undefined && d.at <= now; d = this.#deadlines.peek()) {
      this.#deadlines.pop();
      const txn = this.#txns.get(d.tid);
      if (txn?.seq !== d.seq) continue;
      if (!d.stall) this.#txns.delete(txn.tid);
      return { txn, stall: d.stall };
    }
    return undefined;
  }

  /** When the earliest live deadline falls (ms), if any. */
  nextDeadline(): number | undefined {
    let top = this.#deadlines.peek();
    while (top !== undefined && this.#txns.get(top.tid)?.seq !== top.seq) {
      this.#deadlines.pop();
      top = this.#deadlines.peek();
    }
    return top?.at;
  }
}

/** The 2-byte `t` of a transaction. */
export function tidBytes(txn: Txn): Uint8Array {
  return Uint8Array.of(txn.tid >> 8, txn.tid & 0xff);
}
