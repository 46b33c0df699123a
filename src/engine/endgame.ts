/**
 * # Endgame — duplicate requests for the last blocks
 *
 * When no Free block of a wanted piece that some peer has is left anywhere, the last blocks
 * would wait on the slowest peers. The picker then asks other peers for blocks already
 * Requested: fewest requesters first (random among equals), at most
 * {@link ENDGAME_MAX_REQUESTERS} peers per block, and never a block of a piece that failed a
 * hash check and is owned by another peer (its blocks come from one peer). When one copy
 * arrives the picker has the others cancelled (`onBlockReceived`'s `cancel`).
 *
 * Called by `piece-picker.ts` as its last pick step; it reads and extends the partial pieces'
 * requester lists, nothing else.
 */
import type { PeerKey } from './actions.js';
import { BlockState, type PartialPiece } from './partial-piece.js';
import { type BlockRef, blockAt, type PieceLayout } from './piece-layout.js';
import type { Random } from './random.js';

/** In endgame, the most peers one block may be requested from at once. @default 3 */
export const ENDGAME_MAX_REQUESTERS = 3;
/**
 * In endgame, duplicate requests a peer gets at a time, and only when it has nothing else on
 * the wire (libtorrent's rule): duplicates finish the last pieces without flooding the swarm
 * with redundant blocks. @default 1
 */
export const ENDGAME_BUSY_PER_PEER = 1;

/**
 * Adds `peer` as a requester of Requested blocks of candidate pieces until `out` holds `max`
 * blocks; the blocks taken are pushed onto `out`.
 */
export function pickEndgame(
  partial: ReadonlyMap<number, PartialPiece>,
  layout: PieceLayout,
  random: Random,
  maxRequesters: number,
  peer: PeerKey,
  candidate: (i: number) => boolean,
  max: number,
  out: BlockRef[],
): void {
  const busy: { piece: number; b: number; n: number }[] = [];
  for (const [i, p] of partial) {
    // An exclusive (previously failed) piece is not duplicated: its blocks come from one peer.
    if (!candidate(i) || (p.owner !== undefined && p.owner !== peer)) continue;
    for (let b = 0; b < p.blocks; b++) {
      const reqs = p.requesters[b];
      if (p.state[b] !== BlockState.Requested || reqs === undefined) continue;
      if (reqs.length >= maxRequesters || reqs.includes(peer)) continue;
      busy.push({ piece: i, b, n: reqs.length });
    }
  }
  // Fewest requesters first; random among equals.
  for (const e of busy) e.n += random.int(1000) / 1000;
  busy.sort((x, y) => x.n - y.n);
  for (const e of busy) {
    if (out.length >= max) break;
    const p = partial.get(e.piece)!;
    p.requesters[e.b]!.push(peer);
    p.active.set(peer, (p.active.get(peer) ?? 0) + 1);
    out.push(blockAt(layout, e.piece, e.b));
  }
}
