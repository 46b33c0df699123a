export { hash160, sha256, sha256d } from './hashes.js';
export { type SipKey, siphash24, siphash24Into, sipKey } from './siphash.js';
