/**
 * Randomness, injected. The DHT never calls `Math.random`: the runtime passes a source backed by
 * node:crypto, tests and simulations pass a seeded one so a run replays exactly.
 */
export interface Random {
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
  /** A uniformly random integer in `[0, n)`; `n` is a positive safe integer. */
  int(n: number): number;
}
