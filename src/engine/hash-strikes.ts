/**
 * Blame for pieces that fail their hash check (BEP 3: a piece is only trusted once its SHA-1
 * matches). Every peer that delivered a block of a failed piece gets a strike; a peer that
 * delivered the whole piece alone is certainly guilty and reaches the ban threshold at once.
 *
 * Shared pieces blame the innocent too, so failed pieces with several contributors are
 * remembered ({@link FAILURE_MEMORY}): when one of their contributors is banned, the strikes the
 * others got from those pieces are withdrawn. (The picker re-downloads a failed piece from a
 * single peer, so a repeat offender soon becomes a sole contributor.)
 */
import type { PeerKey } from './actions.js';

/** Strikes after which a peer is banned. @default 3 */
export const MAX_HASH_FAILURE_STRIKES = 3;
/** Failed pieces with several contributors remembered for strike withdrawal. @default 64 */
export const FAILURE_MEMORY = 64;

/** Hash-failure strikes of the connected peers; see the module notes. */
export class HashStrikes {
  readonly maxStrikes: number;
  readonly #strikes = new Map<PeerKey, number>();
  #shared: PeerKey[][] = [];

  constructor(maxStrikes: number = MAX_HASH_FAILURE_STRIKES) {
    this.maxStrikes = Math.max(1, maxStrikes);
  }

  /** Strikes against `key`. */
  strikes(key: PeerKey): number {
    return this.#strikes.get(key) ?? 0;
  }

  /**
   * A piece failed; `contributors` delivered its blocks (each once). Strikes the connected ones
   * and returns those that reached {@link maxStrikes}: ban them, then call {@link onBanned}.
   */
  onPieceFailed(contributors: readonly PeerKey[], isConnected: (key: PeerKey) => boolean): PeerKey[] {
    const sole = contributors.length === 1;
    if (!sole) {
      this.#shared.push([...contributors]);
      if (this.#shared.length > FAILURE_MEMORY) this.#shared.shift();
    }
    const ban: PeerKey[] = [];
    for (const key of contributors) {
      if (!isConnected(key)) continue;
      const n = this.strikes(key) + (sole ? this.maxStrikes : 1);
      this.#strikes.set(key, n);
      if (n >= this.maxStrikes) ban.push(key);
    }
    return ban;
  }

  /** `key` was banned: the strikes others got from pieces shared with it are withdrawn. */
  onBanned(key: PeerKey): void {
    this.#strikes.delete(key);
    this.#shared = this.#shared.filter((shared) => {
      if (!shared.includes(key)) return true;
      for (const k of shared) {
        const n = this.#strikes.get(k);
        if (n !== undefined) this.#strikes.set(k, Math.max(0, n - 1));
      }
      return false;
    });
  }

  /** The peer disconnected: its strikes are dropped (memory stays bounded by connected peers). */
  forget(key: PeerKey): void {
    this.#strikes.delete(key);
  }
}
