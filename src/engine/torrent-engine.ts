/**
 * # Torrent engine — design notes
 *
 * **Owns** the swarm state of one torrent: every connected peer's protocol state
 * ({@link PeerState}), the {@link PiecePicker}, the {@link Choker}, per-peer request pipelines
 * ({@link RequestScheduler}), upload queues, rates and counters, and the rules for bad peers.
 * This file is the facade and the glue (peers joining and leaving, BEP 16 super-seeding, the
 * rechoke schedule); its parts share its peer map: `PieceVerdicts` (piece-verdicts.ts: verified
 * and failed pieces, and the smart-ban blame that follows), `PeerMessages` (peer-messages.ts:
 * each incoming message's rules, our interest, download counters), `DownloadPipeline`
 * (download-pipeline.ts: request pipelines, refused pieces, timeouts and snubs, web seed pacing)
 * and `UploadServer` (upload-server.ts: choking, request queues and storage reads, seed turns,
 * fresh-first, upload counters).
 *
 * **Driven by** the session runtime, which owns sockets, timers and storage:
 *
 * | runtime event                                   | call                                  |
 * |-------------------------------------------------|---------------------------------------|
 * | handshake done (info-hash matched)              | `addPeer(key, init, now)`             |
 * | frame decoded (`FrameDecoder.push`)             | `onMessage(key, msg, now)`            |
 * | a web seed's range brought consecutive blocks   | `onBlockRun(key, blocks, data, now)`  |
 * | BEP 10 extended handshake decoded               | `onExtendedHandshake(key, hs, now)`   |
 * | socket closed / errored                         | `removePeer(key, now)`                |
 * | a `read-block` was read and its `piece` written | `onBlockSent(key, block, now)`        |
 * | a `read-block` could not be read                | `onReadFailed(key, block, now)`       |
 * | storage hashed a `piece-complete` piece         | `onPieceVerified(index, ok, now)`     |
 * | the timer armed at `nextDeadline()` fired       | `tick(now)`                           |
 * | resume data loaded (before any peer)            | `setHave(pieces, now)`                |
 * | user changed file priorities / streaming window | `setFilePriorities`, `setStreamingWindow` |
 *
 * Every call returns {@link EngineAction}s for the runtime to carry out, in order (`have`
 * announcements are plain per-peer `send`s, one per connected peer). The engine
 * never throws on untrusted input: a misbehaving peer yields a `close` (or `ban`) action, and the
 * engine has already forgotten that peer when it returns it (later calls with its key are
 * ignored, so the runtime need not call `removePeer` for it).
 *
 * **Invariants**
 * - We never request a block from a peer that lacks its piece, a block we have, or a skipped
 *   piece; outside endgame never the same block from two peers (the picker's invariants).
 * - While a peer chokes us, only its allowed-fast pieces are requested (BEP 6).
 * - We never serve a peer we choke, except pieces of its allowed-fast set (BEP 6); a peer's
 *   queued requests are bounded (MAX_QUEUED_PEER_REQUESTS) and storage reads in flight per peer
 *   are bounded ({@link UPLOAD_READS_IN_FLIGHT}), so memory does not grow with a peer's appetite.
 * - A piece is have only after `onPieceVerified(index, true)`: data is written as it arrives
 *   (`write-block`) but never trusted before its hash matched.
 * - Unrequested data is never written; blocks answering a request we cancelled are accepted when
 *   still needed.
 *
 * **Bad peers**: wrong-size bitfields, a second bitfield, out-of-range haves and fast-extension
 * messages without BEP 6 close at once; unrequested blocks, requests while choked, invalid
 * requests and stray rejects close past a bound (src/shared/limits.ts). A piece that fails its
 * hash check bans only on evidence (smart ban, src/engine/smart-ban.ts): a sole sender at once;
 * otherwise the runtime's block digests are recorded and the piece is fetched again from one peer
 * (the picker's exclusive mode), a peer that did not contribute to the failure when one can send
 * it; once a copy passes, the senders of blocks that differ from it are banned. Blame follows a
 * peer's *blame id* (its address, from `PeerInit.blameId`), so it survives reconnects and many
 * connections from one address count as one peer. A `ban` action names the address: the engine
 * has already forgotten every peer with that blame id.
 *
 * **Web seeds** (BEP 17 / 19) are virtual peers (`PeerInit.webSeed`): the runtime turns their
 * `request`s into HTTP ranges and hands the bytes back as `piece` messages, so their blocks go
 * through the same verify-and-blame path as any peer's. They get new pieces in runs of
 * consecutive pieces (the picker's `runs`), and with `onlyBelowPeerRate` they are asked only
 * while real peers deliver less than that: at once when no peer is connected, else once peers
 * have been connected for a whole rate window (TORRENT_RATE_WINDOW_MS, so their rate is known)
 * and give less (looked at again every {@link WEB_SEED_RATE_CHECK_MS}).
 * They count in availability but not in `peerCount` / `seedCount`.
 *
 * A block from a peer for a piece it never announced is accepted if we requested it — and we
 * only request pieces the peer announced (or BEP 6 allowed-fast pieces it has), so such a block
 * is always an unrequested one and handled as such.
 */
import type { ShoalError } from '../shared/errors.js';
import { type Hasher, nodeHasher } from '../shared/hash.js';
import { Bitfield, type WireMessage } from '../wire/index.js';
import { send } from './action-helpers.js';
import type { BanReason, CloseReason, EngineAction, PeerKey } from './actions.js';
import {
  ALLOWED_FAST_SET_SIZE,
  allowedFastSet,
  Choker,
  OPTIMISTIC_PROBATION_PIECES,
  RECHOKE_INTERVAL_MS,
  SEED_ROUND_ROBIN_PIECES,
} from './choker.js';
import { DownloadPipeline } from './download-pipeline.js';
import { type TorrentEngineInit, type TorrentStats, UPLOAD_READS_IN_FLIGHT } from './engine-config.js';
import { FreshFirst } from './fresh-first.js';
import { PeerMessages } from './peer-messages.js';
import { type PeerInit, PeerState, type PeerStats } from './peer-state.js';
import type { BlockRef, FileSpan, PieceLayout, PiecePriority } from './piece-layout.js';
import { PiecePicker } from './piece-picker.js';
import { PieceVerdicts } from './piece-verdicts.js';
import type { Random } from './random.js';
import type { RequestSchedulerOptions } from './request-scheduler.js';
import { SmartBan } from './smart-ban.js';
import { SuperSeeder } from './super-seed.js';
import { UploadServer } from './upload-server.js';

export { WEB_SEED_RATE_CHECK_MS, WEB_SEED_REFILL_BLOCKS } from './download-pipeline.js';

/** The state machine of one torrent's swarm; see the design notes at the top of this file. */
export class TorrentEngine {
  readonly pieceCount: number;
  readonly #infoHash: Uint8Array;
  readonly #layout: PieceLayout & { readonly pieceLength: number };
  readonly #files: readonly FileSpan[];
  readonly #random: Random;
  readonly #hasher: Hasher;
  readonly #picker: PiecePicker;
  readonly #choker: Choker;
  readonly #peers = new Map<PeerKey, PeerState>();
  readonly #schedulerOptions: RequestSchedulerOptions;
  readonly #rechokeMs: number;
  readonly #allowedFastK: number;
  readonly #readsInFlight: number;
  #nextRechokeAt: number;
  #doneEmitted: boolean;
  /** The fetch side: request pipelines, refusals, timeouts, web seed pacing. */
  readonly #pipeline: DownloadPipeline;
  /** The rules for incoming wire messages, our interest, and the download counters. */
  readonly #messages: PeerMessages;
  /** Verdicts on complete pieces, and the blame that follows (smart ban). */
  readonly #verdicts: PieceVerdicts;
  /** The serve side: choking, request queues, storage reads, upload counters. */
  readonly #uploads: UploadServer;
  /** BEP 16 state: present while super-seeding is wanted (it acts only once we are complete). */
  #superSeed: SuperSeeder | undefined;
  readonly #freshFirst: FreshFirst | undefined;

  constructor(init: TorrentEngineInit) {
    const o = init.options ?? {};
    this.pieceCount = init.layout.pieceCount;
    this.#infoHash = init.infoHash;
    this.#layout = init.layout;
    this.#files = init.files ?? [];
    this.#random = init.random;
    this.#hasher = init.hasher ?? nodeHasher;
    this.#picker = new PiecePicker(init.layout, init.random, o);
    this.#choker = new Choker({
      roundRobinBytes: SEED_ROUND_ROBIN_PIECES * init.layout.pieceLength,
      optimisticProbationBytes: OPTIMISTIC_PROBATION_PIECES * init.layout.pieceLength,
      ...o,
    });
    this.#schedulerOptions = o;
    this.#rechokeMs = o.rechokeIntervalMs ?? RECHOKE_INTERVAL_MS;
    this.#allowedFastK = o.allowedFastSetSize ?? ALLOWED_FAST_SET_SIZE;
    this.#readsInFlight = Math.max(1, o.uploadReadsInFlight ?? UPLOAD_READS_IN_FLIGHT);
    this.#nextRechokeAt = init.now + this.#rechokeMs;
    this.#doneEmitted = false;
    const smartBan = new SmartBan();
    this.#pipeline = new DownloadPipeline(this.#peers, this.#picker, smartBan, init.now);
    if (o.superSeed === true) this.#superSeed = new SuperSeeder(this.pieceCount);
    if (o.freshFirst !== false) this.#freshFirst = new FreshFirst(this.pieceCount);
    this.#uploads = new UploadServer({
      peers: this.#peers,
      picker: this.#picker,
      choker: this.#choker,
      random: this.#random,
      freshFirst: this.#freshFirst,
      uploadView: {
        pieceCount: this.pieceCount,
        pieceSize: (i) => this.#layout.uploadSize?.(i) ?? this.#layout.pieceSize(i),
        have: (i) => this.#picker.have(i),
      },
      allowedFastK: this.#allowedFastK,
      host: this,
      now: init.now,
    });
    this.#messages = new PeerMessages({
      pieceCount: this.pieceCount,
      peers: this.#peers,
      picker: this.#picker,
      random: this.#random,
      pipeline: this.#pipeline,
      uploads: this.#uploads,
      host: {
        close: (p, reason, out, now, error) => this.#close(p, reason, out, now, error),
        rechoke: (out, now) => this.#rechoke(out, now, false),
        superSeeder: () => this.#superSeed,
      },
      now: init.now,
    });
    this.#verdicts = new PieceVerdicts(this.#peers, this.#picker, this.#messages, smartBan, {
      ban: (address, reason, evidence, out, now) => this.#ban(address, reason, evidence, out, now),
      markVerified: (index, out, now) => {
        this.#markHave(index, out, true);
        this.#afterHaveChange(out, now);
      },
      fillAll: (out, now) => this.#pipeline.fillAll(out, now),
      pieceSize: (index) => this.#layout.pieceSize(index),
    });
  }

  // ------------------------------------------------------------------ queries

  /** Every wanted piece is verified. */
  get isFinished(): boolean {
    return this.#picker.isFinished;
  }

  /** Every piece is verified. */
  get isComplete(): boolean {
    return this.#picker.isComplete;
  }

  /** True while BEP 16 super-seeding is on and we have every piece. */
  get isSuperSeeding(): boolean {
    return this.#superSeed !== undefined && this.#picker.isComplete;
  }

  /**
   * Turns BEP 16 super-seeding on or off. On: peers that connect from now on (while we are
   * complete) see only the pieces revealed to them. Off: the peers that were super-seeded are
   * told about every piece with HAVE messages.
   */
  setSuperSeed(on: boolean, now: number): EngineAction[] {
    const out: EngineAction[] = [];
    if (on) {
      this.#superSeed ??= new SuperSeeder(this.pieceCount);
      return out;
    }
    const ss = this.#superSeed;
    if (ss === undefined) return out;
    this.#superSeed = undefined;
    for (const p of this.#peers.values()) {
      if (!p.superSeeded) continue;
      p.superSeeded = false;
      for (let i = 0; i < this.pieceCount; i++) {
        if (this.#picker.have(i) && !ss.offers(p.key).has(i))
          out.push(send(p.key, { type: 'have', index: i }));
      }
      this.#messages.updateInterest(p, out, now);
    }
    return out;
  }

  /** A copy of our verified pieces (for fast-resume records). */
  haves(): Bitfield {
    const copy = new Bitfield(this.pieceCount);
    for (const i of this.#picker.haves.setIndexes()) copy.set(i);
    return copy;
  }

  /** True when piece `index` is verified. */
  have(index: number): boolean {
    return this.#picker.have(index);
  }

  /** Read-only access to the picker, for diagnostics and tests. */
  get picker(): Pick<
    PiecePicker,
    | 'availability'
    | 'have'
    | 'wanted'
    | 'priority'
    | 'isEndgame'
    | 'partialCount'
    | 'blockState'
    | 'requesters'
  > {
    return this.#picker;
  }

  /** Keys of the connected peers. */
  peerKeys(): PeerKey[] {
    return [...this.#peers.keys()];
  }

  /** A snapshot of one peer. */
  peerStats(key: PeerKey, now: number): PeerStats | undefined {
    return this.#peers.get(key)?.snapshot(now, this.#choker.isOptimistic(key));
  }

  /** Torrent-wide figures. */
  stats(now: number): TorrentStats {
    let seeds = 0;
    let unchoked = 0;
    let webSeeds = 0;
    for (const p of this.#peers.values()) {
      if (p.webSeed !== undefined) webSeeds++;
      else if (p.isSeed) seeds++;
      if (!p.amChoking) unchoked++;
    }
    return {
      downloadedBytes: this.#messages.downloadedBytes,
      uploadedBytes: this.#uploads.uploadedBytes,
      wastedBytes: this.#messages.wastedBytes,
      downloadRate: this.#messages.downloadRate(now),
      uploadRate: this.#uploads.uploadRate(now),
      pieceCount: this.pieceCount,
      haveCount: this.#picker.haveCount,
      leftBytes: this.#picker.wantedLeftBytes,
      isFinished: this.#picker.isFinished,
      isComplete: this.#picker.isComplete,
      isEndgame: this.#picker.isEndgame,
      peerCount: this.#peers.size - webSeeds,
      seedCount: seeds,
      uploadSlotsInUse: unchoked,
      hashFailures: this.#verdicts.hashFailures,
    };
  }

  /** The next time `tick` has work to do (rechoke, request timeouts, snub checks), ms. */
  nextDeadline(): number | undefined {
    const at = this.#pipeline.nextDeadline(this.#nextRechokeAt);
    const idle = this.#uploads.idleTurnDeadline();
    return idle !== undefined && idle < at ? idle : at;
  }

  // ------------------------------------------------------------- user inputs

  /**
   * Marks pieces verified from resume data (or a recheck). Call before adding peers; if peers
   * are connected they get `have` messages and interest is updated.
   */
  setHave(pieces: Bitfield | Iterable<number>, now: number): EngineAction[] {
    const out: EngineAction[] = [];
    const list = pieces instanceof Bitfield ? pieces.setIndexes() : pieces;
    for (const i of list) {
      if (i >= 0 && i < this.pieceCount && !this.#picker.have(i)) this.#markHave(i, out, false);
    }
    this.#afterHaveChange(out, now);
    return out;
  }

  /**
   * Sets file priorities (index-aligned with the `files` given at construction; missing entries
   * are Normal). A piece gets the highest priority of the files it touches.
   */
  setFilePriorities(priorities: readonly PiecePriority[], now: number): EngineAction[] {
    this.#picker.setFilePriorities(this.#files, priorities, this.#layout.pieceLength);
    return this.#afterWantedChange(now);
  }

  /** Sets one piece's priority directly. */
  setPiecePriority(index: number, priority: PiecePriority, now: number): EngineAction[] {
    this.#picker.setPiecePriority(index, priority);
    return this.#afterWantedChange(now);
  }

  /** Pieces `[first, first + count)` go before all others (streaming); `count` 0 clears. */
  setStreamingWindow(first: number, count: number, now: number): EngineAction[] {
    this.#picker.setStreamingWindow(first, count);
    const out: EngineAction[] = [];
    this.#pipeline.fillAll(out, now);
    return out;
  }

  // ------------------------------------------------------------ peer inputs

  /**
   * A connection finished its handshake. Returns our first messages (bitfield, or BEP 6 have
   * all / have none, then allowed-fast pieces): send them right after the handshake (BEP 6: have
   * all / have none "only immediately after the handshake"), then the BEP 10 extended handshake
   * advertising `reqq` = ADVERTISED_REQQ (engine-config.ts). A key already in use is ignored.
   */
  addPeer(key: PeerKey, init: PeerInit, now: number): EngineAction[] {
    const out: EngineAction[] = [];
    if (this.#peers.has(key)) return out;
    const p = new PeerState(key, init, this.pieceCount, now, this.#schedulerOptions, this.#readsInFlight);
    this.#peers.set(key, p);
    this.#pipeline.onPeerAdded(p, now);
    const haveCount = this.#picker.haveCount;
    if (this.isSuperSeeding) {
      // BEP 16: look like a peer with nothing, then reveal a few pieces (no allowed-fast set:
      // it would reveal pieces too).
      p.superSeeded = true;
      if (p.supportsFast) out.push(send(key, { type: 'have-none' }));
      this.#messages.superSeedTopUp(p, out);
      return out;
    }
    if (p.supportsFast && haveCount === this.pieceCount) out.push(send(key, { type: 'have-all' }));
    else if (p.supportsFast && haveCount === 0) out.push(send(key, { type: 'have-none' }));
    else if (haveCount > 0) {
      out.push(send(key, { type: 'bitfield', bitfield: this.#picker.haves.toWire() }));
    }
    if (p.supportsFast && init.ip !== undefined && this.#allowedFastK > 0) {
      for (const i of allowedFastSet(
        init.ip,
        this.#infoHash,
        this.pieceCount,
        this.#allowedFastK,
        this.#hasher,
      )) {
        p.allowedFastForPeer.add(i);
        if (this.#picker.have(i)) out.push(send(key, { type: 'allowed-fast', index: i }));
      }
    }
    return out;
  }

  /** The connection closed. Its requests go back to the picker; a freed upload slot is refilled. */
  removePeer(key: PeerKey, now: number): EngineAction[] {
    const out: EngineAction[] = [];
    const p = this.#peers.get(key);
    if (p === undefined) return out;
    this.#forget(p, out, now);
    return out;
  }

  /** BEP 10: the peer's extended handshake (its `reqq` sizes our pipeline to it). */
  onExtendedHandshake(key: PeerKey, hs: { readonly reqq?: number }, now: number): EngineAction[] {
    const out: EngineAction[] = [];
    const p = this.#peers.get(key);
    if (p === undefined) return out;
    if (hs.reqq !== undefined) p.requests.setPeerReqq(hs.reqq);
    this.#pipeline.fill(p, out, now);
    return out;
  }

  /** One decoded message from a peer. */
  onMessage(key: PeerKey, msg: WireMessage, now: number): EngineAction[] {
    const out: EngineAction[] = [];
    const p = this.#peers.get(key);
    if (p === undefined) return out;
    this.#messages.onMessage(p, msg, out, now);
    return out;
  }

  /**
   * A run of blocks from one peer, back to back in `data` (a web seed's range): the same as a
   * `piece` message per block, but each stretch of new blocks of a piece is one `write-block`
   * (a view of `data`), and the pipeline is topped up once. Throws a `RangeError` when `data`
   * is not exactly the blocks' bytes.
   */
  onBlockRun(key: PeerKey, blocks: readonly BlockRef[], data: Uint8Array, now: number): EngineAction[] {
    let bytes = 0;
    for (const b of blocks) bytes += b.length;
    if (bytes !== data.length) throw new RangeError(`${data.length} bytes for blocks of ${bytes}`);
    const out: EngineAction[] = [];
    const p = this.#peers.get(key);
    if (p === undefined) return out;
    p.phase = 'active';
    this.#messages.onBlockRun(p, blocks, data, out, now);
    return out;
  }

  /** The runtime sent the `piece` message of an earlier `read-block` (the socket took it). */
  onBlockSent(key: PeerKey, block: BlockRef, now: number): EngineAction[] {
    const out: EngineAction[] = [];
    const p = this.#peers.get(key);
    if (p === undefined) return out;
    this.#uploads.onBlockSent(p, block, out, now);
    return out;
  }

  /** The runtime could not read an earlier `read-block`; a BEP 6 peer gets a reject. */
  onReadFailed(key: PeerKey, block: BlockRef, now: number): EngineAction[] {
    const out: EngineAction[] = [];
    const p = this.#peers.get(key);
    if (p === undefined) return out;
    this.#uploads.onReadFailed(p, block, out, now);
    return out;
  }

  /**
   * True when the verdict on piece `index` needs the digests of its blocks even if it passes
   * (the piece failed before: smart ban compares the copies).
   */
  wantsBlockDigests(index: number): boolean {
    return this.#verdicts.wantsBlockDigests(index);
  }

  /**
   * Storage's verdict on a piece announced by `piece-complete`. `blockDigests` (the SHA-1 of each
   * 16 KiB block as received) are the smart-ban evidence: give them for every failed piece, and
   * for a passing one when {@link wantsBlockDigests} says so.
   */
  onPieceVerified(
    index: number,
    ok: boolean,
    now: number,
    opts: { readonly blockDigests?: readonly Uint8Array[] } = {},
  ): EngineAction[] {
    const out: EngineAction[] = [];
    if (index < 0 || index >= this.pieceCount || this.#picker.have(index)) return out;
    if (ok) this.#verdicts.onPassed(index, opts.blockDigests, out, now);
    else this.#verdicts.onFailed(index, opts.blockDigests, out, now);
    return out;
  }

  /** Who delivered each block of a piece not yet verified, by blame id (read before `onPieceVerified`). */
  blockSenders(index: number): (string | undefined)[] {
    return this.#picker.blockSenders(index);
  }

  /** Failed pieces and blocks held as smart-ban evidence (bounded: MAX_SMART_BAN_PIECES / _BLOCKS). */
  smartBanStats(): { readonly pieces: number; readonly blocks: number } {
    return this.#verdicts.stats();
  }

  /**
   * Bans a blame id proven to have sent bad data (a sole sender, a block that differs from the
   * verified copy, or one whose BEP 52 leaf hash does not match): every connected peer with that
   * id is forgotten, and the runtime refuses the address from now on.
   */
  banAddress(address: string, reason: BanReason, evidence: string, now: number): EngineAction[] {
    const out: EngineAction[] = [];
    this.#ban(address, reason, evidence, out, now);
    return out;
  }

  #ban(address: string, reason: BanReason, evidence: string, out: EngineAction[], now: number): void {
    out.push({ type: 'ban', address, reason, evidence });
    for (const p of [...this.#peers.values()]) if (p.blameId === address) this.#forget(p, out, now);
  }

  /** Timers: request timeouts, snub detection and the periodic rechoke. */
  tick(now: number): EngineAction[] {
    const out: EngineAction[] = [];
    this.#pipeline.tick(out, now);
    const idle = this.#uploads.idleTurnDeadline();
    if (now >= this.#nextRechokeAt) this.#rechoke(out, now, true);
    else if (idle !== undefined && now >= idle) this.#rechoke(out, now, false);
    return out;
  }

  // ---------------------------------------------------------- message rules

  // --------------------------------------------------------- state changes

  /** Piece `i` is verified: announce it, and update interest. */
  #markHave(i: number, out: EngineAction[], event: boolean): void {
    const wasWanted = this.#picker.wanted(i);
    this.#picker.onPieceVerified(i);
    if (event) out.push({ type: 'event', event: { type: 'piece:verified', index: i } });
    for (const q of this.#peers.values()) {
      out.push(send(q.key, { type: 'have', index: i }));
      if (wasWanted && q.has(i)) q.interesting = Math.max(0, q.interesting - 1);
      if (q.supportsFast && q.allowedFastForPeer.has(i))
        out.push(send(q.key, { type: 'allowed-fast', index: i }));
    }
  }

  /** After pieces became have: interest, finish, redundant connections. */
  #afterHaveChange(out: EngineAction[], now: number): void {
    for (const q of [...this.#peers.values()]) {
      if (this.#messages.redundant(q)) this.#close(q, 'redundant', out, now);
      else this.#messages.updateInterest(q, out, now);
    }
    this.#checkDone(out);
  }

  /**
   * Keeps connections to seeds even when we want nothing from them right now — e.g. while a v2
   * torrent from a magnet waits for piece layers that only those peers can send.
   */
  setKeepSeeds(keep: boolean): void {
    this.#messages.setKeepSeeds(keep);
  }

  /** After priorities changed: recount interest, and pick again. */
  #afterWantedChange(now: number): EngineAction[] {
    const out: EngineAction[] = [];
    for (const q of this.#peers.values()) this.#messages.recountInterest(q);
    this.#afterHaveChange(out, now);
    if (!this.#picker.isFinished) this.#doneEmitted = false;
    this.#pipeline.fillAll(out, now);
    return out;
  }

  #checkDone(out: EngineAction[]): void {
    if (this.#picker.isFinished && !this.#doneEmitted) {
      this.#doneEmitted = true;
      out.push({ type: 'done' });
    }
  }

  /** Rechokes; a scheduled rechoke also sets the next one. */
  #rechoke(out: EngineAction[], now: number, scheduled: boolean): void {
    if (scheduled) this.#nextRechokeAt = now + this.#rechokeMs;
    this.#uploads.rechoke(out, now);
  }

  #close(p: PeerState, reason: CloseReason, out: EngineAction[], now: number, error?: ShoalError): void {
    out.push(
      error === undefined
        ? { type: 'close', peer: p.key, reason }
        : { type: 'close', peer: p.key, reason, error },
    );
    this.#forget(p, out, now);
  }

  /** Removes a peer: its requests go back to the picker, its pieces leave the availability. */
  #forget(p: PeerState, out: EngineAction[], now: number): void {
    if (!this.#peers.delete(p.key)) return;
    this.#pipeline.onPeerRemoved(p);
    if (p.countedAsSeed) this.#picker.removeSeed();
    else this.#picker.removePeerPieces(p.pieces.setIndexes());
    this.#choker.removePeer(p.key);
    this.#superSeed?.removePeer(p.key);
    this.#freshFirst?.removePeer(p.key);
    if (!p.amChoking && p.peerInterested) this.#rechoke(out, now, false);
    this.#pipeline.fillAll(out, now);
  }
}
