/**
 * The light node's status as one JSON-able object: what `shoal btc status`, the daemon's
 * `/api/v1/btc/status` and the dashboard page show.
 */
import { type ChainParams, type HeaderChain, hashToHex, ServiceFlags } from '../bitcoin/index.js';
import type { PeerPool } from '../net/index.js';
import type { AddrManager } from './addr-manager.js';
import type { BlockFetchStats } from './block-fetcher.js';
import type { ScanStats } from './filter-scan.js';
import type { Mempool } from './mempool.js';
import type { BtcPeer } from './peer.js';
import type { Wallet } from './wallet/wallet.js';

export interface BtcPeerStatus {
  readonly endpoint: string;
  readonly outgoing: boolean;
  readonly ready: boolean;
  readonly userAgent: string;
  readonly protocolVersion: number;
  /** Service bits, hex. */
  readonly services: string;
  /** Serves BIP 157/158 filters. */
  readonly filters: boolean;
  readonly bestHeight: number;
  readonly pingMs: number | undefined;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Headers are being downloaded from it. */
  readonly syncing: boolean;
}

export interface BtcNodeStatus {
  readonly network: string;
  readonly tip: { readonly height: number; readonly hash: string; readonly time: number };
  /** Highest height a peer showed. */
  readonly bestKnownHeight: number;
  readonly synced: boolean;
  readonly headersCaughtUp: boolean;
  /** Height of the last filter header accepted (-1: none). */
  readonly filterHeaderHeight: number;
  /** Height up to which the wallet was scanned (-1: none). */
  readonly scannedHeight: number;
  readonly peers: readonly BtcPeerStatus[];
  readonly bans: readonly { readonly address: string; readonly reason: string }[];
  readonly mempool: { readonly txs: number; readonly bytes: number };
  readonly addresses: { readonly known: number; readonly tried: number; readonly capacity: number };
  readonly pendingBroadcasts: readonly string[];
  readonly blocks: Readonly<BlockFetchStats>;
  readonly scan: Readonly<ScanStats>;
  /** Filter header disagreements between peers settled with the block. */
  readonly filterConflicts: number;
  readonly watched: number;
  readonly walletTxs: number;
}

export interface StatusInputs {
  readonly params: ChainParams;
  readonly chain: HeaderChain;
  readonly synced: boolean;
  readonly headersCaughtUp: boolean;
  readonly bestKnownHeight: number;
  readonly filterHeaderHeight: number;
  readonly scannedHeight: number;
  readonly peers: readonly BtcPeer[];
  readonly syncPeer: BtcPeer | undefined;
  readonly pool: PeerPool;
  readonly mempool: Mempool;
  readonly addrman: AddrManager;
  readonly pendingBroadcasts: readonly string[];
  readonly blocks: BlockFetchStats;
  readonly scan: ScanStats;
  readonly filterConflicts: number;
  readonly wallet: Wallet;
}

export function nodeStatus(s: StatusInputs): BtcNodeStatus {
  const tip = s.chain.tip;
  return {
    network: s.params.name,
    tip: { height: tip.height, hash: hashToHex(tip.hash), time: tip.time },
    bestKnownHeight: s.bestKnownHeight,
    synced: s.synced,
    headersCaughtUp: s.headersCaughtUp,
    filterHeaderHeight: s.filterHeaderHeight,
    scannedHeight: s.scannedHeight,
    peers: s.peers.map((p) => ({
      endpoint: p.endpoint,
      outgoing: p.outgoing,
      ready: p.isReady,
      userAgent: p.userAgent,
      protocolVersion: p.version?.version ?? 0,
      services: p.services.toString(16),
      filters: (p.services & ServiceFlags.CompactFilters) !== 0n,
      bestHeight: p.bestHeight,
      pingMs: p.pingMs === undefined ? undefined : Math.round(p.pingMs),
      bytesIn: p.bytesIn,
      bytesOut: p.bytesOut,
      syncing: p === s.syncPeer,
    })),
    bans: s.pool.bans().map((b) => ({ address: b.address, reason: b.reason })),
    mempool: { txs: s.mempool.size, bytes: s.mempool.bytes },
    addresses: { known: s.addrman.size, tried: s.addrman.triedCount, capacity: s.addrman.capacity },
    pendingBroadcasts: s.pendingBroadcasts,
    blocks: { ...s.blocks },
    scan: { ...s.scan },
    filterConflicts: s.filterConflicts,
    watched: s.wallet.watched().length,
    walletTxs: s.wallet.txCount,
  };
}
