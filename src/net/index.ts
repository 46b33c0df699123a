/**
 * The connection layer, shared by every protocol family: transports (TCP, uTP, SOCKS5), the
 * shared UDP socket (uTP, DHT and UDP tracker replies on one port), the inbound
 * stage that tells protocols apart by their first bytes, the peer pool (addresses, limits, bans,
 * the IP blocklist). Nothing here knows BitTorrent or Bitcoin.
 */
export * from './blocklist-file.js';
export * from './inbound.js';
export * from './ip-blocklist.js';
export * from './peer-pool.js';
export * from './socks5-protocol.js';
export * from './socks5-socket.js';
export * from './socks5-transport.js';
export * from './socks5-udp.js';
export * from './tcp-transport.js';
export * from './transport.js';
export * from './udp-socket.js';
export * from './utp-transport.js';
