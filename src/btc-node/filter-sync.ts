/**
 * DEV DOCS — BIP 157 filter headers, cross-checked between peers.
 *
 * The node keeps one filter header per best-chain height (`FilterHeaderStore`). To extend it, it
 * asks every ready peer that serves filters (up to {@link BTC_MAX_FILTER_PEERS}):
 *
 * 1. `getcfcheckpt` to the tip: the filter header at every 1,000th height, as each peer claims it;
 * 2. `getcfheaders` for the next span of at most 2,000 heights, from each of them. An answer must
 *    name our stop hash, carry one filter hash per height, chain from the filter header we hold
 *    below the span, and agree with that peer's own checkpoints. A peer whose answer breaks this is
 *    banned (an honest peer's answers are consistent with our chain and with themselves).
 * 3. The answers are compared. When they agree, the span is stored. When they differ, the first
 *    height where they differ is settled with the block itself: we fetch it, ask each side for its
 *    filter of that block (which must hash to the filter hash it claimed, or it is banned), and
 *    judge each filter against the block (`filter-check.ts`: rebuilt byte for byte when every spent
 *    script can be recovered from the inputs, else every recoverable script must be in it). The
 *    side whose filter is false is banned, and the span asked again of the others.
 *
 * A reorganisation truncates the store at the fork; a span whose stop hash left the best chain
 * while it was in flight is dropped. Runs one pass at a time; `kick()` after any change.
 */
import {
  BASIC_FILTER_TYPE,
  BtcError,
  bytesToHex,
  CFCHECKPT_INTERVAL,
  chainFilterHeaders,
  filterHash,
  type HeaderChain,
  hashToHex,
  ServiceFlags,
} from '../bitcoin/index.js';
import { bytesEqual } from '../shared/hash.js';
import { BTC_MAX_CFHEADERS_PER_MESSAGE, BTC_MAX_FILTER_PEERS } from '../shared/limits.js';
import type { BlockFetcher } from './block-fetcher.js';
import { judgeFilter } from './filter-check.js';
import type { FilterHeaderStore } from './filter-header-store.js';
import type { CfilterRequests } from './filter-scan.js';
import type { BtcPeer } from './peer.js';
import type { PeerRequests } from './requests.js';

const ZERO = new Uint8Array(32);

export interface FilterSyncHost {
  readonly chain: HeaderChain;
  readonly store: FilterHeaderStore;
  readonly requests: PeerRequests;
  readonly blocks: BlockFetcher;
  readonly cfilters: CfilterRequests;
  readyPeers(): readonly BtcPeer[];
  /** Filter headers were added (the scan can go on). */
  extended(): void;
  /** Something worth a log line. */
  log(message: string): void;
}

interface CfheadersAnswer {
  readonly stopHash: Uint8Array;
  readonly previousFilterHeader: Uint8Array;
  readonly filterHashes: readonly Uint8Array[];
}

/** A peer's answer for one span, checked for consistency. */
interface SpanClaim {
  readonly peer: BtcPeer;
  readonly hashes: readonly Uint8Array[];
  readonly headers: readonly Uint8Array[];
}

/** True when the peer serves BIP 157/158 filters. */
export function servesFilters(p: BtcPeer): boolean {
  return (p.services & ServiceFlags.CompactFilters) !== 0n;
}

/** See the module notes. */
export class FilterSync {
  readonly #host: FilterSyncHost;
  #running = false;
  #again = false;
  /** Checkpoints per peer, for the tip they were asked for. */
  readonly #checkpoints = new WeakMap<BtcPeer, { stop: string; headers: readonly Uint8Array[] }>();
  /** Filter header conflicts settled (tests, status). */
  conflictsResolved = 0;

  constructor(host: FilterSyncHost) {
    this.#host = host;
  }

  /** Filter peers in use. */
  filterPeers(): BtcPeer[] {
    return this.#host.readyPeers().filter(servesFilters).slice(0, BTC_MAX_FILTER_PEERS);
  }

  /** True when the store reaches the best chain's tip. */
  isSynced(): boolean {
    return this.#host.store.tipHeight >= this.#host.chain.height;
  }

  /** Runs a pass (or another one after the current). */
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
        await this.#pass();
      } catch (e) {
        // A peer closing mid-request, a request that failed: the next kick retries.
        if (!(e instanceof BtcError)) throw e;
        this.#host.log(`filter headers: ${e.message}`);
      }
    } while (this.#again);
  }

  async #pass(): Promise<void> {
    const { chain, store } = this.#host;
    for (;;) {
      const peers = this.filterPeers();
      if (peers.length === 0 || store.tipHeight >= chain.height) return;
      const tip = chain.height;
      const tipHash = chain.hashAt(tip)!;
      await this.#fetchCheckpoints(peers, tipHash);
      const start = store.count;
      const stop = Math.min(start + BTC_MAX_CFHEADERS_PER_MESSAGE - 1, tip);
      const stopHash = chain.hashAt(stop)!;
      const prev = start === 0 ? ZERO : store.at(start - 1)!;
      const claims = await this.#claims(peers, start, stop, stopHash, prev, tipHash);
      if (!bytesEqual(chain.hashAt(stop) ?? ZERO, stopHash) || store.count !== start) continue; // reorg
      if (claims.length === 0) continue; // every peer failed: ask again with who is left
      const diff = firstDifference(claims);
      if (diff === undefined) {
        const entries = claims[0]!.headers.map((filterHeader, i) => ({
          blockHash: chain.hashAt(start + i)!,
          filterHeader,
        }));
        store.append(entries);
        this.#host.extended();
        continue;
      }
      await this.#settle(claims, start, start + diff);
    }
  }

  async #fetchCheckpoints(peers: readonly BtcPeer[], tipHash: Uint8Array): Promise<void> {
    const stop = bytesToHex(tipHash);
    await Promise.all(
      peers.map(async (p) => {
        if (this.#checkpoints.get(p)?.stop === stop) return;
        try {
          const m = await this.#host.requests.request<{ filterHeaders: readonly Uint8Array[] }>(
            p,
            `cfcheckpt:${stop}`,
            () => p.send({ type: 'getcfcheckpt', filterType: BASIC_FILTER_TYPE, stopHash: tipHash }),
          );
          const expected = Math.floor(this.#host.chain.heightOf(tipHash)! / CFCHECKPT_INTERVAL);
          if (m.filterHeaders.length !== expected) {
            p.close(`cfcheckpt with ${m.filterHeaders.length} headers, ${expected} expected`, true);
            return;
          }
          this.#checkpoints.set(p, { stop, headers: m.filterHeaders });
        } catch (e) {
          if (!(e instanceof BtcError)) throw e;
        }
      }),
    );
  }

  /** Each peer's checked answer for the span; peers that break the rules are banned and left out. */
  async #claims(
    peers: readonly BtcPeer[],
    start: number,
    stop: number,
    stopHash: Uint8Array,
    prev: Uint8Array,
    tipHash: Uint8Array,
  ): Promise<SpanClaim[]> {
    const key = `cfheaders:${bytesToHex(stopHash)}`;
    const out: SpanClaim[] = [];
    await Promise.all(
      peers.map(async (p) => {
        let m: CfheadersAnswer;
        try {
          m = await this.#host.requests.request<CfheadersAnswer>(p, key, () =>
            p.send({ type: 'getcfheaders', filterType: BASIC_FILTER_TYPE, startHeight: start, stopHash }),
          );
        } catch (e) {
          if (!(e instanceof BtcError)) throw e;
          return;
        }
        const lie = (why: string) => p.close(`lying filter headers: ${why}`, true);
        if (m.filterHashes.length !== stop - start + 1)
          return lie(`${m.filterHashes.length} filter hashes for ${stop - start + 1} blocks`);
        if (!bytesEqual(m.previousFilterHeader, prev))
          return lie(
            `previous filter header ${hashToHex(m.previousFilterHeader)} is not ours at ${start - 1}`,
          );
        const headers = chainFilterHeaders(prev, m.filterHashes);
        const cp = this.#checkpoints.get(p);
        if (cp !== undefined && cp.stop === bytesToHex(tipHash)) {
          for (
            let h = Math.ceil(start / CFCHECKPT_INTERVAL) * CFCHECKPT_INTERVAL;
            h <= stop;
            h += CFCHECKPT_INTERVAL
          ) {
            if (h === 0) continue;
            const claimed = cp.headers[h / CFCHECKPT_INTERVAL - 1];
            if (claimed !== undefined && !bytesEqual(claimed, headers[h - start]!))
              return lie(`the filter header at ${h} contradicts its own checkpoint`);
          }
        }
        out.push({ peer: p, hashes: m.filterHashes, headers });
      }),
    );
    return out.filter((c) => !c.peer.isClosed);
  }

  /** Two sides differ at `height`: the block decides. */
  async #settle(claims: readonly SpanClaim[], start: number, height: number): Promise<void> {
    const { chain } = this.#host;
    const hash = chain.hashAt(height)!;
    const i = height - start;
    this.#host.log(`filter headers differ at height ${height}: fetching the block to decide`);
    const { block } = await this.#host.blocks.get(hash, height);
    // Group the peers by the filter hash they claim at `height`.
    const sides = new Map<string, SpanClaim[]>();
    for (const c of claims) {
      const k = bytesToHex(c.hashes[i]!);
      sides.set(k, [...(sides.get(k) ?? []), c]);
    }
    let honest = 0;
    for (const [claimedHash, members] of sides) {
      let verdict: { ok: boolean; reason?: string } | undefined;
      for (const c of members) {
        if (c.peer.isClosed) continue;
        let filter: Uint8Array;
        try {
          const [f] = await this.#host.cfilters.get(c.peer, height, [hash]);
          filter = f!;
        } catch (e) {
          if (!(e instanceof BtcError)) throw e;
          continue;
        }
        if (bytesToHex(filterHash(filter)) !== claimedHash) {
          c.peer.close(
            `lying filter headers: its filter of block ${height} is not the one it committed to`,
            true,
          );
          continue;
        }
        verdict = judgeFilter(filter, block);
        break;
      }
      if (verdict === undefined) continue;
      if (verdict.ok) {
        honest++;
        continue;
      }
      for (const c of members)
        c.peer.close(`lying filter headers: its filter of block ${height} ${verdict.reason}`, true);
    }
    this.conflictsResolved++;
    if (honest > 1) {
      // Both filters pass the checks we can make: keep the larger side, drop the others.
      const sorted = [...sides.values()].sort((a, b) => b.length - a.length);
      for (const side of sorted.slice(1))
        for (const c of side) c.peer.close(`filter headers disagree with the majority at ${height}`, false);
    }
  }
}

/** Index of the first height where the claims differ, or undefined when they all agree. */
function firstDifference(claims: readonly SpanClaim[]): number | undefined {
  const first = claims[0]!;
  for (let i = 0; i < first.hashes.length; i++) {
    for (const c of claims) if (!bytesEqual(c.hashes[i]!, first.hashes[i]!)) return i;
  }
  return undefined;
}
