/**
 * The Bitcoin protocol family's runtime: a light node (BIP 157/158 client) with a watch-only
 * wallet, on the shared connection layer (`net/`: transports, the peer pool and its bans). It
 * imports the pure core (`bitcoin/`), `net/` and `shared/` only; never the BitTorrent layers.
 */
export * from './addr-manager.js';
export { btcInboundProtocol, Connections } from './connections.js';
export type * from './events.js';
export { judgeFilter, rebuildBasicFilter, recoverSpentScript } from './filter-check.js';
export { FilterHeaderStore } from './filter-header-store.js';
export { type HeaderFileReport, HeaderStore } from './header-store.js';
export { Mempool } from './mempool.js';
export { BtcNode } from './node.js';
export * from './options.js';
export { BtcPeer, MIN_PEER_PROTOCOL_VERSION, type PeerCloseReason } from './peer.js';
export type { BtcNodeStatus, BtcPeerStatus } from './status.js';
export type { TxDetails } from './tx-details.js';
export { descriptorChecksum, parseWatchItem, parseWif } from './wallet/descriptor.js';
export { type BuiltSpend, buildSpend, DUST_SATS } from './wallet/spend.js';
export * from './wallet/wallet.js';
export { decodeWallet, encodeWallet, loadWallet } from './wallet/wallet-store.js';
