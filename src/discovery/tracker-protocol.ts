/**
 * The pure tracker protocol codecs (BEP 3, 7, 15, 23, 48): everything that turns tracker
 * messages into bytes and back, with no I/O, shared by the clients in this folder and the
 * tracker server in `src/tracker/`.
 */
export * from './tracker-address.js';
export * from './tracker-protocol-http.js';
export * from './tracker-protocol-udp.js';
export type * from './tracker-types.js';
