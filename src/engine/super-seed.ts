/**
 * Super-seeding (BEP 16) for an initial seeder: instead of announcing every piece, the seed
 * pretends to have none and reveals pieces to each peer a few at a time, choosing pieces that no
 * peer has and that it has revealed least, so that each piece leaves the seed about once and the
 * peers spread it among themselves. A peer's revealed piece is replaced by a fresh one when the
 * peer announces it has it (libtorrent's default, "non-strict" behaviour); requests for pieces not
 * revealed to that peer are refused.
 *
 * Pure bookkeeping: the engine tells it who joined, left and announced what, and asks which pieces
 * to reveal. Availability (how many connected peers have each piece) is the engine's picker's.
 */
import type { PeerKey } from './actions.js';
import type { Random } from './random.js';

/** Pieces revealed at once to one peer and not yet confirmed by its HAVE. @default 2 */
export const SUPER_SEED_OFFERS_PER_PEER = 2;

/** Who has what, as the super-seeder sees it. */
export interface SuperSeedView {
  readonly pieceCount: number;
  /** Connected peers that have piece `i`. */
  availability(i: number): number;
}

export class SuperSeeder {
  readonly #offers = new Map<PeerKey, Set<number>>();
  /** Times each piece was revealed (to peers still connected or not). */
  readonly #revealed: Uint32Array;
  readonly #perPeer: number;

  constructor(pieceCount: number, perPeer: number = SUPER_SEED_OFFERS_PER_PEER) {
    this.#revealed = new Uint32Array(pieceCount);
    this.#perPeer = Math.max(1, perPeer);
  }

  /** Pieces revealed to `key` and not yet confirmed. */
  offers(key: PeerKey): ReadonlySet<number> {
    return this.#offers.get(key) ?? EMPTY;
  }

  /** True when `key` may request piece `index` (it was revealed to that peer). */
  mayServe(key: PeerKey, index: number): boolean {
    return this.#offers.get(key)?.has(index) ?? false;
  }

  /**
   * Tops the peer's revealed set up to the per-peer count; returns the new pieces to announce
   * to it with HAVE. `peerHas(i)` says whether the peer already has piece `i`.
   */
  reveal(key: PeerKey, view: SuperSeedView, peerHas: (i: number) => boolean, random: Random): number[] {
    let set = this.#offers.get(key);
    if (set === undefined) {
      set = new Set();
      this.#offers.set(key, set);
    }
    const fresh: number[] = [];
    while (set.size < this.#perPeer) {
      const i = this.#choose(view, (j) => peerHas(j) || set.has(j), random);
      if (i === undefined) break;
      set.add(i);
      this.#revealed[i]!++;
      fresh.push(i);
    }
    return fresh;
  }

  /**
   * The peer announced piece `index`. Returns true when it was one of its revealed pieces: the
   * caller then reveals a replacement.
   */
  onHave(key: PeerKey, index: number): boolean {
    return this.#offers.get(key)?.delete(index) ?? false;
  }

  /** The peer left: its unconfirmed pieces count as not revealed any more. */
  removePeer(key: PeerKey): void {
    const set = this.#offers.get(key);
    if (set === undefined) return;
    for (const i of set) this.#revealed[i] = Math.max(0, this.#revealed[i]! - 1);
    this.#offers.delete(key);
  }

  /** The piece with the lowest availability + times revealed that `skip` allows; ties at random. */
  #choose(view: SuperSeedView, skip: (i: number) => boolean, random: Random): number | undefined {
    let best = Number.POSITIVE_INFINITY;
    let ties = 0;
    let pick: number | undefined;
    for (let i = 0; i < view.pieceCount; i++) {
      if (skip(i)) continue;
      const score = view.availability(i) + this.#revealed[i]!;
      if (score < best) {
        best = score;
        ties = 1;
        pick = i;
      } else if (score === best && random.int(++ties) === 0) {
        pick = i; // reservoir sampling: each tied piece equally likely
      }
    }
    return pick;
  }
}

const EMPTY: ReadonlySet<number> = new Set();
