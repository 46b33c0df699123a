/**
 * The daemon's optional Bitcoin light node (`DaemonOptions.btc`, `shoal daemon --btc <network>`):
 * a `BtcNode` with its own data folder below the state folder, started with the daemon and
 * closed with it, and the views the `/api/v1/btc` routes and the dashboard's Bitcoin page show.
 *
 * Off by default, and then free: this module imports the Bitcoin layers (`btc-node/`,
 * `bitcoin/`) only when a node is started, so a daemon without one never loads them.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BtcNode } from '../btc-node/node.js';
import type { BtcHistoryInfo, BtcInfo, BtcWatchedInfo } from './api-types.js';

/** The Bitcoin node of a daemon. */
export interface DaemonBtcOptions {
  /**
   * Network: `mainnet`, `testnet4`, `signet`, `regtest`, `litecoin-regtest` (or the library's
   * names, `bitcoin-regtest`…).
   */
  readonly network: string;
  /** Peers to dial, `host:port`; when given, only these are dialled (no DNS seeds). @default none */
  readonly peers?: readonly string[];
  /** Folder of its headers and wallet. @default `<stateDir>/btc/<network>` */
  readonly dataDir?: string;
}

/** See the module notes. */
export class BtcService {
  readonly node: BtcNode;

  private constructor(node: BtcNode) {
    this.node = node;
  }

  /** Opens the node's files and starts connecting. */
  static async start(o: DaemonBtcOptions, stateDir: string, log: Logger): Promise<BtcService> {
    const { BtcNode } = await import('../btc-node/node.js');
    const peers = o.peers ?? [];
    const node = await BtcNode.open({
      network: o.network,
      dataDir: o.dataDir ?? join(stateDir, 'btc', o.network),
      peers,
      ...(peers.length > 0 ? { dnsSeeds: [] } : {}),
      logger: log,
    });
    node.start();
    log.info({ network: node.params.name, peers }, 'bitcoin light node started');
    return new BtcService(node);
  }

  /** Tip, sync progress, peers, watched items and balance. */
  info(): BtcInfo {
    const s = this.node.status();
    const b = this.node.balance();
    return {
      network: s.network,
      tip: s.tip,
      bestKnownHeight: s.bestKnownHeight,
      synced: s.synced,
      headersCaughtUp: s.headersCaughtUp,
      filterHeaderHeight: s.filterHeaderHeight,
      scannedHeight: s.scannedHeight,
      peers: s.peers.map((p) => ({
        endpoint: p.endpoint,
        outgoing: p.outgoing,
        ready: p.ready,
        userAgent: p.userAgent,
        filters: p.filters,
        bestHeight: p.bestHeight,
        pingMs: p.pingMs ?? null,
        bytesIn: p.bytesIn,
        bytesOut: p.bytesOut,
        syncing: p.syncing,
      })),
      watched: this.node.wallet.watched().map(watchedInfo),
      balance: {
        confirmed: b.confirmed.toString(),
        unconfirmed: b.unconfirmed.toString(),
        immature: b.immature.toString(),
        utxoCount: b.utxoCount,
      },
    };
  }

  /** Wallet transactions, newest first as the wallet orders them. */
  history(): BtcHistoryInfo[] {
    return this.node.history().map((h) => ({
      txid: h.txid,
      delta: h.delta.toString(),
      height: h.height ?? null,
      blockHash: h.blockHash ?? null,
      confirmations: h.confirmations,
      time: h.time,
      coinbase: h.coinbase,
    }));
  }

  /** Watches an address or descriptor; `BtcBadAddress`/`BtcBadDescriptor` when it is not one. */
  async watch(item: string, o: { label?: string; rescanFrom?: number }): Promise<BtcWatchedInfo> {
    return watchedInfo(await this.node.watch(item, o));
  }

  close(): Promise<void> {
    return this.node.close();
  }
}

function watchedInfo(w: {
  descriptor: string;
  address: string | undefined;
  label: string;
  rescanFrom: number;
}): BtcWatchedInfo {
  return { descriptor: w.descriptor, address: w.address ?? null, label: w.label, rescanFrom: w.rescanFrom };
}
