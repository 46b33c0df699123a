/**
 * # Upload server — design notes
 *
 * The torrent engine's serve side: whom we unchoke ({@link Choker} decisions carried out on the
 * peers), which of a peer's requests are served and when, and the upload counters.
 *
 * - Requests go through the peer's {@link UploadQueue} (bounded; the choke and BEP 6
 *   allowed-fast rules: a choked peer is served only its allowed-fast pieces, and none once it
 *   holds more than k pieces) and leave it as `read-block` actions, within the reads-in-flight
 *   bound ({@link pump}).
 * - A seed's round-robin turn ends between pieces: blocks of a new piece are held back once the
 *   turn's bytes are committed and a choked peer waits ({@link turnOpen}); the turn ends once
 *   the begun pieces are sent (up to SEED_TURN_OVERRUN× its bytes).
 * - A complete seed that does not super-seed steers BEP 6 peers with fresh-first
 *   ({@link FreshFirst}): a request for a piece the swarm has plenty of may be rejected with a
 *   suggestion, when asked and again when the block leaves the queue.
 * - A rechoke also starts a new turn for a seed's peer that keeps its slot, so the blocks held
 *   back go out.
 *
 * It reads the engine's peer map (never changes it) and emits actions into the caller's `out`
 * array; closing a peer stays with the engine ({@link onRequest} returns the reason).
 */
import { assertNever, reject, send } from './action-helpers.js';
import type { CloseReason, EngineAction, PeerKey } from './actions.js';
import {
  type Choker,
  type ChokerPeerView,
  regularSlotEligible,
  SEED_IDLE_TURN_MS,
  SEED_TURN_OVERRUN,
  TFT_NEWCOMER_PIECES,
} from './choker.js';
import { TORRENT_RATE_WINDOW_MS } from './engine-config.js';
import type { FreshFirst, FreshFirstRefusal } from './fresh-first.js';
import type { PeerState } from './peer-state.js';
import type { BlockRef } from './piece-layout.js';
import type { PiecePicker } from './piece-picker.js';
import type { Random } from './random.js';
import { RateMeter } from './rate.js';
import type { UploadTorrentView } from './upload-queue.js';

/** What the upload server needs to know about the engine beyond its parts. */
export interface UploadServerHost {
  /** True while BEP 16 super-seeding is on and we have every piece (no fresh-first then). */
  readonly isSuperSeeding: boolean;
}

/** The parts an {@link UploadServer} shares with its engine. */
export interface UploadServerInit {
  readonly peers: ReadonlyMap<PeerKey, PeerState>;
  readonly picker: PiecePicker;
  readonly choker: Choker;
  readonly random: Random;
  readonly freshFirst: FreshFirst | undefined;
  readonly uploadView: UploadTorrentView;
  /** BEP 6 allowed-fast set size: a choked peer past this many pieces is served none. */
  readonly allowedFastK: number;
  readonly host: UploadServerHost;
  /** Start of the clock, ms. */
  readonly now: number;
}

/** The engine's serve side: choking, request queues, storage reads, upload counters. */
export class UploadServer {
  readonly #peers: ReadonlyMap<PeerKey, PeerState>;
  readonly #picker: PiecePicker;
  readonly #choker: Choker;
  readonly #random: Random;
  readonly #freshFirst: FreshFirst | undefined;
  readonly #uploadView: UploadTorrentView;
  readonly #allowedFastK: number;
  readonly #host: UploadServerHost;
  readonly #up: RateMeter;
  #uploaded = 0;

  constructor(init: UploadServerInit) {
    this.#peers = init.peers;
    this.#picker = init.picker;
    this.#choker = init.choker;
    this.#random = init.random;
    this.#freshFirst = init.freshFirst;
    this.#uploadView = init.uploadView;
    this.#allowedFastK = init.allowedFastK;
    this.#host = init.host;
    this.#up = new RateMeter(init.now, { windowMs: TORRENT_RATE_WINDOW_MS, bucketMs: 500 });
  }

  /** Bytes sent to peers, in total. */
  get uploadedBytes(): number {
    return this.#uploaded;
  }

  /** Upload rate over TORRENT_RATE_WINDOW_MS, bytes/s. */
  uploadRate(now: number): number {
    return this.#up.rate(now);
  }

  /** Fresh-first bookkeeping, while we are a complete seed that does not super-seed. */
  freshFirstSeeding(): FreshFirst | undefined {
    return this.#picker.isComplete && !this.#host.isSuperSeeding ? this.#freshFirst : undefined;
  }

  /**
   * A seed in round robin: when the first unchoked peer's turn ends for idleness, if a choked
   * peer waits for a slot (undefined otherwise).
   */
  idleTurnDeadline(): number | undefined {
    if (!this.#picker.isFinished || !this.#choker.endsIdleTurns) return undefined;
    let at: number | undefined;
    let waiting = false;
    for (const p of this.#peers.values()) {
      if (p.amChoking) waiting ||= p.peerInterested;
      else if (p.lastSentAt !== undefined && (at === undefined || p.lastSentAt + SEED_IDLE_TURN_MS < at))
        at = p.lastSentAt + SEED_IDLE_TURN_MS;
    }
    return waiting ? at : undefined;
  }

  /** The runtime sent the `piece` message of an earlier `read-block`. */
  onBlockSent(p: PeerState, block: BlockRef, out: EngineAction[], now: number): void {
    p.uploads.onReadDone();
    this.freshFirstSeeding()?.onServe(p.key, block.piece, now);
    p.uploadedBytes += block.length;
    const mode = this.#picker.isFinished ? 'seed' : 'leech';
    const turn = this.#choker.turnBytes(p.key, mode);
    const before = p.uploadedSinceUnchoke;
    p.uploadedSinceUnchoke += block.length;
    p.lastSentAt = now;
    p.uploadMeter.add(block.length, now);
    this.#uploaded += block.length;
    this.#up.add(block.length, now);
    this.pump(p, out, now);
    // A turn ended by bytes (an optimistic probation; a seed's round robin once the pieces begun
    // in the turn are sent, see turnOpen): rechoke.
    if (!p.amChoking && p.uploadedSinceUnchoke >= turn) {
      if (mode === 'leech' ? before < turn : !this.turnOpen(p, turn)) this.rechoke(out, now);
    }
  }

  /** The runtime could not read an earlier `read-block`; a BEP 6 peer gets a reject. */
  onReadFailed(p: PeerState, block: BlockRef, out: EngineAction[], now: number): void {
    p.uploads.onReadDone();
    if (p.supportsFast) out.push(send(p.key, reject(block)));
    this.pump(p, out, now);
  }

  /**
   * A seed's round-robin turn with bytes `turn` still has blocks to send: its bytes are not used
   * up, or blocks of pieces begun in the turn are queued or being read — a turn ends between
   * pieces, so no piece is left half-sent to a peer nobody else can finish it from (up to
   * SEED_TURN_OVERRUN× the bytes).
   */
  turnOpen(p: PeerState, turn: number): boolean {
    if (p.uploadedSinceUnchoke >= turn * SEED_TURN_OVERRUN) return false;
    if (p.turnPopped < turn || p.uploads.readsInFlight > 0) return true;
    return p.uploads.hasQueued((r) => p.turnPieces.has(r.piece));
  }

  /**
   * At pop time, in a seed's round-robin turn: whether to send a block now, or leave it queued
   * (false: the turn's bytes are committed, it starts a new piece, and a choked peer waits for
   * the slot — the turn ends once the begun pieces are sent, and the choke rejects it).
   */
  #turnAdmits(p: PeerState, b: BlockRef, turn: number, someoneWaits: () => boolean): boolean {
    if (turn === Number.POSITIVE_INFINITY || p.amChoking) return true;
    if (p.turnPopped >= turn && !p.turnPieces.has(b.piece)) {
      if (someoneWaits()) return false;
      p.startTurn(); // nobody else wants the slot: a new turn, without a pause
    }
    p.turnPopped += b.length;
    p.turnPieces.add(b.piece);
    return true;
  }

  /** An interested peer we choke (it would take a slot that frees up). */
  #someoneWaits(): boolean {
    for (const q of this.#peers.values()) if (q.amChoking && q.peerInterested) return true;
    return false;
  }

  /** The peer became interested: a free regular slot is filled at once. */
  onInterested(p: PeerState, out: EngineAction[], now: number): void {
    p.peerInterested = true;
    if (!p.amChoking) return;
    // Fill a free regular slot at once instead of waiting for the next rechoke — if the peer may
    // hold one (tit-for-tat while we download).
    const mode = this.#picker.isFinished ? 'seed' : 'leech';
    if (!regularSlotEligible(this.chokerView(p, now), mode)) return;
    let unchoked = 0;
    for (const q of this.#peers.values()) if (!q.amChoking) unchoked++;
    if (unchoked < this.#choker.slots) this.#unchoke(p, out, now);
  }

  /**
   * Tit-for-tat: a newcomer holds a regular slot only until it has pieces to trade. True when
   * `p` (which just got a piece) reaches TFT_NEWCOMER_PIECES without having sent us anything:
   * it is judged now (rechoke) rather than at the next scheduled rechoke (up to
   * RECHOKE_INTERVAL_MS of free upload to a free-rider).
   */
  newcomerDue(p: PeerState, now: number): boolean {
    return (
      !p.amChoking &&
      p.pieces.count() === TFT_NEWCOMER_PIECES &&
      !this.#picker.isFinished &&
      !this.#choker.isOptimistic(p.key) &&
      !regularSlotEligible(this.chokerView(p, now), 'leech')
    );
  }

  /** A request from the peer; returns the reason to close it, if it broke a bound. */
  onRequest(p: PeerState, r: BlockRef, out: EngineAction[], now: number): CloseReason | undefined {
    // BEP 6: allowed-fast pieces are for starting peers; once the peer holds more than k pieces
    // its choked requests are refused like any other (as the BEP's authors do), so a free-rider
    // cannot live on allowed-fast sets.
    const allowedFast = this.#allowedFastFor(p);
    // Fresh-first seeding: a seed steers BEP 6 peers towards the pieces the swarm lacks most —
    // asked here, and again when the block leaves the queue (pump).
    const judge = this.#freshFirstJudge(p, now);
    let suggest: number | undefined;
    const v = p.uploads.onRequest(
      r,
      this.#uploadView,
      p.amChoking,
      allowedFast,
      judge === undefined
        ? undefined
        : (b) => {
            const refusal = judge(b);
            suggest = refusal?.suggest;
            return refusal !== undefined;
          },
    );
    switch (v.kind) {
      case 'queued':
        this.pump(p, out, now);
        return undefined;
      case 'duplicate':
        return undefined;
      case 'refused':
        if (p.supportsFast) out.push(send(p.key, reject(r)));
        if (suggest !== undefined) out.push(send(p.key, { type: 'suggest-piece', index: suggest }));
        return undefined;
      case 'close':
        return v.reason;
      default:
        return assertNever(v);
    }
  }

  /** The allowed-fast pieces a choked peer may still be served: none once it is past k pieces. */
  #allowedFastFor(p: PeerState): ReadonlySet<number> {
    return p.pieces.count() > this.#allowedFastK ? NO_PIECES : p.allowedFastForPeer;
  }

  /** The peer cancelled a request. */
  onCancel(p: PeerState, r: BlockRef, out: EngineAction[]): void {
    // BEP 6: every request gets exactly one answer, a piece or a reject, even when cancelled.
    // A request already handed to storage is answered by its piece.
    if (p.uploads.onCancel(r) && p.supportsFast) out.push(send(p.key, reject(r)));
  }

  /** Hands queued requests to storage, within the reads-in-flight bound. */
  pump(p: PeerState, out: EngineAction[], now: number): void {
    const judge = this.#freshFirstJudge(p, now);
    const turn = this.#picker.isFinished ? this.#choker.turnBytes(p.key, 'seed') : Number.POSITIVE_INFINITY;
    // Asked at most once per pump: every held-back block would otherwise walk all peers.
    let waits: boolean | undefined;
    const someoneWaits = () => (waits ??= this.#someoneWaits());
    const reads = p.uploads.nextReads(
      judge === undefined && turn === Number.POSITIVE_INFINITY
        ? undefined
        : (b) => {
            const refusal = judge?.(b);
            if (refusal === undefined) {
              if (!this.#turnAdmits(p, b, turn, someoneWaits)) return 'skip';
              if (judge !== undefined) this.#freshFirst?.onServe(p.key, b.piece, now);
              return 'serve';
            }
            out.push(send(p.key, reject(b)));
            if (refusal.suggest !== undefined)
              out.push(send(p.key, { type: 'suggest-piece', index: refusal.suggest }));
            return 'refuse';
          },
    );
    for (const r of reads) {
      out.push({ type: 'read-block', peer: p.key, piece: r.piece, offset: r.offset, length: r.length });
    }
  }

  /**
   * Fresh-first seeding's verdict on serving a block to a BEP 6 peer (undefined: no such
   * steering — not seeding, super-seeding, or a peer that cannot be sent a reject).
   */
  #freshFirstJudge(p: PeerState, now: number): ((b: BlockRef) => FreshFirstRefusal | undefined) | undefined {
    const ff = this.freshFirstSeeding();
    if (ff === undefined || !p.supportsFast) return undefined;
    return (b) => ff.redirect(p.key, b.piece, p.amChoking, this.#picker, (i) => p.has(i), now, this.#random);
  }

  #unchoke(p: PeerState, out: EngineAction[], now: number): void {
    p.amChoking = false;
    p.lastUnchokedAt = now;
    p.lastSentAt = now;
    p.startTurn();
    p.uploads.onUnchoke();
    out.push(send(p.key, { type: 'unchoke' }));
  }

  #choke(p: PeerState, out: EngineAction[], now: number): void {
    p.amChoking = true;
    out.push(send(p.key, { type: 'choke' }));
    // BEP 6: choke first, then reject the queued requests (allowed-fast ones stay); without
    // BEP 6 the choke itself discards them (BEP 3).
    for (const r of p.uploads.onChoke(this.#allowedFastFor(p))) {
      if (p.supportsFast) out.push(send(p.key, reject(r)));
    }
    // The allowed-fast requests kept are served now, as if asked while choked: the peer waits on
    // them and may send nothing else that would start the upload.
    if (p.uploads.queued > 0) this.pump(p, out, now);
  }

  /** Runs the choker and carries out its decisions (the engine schedules the periodic one). */
  rechoke(out: EngineAction[], now: number): void {
    const views: ChokerPeerView[] = [];
    for (const p of this.#peers.values()) views.push(this.chokerView(p, now));
    const mode = this.#picker.isFinished ? 'seed' : 'leech';
    const d = this.#choker.rechoke(views, now, this.#random, mode);
    for (const k of d.choke) {
      const p = this.#peers.get(k);
      if (p !== undefined) this.#choke(p, out, now);
    }
    for (const k of d.unchoke) {
      const p = this.#peers.get(k);
      if (p !== undefined) this.#unchoke(p, out, now);
    }
    if (mode === 'seed') {
      // A peer whose round-robin turn is over but who keeps its slot (nobody else is waiting)
      // starts a new turn, so the blocks held back at the end of the last one go out; an idle
      // one gets a new idle window (so the idle deadline moves on).
      for (const p of this.#peers.values()) {
        if (p.amChoking) continue;
        if (this.#choker.isIdle(p, now)) p.lastSentAt = now;
        const turn = this.#choker.turnBytes(p.key, 'seed');
        if (turn === Number.POSITIVE_INFINITY || this.turnOpen(p, turn)) continue;
        p.startTurn();
        this.pump(p, out, now);
      }
    }
  }

  /** What the choker reads about a peer. */
  chokerView(p: PeerState, now: number): ChokerPeerView {
    return {
      key: p.key,
      isInterested: p.peerInterested,
      isChoked: p.amChoking,
      downloadRate: p.downloadMeter.rate(now),
      uploadRate: p.uploadMeter.rate(now),
      isSnubbed: p.requests.isSnubbed,
      connectedAt: p.connectedAt,
      lastUnchokedAt: p.lastUnchokedAt,
      lastSentAt: p.lastSentAt,
      uploadedSinceUnchoke: p.uploadedSinceUnchoke,
      turnOpen: this.turnOpen(p, this.#choker.turnBytes(p.key, 'seed')),
      isHoarder: this.#freshFirst?.isHoarder(p.key, now) ?? false,
      pieceCount: p.pieces.count(),
      downloadedBytes: p.downloadedBytes,
      amInterested: p.amInterested,
      hasUnchokedUs: p.everUnchokedUs,
    };
  }
}

const NO_PIECES: ReadonlySet<number> = new Set();
