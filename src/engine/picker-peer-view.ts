/**
 * # Picker peer view — what one pick is told
 *
 * The piece picker never sees a peer's connection or state machine: only this narrow,
 * read-only view (its key, which pieces it has, what it refuses or suggests, whether it is a
 * seed or a web seed) and the restrictions of one `pick` call. `PeerState` (`peer-state.ts`)
 * implements the view; tests implement it with a few lines.
 */
import type { PeerKey } from './actions.js';

/** What the picker may know about a peer. */
export interface PickerPeerView {
  readonly key: PeerKey;
  /** True when the peer has piece `index`. */
  has(index: number): boolean;
  /**
   * The peer has every piece. From a seed new pieces are always picked rarest first, even
   * before we have RANDOM_FIRST_PIECES: a random piece there is likely one other leechers
   * already hold, and the seed's upload would be spent on a duplicate. @default false
   */
  readonly isSeed?: boolean;
  /** Pieces the peer suggested (BEP 6), tried first among pieces nobody downloads yet. */
  readonly suggested?: Iterable<number>;
  /** True for a piece not to ask of this peer now (it refused it lately). @default never */
  refuses?(index: number): boolean;
  /**
   * True for a piece not to ask of this peer now because another peer should send it (smart
   * ban: a failed piece is fetched again from a peer that did not contribute). @default never
   */
  avoids?(index: number): boolean;
  /**
   * The peer serves byte ranges (a web seed, BEP 19): its new pieces come in runs of consecutive
   * pieces of the best tier — continuing its current run, else from the start of the longest gap
   * (its middle when another peer is filling that gap from its front) — so its runtime can ask
   * for long ranges. @default false
   */
  readonly runs?: boolean;
}

/** Restrictions of one `PiecePicker.pick` call. */
export interface PickOptions {
  /** Pick only from these pieces (the peer's BEP 6 allowed-fast set while it chokes us). */
  readonly onlyPieces?: ReadonlySet<number> | undefined;
  /**
   * Most endgame (duplicate) blocks this call may return. The engine passes
   * `ENDGAME_BUSY_PER_PEER` (`endgame.ts`) for an idle peer and 0 otherwise. @default unlimited
   */
  readonly maxBusy?: number;
}
