/**
 * The connection layer, shared by every protocol family: transports (TCP today), the inbound
 * stage that tells protocols apart by their first bytes, and the peer pool (addresses, limits,
 * bans). Nothing here knows BitTorrent or Bitcoin.
 */
export * from './inbound.js';
export * from './peer-pool.js';
export * from './tcp-transport.js';
export * from './transport.js';
