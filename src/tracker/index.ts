export * from './connection-ids.js';
export * from './http-handler.js';
export * from './server.js';
export * from './stats-page.js';
export * from './swarm-state.js';
export * from './tracker-core.js';
export * from './udp-handler.js';
export * from './whitelist.js';
