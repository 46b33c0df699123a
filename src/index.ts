export * from './codec/index.js';
export * from './shared/errors.js';
