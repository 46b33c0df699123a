/**
 * # Peer messages — design notes
 *
 * What the torrent engine does with each decoded message a peer sends ({@link onMessage}), per
 * type: the bitfield phase (a bitfield, have all or have none first; a late one is taken as
 * HAVEs), HAVEs (availability, interest, BEP 16 reveals, the tit-for-tat newcomer check),
 * chokes, received blocks (download accounting, endgame cancels, `write-block` and
 * `piece-complete`), rejects (refused pieces, allowed-fast withdrawn), and the BEP 6 messages
 * that need the fast extension. Requests and cancels go to the {@link UploadServer}, pipelines
 * are topped up by the {@link DownloadPipeline}. It also owns our interest in each peer
 * (interested / not interested) and the download counters.
 *
 * A rule that closes a peer calls the engine's `close` (the engine forgets the peer before it
 * returns): a handler checks the peer is still in the map before going on.
 */
import type { ShoalError } from '../shared/errors.js';
import {
  MAX_PEER_ALLOWED_FAST,
  MAX_PEER_REFUSED_PIECES,
  MAX_PEER_SUGGESTED_PIECES,
  MAX_UNEXPECTED_REJECTS,
  MAX_UNREQUESTED_BLOCKS,
} from '../shared/limits.js';
import { Bitfield, WireError, type WireMessage } from '../wire/index.js';
import { assertNever, reject, send } from './action-helpers.js';
import type { CloseReason, EngineAction, PeerKey } from './actions.js';
import type { DownloadPipeline } from './download-pipeline.js';
import { TORRENT_RATE_WINDOW_MS } from './engine-config.js';
import { type PeerState, REFUSED_PIECE_MS, REFUSED_PIECE_RETRY_MS } from './peer-state.js';
import type { BlockRef } from './piece-layout.js';
import type { PiecePicker } from './piece-picker.js';
import type { Random } from './random.js';
import { RateMeter } from './rate.js';
import type { SuperSeeder } from './super-seed.js';
import type { UploadServer } from './upload-server.js';

/** What the message rules call back into the engine for. */
export interface PeerMessagesHost {
  /** Closes the peer: a `close` action, and the engine forgets it at once. */
  close(p: PeerState, reason: CloseReason, out: EngineAction[], now: number, error?: ShoalError): void;
  /** An unscheduled rechoke. */
  rechoke(out: EngineAction[], now: number): void;
  /** BEP 16 state, while super-seeding is wanted. */
  superSeeder(): SuperSeeder | undefined;
}

/** The parts {@link PeerMessages} shares with its engine. */
export interface PeerMessagesInit {
  readonly pieceCount: number;
  readonly peers: ReadonlyMap<PeerKey, PeerState>;
  readonly picker: PiecePicker;
  readonly random: Random;
  readonly pipeline: DownloadPipeline;
  readonly uploads: UploadServer;
  readonly host: PeerMessagesHost;
  /** Start of the clock, ms. */
  readonly now: number;
}

/** The engine's rules for incoming wire messages, our interest, and the download counters. */
export class PeerMessages {
  readonly #pieceCount: number;
  readonly #peers: ReadonlyMap<PeerKey, PeerState>;
  readonly #picker: PiecePicker;
  readonly #random: Random;
  readonly #pipeline: DownloadPipeline;
  readonly #uploads: UploadServer;
  readonly #host: PeerMessagesHost;
  readonly #down: RateMeter;
  #downloaded = 0;
  #wasted = 0;
  #keepSeeds = false;

  constructor(init: PeerMessagesInit) {
    this.#pieceCount = init.pieceCount;
    this.#peers = init.peers;
    this.#picker = init.picker;
    this.#random = init.random;
    this.#pipeline = init.pipeline;
    this.#uploads = init.uploads;
    this.#host = init.host;
    this.#down = new RateMeter(init.now, { windowMs: TORRENT_RATE_WINDOW_MS, bucketMs: 500 });
  }

  /** New bytes received and kept (less the pieces that failed their hash check). */
  get downloadedBytes(): number {
    return this.#downloaded;
  }

  /** Bytes received and thrown away (duplicates, unrequested, failed pieces). */
  get wastedBytes(): number {
    return this.#wasted;
  }

  /** Download rate over TORRENT_RATE_WINDOW_MS, bytes/s. */
  downloadRate(now: number): number {
    return this.#down.rate(now);
  }

  /** A piece of `size` bytes failed its hash check: its bytes are wasted, not downloaded. */
  onPieceFailed(size: number): void {
    this.#wasted += size;
    this.#downloaded = Math.max(0, this.#downloaded - size);
  }

  /** One decoded message from peer `p` (in the engine's map). */
  onMessage(p: PeerState, msg: WireMessage, out: EngineAction[], now: number): void {
    if (
      msg.type !== 'bitfield' &&
      msg.type !== 'have-all' &&
      msg.type !== 'have-none' &&
      !PHASELESS.has(msg.type)
    ) {
      p.phase = 'active';
    }
    switch (msg.type) {
      case 'keep-alive':
      case 'port':
      case 'extended':
      case 'unknown':
      case 'hash-request':
      case 'hashes':
      case 'hash-reject':
        // Not the engine's business (BEP 5 DHT port, BEP 10 extensions and BEP 52 hashes are
        // handled by the runtime); they do not end the bitfield phase.
        break;
      case 'handshake':
        this.#host.close(p, 'protocol-error', out, now);
        break;
      case 'bitfield':
        this.#onBitfield(p, msg, out, now);
        break;
      case 'have-all':
      case 'have-none':
        this.#onBitfield(p, { type: msg.type }, out, now);
        break;
      case 'choke':
        this.#onChoke(p, out, now);
        break;
      case 'unchoke':
        p.peerChoking = false;
        p.everUnchokedUs = true;
        this.#pipeline.fill(p, out, now);
        break;
      case 'interested':
        this.#uploads.onInterested(p, out, now);
        break;
      case 'not-interested':
        p.peerInterested = false;
        if (!p.amChoking) this.#host.rechoke(out, now);
        break;
      case 'have':
        this.#onHave(p, msg.index, out, now);
        break;
      case 'request':
        this.#onRequest(p, { piece: msg.index, offset: msg.begin, length: msg.length }, out, now);
        break;
      case 'cancel':
        this.#uploads.onCancel(p, { piece: msg.index, offset: msg.begin, length: msg.length }, out);
        break;
      case 'piece':
        this.#onPiece(p, msg.index, msg.begin, msg.block, out, now);
        break;
      case 'reject-request':
        if (!p.supportsFast) this.#host.close(p, 'fast-extension-violation', out, now);
        else this.#onReject(p, { piece: msg.index, offset: msg.begin, length: msg.length }, out, now);
        break;
      case 'allowed-fast':
        if (!p.supportsFast) this.#host.close(p, 'fast-extension-violation', out, now);
        else if (msg.index < this.#pieceCount && p.allowedFastFromPeer.size < MAX_PEER_ALLOWED_FAST) {
          p.allowedFastFromPeer.add(msg.index);
          if (p.peerChoking) this.#pipeline.fill(p, out, now);
        }
        break;
      case 'suggest-piece':
        // Advisory (BEP 6): the picker tries suggested pieces first among new ones.
        if (!p.supportsFast) this.#host.close(p, 'fast-extension-violation', out, now);
        else if (msg.index < this.#pieceCount && this.#picker.wanted(msg.index)) {
          p.suggested.delete(msg.index);
          if (p.suggested.size >= MAX_PEER_SUGGESTED_PIECES) {
            p.suggested.delete(p.suggested.values().next().value!);
          }
          p.suggested.add(msg.index);
          this.#pipeline.fill(p, out, now);
        }
        break;
      default:
        assertNever(msg);
    }
  }

  /**
   * A bitfield / have all after the first message. BEP 3 allows it only first, but aria2 sends a
   * fresh BITFIELD in place of a batch of HAVEs (and HAVE ALL once complete): take it as those
   * HAVEs. Pieces are never taken away; a late HAVE NONE adds nothing. A malformed one still
   * closes the connection.
   */
  #onLateBitfield(
    p: PeerState,
    msg:
      | { readonly type: 'bitfield'; readonly bitfield: Uint8Array }
      | { readonly type: 'have-all' | 'have-none' },
    out: EngineAction[],
    now: number,
  ): void {
    if (msg.type === 'have-none') return;
    let indexes: Iterable<number>;
    if (msg.type === 'have-all') indexes = Array.from({ length: this.#pieceCount }, (_, i) => i);
    else if (msg.type !== 'bitfield') return;
    else {
      try {
        indexes = Bitfield.fromWire(msg.bitfield, this.#pieceCount).setIndexes();
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        this.#host.close(p, 'bad-bitfield', out, now, err);
        return;
      }
    }
    for (const i of indexes) {
      if (p.has(i)) continue;
      this.#onHave(p, i, out, now);
      if (!this.#peers.has(p.key)) return; // closed, e.g. redundant
    }
  }

  #onBitfield(
    p: PeerState,
    msg:
      | { readonly type: 'bitfield'; readonly bitfield: Uint8Array }
      | { readonly type: 'have-all' | 'have-none' },
    out: EngineAction[],
    now: number,
  ): void {
    if (msg.type !== 'bitfield' && !p.supportsFast) {
      this.#host.close(p, 'fast-extension-violation', out, now);
      return;
    }
    if (p.phase !== 'awaiting-bitfield') {
      this.#onLateBitfield(p, msg, out, now);
      return;
    }
    p.phase = 'active';
    if (msg.type === 'have-all') p.pieces.setAll();
    else if (msg.type === 'bitfield') {
      let bf: Bitfield;
      try {
        bf = Bitfield.fromWire(msg.bitfield, this.#pieceCount);
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        this.#host.close(p, 'bad-bitfield', out, now, err);
        return;
      }
      for (const i of bf.setIndexes()) p.pieces.set(i);
    }
    if (p.isSeed) {
      p.countedAsSeed = true;
      this.#picker.addSeed();
    } else this.#picker.addPeerPieces(p.pieces.setIndexes());
    if (this.redundant(p)) {
      this.#host.close(p, 'redundant', out, now);
      return;
    }
    this.superSeedTopUp(p, out);
    this.recountInterest(p);
    this.updateInterest(p, out, now);
  }

  #onHave(p: PeerState, index: number, out: EngineAction[], now: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.#pieceCount) {
      this.#host.close(p, 'have-out-of-range', out, now);
      return;
    }
    if (p.has(index)) return;
    p.pieces.set(index);
    this.#picker.addPeerHave(index);
    this.#uploads.freshFirstSeeding()?.onHave(p.key, index, now);
    if (this.#picker.wanted(index)) p.interesting++;
    if (this.redundant(p)) {
      this.#host.close(p, 'redundant', out, now);
      return;
    }
    // BEP 16: the peer has one of the pieces revealed to it: reveal another.
    if (p.superSeeded && this.#host.superSeeder()?.onHave(p.key, index)) this.superSeedTopUp(p, out);
    this.updateInterest(p, out, now);
    // Tit-for-tat: a newcomer that has pieces to trade but sent us nothing is judged now.
    if (this.#uploads.newcomerDue(p, now)) this.#host.rechoke(out, now);
  }

  /** Drops the revealed pieces the peer has by now, and reveals new ones up to the count. */
  superSeedTopUp(p: PeerState, out: EngineAction[]): void {
    const ss = this.#host.superSeeder();
    if (ss === undefined || !p.superSeeded) return;
    for (const i of [...ss.offers(p.key)]) if (p.has(i)) ss.onHave(p.key, i);
    for (const i of ss.reveal(p.key, this.#picker, (i) => p.has(i), this.#random)) {
      out.push(send(p.key, { type: 'have', index: i }));
    }
  }

  #onChoke(p: PeerState, out: EngineAction[], now: number): void {
    p.peerChoking = true;
    // BEP 6: with the fast extension a choke no longer cancels requests; rejects will come.
    if (p.supportsFast) {
      this.#pipeline.fill(p, out, now); // allowed-fast pieces may still be requested
      return;
    }
    const dropped = p.requests.dropAll();
    for (const r of dropped) this.#picker.release(p.key, r);
    if (dropped.length > 0) this.#pipeline.fillAll(out, now);
  }

  #onRequest(p: PeerState, r: BlockRef, out: EngineAction[], now: number): void {
    const ss = p.superSeeded ? this.#host.superSeeder() : undefined;
    if (ss !== undefined && !ss.mayServe(p.key, r.piece)) {
      // BEP 16: only what was revealed to this peer.
      if (p.supportsFast) out.push(send(p.key, reject(r)));
      return;
    }
    const reason = this.#uploads.onRequest(p, r, out, now);
    if (reason !== undefined) this.#host.close(p, reason, out, now);
  }

  #onPiece(
    p: PeerState,
    piece: number,
    offset: number,
    data: Uint8Array,
    out: EngineAction[],
    now: number,
  ): void {
    const taken = this.#takeBlock(p, { piece, offset, length: data.length }, out, now, data);
    if (taken === 'closed' || taken === 'unrequested') return;
    if (taken === 'completes') out.push({ type: 'piece-complete', index: piece });
    // Refills the pipeline, or says not-interested once the last wanted request is answered.
    this.updateInterest(p, out, now);
  }

  /**
   * A run of blocks from `p`, back to back in `data` (see `TorrentEngine.onBlockRun`). Each block
   * is taken as if it came in its own `piece` message, but each stretch of new blocks goes to
   * the writer as one `write-block`, and the pipeline is topped up once, at the end.
   */
  onBlockRun(
    p: PeerState,
    blocks: readonly BlockRef[],
    data: Uint8Array,
    out: EngineAction[],
    now: number,
  ): void {
    // The stretch of new blocks not yet handed to the writer: [from, to) in `data`.
    let from = -1;
    let to = 0;
    let fromBlock: BlockRef | undefined;
    const flush = (): void => {
      if (fromBlock === undefined) return;
      const { piece, offset } = fromBlock;
      out.push({ type: 'write-block', piece, offset, data: data.subarray(from, to), peer: p.key });
      fromBlock = undefined;
    };
    let at = 0;
    for (const b of blocks) {
      const taken = this.#takeBlock(p, b, out, now, undefined);
      if (taken === 'closed') {
        flush();
        return;
      }
      if (taken === 'old' || taken === 'unrequested') flush();
      else {
        // A new stretch unless `b` continues the last one in its piece.
        if (
          fromBlock === undefined ||
          fromBlock.piece !== b.piece ||
          fromBlock.offset + (to - from) !== b.offset
        ) {
          flush();
          fromBlock = b;
          from = at;
        }
        to = at + b.length;
        if (taken === 'completes') {
          flush();
          out.push({ type: 'piece-complete', index: b.piece });
        }
      }
      at += b.length;
    }
    flush();
    this.updateInterest(p, out, now);
  }

  /**
   * The bookkeeping of one received block: matched against the peer's requests (an
   * unrequested one may close the peer), counted as downloaded or wasted, and cancelled at the
   * other peers that were asked for it too. With `data`, a new block's `write-block` goes out
   * here, before those cancels. Says whether the block was unrequested (then the peer may be
   * closed), not new, or new, and whether it completed its piece.
   */
  #takeBlock(
    p: PeerState,
    block: BlockRef,
    out: EngineAction[],
    now: number,
    data: Uint8Array | undefined,
  ): 'closed' | 'unrequested' | 'old' | 'new' | 'completes' {
    const wasSnubbed = p.requests.isSnubbed;
    const match = p.requests.onBlock(block, now);
    if (match === 'unrequested') {
      p.wastedBytes += block.length;
      this.#wasted += block.length;
      if (p.supportsFast || ++p.unrequestedBlocks > MAX_UNREQUESTED_BLOCKS) {
        this.#host.close(p, 'unrequested-block', out, now);
        return 'closed';
      }
      return 'unrequested';
    }
    if (wasSnubbed && !p.requests.isSnubbed) {
      out.push({ type: 'event', event: { type: 'peer:unsnubbed', peer: p.key } });
    }
    const receipt = this.#picker.onBlockReceived(p.key, block, p.blameId);
    if (receipt.kind !== 'new') {
      p.wastedBytes += block.length;
      this.#wasted += block.length;
      return 'old';
    }
    p.downloadedBytes += block.length;
    p.downloadMeter.add(block.length, now);
    this.#downloaded += block.length;
    this.#down.add(block.length, now);
    this.#pipeline.onDownloaded(p, block.length, now);
    if (data !== undefined) {
      out.push({ type: 'write-block', piece: block.piece, offset: block.offset, data, peer: p.key });
    }
    for (const k of receipt.cancel) {
      const q = this.#peers.get(k);
      if (q === undefined || !q.requests.cancel(block)) continue;
      out.push(send(k, { type: 'cancel', index: block.piece, begin: block.offset, length: block.length }));
      this.#pipeline.fill(q, out, now);
    }
    return receipt.pieceComplete ? 'completes' : 'new';
  }

  #onReject(p: PeerState, r: BlockRef, out: EngineAction[], now: number): void {
    const match = p.requests.onReject(r);
    if (match === 'unrequested') {
      if (++p.unexpectedRejects > MAX_UNEXPECTED_REJECTS) this.#host.close(p, 'unexpected-reject', out, now);
      return;
    }
    if (match === 'cancelled') return;
    // A choked request refused although the piece was allowed-fast: the peer no longer honours
    // that set (BEP 6 lets it refuse once we are past the starting stage) — stop asking.
    if (p.peerChoking) p.allowedFastFromPeer.delete(r.piece);
    // Refused while unchoked (a seed steering us to other pieces, a full queue): not asked of
    // this peer again for a while.
    else {
      p.refusedPieces.delete(r.piece);
      if (p.refusedPieces.size >= MAX_PEER_REFUSED_PIECES) {
        p.refusedPieces.delete(p.refusedPieces.keys().next().value!);
      }
      p.refusedPieces.set(r.piece, { until: now + REFUSED_PIECE_MS, retryAt: now + REFUSED_PIECE_RETRY_MS });
      p.suggested.delete(r.piece);
    }
    this.#picker.release(p.key, r);
    // Offer the block to the other peers first, so a peer that keeps rejecting it does not get
    // it straight back.
    for (const q of this.#peers.values()) if (q !== p) this.#pipeline.fill(q, out, now);
    this.#pipeline.fill(p, out, now);
  }

  /** We are finished and the peer has everything: the connection is useless to both. */
  redundant(p: PeerState): boolean {
    return !this.#keepSeeds && this.#picker.isFinished && p.isSeed;
  }

  /**
   * Keeps connections to seeds even when we want nothing from them right now — e.g. while a v2
   * torrent from a magnet waits for piece layers that only those peers can send.
   */
  setKeepSeeds(keep: boolean): void {
    this.#keepSeeds = keep;
  }

  /** Counts the wanted pieces the peer has. */
  recountInterest(p: PeerState): void {
    let n = 0;
    if (p.isSeed) n = this.#picker.wantedLeftPieces;
    else for (const i of p.pieces.setIndexes()) if (this.#picker.wanted(i)) n++;
    p.interesting = n;
  }

  /** Sends interested / not interested when the peer's usefulness changed. */
  updateInterest(p: PeerState, out: EngineAction[], now: number): void {
    const want = p.interesting > 0 && !this.#picker.isFinished;
    if (want && !p.amInterested) {
      p.amInterested = true;
      out.push(send(p.key, { type: 'interested' }));
      this.#pipeline.fill(p, out, now);
    } else if (!want && p.amInterested && p.requests.outstanding === 0) {
      p.amInterested = false;
      out.push(send(p.key, { type: 'not-interested' }));
    } else if (want) this.#pipeline.fill(p, out, now);
  }
}

/** Messages that may come before the bitfield without ending the bitfield phase. */
const PHASELESS: ReadonlySet<WireMessage['type']> = new Set([
  'keep-alive',
  'port',
  'extended',
  'unknown',
  'hash-request',
  'hashes',
  'hash-reject',
]);
