export * from './errors.js';
export * from './tracker-announcer.js';
export * from './tracker-client.js';
export * from './tracker-http.js';
export * from './tracker-protocol.js';
export * from './tracker-tiers.js';
export * from './tracker-udp.js';
