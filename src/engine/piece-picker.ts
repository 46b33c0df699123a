/**
 * # Piece picker (BEP 3 rarest first, with endgame) — design notes
 *
 * **Owns**: which pieces we have (verified), which we want (priorities), how many connected
 * peers have each piece (availability), and the state of every block of every piece being
 * downloaded ("partial" pieces). It answers one question, {@link PiecePicker.pick}: "which
 * blocks should this peer be asked for next?".
 *
 * **Does not own**: peers, sockets, requests on the wire, timeouts, hashing. It sees a peer only
 * as a key plus a read-only {@link PickerPeerView} (`has(i)`). It never holds a torrent.
 *
 * **Driven by**: the torrent engine (`torrent-engine.ts`), which feeds it bitfields/haves
 * (`addPeerPieces`, `addPeerHave`, `addSeed`, and their inverses on disconnect), asks it for
 * blocks when a peer has request slots free, reports blocks that arrived
 * (`onBlockReceived`), requests that died (`release`: timeout, reject, choke, disconnect), and
 * the hash check verdict (`onPieceVerified` / `onPieceFailed`).
 *
 * **Block life cycle**: a piece is either *have* (verified), *partial* (an entry in
 * `#partial`, each block Free / Requested / Received: `partial-piece.ts`), or untouched (all
 * blocks implicitly Free). Blocks are 16 KiB ({@link BLOCK_BYTES}); the last block of a piece,
 * and the last piece of a torrent (or of each file in v2), may be shorter.
 *
 * **Pick order**, for one peer, among pieces it has, that we want and lack:
 * 1. the streaming window (pieces in `[first, end)`, in index order);
 * 2. partial pieces this peer is already downloading, and orphaned partial pieces (nobody has a
 *    request in them: their peer left, timed out or choked us), higher priority and closest to
 *    completion first — so at most about one piece per peer is partial;
 * 3. new pieces (`new-pieces.ts`): the peer's suggestions, then random while we have fewer
 *    than {@link RANDOM_FIRST_PIECES} pieces (not from a seed), then rarest first, higher
 *    priority first, ties at random; a web seed (`runs`) takes runs of consecutive pieces;
 * 4. partial pieces other peers are downloading: each piece preferably comes from one peer
 *    (whole-piece preference), which completes pieces sooner on fast peers and pins a hash
 *    failure on its sender; peers share a piece only when they have no new piece to start;
 * 5. endgame (`endgame.ts`): when no Free block of a wanted, available piece remains, blocks
 *    requested from others are requested again; when one arrives the others are cancelled.
 *
 * **Invariants** (property-tested): a pick never returns a block of a piece we have, of a
 * skipped piece, of a piece the peer lacks, or a block that is Received; outside endgame it
 * never returns a block that is already Requested; a block is Requested iff it has at least one
 * requester. `#freeAvail` always equals the number of Free blocks in wanted, available pieces.
 *
 * **Bad data**: each Received block remembers which peer delivered it, so a piece that fails its
 * hash check names its contributors (`onPieceFailed`), and is re-downloaded from a single peer
 * (exclusive mode) so that a second failure pins the culprit.
 */
import { BLOCK_BYTES } from '../shared/limits.js';
import { Bitfield } from '../wire/index.js';
import type { PeerKey } from './actions.js';
import { ENDGAME_MAX_REQUESTERS, pickEndgame } from './endgame.js';
import { type PieceTable, pickNewPieces, pickNewRun, RANDOM_FIRST_PIECES } from './new-pieces.js';
import {
  type BlockReceipt,
  BlockState,
  decActive,
  freeReceived,
  newPartialPiece,
  type PartialPiece,
} from './partial-piece.js';
import type { PickerPeerView, PickOptions } from './picker-peer-view.js';
import {
  type BlockRef,
  blockAt,
  blocksInPiece,
  type FileSpan,
  type PieceLayout,
  PiecePriority,
  piecePrioritiesOfFiles,
} from './piece-layout.js';
import type { Random } from './random.js';

export { ENDGAME_BUSY_PER_PEER, ENDGAME_MAX_REQUESTERS } from './endgame.js';
export { RANDOM_FIRST_PIECES } from './new-pieces.js';
export { type BlockReceipt, BlockState } from './partial-piece.js';
export type { PickerPeerView, PickOptions } from './picker-peer-view.js';

/** Options of a {@link PiecePicker}. */
export interface PiecePickerOptions {
  /** @default RANDOM_FIRST_PIECES */
  readonly randomFirstPieces?: number;
  /** @default ENDGAME_MAX_REQUESTERS */
  readonly endgameMaxRequesters?: number;
}

/** The piece picker; see the design notes at the top of this file. */
export class PiecePicker {
  readonly pieceCount: number;
  readonly #layout: PieceLayout;
  readonly #random: Random;
  readonly #randomFirst: number;
  readonly #endgameMax: number;
  readonly #have: Bitfield;
  readonly #avail: Uint32Array;
  readonly #prio: Uint8Array;
  readonly #partial = new Map<number, PartialPiece>();
  /** Pieces that failed a hash check and have not verified since (exclusive mode). */
  readonly #failed = new Set<number>();
  #seeds = 0;
  /** Free blocks in wanted pieces that some connected peer has. */
  #freeAvail = 0;
  #wantedLeftPieces = 0;
  #wantedLeftBytes = 0;
  #window: { first: number; end: number } | undefined;
  /** The state new-piece selection reads (`new-pieces.ts`), built once. */
  readonly #table: PieceTable;

  constructor(layout: PieceLayout, random: Random, options: PiecePickerOptions = {}) {
    this.pieceCount = layout.pieceCount;
    this.#layout = layout;
    this.#random = random;
    this.#randomFirst = options.randomFirstPieces ?? RANDOM_FIRST_PIECES;
    this.#endgameMax = Math.max(1, options.endgameMaxRequesters ?? ENDGAME_MAX_REQUESTERS);
    this.#have = new Bitfield(layout.pieceCount);
    this.#avail = new Uint32Array(layout.pieceCount);
    this.#prio = new Uint8Array(layout.pieceCount).fill(PiecePriority.Normal);
    this.#table = {
      pieceCount: layout.pieceCount,
      layout,
      prio: this.#prio,
      avail: this.#avail,
      partial: this.#partial,
      random,
      scratch: new Int32Array(layout.pieceCount),
    };
    for (let i = 0; i < this.pieceCount; i++) {
      this.#wantedLeftPieces++;
      this.#wantedLeftBytes += layout.pieceSize(i);
    }
  }

  // ---------------------------------------------------------------- queries

  /** True when piece `index` is verified. */
  have(index: number): boolean {
    return this.#hasPiece(index);
  }

  /** True when we want piece `index` and do not have it. */
  wanted(index: number): boolean {
    return this.#prio[index]! > 0 && !this.#hasPiece(index);
  }

  /** Number of connected peers that have piece `index`. */
  availability(index: number): number {
    return (this.#avail[index] ?? 0) + this.#seeds;
  }

  priority(index: number): PiecePriority {
    return (this.#prio[index] ?? 0) as PiecePriority;
  }

  /** Byte length of piece `index`. */
  pieceSize(index: number): number {
    return this.#layout.pieceSize(index);
  }

  /** Our verified pieces (read-only view; copy with `toBytes()`). */
  get haves(): Bitfield {
    return this.#have;
  }

  get haveCount(): number {
    return this.#have.count();
  }

  /** Wanted pieces we do not have yet. */
  get wantedLeftPieces(): number {
    return this.#wantedLeftPieces;
  }

  /** Bytes of the wanted pieces we do not have yet (the tracker's `left`, BEP 3). */
  get wantedLeftBytes(): number {
    return this.#wantedLeftBytes;
  }

  /** Every wanted piece is verified (a partial seed, or a seed). */
  get isFinished(): boolean {
    return this.#wantedLeftPieces === 0;
  }

  /** Every piece is verified (a seed). */
  get isComplete(): boolean {
    return this.#have.hasAll();
  }

  /** No Free block of a wanted, available piece is left: requests may be duplicated. */
  get isEndgame(): boolean {
    return this.#freeAvail === 0 && this.#partial.size > 0;
  }

  /** Number of pieces in progress. */
  get partialCount(): number {
    return this.#partial.size;
  }

  /** Indices of the pieces in progress. */
  partialPieces(): number[] {
    return [...this.#partial.keys()];
  }

  /** State of block `block` of piece `index`. */
  blockState(index: number, block: number): BlockState | 'have' {
    if (this.#hasPiece(index)) return 'have';
    const p = this.#partial.get(index);
    return p === undefined ? BlockState.Free : (p.state[block] as BlockState);
  }

  /** Peers with an outstanding request for the block at `offset` of `piece`. */
  requesters(piece: number, offset: number): readonly PeerKey[] {
    return this.#partial.get(piece)?.requesters[Math.floor(offset / BLOCK_BYTES)] ?? [];
  }

  /** The block at block index `block` of `piece`. */
  blockRef(piece: number, block: number): BlockRef {
    return blockAt(this.#layout, piece, block);
  }

  /** Free blocks in wanted pieces available from some peer (test and debug aid). */
  get freeAvailableBlocks(): number {
    return this.#freeAvail;
  }

  // ------------------------------------------------------- haves and priorities

  /** Marks piece `index` verified (resume data, or a hash check that passed). */
  onPieceVerified(index: number): void {
    if (index < 0 || index >= this.pieceCount) return;
    this.#mutate(index, () => {
      this.#have.set(index);
      this.#partial.delete(index);
      this.#failed.delete(index);
    });
  }

  /** Who delivered each block of a partial piece, by sender id (undefined: not received yet). */
  blockSenders(index: number): (string | undefined)[] {
    return [...(this.#partial.get(index)?.from ?? [])];
  }

  /**
   * Piece `index` failed its hash check: every block becomes Free again (blocks still
   * requested stay Requested), the piece is re-downloaded in exclusive mode (one peer), and the
   * senders of its blocks are returned, each once, for the engine's blame.
   */
  onPieceFailed(index: number): string[] {
    const p = this.#partial.get(index);
    if (p === undefined || this.#hasPiece(index)) return [];
    const contributors = [...new Set(p.from.filter((k): k is string => k !== undefined))];
    this.#mutate(index, () => {
      this.#failed.add(index);
      freeReceived(p);
      if (p.free === p.blocks) this.#partial.delete(index);
    });
    return contributors;
  }

  /** Sets one piece's priority. */
  setPiecePriority(index: number, priority: PiecePriority): void {
    if (index < 0 || index >= this.pieceCount) return;
    this.#mutate(index, () => {
      this.#prio[index] = priority;
    });
  }

  /** Maps file priorities onto pieces; see {@link piecePrioritiesOfFiles}. */
  setFilePriorities(
    files: readonly FileSpan[],
    priorities: readonly PiecePriority[],
    pieceLength: number,
  ): void {
    const next = piecePrioritiesOfFiles(files, priorities, pieceLength, this.pieceCount);
    for (let i = 0; i < this.pieceCount; i++) {
      if (next[i] !== this.#prio[i]) this.setPiecePriority(i, next[i] as PiecePriority);
    }
  }

  /**
   * Pieces `[first, first + count)` are picked before all others, in index order (for
   * streaming: the window ahead of the play position). `count` 0 clears the window.
   */
  setStreamingWindow(first: number, count: number): void {
    this.#window =
      count > 0 ? { first: Math.max(0, first), end: Math.min(this.pieceCount, first + count) } : undefined;
  }

  // --------------------------------------------------------------- availability

  /** A peer announced piece `index` (a `have`). */
  addPeerHave(index: number): void {
    if (index < 0 || index >= this.pieceCount) return;
    this.#mutate(index, () => {
      this.#avail[index]!++;
    });
  }

  /** Undoes {@link addPeerHave} (the peer left). */
  removePeerHave(index: number): void {
    if (index < 0 || index >= this.pieceCount || this.#avail[index] === 0) return;
    this.#mutate(index, () => {
      this.#avail[index]!--;
    });
  }

  /** A peer's bitfield: every piece in `pieces` gains one. */
  addPeerPieces(pieces: Iterable<number>): void {
    for (const i of pieces) this.addPeerHave(i);
  }

  /** Undoes {@link addPeerPieces} (the peer left). */
  removePeerPieces(pieces: Iterable<number>): void {
    for (const i of pieces) this.removePeerHave(i);
  }

  /** A peer that has every piece (BEP 6 have-all, or a full bitfield) joined. */
  addSeed(): void {
    this.#seeds++;
    if (this.#seeds === 1) this.#recount();
  }

  /** A seed left. */
  removeSeed(): void {
    if (this.#seeds === 0) return;
    this.#seeds--;
    if (this.#seeds === 0) this.#recount();
  }

  // ---------------------------------------------------------------- picking

  /**
   * Picks up to `max` blocks to request from `peer` and marks them Requested by it. The caller
   * must send them all (or {@link release} those it does not send).
   */
  pick(peer: PickerPeerView, max: number, options: PickOptions = {}): BlockRef[] {
    const out: BlockRef[] = [];
    if (max <= 0 || this.#wantedLeftPieces === 0) return out;
    const only = options.onlyPieces;
    const candidate = (i: number): boolean =>
      this.#prio[i]! > 0 &&
      !this.#hasPiece(i) &&
      peer.has(i) &&
      (only === undefined || only.has(i)) &&
      peer.refuses?.(i) !== true &&
      peer.avoids?.(i) !== true;

    // 1. streaming window, in order
    if (this.#window !== undefined) {
      for (let i = this.#window.first; i < this.#window.end && out.length < max; i++) {
        if (candidate(i)) this.#takeFree(i, peer.key, max, out);
      }
    }

    // 2. partial pieces this peer is downloading, and orphaned ones (nobody downloads them)
    const shared: [number, PartialPiece][] = [];
    if (out.length < max && this.#partial.size > 0) {
      const mine: [number, PartialPiece][] = [];
      for (const [i, p] of this.#partial) {
        if (p.free === 0 || (p.owner !== undefined && p.owner !== peer.key) || !candidate(i)) continue;
        if (p.active.has(peer.key) || p.active.size === 0) mine.push([i, p]);
        else shared.push([i, p]);
      }
      this.#sortPartial(mine, peer.key);
      for (const [i] of mine) {
        if (out.length >= max) break;
        this.#takeFree(i, peer.key, max, out);
      }
    }

    // 3. new pieces: the peer's suggestions first, then by rarity (none can be left when no
    //    Free block is)
    if (out.length < max && peer.suggested !== undefined && this.#window === undefined) {
      for (const i of peer.suggested) {
        if (out.length >= max) break;
        if (!this.#partial.has(i) && candidate(i)) this.#takeFree(i, peer.key, max, out);
      }
    }
    while (out.length < max && this.#freeAvail > 0) {
      const n =
        peer.runs === true
          ? pickNewRun(this.#table, this.#seeds, peer.key, candidate, max - out.length)
          : pickNewPieces(
              this.#table,
              this.#seeds,
              candidate,
              max - out.length,
              peer.isSeed !== true && this.#have.count() < this.#randomFirst,
            );
      const before = out.length;
      for (const i of n) {
        if (out.length >= max) break;
        this.#takeFree(i, peer.key, max, out);
      }
      if (out.length === before) break;
    }

    // 4. partial pieces other peers are downloading (sharing a piece mixes contributors, so it
    //    comes only after new pieces)
    if (out.length < max && shared.length > 0) {
      this.#sortPartial(shared, peer.key);
      for (const [i] of shared) {
        if (out.length >= max) break;
        this.#takeFree(i, peer.key, max, out);
      }
    }

    // 5. endgame
    const busyMax = Math.min(max, out.length + (options.maxBusy ?? Number.POSITIVE_INFINITY));
    if (out.length < busyMax && this.#freeAvail === 0)
      pickEndgame(
        this.#partial,
        this.#layout,
        this.#random,
        this.#endgameMax,
        peer.key,
        candidate,
        busyMax,
        out,
      );
    return out;
  }

  /**
   * A request from `peer` for `block` ended without data (timeout, reject, choke, cancel,
   * disconnect). Returns false when the peer had no such request.
   */
  release(peer: PeerKey, block: BlockRef): boolean {
    const p = this.#partial.get(block.piece);
    if (p === undefined) return false;
    const b = Math.floor(block.offset / BLOCK_BYTES);
    const reqs = p.requesters[b];
    const at = reqs?.indexOf(peer) ?? -1;
    if (reqs === undefined || at < 0) return false;
    this.#mutate(block.piece, () => {
      reqs.splice(at, 1);
      decActive(p, peer);
      if (reqs.length === 0) {
        p.requesters[b] = undefined;
        if (p.state[b] === BlockState.Requested) {
          p.state[b] = BlockState.Free;
          p.free++;
        }
      }
      if (p.free === p.blocks) this.#partial.delete(block.piece);
    });
    return true;
  }

  /**
   * A block arrived from `peer`. The caller has already checked that it requested it (or
   * cancelled it recently); the picker decides whether it is new, a duplicate or invalid.
   */
  onBlockReceived(peer: PeerKey, block: BlockRef, sender: string = peer): BlockReceipt {
    const { piece, offset, length } = block;
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.pieceCount) return { kind: 'invalid' };
    const size = this.#layout.pieceSize(piece);
    if (offset < 0 || offset % BLOCK_BYTES !== 0 || offset >= size) return { kind: 'invalid' };
    if (length !== Math.min(BLOCK_BYTES, size - offset)) return { kind: 'invalid' };
    if (this.#hasPiece(piece)) return { kind: 'duplicate' };
    const b = offset / BLOCK_BYTES;
    const p = this.#partial.get(piece) ?? newPartialPiece(size);
    if (p.state[b] === BlockState.Received) {
      this.release(peer, block);
      return { kind: 'duplicate' };
    }
    const cancel: PeerKey[] = [];
    this.#mutate(piece, () => {
      if (!this.#partial.has(piece)) this.#partial.set(piece, p);
      for (const k of p.requesters[b] ?? []) {
        decActive(p, k);
        if (k !== peer) cancel.push(k);
      }
      p.requesters[b] = undefined;
      if (p.state[b] === BlockState.Free) p.free--;
      p.state[b] = BlockState.Received;
      p.from[b] = sender;
      p.received++;
    });
    return { kind: 'new', pieceComplete: p.received === p.blocks, cancel };
  }

  // -------------------------------------------------------------- internals

  /** Higher priority, the peer's own, closest to completion, rarest first. */
  #sortPartial(list: [number, PartialPiece][], peer: PeerKey): void {
    list.sort(
      ([ia, a], [ib, b]) =>
        this.#prio[ib]! - this.#prio[ia]! ||
        (b.active.has(peer) ? 1 : 0) - (a.active.has(peer) ? 1 : 0) ||
        a.free / a.blocks - b.free / b.blocks ||
        this.availability(ia) - this.availability(ib),
    );
  }

  /** Takes Free blocks of piece `i` for `peer` until `out` holds `max`. */
  #takeFree(i: number, peer: PeerKey, max: number, out: BlockRef[]): void {
    let p = this.#partial.get(i);
    if (p !== undefined && (p.free === 0 || (p.owner !== undefined && p.owner !== peer))) return;
    this.#mutate(i, () => {
      if (p === undefined) {
        p = newPartialPiece(this.#layout.pieceSize(i));
        this.#partial.set(i, p);
      }
      if (p.owner === undefined && this.#failed.has(i)) {
        // Exclusive mode: only take it over when no one else is downloading it.
        if (p.active.size === 0 || (p.active.size === 1 && p.active.has(peer))) p.owner = peer;
        else return;
      }
      for (let b = 0; b < p.blocks && out.length < max; b++) {
        if (p.state[b] !== BlockState.Free) continue;
        p.state[b] = BlockState.Requested;
        p.requesters[b] = [peer];
        p.free--;
        p.active.set(peer, (p.active.get(peer) ?? 0) + 1);
        out.push(blockAt(this.#layout, i, b));
      }
    });
  }

  #hasPiece(i: number): boolean {
    return i >= 0 && i < this.pieceCount && this.#have.get(i);
  }

  #freeOf(i: number): number {
    if (this.#hasPiece(i)) return 0;
    const p = this.#partial.get(i);
    return p === undefined ? blocksInPiece(this.#layout.pieceSize(i)) : p.free;
  }

  #counted(i: number): number {
    return this.#prio[i]! > 0 && !this.#hasPiece(i) && this.availability(i) > 0 ? this.#freeOf(i) : 0;
  }

  /** Runs `fn`, which may change piece `i`, and keeps the counters exact. */
  #mutate(i: number, fn: () => void): void {
    const wantedBefore = this.#prio[i]! > 0 && !this.#hasPiece(i);
    const before = this.#counted(i);
    fn();
    const wantedAfter = this.#prio[i]! > 0 && !this.#hasPiece(i);
    this.#freeAvail += this.#counted(i) - before;
    if (wantedBefore !== wantedAfter) {
      const d = wantedAfter ? 1 : -1;
      this.#wantedLeftPieces += d;
      this.#wantedLeftBytes += d * this.#layout.pieceSize(i);
    }
  }

  #recount(): void {
    let free = 0;
    for (let i = 0; i < this.pieceCount; i++) free += this.#counted(i);
    this.#freeAvail = free;
  }
}
