/**
 * Write tokens for `announce_peer` (BEP 5 §Peers): a token is SHA-1(requester IP ‖ secret),
 * truncated to `DHT_TOKEN_BYTES`. The secret rotates every `DHT_TOKEN_ROTATE_MS` (5 minutes) and
 * tokens made with the current or the previous secret are accepted, so a token lives 5 to 10
 * minutes — BEP 5's "tokens up to ten minutes old are accepted". Nothing per requester is stored.
 */
import { type Hasher, nodeHasher } from '../shared/hash.js';
import { DHT_TOKEN_BYTES, DHT_TOKEN_ROTATE_MS } from './constants.js';
import type { Random } from './random.js';

const SECRET_BYTES = 20;

/** Issues and checks `announce_peer` write tokens. */
export class TokenStore {
  readonly #random: Random;
  readonly #hasher: Hasher;
  readonly #rotateMs: number;
  #current: Uint8Array;
  #previous: Uint8Array;
  #rotatedAt: number;

  constructor(deps: { random: Random; hasher?: Hasher }, now: number, rotateMs = DHT_TOKEN_ROTATE_MS) {
    this.#random = deps.random;
    this.#hasher = deps.hasher ?? nodeHasher;
    this.#rotateMs = rotateMs;
    this.#current = this.#secret();
    this.#previous = this.#secret();
    this.#rotatedAt = now;
  }

  #secret(): Uint8Array {
    return this.#random.bytes(SECRET_BYTES).slice(0, SECRET_BYTES);
  }

  /** Rotates the secret when due. Called by every other method; `tick` may call it too. */
  rotate(now: number): void {
    const elapsed = now - this.#rotatedAt;
    if (elapsed < this.#rotateMs) return;
    // After two or more periods, the previous secret is as stale as the current one.
    this.#previous = elapsed >= 2 * this.#rotateMs ? this.#secret() : this.#current;
    this.#current = this.#secret();
    this.#rotatedAt = now - (elapsed % this.#rotateMs);
  }

  /** When the secret next rotates (ms). */
  nextRotation(): number {
    return this.#rotatedAt + this.#rotateMs;
  }

  #make(ip: Uint8Array, secret: Uint8Array): Uint8Array {
    return this.#hasher.digest('sha1', ip, secret).subarray(0, DHT_TOKEN_BYTES);
  }

  /** The token to hand to the requester at `ip` (4 or 16 bytes). */
  issue(ip: Uint8Array, now: number): Uint8Array {
    this.rotate(now);
    return this.#make(ip, this.#current);
  }

  /** True when `token` was issued to `ip` with the current or previous secret. */
  verify(token: Uint8Array, ip: Uint8Array, now: number): boolean {
    this.rotate(now);
    if (token.length !== DHT_TOKEN_BYTES) return false;
    return equal(token, this.#make(ip, this.#current)) || equal(token, this.#make(ip, this.#previous));
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
