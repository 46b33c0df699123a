/**
 * # New pieces — which untouched pieces to start next
 *
 * Among candidate pieces nobody has started (no partial entry), one tier is chosen per call:
 * - while we hold fewer than {@link RANDOM_FIRST_PIECES} verified pieces, and the peer is not a
 *   seed, every candidate (a new peer needs something to trade fast);
 * - otherwise the best tier: highest priority, then lowest availability (rarest first, BEP 3).
 * Pieces are drawn from the tier at random, only as many as fill `wantBlocks`.
 *
 * A peer that serves byte ranges (a web seed, BEP 19) gets runs of consecutive pieces of one
 * tier instead ({@link pickNewRun}), so its runtime can ask for long ranges.
 *
 * Pure functions over the picker's live state ({@link PieceTable}, built once by
 * `piece-picker.ts`); the only per-call allocation is the returned list.
 */
import type { PeerKey } from './actions.js';
import type { PartialPiece } from './partial-piece.js';
import { blocksInPiece, type PieceLayout } from './piece-layout.js';
import type { Random } from './random.js';

/**
 * While we have fewer verified pieces than this, new pieces are picked at random instead of
 * rarest first (libtorrent's "initial picker threshold"): a new peer gets tradeable pieces
 * quickly, and newcomers do not all chase the same rarest piece. @default 4
 */
export const RANDOM_FIRST_PIECES = 4;

/** The picker's state new-piece selection reads: live references, never copies. */
export interface PieceTable {
  readonly pieceCount: number;
  readonly layout: PieceLayout;
  /** Priority per piece. */
  readonly prio: Uint8Array;
  /** Peers (seeds excluded) that have each piece. */
  readonly avail: Uint32Array;
  readonly partial: ReadonlyMap<number, PartialPiece>;
  readonly random: Random;
  /** Scratch buffer of `pieceCount` entries for candidate pieces, reused across picks. */
  readonly scratch: Int32Array;
}

/**
 * New (untouched) candidate pieces to start, best first; one tier per call. `seeds` is the
 * number of connected seeds (they add one to every piece's availability); `random` selects the
 * random-first rule.
 */
export function pickNewPieces(
  t: PieceTable,
  seeds: number,
  candidate: (i: number) => boolean,
  wantBlocks: number,
  random: boolean,
): number[] {
  const { scratch, partial, prio, avail, pieceCount } = t;
  let n = 0;
  if (random) {
    for (let i = 0; i < pieceCount; i++) {
      if (!partial.has(i) && candidate(i)) scratch[n++] = i;
    }
  } else {
    // One scan for the best tier: highest priority, then lowest availability.
    let bestPrio = -1;
    let bestAvail = Number.POSITIVE_INFINITY;
    for (let i = 0; i < pieceCount; i++) {
      if (partial.has(i) || !candidate(i)) continue;
      const pr = prio[i]!;
      const av = avail[i]! + seeds;
      if (pr > bestPrio || (pr === bestPrio && av < bestAvail)) {
        bestPrio = pr;
        bestAvail = av;
        n = 0;
      }
      if (pr === bestPrio && av === bestAvail) scratch[n++] = i;
    }
  }
  // Random choice within the tier: a partial Fisher–Yates over as many pieces as needed.
  const out: number[] = [];
  let blocks = 0;
  for (let k = 0; k < n && blocks < wantBlocks; k++) {
    const j = k + t.random.int(n - k);
    const s = scratch[k]!;
    scratch[k] = scratch[j]!;
    scratch[j] = s;
    out.push(scratch[k]!);
    blocks += blocksInPiece(t.layout.pieceSize(scratch[k]!));
  }
  return out;
}

/**
 * New pieces for a peer that serves byte ranges: consecutive untouched pieces of one tier
 * (priority, availability). The run the peer is on continues while the next piece is as urgent
 * and as rare as the one before it (no scan); otherwise the best tier (highest priority, then
 * lowest availability) is found, and its longest run of consecutive pieces is started — at its
 * start, or at its middle when another peer is downloading the piece just before it (that
 * peer's run grows into the gap from the front).
 */
export function pickNewRun(
  t: PieceTable,
  seeds: number,
  peer: PeerKey,
  candidate: (i: number) => boolean,
  wantBlocks: number,
): number[] {
  const { partial, prio: prios, avail: avails, pieceCount } = t;
  const out: number[] = [];
  const fresh = (i: number): boolean => i >= 0 && i < pieceCount && !partial.has(i) && candidate(i);
  let start = -1;
  for (const [i, p] of partial) if (p.active.has(peer) && i + 1 > start) start = i + 1;
  let prio: number;
  let avail: number;
  if (
    start > 0 &&
    fresh(start) &&
    prios[start]! >= prios[start - 1]! &&
    avails[start]! + seeds <= avails[start - 1]! + seeds
  ) {
    prio = prios[start]!;
    avail = avails[start]! + seeds;
  } else {
    prio = -1;
    avail = Number.POSITIVE_INFINITY;
    for (let i = 0; i < pieceCount; i++) {
      if (!fresh(i)) continue;
      const pr = prios[i]!;
      const av = avails[i]! + seeds;
      if (pr > prio || (pr === prio && av < avail)) {
        prio = pr;
        avail = av;
      }
    }
    if (prio < 0) return out;
    start = -1;
    let bestLen = 0;
    for (let i = 0; i < pieceCount; ) {
      let j = i;
      while (j < pieceCount && fresh(j) && prios[j] === prio && avails[j]! + seeds === avail) j++;
      if (j - i > bestLen) {
        bestLen = j - i;
        start = i;
      }
      i = Math.max(j, i + 1);
    }
    const before = partial.get(start - 1);
    if (before !== undefined && before.active.size > (before.active.has(peer) ? 1 : 0))
      start += Math.floor(bestLen / 2);
  }
  let blocks = 0;
  for (let i = start; blocks < wantBlocks; i++) {
    if (!fresh(i) || prios[i] !== prio || avails[i]! + seeds !== avail) break;
    out.push(i);
    blocks += blocksInPiece(t.layout.pieceSize(i));
  }
  return out;
}
