/**
 * uTP (BEP 29) as pure state machines: the packet codec, one connection (reliability, LEDBAT,
 * path-MTU probing) and an endpoint multiplexing the connections of one UDP port. The runtime
 * that owns the socket is `net/utp-transport.ts`.
 */
export * from './connection.js';
export * from './connection-types.js';
export * from './endpoint.js';
export * from './errors.js';
export * from './ledbat.js';
export * from './mtu-probe.js';
export * from './packet.js';
export * from './receive-buffer.js';
export * from './receiver.js';
export * from './rtt.js';
export * from './send-buffer.js';
export * from './seq.js';
