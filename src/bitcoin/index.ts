/**
 * The Bitcoin protocol family's pure core (sans-I/O): byte codec, P2P messages and their frame
 * decoder, chain parameters and the header chain, BIP 158 filters, transactions, blocks,
 * addresses and signing. It imports only `shared/`; the runtime (peers on the shared connection
 * layer) is built on top of it.
 */
export * from './chain/index.js';
export * from './codec/index.js';
export * from './crypto/index.js';
export { BtcError, type BtcErrorDetails } from './errors.js';
export * from './filters/index.js';
export * from './messages/index.js';
export * from './tx/index.js';
