/**
 * What the engine does with storage's verdict on a complete piece, and the blame that follows.
 *
 * A piece that passed becomes have; if it had failed before, its block digests are compared
 * with the smart-ban record and the senders of blocks that differ are banned. A piece that
 * failed is wasted, counts against every peer that contributed to it, and is fetched again; its
 * sole sender is banned at once, otherwise its block digests are recorded as evidence
 * ({@link SmartBan}; the rules are in smart-ban.ts). It shares the engine's peer map.
 */
import type { BanReason, EngineAction, PeerKey } from './actions.js';
import type { PeerMessages } from './peer-messages.js';
import type { PeerState } from './peer-state.js';
import type { PiecePicker } from './piece-picker.js';
import type { SmartBan } from './smart-ban.js';

/** What the verdicts call back into the engine for. */
export interface PieceVerdictsHost {
  /** Bans a blame id: a `ban` action, and every peer with that id is forgotten. */
  ban(address: string, reason: BanReason, evidence: string, out: EngineAction[], now: number): void;
  /** Piece `index` passed: it becomes have and is announced. */
  markVerified(index: number, out: EngineAction[], now: number): void;
  /** Tops up every peer's pipeline (a failed piece is wanted again). */
  fillAll(out: EngineAction[], now: number): void;
  pieceSize(index: number): number;
}

/** The engine's handling of piece verdicts; see the module notes. */
export class PieceVerdicts {
  readonly #peers: ReadonlyMap<PeerKey, PeerState>;
  readonly #picker: PiecePicker;
  readonly #messages: PeerMessages;
  readonly #smartBan: SmartBan;
  readonly #host: PieceVerdictsHost;
  #hashFailures = 0;

  constructor(
    peers: ReadonlyMap<PeerKey, PeerState>,
    picker: PiecePicker,
    messages: PeerMessages,
    smartBan: SmartBan,
    host: PieceVerdictsHost,
  ) {
    this.#peers = peers;
    this.#picker = picker;
    this.#messages = messages;
    this.#smartBan = smartBan;
    this.#host = host;
  }

  /** Pieces that failed their hash check so far. */
  get hashFailures(): number {
    return this.#hashFailures;
  }

  /** The verdict on `index` needs its block digests even if it passes (it failed before). */
  wantsBlockDigests(index: number): boolean {
    return this.#smartBan.has(index);
  }

  /** Failed pieces and blocks held as smart-ban evidence. */
  stats(): { readonly pieces: number; readonly blocks: number } {
    return { pieces: this.#smartBan.size, blocks: this.#smartBan.blockCount };
  }

  /** Piece `index` passed (`blockDigests`: its blocks' SHA-1, when asked for). */
  onPassed(
    index: number,
    blockDigests: readonly Uint8Array[] | undefined,
    out: EngineAction[],
    now: number,
  ): void {
    if (blockDigests !== undefined && this.#smartBan.has(index)) {
      const { guilty } = this.#smartBan.onPassed(index, blockDigests);
      for (const address of guilty) {
        this.#host.ban(
          address,
          'smart-ban',
          `sent a bad block of piece ${index} (proven by the copy that passed)`,
          out,
          now,
        );
      }
    }
    this.#host.markVerified(index, out, now);
  }

  /** Piece `index` failed its hash check (`blockDigests`: its blocks' SHA-1 as received). */
  onFailed(
    index: number,
    blockDigests: readonly Uint8Array[] | undefined,
    out: EngineAction[],
    now: number,
  ): void {
    this.#hashFailures++;
    this.#messages.onPieceFailed(this.#host.pieceSize(index));
    const senders = this.#picker.blockSenders(index);
    const contributors = this.#picker.onPieceFailed(index);
    out.push({ type: 'event', event: { type: 'piece:failed', index, contributors } });
    for (const p of this.#peers.values()) if (contributors.includes(p.blameId)) p.hashFailures++;
    if (contributors.length === 1) {
      // Every block came from one address: it sent the bad data.
      this.#host.ban(
        contributors[0]!,
        'sole-sender',
        `sole sender of piece ${index}, which failed its hash check`,
        out,
        now,
      );
    } else if (blockDigests !== undefined) {
      this.#smartBan.onFailed(
        index,
        senders.map((sender, b) => ({ sender, digest: blockDigests[b] })),
      );
    }
    this.#host.fillAll(out, now);
  }
}
