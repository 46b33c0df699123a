export * from './access.js';
export * from './bencode.js';
export * from './errors.js';
