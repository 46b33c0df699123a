/**
 * DEV DOCS — the watch-only wallet: the scripts it watches, the transactions that touch them, and
 * what follows from those (coins, balance, history), for one network.
 *
 * State is the set of wallet transactions, each confirmed (height, block hash, position, merkle
 * inclusion proof) or not; everything else is derived from it on demand. That makes a
 * reorganisation a simple change of the records: transactions of disconnected blocks become
 * unconfirmed (coinbases, which cannot exist outside their block, are dropped), the scan height
 * goes back to the fork, and the new branch's blocks confirm them again where they landed.
 *
 * A transaction is the wallet's when it pays a watched script or spends an output of a wallet
 * transaction that paid one. A confirmed transaction spending an outpoint removes any unconfirmed
 * one that spent it too (a double spend that lost).
 *
 * Scan progress: `scannedHeight` is the height up to which every block was checked against every
 * watched script (the node's filter scan moves it forward); watching a new item with a rescan
 * height moves it back. No I/O here: `wallet-store.ts` saves it.
 */
import {
  BtcError,
  type ChainParams,
  hashToHex,
  isCoinbase,
  type MerkleProof,
  type Transaction,
  txid,
} from '../../bitcoin/index.js';
import { ErrorCode } from '../../shared/errors.js';
import { BTC_MAX_WALLET_TXS, BTC_MAX_WATCHED_SCRIPTS } from '../../shared/limits.js';
import { parseWatchItem, scriptAddress } from './descriptor.js';

/** Confirmations a coinbase output needs before it can be spent. */
export const COINBASE_MATURITY = 100;

/** One watched item. */
export interface WatchedItem {
  /** Canonical descriptor with checksum (`addr(…)#…` for an address). */
  readonly descriptor: string;
  readonly label: string;
  readonly scripts: readonly Uint8Array[];
  /** The address of its first script, when it has one. */
  readonly address: string | undefined;
  /** Height the scan for it started from. */
  readonly rescanFrom: number;
}

/** A transaction of the wallet. */
export interface WalletTx {
  readonly txid: string;
  readonly tx: Transaction;
  /** Unix seconds when the wallet first saw it. */
  readonly firstSeen: number;
  height: number | undefined;
  /** Block hash (display hex). */
  blockHash: string | undefined;
  /** Position in its block. */
  blockIndex: number | undefined;
  /** Block time, Unix seconds. */
  blockTime: number | undefined;
  proof: MerkleProof | undefined;
}

/** An unspent output of the wallet. */
export interface Utxo {
  readonly txid: string;
  readonly vout: number;
  readonly value: bigint;
  readonly script: Uint8Array;
  readonly address: string | undefined;
  /** 0 when unconfirmed. */
  readonly confirmations: number;
  readonly height: number | undefined;
  readonly coinbase: boolean;
  /** Spendable now: confirmed (and mature, for a coinbase) and not spent by a pending transaction. */
  readonly spendable: boolean;
}

/** Balances in base units. */
export interface Balance {
  /** Outputs of confirmed transactions not spent by confirmed ones (immature coinbases included). */
  readonly confirmed: bigint;
  /** The change pending transactions make (can be negative). */
  readonly unconfirmed: bigint;
  /** Coinbase outputs with fewer than {@link COINBASE_MATURITY} confirmations. */
  readonly immature: bigint;
  readonly utxoCount: number;
}

/** One line of history. */
export interface HistoryEntry {
  readonly txid: string;
  /** Net change to the wallet, base units. */
  readonly delta: bigint;
  readonly height: number | undefined;
  readonly blockHash: string | undefined;
  readonly confirmations: number;
  /** Block time, or first seen for an unconfirmed transaction, Unix seconds. */
  readonly time: number;
  readonly coinbase: boolean;
}

const outpoint = (id: string, vout: number) => `${id}:${vout}`;

/** The wallet's state; see the module notes. */
export class Wallet {
  readonly params: ChainParams;
  readonly #watched = new Map<string, WatchedItem>();
  /** Hex of every watched script. */
  readonly #scripts = new Set<string>();
  readonly #txs = new Map<string, WalletTx>();
  #scannedHeight = -1;

  constructor(params: ChainParams) {
    this.params = params;
  }

  /** Height up to which every block was checked against every watched script (-1: none). */
  get scannedHeight(): number {
    return this.#scannedHeight;
  }

  set scannedHeight(h: number) {
    this.#scannedHeight = h;
  }

  /** Watched items, in the order added. */
  watched(): WatchedItem[] {
    return [...this.#watched.values()];
  }

  /** Every watched script. */
  scripts(): Uint8Array[] {
    return [...this.#watched.values()].flatMap((w) => w.scripts);
  }

  get txCount(): number {
    return this.#txs.size;
  }

  /**
   * Watches an address or descriptor, scanning from `rescanFrom` (its blocks below the scan
   * height are checked again). Returns the item; an item already watched is returned as it is
   * unless the rescan goes further back.
   */
  watch(text: string, options: { label?: string; rescanFrom: number }): WatchedItem {
    const parsed = parseWatchItem(text, this.params);
    const existing = this.#watched.get(parsed.descriptor);
    const rescanFrom = Math.max(0, Math.floor(options.rescanFrom));
    if (existing === undefined && this.#scripts.size + parsed.scripts.length > BTC_MAX_WATCHED_SCRIPTS) {
      throw new BtcError(ErrorCode.BtcLimit, `a wallet watches at most ${BTC_MAX_WATCHED_SCRIPTS} scripts`);
    }
    const item: WatchedItem = {
      descriptor: parsed.descriptor,
      label: options.label ?? existing?.label ?? '',
      scripts: parsed.scripts,
      address: scriptAddress(parsed.scripts[0]!, this.params),
      rescanFrom: Math.min(rescanFrom, existing?.rescanFrom ?? rescanFrom),
    };
    this.#watched.set(item.descriptor, item);
    for (const s of item.scripts) this.#scripts.add(Buffer.from(s).toString('hex'));
    if (rescanFrom - 1 < this.#scannedHeight) this.#scannedHeight = rescanFrom - 1;
    return item;
  }

  /** True when `script` is watched. */
  isMine(script: Uint8Array): boolean {
    return this.#scripts.has(Buffer.from(script).toString('hex'));
  }

  /** True when `tx` pays a watched script or spends an output of the wallet. */
  isRelevant(tx: Transaction): boolean {
    if (tx.outputs.some((o) => this.isMine(o.script))) return true;
    return tx.inputs.some((i) => this.#ownOutput(hashToHex(i.prevout.txid), i.prevout.index) !== undefined);
  }

  /** A wallet transaction, by txid (display hex). */
  get(id: string): WalletTx | undefined {
    return this.#txs.get(id);
  }

  /** Every wallet transaction. */
  transactions(): WalletTx[] {
    return [...this.#txs.values()];
  }

  /**
   * Records `tx`, confirmed in the block `blockHash` at `height` (position `index`, with its
   * inclusion proof). Returns the record when the wallet changed.
   */
  addConfirmed(
    tx: Transaction,
    at: { height: number; blockHash: string; index: number; time: number; proof: MerkleProof },
    nowS: number,
  ): WalletTx | undefined {
    const id = hashToHex(txid(tx));
    let rec = this.#txs.get(id);
    if (
      rec !== undefined &&
      rec.height === at.height &&
      rec.blockHash === at.blockHash &&
      rec.proof !== undefined
    ) {
      return undefined;
    }
    if (rec === undefined) {
      if (!this.isRelevant(tx)) return undefined;
      rec = this.#insert(id, tx, nowS);
    }
    rec.height = at.height;
    rec.blockHash = at.blockHash;
    rec.blockIndex = at.index;
    rec.blockTime = at.time;
    rec.proof = at.proof;
    this.#dropConflicts(rec);
    return rec;
  }

  /** Records an unconfirmed `tx` (relayed, or our own broadcast). Returns the record when new. */
  addUnconfirmed(tx: Transaction, nowS: number): WalletTx | undefined {
    const id = hashToHex(txid(tx));
    if (this.#txs.has(id) || !this.isRelevant(tx)) return undefined;
    // A pending transaction spending what a confirmed one already spent is a lost double spend.
    const spent = this.#spentBy(true);
    if (tx.inputs.some((i) => spent.has(outpoint(hashToHex(i.prevout.txid), i.prevout.index))))
      return undefined;
    return this.#insert(id, tx, nowS);
  }

  /**
   * A reorganisation: every transaction confirmed above `forkHeight` becomes unconfirmed
   * (coinbases are dropped), and the scan height comes back to the fork. Returns the records
   * that changed.
   */
  disconnectAbove(forkHeight: number): WalletTx[] {
    const changed: WalletTx[] = [];
    for (const rec of [...this.#txs.values()]) {
      if (rec.height === undefined || rec.height <= forkHeight) continue;
      if (isCoinbase(rec.tx)) this.#txs.delete(rec.txid);
      rec.height = undefined;
      rec.blockHash = undefined;
      rec.blockIndex = undefined;
      rec.blockTime = undefined;
      rec.proof = undefined;
      changed.push(rec);
    }
    if (this.#scannedHeight > forkHeight) this.#scannedHeight = forkHeight;
    return changed;
  }

  /** Unspent outputs of the wallet at tip height `tip`. */
  utxos(tip: number): Utxo[] {
    const spentAny = this.#spentBy(false);
    const out: Utxo[] = [];
    for (const rec of this.#txs.values()) {
      const coinbase = isCoinbase(rec.tx);
      const conf = confirmations(rec.height, tip);
      rec.tx.outputs.forEach((o, vout) => {
        if (!this.isMine(o.script)) return;
        const key = outpoint(rec.txid, vout);
        if (spentAny.has(key)) return;
        const mature = !coinbase || conf >= COINBASE_MATURITY;
        out.push({
          txid: rec.txid,
          vout,
          value: o.value,
          script: o.script,
          address: scriptAddress(o.script, this.params),
          confirmations: conf,
          height: rec.height,
          coinbase,
          spendable: conf > 0 && mature,
        });
      });
    }
    return out;
  }

  /** Balances at tip height `tip`. */
  balance(tip: number): Balance {
    const spentConfirmed = this.#spentBy(true);
    const spentAny = this.#spentBy(false);
    let confirmed = 0n;
    let all = 0n;
    let immature = 0n;
    let utxoCount = 0;
    for (const rec of this.#txs.values()) {
      const conf = confirmations(rec.height, tip);
      const coinbase = isCoinbase(rec.tx);
      rec.tx.outputs.forEach((o, vout) => {
        if (!this.isMine(o.script)) return;
        const key = outpoint(rec.txid, vout);
        if (conf > 0 && !spentConfirmed.has(key)) {
          confirmed += o.value;
          if (coinbase && conf < COINBASE_MATURITY) immature += o.value;
        }
        if (!spentAny.has(key)) {
          all += o.value;
          utxoCount++;
        }
      });
    }
    return { confirmed, unconfirmed: all - confirmed, immature, utxoCount };
  }

  /** History, newest first (unconfirmed on top). */
  history(tip: number): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    for (const rec of this.#txs.values()) {
      let delta = 0n;
      for (const o of rec.tx.outputs) if (this.isMine(o.script)) delta += o.value;
      for (const i of rec.tx.inputs) {
        const prev = this.#ownOutput(hashToHex(i.prevout.txid), i.prevout.index);
        if (prev !== undefined) delta -= prev.value;
      }
      out.push({
        txid: rec.txid,
        delta,
        height: rec.height,
        blockHash: rec.blockHash,
        confirmations: confirmations(rec.height, tip),
        time: rec.blockTime ?? rec.firstSeen,
        coinbase: isCoinbase(rec.tx),
      });
    }
    return out.sort(
      (a, b) =>
        (b.height ?? Number.MAX_SAFE_INTEGER) - (a.height ?? Number.MAX_SAFE_INTEGER) || b.time - a.time,
    );
  }

  /** Restores a record (from the wallet file). */
  restore(rec: WalletTx): void {
    this.#txs.set(rec.txid, rec);
  }

  #insert(id: string, tx: Transaction, nowS: number): WalletTx {
    if (this.#txs.size >= BTC_MAX_WALLET_TXS) {
      throw new BtcError(ErrorCode.BtcLimit, `a wallet keeps at most ${BTC_MAX_WALLET_TXS} transactions`);
    }
    const rec: WalletTx = {
      txid: id,
      tx,
      firstSeen: nowS,
      height: undefined,
      blockHash: undefined,
      blockIndex: undefined,
      blockTime: undefined,
      proof: undefined,
    };
    this.#txs.set(id, rec);
    return rec;
  }

  /** The wallet output `id:vout`, if a wallet transaction created it. */
  #ownOutput(id: string, vout: number): { value: bigint; script: Uint8Array } | undefined {
    const o = this.#txs.get(id)?.tx.outputs[vout];
    return o !== undefined && this.isMine(o.script) ? o : undefined;
  }

  /** Outpoints spent by wallet transactions (only confirmed ones when `confirmedOnly`). */
  #spentBy(confirmedOnly: boolean): Set<string> {
    const s = new Set<string>();
    for (const rec of this.#txs.values()) {
      if (confirmedOnly && rec.height === undefined) continue;
      if (isCoinbase(rec.tx)) continue;
      for (const i of rec.tx.inputs) s.add(outpoint(hashToHex(i.prevout.txid), i.prevout.index));
    }
    return s;
  }

  /** Drops unconfirmed transactions that spend an outpoint `winner` spends. */
  #dropConflicts(winner: WalletTx): void {
    const spends = new Set(winner.tx.inputs.map((i) => outpoint(hashToHex(i.prevout.txid), i.prevout.index)));
    for (const rec of [...this.#txs.values()]) {
      if (rec === winner || rec.height !== undefined) continue;
      if (rec.tx.inputs.some((i) => spends.has(outpoint(hashToHex(i.prevout.txid), i.prevout.index))))
        this.#txs.delete(rec.txid);
    }
  }
}

function confirmations(height: number | undefined, tip: number): number {
  return height === undefined || height > tip ? 0 : tip - height + 1;
}
