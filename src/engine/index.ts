/**
 * The pure swarm engine: piece picker, request scheduler, choker, rate accounting and the
 * per-torrent state machine that ties them together (see torrent-engine.ts). No sockets, files or
 * timers: time and randomness are passed in, decisions come back as data.
 */
export * from './actions.js';
export * from './choker.js';
export * from './engine-config.js';
export * from './fresh-first.js';
export * from './metadata-exchange.js';
export * from './peer-state.js';
export * from './piece-layout.js';
export * from './piece-picker.js';
export * from './random.js';
export * from './rate.js';
export * from './request-scheduler.js';
export * from './smart-ban.js';
export * from './super-seed.js';
export * from './torrent-engine.js';
export * from './upload-queue.js';
