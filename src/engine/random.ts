/**
 * Injected randomness for the pure engine. The engine never calls `Math.random`: it receives a
 * {@link Random}, so a swarm simulation with a seeded generator replays exactly.
 */

/** A source of uniform random numbers. */
export interface Random {
  /** A uniform integer in `[0, n)`; `n` is a positive integer below 2^32. */
  int(n: number): number;
  /** `n` uniform random bytes. */
  bytes(n: number): Uint8Array;
}

/**
 * A small, fast, deterministic generator (sfc32, a public-domain "small fast counter" design)
 * seeded from one integer. For tests and simulations; it is not cryptographically secure.
 */
export class SeededRandom implements Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** @param seed any integer; equal seeds give equal sequences. */
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    // Mix the seed in before the first output (the design's recommended warm-up).
    for (let i = 0; i < 15; i++) this.next32();
  }

  /** The next uniform 32-bit unsigned integer. */
  next32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  int(n: number): number {
    if (n <= 1) return 0;
    // Rejection sampling removes the modulo bias.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    for (;;) {
      const x = this.next32();
      if (x < limit) return x % n;
    }
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      let x = this.next32();
      for (let j = i; j < Math.min(n, i + 4); j++) {
        out[j] = x & 0xff;
        x >>>= 8;
      }
    }
    return out;
  }
}

/** Shuffles `items` in place (Fisher–Yates) and returns it. */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
}
