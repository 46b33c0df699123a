/**
 * # Partial piece — the block state of one piece being downloaded
 *
 * A piece the picker has started holds one entry per 16 KiB block: Free, Requested (with the
 * peers asked for it — more than one only in endgame) or Received (with the id of its sender,
 * for blame when the hash check fails). It also counts each peer's outstanding requests in the
 * piece (`active`), which the picker reads to keep about one piece per peer, and an `owner` for
 * a piece that failed a hash check (exclusive mode: one peer re-downloads it).
 *
 * Plain data mutated in place by the picker (`piece-picker.ts`), which keeps its counters
 * (free available blocks, wanted bytes) exact around every change; nothing here allocates per
 * pick.
 */
import type { PeerKey } from './actions.js';
import { blocksInPiece } from './piece-layout.js';

/** State of one block of a partial piece. */
export const BlockState = { Free: 0, Requested: 1, Received: 2 } as const;
export type BlockState = (typeof BlockState)[keyof typeof BlockState];

/** One piece in progress. */
export interface PartialPiece {
  readonly blocks: number;
  /** A {@link BlockState} per block. */
  readonly state: Uint8Array;
  /** Peers with an outstanding request for each block (more than one only in endgame). */
  readonly requesters: (PeerKey[] | undefined)[];
  /** Who sent each received block (the engine's blame id of the sender). */
  readonly from: (string | undefined)[];
  /** Outstanding requests per peer in this piece. */
  readonly active: Map<PeerKey, number>;
  free: number;
  received: number;
  /** Set for a piece that failed a hash check: only this peer may take its Free blocks. */
  owner: PeerKey | undefined;
}

/** A piece of `size` bytes with every block Free. */
export function newPartialPiece(size: number): PartialPiece {
  const blocks = blocksInPiece(size);
  return {
    blocks,
    state: new Uint8Array(blocks),
    requesters: new Array<PeerKey[] | undefined>(blocks).fill(undefined),
    from: new Array<string | undefined>(blocks).fill(undefined),
    active: new Map(),
    free: blocks,
    received: 0,
    owner: undefined,
  };
}

/** `peer` has one request fewer in `p`; with none left it loses exclusive ownership. */
export function decActive(p: PartialPiece, peer: PeerKey): void {
  const n = (p.active.get(peer) ?? 0) - 1;
  if (n > 0) p.active.set(peer, n);
  else {
    p.active.delete(peer);
    if (p.owner === peer) p.owner = undefined;
  }
}

/**
 * The piece failed its hash check: every Received block is Free again and forgets its sender
 * (Requested blocks stay Requested), and the piece has no owner until one is chosen again.
 */
export function freeReceived(p: PartialPiece): void {
  for (let b = 0; b < p.blocks; b++) {
    p.from[b] = undefined;
    if (p.state[b] === BlockState.Received) {
      p.state[b] = BlockState.Free;
      p.received--;
      p.free++;
    }
  }
  p.owner = undefined;
}

/** The verdict of `PiecePicker.onBlockReceived`. */
export type BlockReceipt =
  | {
      readonly kind: 'new';
      /** Every block of the piece is now Received: hash-check it. */
      readonly pieceComplete: boolean;
      /** Other peers that had this block requested (endgame): send them a cancel. */
      readonly cancel: readonly PeerKey[];
    }
  /** We already had this block (endgame duplicate, or a verified piece): wasted bytes. */
  | { readonly kind: 'duplicate' }
  /** Not a block of this torrent (bad index, misaligned offset or wrong length). */
  | { readonly kind: 'invalid' };
