/**
 * DEV DOCS — fetching the blocks a filter matched.
 *
 * Full blocks: `getdata` MSG_WITNESS_BLOCK (witness serialisation, so the witness commitment and
 * wtxids can be checked). Recent blocks from a peer that offered compact blocks version 2:
 * `getdata` MSG_CMPCT_BLOCK, rebuilt from the mempool (BIP 152 short ids over wtxids), the missing
 * transactions asked with `getblocktxn`; a peer may answer a compact request with a full block
 * (Bitcoin Core does for blocks deep in its chain), which is taken as well. A reconstruction that
 * fails (short-id collision, an inconsistent compact block) falls back to the full block.
 *
 * Every block is checked before use: its header is the one asked for (the request is keyed by
 * the hash), its transactions hash to the header's merkle root without mutation, and the witness
 * commitment matches (`verifyBlockCommitments`). A peer that sends a block failing these is
 * banned (a block with that header's hash and other transactions is a forgery). Peers are chosen
 * among ready peers serving blocks, least busy first, at most {@link BTC_MAX_BLOCKS_IN_FLIGHT}
 * each; a request that fails (peer closed, stalled, `notfound`) moves to another peer, up to
 * {@link MAX_ATTEMPTS} times.
 */
import {
  type Block,
  BtcError,
  bytesToHex,
  type CompactBlock,
  finishReconstruction,
  hashToHex,
  InvType,
  ServiceFlags,
  startReconstruction,
  type Transaction,
  verifyBlockCommitments,
} from '../bitcoin/index.js';
import { ErrorCode } from '../shared/errors.js';
import { BTC_MAX_BLOCKS_IN_FLIGHT } from '../shared/limits.js';
import type { Mempool } from './mempool.js';
import type { BtcPeer } from './peer.js';
import type { PeerRequests } from './requests.js';

/** Peers tried for one block before giving up. */
const MAX_ATTEMPTS = 4;
/** A block this close to the tip is asked as a compact block. */
export const COMPACT_BLOCK_DEPTH = 10;
/** BIP 159: a NODE_NETWORK_LIMITED peer serves the last 288 blocks. */
const LIMITED_DEPTH = 288;

export interface BlockFetcherHost {
  readonly requests: PeerRequests;
  readonly mempool: Mempool;
  readyPeers(): readonly BtcPeer[];
  /** Best-chain height. */
  tipHeight(): number;
}

/** Counters of how blocks arrived. */
export interface BlockFetchStats {
  full: number;
  compact: number;
  /** Transactions of compact blocks found in the mempool. */
  compactFromMempool: number;
  /** Transactions of compact blocks asked with getblocktxn. */
  compactMissing: number;
  compactFailed: number;
}

/** See the module notes. */
export class BlockFetcher {
  readonly #host: BlockFetcherHost;
  readonly stats: BlockFetchStats = {
    full: 0,
    compact: 0,
    compactFromMempool: 0,
    compactMissing: 0,
    compactFailed: 0,
  };

  constructor(host: BlockFetcherHost) {
    this.#host = host;
  }

  /**
   * The block with hash `hash` (internal order) at `height`, checked. Rejects with the last
   * error when no peer delivered it.
   */
  async get(hash: Uint8Array, height: number): Promise<{ block: Block; compact: boolean }> {
    const tried = new Set<BtcPeer>();
    let last: Error = new BtcError(ErrorCode.BtcNotFound, `no peer serves block ${hashToHex(hash)}`);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const peer = this.#pick(height, tried);
      if (peer === undefined) break;
      tried.add(peer);
      try {
        const depth = this.#host.tipHeight() - height;
        if (depth < COMPACT_BLOCK_DEPTH && peer.features.compactVersion >= 2) {
          const compactBefore = this.stats.compact;
          const block = await this.#compact(peer, hash);
          return { block, compact: this.stats.compact > compactBefore };
        }
        return { block: await this.#full(peer, hash), compact: false };
      } catch (e) {
        if (!(e instanceof BtcError)) throw e;
        last = e;
      }
    }
    throw last;
  }

  /** A `block` message: it answers a full or a compact request for its hash. */
  onBlock(peer: BtcPeer, block: Block, hash: Uint8Array): void {
    const key = bytesToHex(hash);
    const { requests } = this.#host;
    if (!requests.resolve(peer, `block:${key}`, block)) requests.resolve(peer, `cmpct:${key}`, block);
  }

  onCompactBlock(peer: BtcPeer, compact: CompactBlock, hash: Uint8Array): void {
    this.#host.requests.resolve(peer, `cmpct:${bytesToHex(hash)}`, compact);
  }

  onBlockTxn(peer: BtcPeer, blockHash: Uint8Array, txs: readonly Transaction[]): void {
    this.#host.requests.resolve(peer, `blocktxn:${bytesToHex(blockHash)}`, txs);
  }

  /** A `notfound`: the block requests it names fail on that peer. */
  onNotFound(peer: BtcPeer, hashes: readonly Uint8Array[]): void {
    for (const h of hashes) {
      const key = bytesToHex(h);
      const err = new BtcError(
        ErrorCode.BtcNotFound,
        `peer ${peer.endpoint} does not have block ${hashToHex(h)}`,
      );
      this.#host.requests.reject(peer, `block:${key}`, err);
      this.#host.requests.reject(peer, `cmpct:${key}`, err);
    }
  }

  #pick(height: number, tried: Set<BtcPeer>): BtcPeer | undefined {
    const depth = this.#host.tipHeight() - height;
    let best: BtcPeer | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const p of this.#host.readyPeers()) {
      if (tried.has(p) || p.bestHeight < height) continue;
      const full = (p.services & ServiceFlags.Network) !== 0n;
      const limited = (p.services & ServiceFlags.NetworkLimited) !== 0n && depth < LIMITED_DEPTH;
      if (!full && !limited) continue;
      const load = this.#host.requests.count(p);
      if (load >= BTC_MAX_BLOCKS_IN_FLIGHT) continue;
      if (load < bestLoad) {
        best = p;
        bestLoad = load;
      }
    }
    return best;
  }

  async #full(peer: BtcPeer, hash: Uint8Array): Promise<Block> {
    const block = await this.#host.requests.request<Block>(peer, `block:${bytesToHex(hash)}`, () =>
      peer.send({ type: 'getdata', items: [{ type: InvType.WitnessBlock, hash }] }),
    );
    this.#check(peer, block);
    this.stats.full++;
    return block;
  }

  async #compact(peer: BtcPeer, hash: Uint8Array): Promise<Block> {
    const key = bytesToHex(hash);
    const got = await this.#host.requests.request<Block | CompactBlock>(peer, `cmpct:${key}`, () =>
      peer.send({ type: 'getdata', items: [{ type: InvType.CompactBlock, hash }] }),
    );
    if ('txs' in got) {
      this.#check(peer, got);
      this.stats.full++;
      return got;
    }
    try {
      const partial = startReconstruction(got, this.#host.mempool.transactions(), 2);
      let txs: readonly Transaction[] = [];
      if (partial.missing.length > 0) {
        txs = await this.#host.requests.request<readonly Transaction[]>(peer, `blocktxn:${key}`, () =>
          peer.send({ type: 'getblocktxn', blockHash: hash, indexes: partial.missing }),
        );
      }
      const block = finishReconstruction(partial, txs);
      this.stats.compact++;
      this.stats.compactMissing += partial.missing.length;
      this.stats.compactFromMempool += partial.slots.length - partial.missing.length - got.prefilled.length;
      return block;
    } catch (e) {
      if (!(e instanceof BtcError) || e.code !== ErrorCode.BtcCompactBlock) throw e;
      this.stats.compactFailed++;
      return this.#full(peer, hash);
    }
  }

  #check(peer: BtcPeer, block: Block): void {
    try {
      verifyBlockCommitments(block);
    } catch (e) {
      peer.close(`sent a block that does not match its header: ${(e as Error).message}`, true, e as Error);
      throw e;
    }
  }
}
