/**
 * `node:crypto` as the browser bundle sees it (vite aliases the import here): the pure core's
 * default hasher calls `createHash`, served by the plain-TypeScript SHA-1/SHA-256 of ../sha.ts.
 * `createDiffieHellman` (MSE, which no WebRTC peer speaks) and `randomBytes` fail loudly.
 */
import { Sha, type ShaAlgorithm } from '../sha.js';

export function createHash(algorithm: string): Sha {
  if (algorithm !== 'sha1' && algorithm !== 'sha256')
    throw new Error(`no ${algorithm} in the browser bundle`);
  return new Sha(algorithm as ShaAlgorithm);
}

export function createDiffieHellman(): never {
  throw new Error('MSE (Diffie-Hellman) is not in the browser bundle');
}

export function randomBytes(): never {
  throw new Error('use crypto.getRandomValues in the browser bundle');
}
