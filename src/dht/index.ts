/**
 * The Mainline DHT as a pure node (BEP 5, 32, 42, 43, 44): KRPC codec, routing table, tokens, peer
 * store, lookups and the `DhtNode` state machine a runtime drives with datagrams and time.
 */
export * from './address.js';
export * from './constants.js';
export * from './dht-node.js';
export * from './ed25519.js';
export * from './errors.js';
export * from './id-renewal.js';
export * from './ip-voter.js';
export * from './item.js';
export * from './item-store.js';
export * from './krpc.js';
export * from './krpc-item.js';
export * from './lookup.js';
export * from './min-heap.js';
export * from './node-id.js';
export type * from './node-types.js';
export * from './peer-store.js';
export type * from './random.js';
export * from './rate-limiter.js';
export * from './responder.js';
export * from './routing-table.js';
export * from './token-store.js';
