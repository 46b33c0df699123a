/**
 * DEV DOCS — scanning the chain's BIP 158 filters for the wallet's scripts.
 *
 * `getcfilters` spans at most 1,000 blocks; a peer answers with one `cfilter` per block, in
 * height order. {@link CfilterRequests} collects them per request (a FIFO per peer, since answers
 * carry no request id), checking each names the next block we expect: a peer that answers out of
 * order or with another chain's blocks is banned.
 *
 * {@link FilterScanner} moves the wallet's scan height up to the filter headers' tip:
 * - ranges of 1,000 heights, {@link SCAN_PIPELINE} of them in flight over the filter peers, handled
 *   in height order;
 * - every filter is checked against the filter headers the node holds (`verifyFilter`): a filter
 *   that does not match was made up (the headers were cross-checked), and its peer is banned;
 * - a filter matching any watched script makes the block be fetched (`BlockFetcher`, checked
 *   against its header) and handed to the wallet, in height order, before the scan height passes
 *   it. No false negatives: every block whose filter matches is fetched, and a filter holds every
 *   output script and every spent script of its block.
 * A reorganisation or a new watch item with a rescan height moves the wallet's scan height back;
 * the scanner notices (an epoch counter) and starts again from there.
 */
import {
  BASIC_FILTER_TYPE,
  type Block,
  BtcError,
  basicFilter,
  bytesToHex,
  type HeaderChain,
  hashToHex,
  verifyFilter,
} from '../bitcoin/index.js';
import { bytesEqual } from '../shared/hash.js';
import { BTC_MAX_CFILTERS_RANGE } from '../shared/limits.js';
import type { BlockFetcher } from './block-fetcher.js';
import type { FilterHeaderStore } from './filter-header-store.js';
import type { BtcPeer } from './peer.js';
import type { PeerRequests } from './requests.js';
import type { Wallet } from './wallet/wallet.js';

/** Ranges of filters requested at once during a scan. */
export const SCAN_PIPELINE = 4;
const ZERO = new Uint8Array(32);

interface Collecting {
  readonly key: string;
  readonly blockHashes: readonly Uint8Array[];
  readonly got: Uint8Array[];
}

/** `getcfilters` requests and the collection of their `cfilter` answers. */
export class CfilterRequests {
  readonly #requests: PeerRequests;
  readonly #queues = new Map<BtcPeer, Collecting[]>();

  constructor(requests: PeerRequests) {
    this.#requests = requests;
  }

  /** The filters of `blockHashes` (consecutive heights from `startHeight`), in order. */
  get(peer: BtcPeer, startHeight: number, blockHashes: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const stopHash = blockHashes[blockHashes.length - 1]!;
    const key = `cfilters:${bytesToHex(stopHash)}`;
    let q = this.#queues.get(peer);
    if (q === undefined) {
      q = [];
      this.#queues.set(peer, q);
    }
    if (!q.some((c) => c.key === key)) q.push({ key, blockHashes, got: [] });
    return this.#requests.request<Uint8Array[]>(peer, key, () =>
      peer.send({ type: 'getcfilters', filterType: BASIC_FILTER_TYPE, startHeight, stopHash }),
    );
  }

  /** Requests in flight to `peer`. */
  pending(peer: BtcPeer): number {
    return this.#queues.get(peer)?.length ?? 0;
  }

  /** A `cfilter` from `peer`. */
  onCfilter(peer: BtcPeer, blockHash: Uint8Array, filter: Uint8Array, filterType: number): void {
    const q = this.#queues.get(peer);
    const head = q?.[0];
    if (head === undefined || filterType !== BASIC_FILTER_TYPE) return; // unsolicited: ignored
    const expected = head.blockHashes[head.got.length]!;
    if (!bytesEqual(expected, blockHash)) {
      peer.close(`cfilter for block ${hashToHex(blockHash)} where ${hashToHex(expected)} was next`, true);
      return;
    }
    head.got.push(filter.slice());
    if (head.got.length === head.blockHashes.length) {
      q!.shift();
      this.#requests.resolve(peer, head.key, head.got);
    }
  }

  peerClosed(peer: BtcPeer): void {
    this.#queues.delete(peer);
  }
}

export interface FilterScanHost {
  readonly chain: HeaderChain;
  readonly store: FilterHeaderStore;
  readonly wallet: Wallet;
  readonly blocks: BlockFetcher;
  readonly cfilters: CfilterRequests;
  filterPeers(): readonly BtcPeer[];
  /** A block whose filter matched, checked, in height order. */
  blockMatched(block: Block, height: number, hash: Uint8Array, compact: boolean): void;
  /** The scan height moved. */
  progressed(): void;
  log(message: string): void;
}

/** Scan counters. */
export interface ScanStats {
  filters: number;
  matched: number;
  /** Milliseconds spent checking and matching filters (not waiting for them). */
  matchMs: number;
}

/** See the module notes. */
export class FilterScanner {
  readonly #host: FilterScanHost;
  #running = false;
  #again = false;
  #epoch = 0;
  #rr = 0;
  readonly stats: ScanStats = { filters: 0, matched: 0, matchMs: 0 };

  constructor(host: FilterScanHost) {
    this.#host = host;
  }

  /** True when the wallet was scanned up to the filter headers' tip, and that is the chain's tip. */
  isSynced(): boolean {
    const { wallet, store, chain } = this.#host;
    return wallet.scannedHeight >= chain.height && store.tipHeight >= chain.height;
  }

  /** Start again from the wallet's scan height (a reorganisation or a rescan moved it back). */
  restart(): void {
    this.#epoch++;
    this.kick();
  }

  kick(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void this.#loop().finally(() => {
      this.#running = false;
    });
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      try {
        await this.#scan();
      } catch (e) {
        if (!(e instanceof BtcError)) throw e;
        this.#host.log(`filter scan: ${e.message}`);
      }
    } while (this.#again);
  }

  async #scan(): Promise<void> {
    const { wallet, store, chain } = this.#host;
    const epoch = this.#epoch;
    const window: {
      start: number;
      stop: number;
      stopHash: Uint8Array;
      filters: Promise<Uint8Array[]>;
      peer: BtcPeer;
    }[] = [];
    let next = wallet.scannedHeight + 1;
    const fill = () => {
      while (window.length < SCAN_PIPELINE && next <= store.tipHeight) {
        const peer = this.#pickPeer();
        if (peer === undefined) return;
        const start = next;
        const stop = Math.min(start + BTC_MAX_CFILTERS_RANGE - 1, store.tipHeight);
        const hashes: Uint8Array[] = [];
        for (let h = start; h <= stop; h++) hashes.push(chain.hashAt(h)!);
        const filters = this.#host.cfilters.get(peer, start, hashes);
        filters.catch(() => {}); // awaited below; a failure is handled there
        window.push({ start, stop, stopHash: hashes[hashes.length - 1]!, filters, peer });
        next = stop + 1;
      }
    };
    for (;;) {
      if (epoch !== this.#epoch) return this.kick();
      if (wallet.scripts().length === 0) {
        // Nothing to look for: the scan is trivially complete.
        if (wallet.scannedHeight < store.tipHeight) {
          wallet.scannedHeight = store.tipHeight;
          this.#host.progressed();
        }
        return;
      }
      fill();
      const r = window.shift();
      if (r === undefined) return;
      let filters: Uint8Array[];
      try {
        filters = await r.filters;
      } catch (e) {
        if (!(e instanceof BtcError)) throw e;
        // The peer went away: redo from this range with the peers left.
        next = r.start;
        window.length = 0;
        this.#epoch++;
        return this.kick();
      }
      if (epoch !== this.#epoch || wallet.scannedHeight !== r.start - 1) return this.kick();
      const matched = this.#match(r.peer, r.start, filters);
      if (matched === undefined) {
        window.length = 0;
        this.#epoch++;
        return this.kick();
      }
      for (const h of matched) {
        const hash = chain.hashAt(h);
        if (hash === undefined) return this.kick();
        const { block, compact } = await this.#host.blocks.get(hash, h);
        if (epoch !== this.#epoch || !bytesEqual(chain.hashAt(h) ?? ZERO, hash)) return this.kick();
        this.#host.blockMatched(block, h, hash, compact);
      }
      if (epoch !== this.#epoch || !bytesEqual(chain.hashAt(r.stop) ?? ZERO, r.stopHash)) return this.kick();
      wallet.scannedHeight = r.stop;
      this.#host.progressed();
    }
  }

  /** Heights whose filter matches a watched script; undefined when the peer lied (it is banned). */
  #match(peer: BtcPeer, start: number, filters: readonly Uint8Array[]): number[] | undefined {
    const { chain, store, wallet } = this.#host;
    const scripts = wallet.scripts();
    const t0 = performance.now();
    const out: number[] = [];
    try {
      for (let i = 0; i < filters.length; i++) {
        const h = start + i;
        const f = filters[i]!;
        verifyFilter(f, h === 0 ? ZERO : store.at(h - 1)!, store.at(h)!);
        if (basicFilter(f, chain.hashAt(h)!).matchAny(scripts)) out.push(h);
      }
    } catch (e) {
      if (!(e instanceof BtcError)) throw e;
      peer.close(`served a filter that its filter header does not commit to: ${e.message}`, true, e);
      return undefined;
    } finally {
      this.stats.matchMs += performance.now() - t0;
    }
    this.stats.filters += filters.length;
    this.stats.matched += out.length;
    return out;
  }

  #pickPeer(): BtcPeer | undefined {
    const peers = this.#host.filterPeers().filter((p) => this.#host.cfilters.pending(p) < SCAN_PIPELINE);
    if (peers.length === 0) return undefined;
    return peers[this.#rr++ % peers.length];
  }
}
