export * from './classify.js';
export * from './dh.js';
export * from './errors.js';
export * from './handshake.js';
export * from './initiator.js';
export * from './policy.js';
export * from './rc4.js';
export * from './responder.js';
