export type { SessionContext } from './context.js';
export * from './options.js';
export * from './session.js';
export * from './torrent.js';
