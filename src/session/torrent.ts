/**
 * DEV DOCS — the runtime of one torrent.
 *
 * Owns its {@link TorrentEngine} (the pure swarm state machine), its {@link TorrentStorage}, its
 * resume writer and its timers, and wires its parts together:
 * - {@link TorrentPeers}: the connections (on the session's peer pool) and BEP 10 extensions;
 * - {@link PieceWriter}: the receive path, from a block to a verified piece on disk;
 * - {@link V2Hashes}: BEP 52 piece layers and leaf-hash blame;
 * - {@link TorrentDiscovery}: trackers, the DHT and LSD.
 * The engine's actions are carried out here ({@link Torrent.#do}); protocol decisions are the
 * engine's.
 *
 * Invariants:
 * - upload reads are bounded by the engine (reads in flight per peer), and a block counts as
 *   sent only when the stream took it below its high-water mark (back-pressure);
 * - a banned address is banned for the whole session (the pool), whatever peer id it comes back
 *   with;
 * - `close()` releases every connection and timer and leaves a resume record on disk.
 */
import { join } from 'node:path';
import type { TrackerStatus } from '../discovery/index.js';
import {
  type BanReason,
  type EngineAction,
  type PeerStats,
  PiecePriority,
  type Random,
  TorrentEngine,
  type TorrentStats,
} from '../engine/index.js';
import type { Metainfo } from '../metainfo/index.js';
import type { AddressHints, PeerSource } from '../net/peer-pool.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { toHex } from '../shared/hash.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { type BlockLease, PieceReadCache } from '../storage/read-cache.js';
import { decodeResume, ResumeWriter, readResumeFile } from '../storage/resume.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';
import { Bitfield, type Handshake } from '../wire/index.js';
import type { SessionContext } from './context.js';
import type { ExtensionFactory } from './extensions/extension.js';
import type { PeerConnection } from './peers/peer-connection.js';
import type { PeerLogEntry } from './peers/peer-log.js';
import { TorrentPeers } from './peers/torrent-peers.js';
import { PieceWriter } from './piece-writer.js';
import { TorrentDiscovery } from './torrent-discovery.js';
import { V2Hashes } from './v2-hashes.js';
import { ensureWritableDir } from './writable.js';

/** Housekeeping period: dialling, keep-alives, idle peers, PEX. */
const HOUSEKEEPING_MS = 1_000;
/** Bytes of whole pieces kept in memory to serve uploads. */
export const READ_CACHE_BYTES = 16 * 1024 * 1024;

export type TorrentState = 'checking' | 'downloading' | 'seeding' | 'stopped' | 'error';

export interface TorrentEvents {
  /** A piece was verified and written. */
  piece: { readonly index: number };
  /** Every wanted piece is verified (data complete on disk). */
  done: { readonly infoHash: string };
  /** A peer connected, disconnected, was refused or banned, or a piece failed (the peer log). */
  peer: PeerLogEntry;
  /** Recoverable trouble: a peer banned, a disk read failed for one request, … */
  warning: { readonly message: string; readonly error?: Error };
  /** The torrent stopped working (e.g. its files cannot be written). */
  error: { readonly error: Error };
  /** A piece failed its hash check. */
  'hash-failed': { readonly index: number };
}

export interface TorrentOptions {
  /** Folder the torrent's files go under. @default the session's downloadDir */
  readonly downloadDir?: string;
  /** Per-file priorities (0 skip, 1 normal, 2 high), by file index. */
  readonly filePriorities?: readonly number[];
  /** Hash every piece already on disk at start, ignoring any resume record. @default false */
  readonly recheck?: boolean;
  /**
   * BEP 16 super-seeding while this torrent is complete (an initial seeder reveals pieces a few
   * at a time, so it uploads about one copy). @default the session's `engine.superSeed`, false
   */
  readonly superSeed?: boolean;
}

export interface TorrentPeerInfo extends PeerStats {
  readonly address: string;
  readonly client: string | undefined;
  readonly outgoing: boolean;
  /** What carries the connection (`tcp`, `utp`, …). */
  readonly transport: string;
  /** The connection is encrypted (MSE/PE RC4). */
  readonly encrypted: boolean;
}

/** A known peer address of a torrent ({@link Torrent.knownPeers}). */
export interface KnownPeerInfo {
  readonly host: string;
  readonly port: number;
  /** Where it came from (the strongest source that named it). */
  readonly source: PeerSource;
  readonly state: 'idle' | 'dialing' | 'connected';
  /** Failed connection attempts in a row. */
  readonly failures: number;
}

export class Torrent extends TypedEmitter<TorrentEvents> {
  readonly metainfo: Metainfo;
  /** The 20-byte info-hash used on the wire (v1, or the truncated v2 hash). */
  readonly wireInfoHash: Uint8Array;
  /** Every 20-byte hash peers may use for this torrent (v1 and truncated v2 for hybrids). */
  readonly wireInfoHashes: readonly Uint8Array[];
  /** Hex of the v1 info-hash, else of the v2 one: the torrent's id. */
  readonly id: string;
  readonly storage: TorrentStorage;
  readonly #ctx: SessionContext;
  readonly #engine: TorrentEngine;
  readonly #options: TorrentOptions;
  readonly #peers: TorrentPeers;
  readonly #writer: PieceWriter;
  readonly #hashes: V2Hashes;
  readonly #discovery: TorrentDiscovery;
  readonly #readCache: PieceReadCache;
  #state: TorrentState = 'checking';
  #engineTimer: NodeJS.Timeout | undefined;
  #engineTimerAt = Number.POSITIVE_INFINITY;
  /** The engine's next deadline is looked up once per event-loop turn (see #run). */
  #armImmediate: NodeJS.Immediate | undefined;
  #housekeeping: NodeJS.Timeout | undefined;
  #resume: ResumeWriter | undefined;
  /** File priorities the user chose (undefined: all normal). */
  #userPriorities: readonly number[] | undefined;
  #closed = false;
  /** {@link whenDone} callers to reject when the torrent closes before it is done. */
  readonly #closeWaiters = new Set<() => void>();
  #started: Promise<void> | undefined;
  #error: Error | undefined;
  #uploadedBase = 0;
  #downloadedBase = 0;

  constructor(
    ctx: SessionContext,
    metainfo: Metainfo,
    storage: TorrentStorage,
    random: Random,
    options: TorrentOptions,
    extensions: readonly ExtensionFactory[] = [],
  ) {
    super();
    this.#ctx = ctx;
    this.metainfo = metainfo;
    this.storage = storage;
    this.#options = options;
    const v1 = metainfo.infoHashV1;
    this.wireInfoHash = v1 ?? metainfo.infoHashV2!.subarray(0, 20);
    this.wireInfoHashes = [v1, metainfo.infoHashV2?.subarray(0, 20)].filter(
      (h): h is Uint8Array => h !== undefined,
    );
    this.#readCache = new PieceReadCache(READ_CACHE_BYTES, metainfo.pieceLength);
    this.#userPriorities = options.filePriorities;
    this.id = toHex(v1 ?? metainfo.infoHashV2!);
    const engine = new TorrentEngine({
      infoHash: this.wireInfoHash,
      layout: storage.map,
      files: metainfo.files,
      random,
      now: ctx.now(),
      options:
        options.superSeed === undefined
          ? ctx.options.engine
          : { ...ctx.options.engine, superSeed: options.superSeed },
    });
    this.#engine = engine;
    const isClosed = () => this.#closed;
    const run = (a: EngineAction[]) => this.#run(a);
    this.#peers = new TorrentPeers({
      host: {
        ctx,
        metainfo,
        engine,
        wireInfoHash: this.wireInfoHash,
        wireInfoHashes: this.wireInfoHashes,
        isActive: () => this.#isActive(),
        isClosed,
        isReadingPaused: () => this.#writer.readingPaused,
        run,
        onHashMessage: (peer, msg) => this.#hashes.onMessage(peer, msg),
        onPeerAttached: (peer) => {
          if (this.#hashes.layers.missingFiles().length > 0) this.#hashes.requestLayers(peer);
        },
        onPeerDetached: (peer) => this.#hashes.onPeerClosed(peer),
        onLog: (entry) => this.emit('peer', entry),
      },
      extensions,
    });
    this.#writer = new PieceWriter(
      {
        storage,
        engine,
        now: () => ctx.now(),
        isClosed,
        run,
        fail: (e) => this.#fail(e),
        onPieceFailed: (index, data, senders) => this.#hashes.startBlame(index, data, senders),
        onVerified: (index, ok) => this.#onVerified(index, ok),
        setReadingPaused: (paused) => this.#peers.setReadingPaused(paused),
      },
      metainfo.pieceLength,
    );
    this.#hashes = new V2Hashes({
      metainfo,
      storage,
      now: () => ctx.now(),
      peers: () => this.#peers.values(),
      has: (key) => this.#peers.has(key),
      have: (index) => engine.have(index),
      banProven: (address, why) => this.#ban(address, 'bad-block', why),
      blameUndecided: () => {},
      onLayersChanged: () => {
        void this.#resume?.schedule();
        this.#applyPriorities();
      },
    });
    this.#discovery = new TorrentDiscovery({
      ctx,
      metainfo,
      wireInfoHash: this.wireInfoHash,
      addPeer: (host, port, source) => this.addPeer(host, port, source),
      peerCount: () => this.#peers.size,
      totals: () => {
        const s = this.stats();
        return { uploaded: s.totalUploaded, downloaded: s.totalDownloaded, left: s.leftBytes };
      },
      warn: (message, error) => this.emit('warning', error === undefined ? { message } : { message, error }),
    });
  }

  /** True while BEP 16 super-seeding is on and the torrent is complete. */
  get isSuperSeeding(): boolean {
    return this.#engine.isSuperSeeding;
  }

  /**
   * Turns BEP 16 super-seeding on (for peers that connect from now on) or off (the peers it
   * hid pieces from are told about all of them).
   */
  setSuperSeed(on: boolean): void {
    this.#run(this.#engine.setSuperSeed(on, this.#ctx.now()));
  }

  get state(): TorrentState {
    return this.#state;
  }

  get name(): string {
    return this.metainfo.name;
  }

  /** The error that stopped the torrent, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  get isFinished(): boolean {
    return this.#engine.isFinished && !this.#layersBlocking();
  }

  /** A v2-only torrent whose piece layers are not all known yet cannot verify those files. */
  #layersBlocking(): boolean {
    return this.metainfo.version === 'v2' && this.#hashes.layers.missingFiles().length > 0;
  }

  #isActive(): boolean {
    return !this.#closed && (this.#state === 'downloading' || this.#state === 'seeding');
  }

  /** Piece layers known now (from the torrent, a resume record or peers), by hex root. */
  pieceLayers(): Map<string, Uint8Array> {
    return this.#hashes.layers.layers();
  }

  stats(): TorrentStats & {
    readonly totalUploaded: number;
    readonly totalDownloaded: number;
    /**
     * Pieces (since this torrent started) whose blocks went to disk unverified because every
     * assembly buffer was busy, each then verified by reading it back: a sign that more peers
     * send partial pieces at once than the memory budget holds.
     */
    readonly spilledPieces: number;
    /**
     * Peers are not being read right now because writing or hash-checking received pieces is
     * behind (MAX_PENDING_WRITE_BYTES, VERIFY_BACKLOG_SHARE): the disk or the CPU is the limit.
     */
    readonly readingPaused: boolean;
  } {
    const s = this.#engine.stats(this.#ctx.now());
    // The engine's object is fresh per call: extend it in place (a spread costs µs per call, and
    // the daemon lists thousands of torrents).
    return Object.assign(s, {
      totalUploaded: this.#uploadedBase + s.uploadedBytes,
      totalDownloaded: this.#downloadedBase + s.downloadedBytes,
      spilledPieces: this.#writer.spilledTotal,
      readingPaused: this.#writer.readingPaused,
    });
  }

  /** Verified pieces. */
  bitfield(): Bitfield {
    return this.#engine.haves();
  }

  peers(): TorrentPeerInfo[] {
    const now = this.#ctx.now();
    const out: TorrentPeerInfo[] = [];
    for (const p of this.#peers.values()) {
      const s = this.#engine.peerStats(p.key, now);
      if (s !== undefined)
        out.push({
          ...s,
          address: p.address,
          client: p.client,
          outgoing: p.conn.outgoing,
          transport: p.conn.transport,
          encrypted: p.conn.encrypted,
        });
    }
    return out;
  }

  /**
   * Smart-ban evidence held right now: failed pieces whose block digests wait for a copy that
   * passes, and the recorded blocks (bounded by MAX_SMART_BAN_PIECES / MAX_SMART_BAN_BLOCKS).
   */
  smartBanStats(): { readonly pieces: number; readonly blocks: number } {
    return this.#engine.smartBanStats();
  }

  /**
   * The addresses this torrent knows (from trackers, the DHT, PEX, LSD, the user and incoming
   * peers), with their source and dial state (bounded by `maxKnownPeersPerTorrent`; PEX
   * addresses by PEX_ADDRESS_SHARE of it).
   */
  knownPeers(): KnownPeerInfo[] {
    return this.#peers.owner.knownAddresses().map((k) => ({
      host: k.host,
      port: k.port,
      source: k.source,
      state: k.state,
      failures: k.failures,
    }));
  }

  /**
   * Recent peer events, oldest first: connects, disconnects, refusals, hash failures and bans,
   * each with its reason (bounded, MAX_PEER_LOG_ENTRIES).
   */
  peerLog(): PeerLogEntry[] {
    return this.#peers.log();
  }

  /**
   * Resolves once every wanted piece is verified on disk — at once when that is already so —
   * and rejects with the torrent's error if it fails (e.g. its files cannot be written), or with
   * `SHOAL_ERR_SESSION_CLOSED` if it is closed first, or with `signal`'s reason.
   *
   * ```ts
   * const torrent = await session.addTorrent(bytes);
   * await torrent.whenDone();
   * ```
   */
  whenDone(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    return new Promise<void>((resolve, reject) => {
      const settled = () => {
        this.off('done', onDone);
        this.off('error', onError);
        this.#closeWaiters.delete(onClosed);
        signal?.removeEventListener('abort', onAbort);
      };
      const onDone = () => {
        settled();
        resolve();
      };
      const onError = (e: { readonly error: Error }) => {
        settled();
        reject(e.error);
      };
      const onClosed = () => {
        settled();
        reject(
          new ShoalError(ErrorCode.SessionClosed, `torrent ${this.name} was closed before it was done`, {}),
        );
      };
      const onAbort = () => {
        settled();
        reject(signal?.reason);
      };
      if (this.#error !== undefined) return reject(this.#error);
      if (signal?.aborted) return reject(signal.reason);
      if (this.#state !== 'checking' && this.isFinished) return resolve();
      if (this.#closed) return onClosed();
      this.on('done', onDone);
      this.on('error', onError);
      this.#closeWaiters.add(onClosed);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Loads resume data (or rechecks), then starts connecting. Called by the session. */
  start(): Promise<void> {
    this.#started ??= this.#start().catch((e: unknown) => this.#fail(e));
    return this.#started;
  }

  async #start(): Promise<void> {
    const m = this.metainfo;
    const resumePath =
      this.#ctx.options.resumeDir === undefined
        ? undefined
        : join(this.#ctx.options.resumeDir, `${this.id}.resume`);
    let have: boolean[] | undefined;
    if (resumePath !== undefined && this.#options.recheck !== true) {
      const bytes = await readResumeFile(resumePath);
      const rec =
        bytes === undefined
          ? undefined
          : decodeResume(bytes, {
              infoHashV1: m.infoHashV1,
              infoHashV2: m.infoHashV2,
              pieceCount: m.pieceCount,
              fileCount: m.files.length,
            });
      if (rec !== undefined) {
        const claimed = Bitfield.fromWire(rec.pieces, m.pieceCount);
        have = await this.storage.trustedPieces(
          Array.from({ length: m.pieceCount }, (_, i) => claimed.get(i)),
        );
        this.#uploadedBase = rec.uploaded;
        this.#downloadedBase = rec.downloaded;
        for (const [hex, layer] of rec.pieceLayers ?? []) {
          if (this.#hashes.layers.restore(hex, layer)) this.storage.setPieceLayer(hex, layer);
        }
      }
    }
    if (have === undefined) {
      const stats = await this.storage.fileStats();
      const anyData = stats.some((s) => s.size > 0);
      have = anyData ? await this.storage.recheck() : new Array<boolean>(m.pieceCount).fill(false);
    }
    if (this.#closed) return;
    // Something is left to download: its folder must take data (seeding complete data from
    // read-only media is fine).
    if (have.some((h) => !h)) await ensureWritableDir(this.storage.downloadDir);
    if (resumePath !== undefined) this.#resume = new ResumeWriter(resumePath, () => this.#snapshot());
    const now = this.#ctx.now();
    const haveIdx: number[] = [];
    have.forEach((h, i) => {
      if (h) haveIdx.push(i);
    });
    this.#run(this.#engine.setHave(haveIdx, now));
    if (this.#userPriorities !== undefined || this.#hashes.layers.missingFiles().length > 0)
      this.#applyPriorities();
    await this.storage.createEmptyFiles();
    this.#state = this.isFinished ? 'seeding' : 'downloading';
    if (this.isFinished) this.emit('done', { infoHash: this.id });
    void this.#resume?.schedule();
    this.#discovery.start();
    this.#housekeeping = setInterval(() => this.#housekeep(), HOUSEKEEPING_MS);
    this.#housekeeping.unref();
    this.#peers.dial();
  }

  #filePriorities(p: readonly number[]): PiecePriority[] {
    return this.metainfo.files.map((_, i) => {
      const v = p[i] ?? PiecePriority.Normal;
      return (
        v <= 0 ? PiecePriority.Skip : v >= 2 ? PiecePriority.High : PiecePriority.Normal
      ) as PiecePriority;
    });
  }

  /** Changes file priorities (0 skip, 1 normal, 2 high) by file index. */
  setFilePriorities(priorities: readonly number[]): void {
    if (this.#closed) return;
    this.#userPriorities = [...priorities];
    this.#applyPriorities();
  }

  /** The user's priorities, with files that cannot be verified yet (no piece layer) skipped. */
  #applyPriorities(): void {
    const wasFinished = this.isFinished;
    const missing = this.#hashes.layers.missingFiles();
    const p = [...(this.#userPriorities ?? this.metainfo.files.map(() => 1))];
    if (this.metainfo.version === 'v2') for (const i of missing) p[i] = 0;
    // Seeds are kept while layers are missing (v2 or hybrid): they are who can send them.
    this.#engine.setKeepSeeds(missing.length > 0);
    this.#run(this.#engine.setFilePriorities(this.#filePriorities(p), this.#ctx.now()));
    if (wasFinished && !this.isFinished && this.#state === 'seeding') this.#state = 'downloading';
  }

  /**
   * Streaming: pieces `[first, first + count)` are requested before all others, in index order
   * (the play position and some read-ahead); `count` 0 clears the window. Skipped pieces stay
   * skipped.
   */
  setStreamingWindow(first: number, count: number): void {
    if (this.#closed || !Number.isSafeInteger(first) || !Number.isSafeInteger(count)) return;
    this.#run(this.#engine.setStreamingWindow(Math.max(0, first), Math.max(0, count), this.#ctx.now()));
  }

  /** Adds a peer address to try (trackers, DHT, PEX, LSD and the user all land here). */
  addPeer(host: string, port: number, source: PeerSource = 'user', hints?: AddressHints): void {
    this.#peers.addPeer(host, port, source, hints);
  }

  /** The trackers and how their last announces went. */
  trackers(): TrackerStatus[] {
    return this.#discovery.trackers();
  }

  /** Stops all activity, saves resume data, releases connections and timers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of [...this.#closeWaiters]) w();
    if (this.#housekeeping !== undefined) clearInterval(this.#housekeeping);
    if (this.#engineTimer !== undefined) clearTimeout(this.#engineTimer);
    if (this.#armImmediate !== undefined) clearImmediate(this.#armImmediate);
    const discovery = this.#discovery.close();
    this.#peers.close('torrent-closed');
    this.#writer.clear();
    this.#readCache.clear();
    await this.#started?.catch(() => {});
    // Let writes and verifications in progress finish so the record is as fresh as it can be.
    while (this.#writer.busy) await new Promise((r) => setImmediate(r));
    if (this.#resume !== undefined) await this.#resume.saveDurably();
    await discovery;
    if (this.#state !== 'error') this.#state = 'stopped';
  }

  /** Called by the session for an incoming connection whose handshake named this torrent. */
  acceptIncoming(conn: PeerConnection, h: Handshake): boolean {
    return this.#peers.acceptIncoming(conn, h);
  }

  // ------------------------------------------------------------------ engine actions

  #run(actions: EngineAction[]): void {
    for (const a of actions) this.#do(a);
    // The engine's next deadline walks every peer: looked up once per event-loop turn, not after
    // every batch of messages (with 50 peers sending, that lookup took 7 % of the main thread).
    // Deadlines are timeouts of a second or more; a turn's delay does not move them.
    this.#armImmediate ??= setImmediate(() => {
      this.#armImmediate = undefined;
      this.#armEngineTimer();
    });
  }

  #do(a: EngineAction): void {
    switch (a.type) {
      case 'send':
        this.#peers.get(a.peer)?.conn.send(a.msg);
        return;
      case 'close':
        this.#peers.get(a.peer)?.conn.close(a.reason, a.error);
        return;
      case 'ban':
        this.#ban(a.address, a.reason, a.evidence);
        return;
      case 'write-block':
        this.#writer.writeBlock(a.piece, a.offset, a.data);
        return;
      case 'read-block':
        void this.#readBlock(a.peer, a.piece, a.offset, a.length);
        return;
      case 'piece-complete':
        this.#writer.onPieceComplete(a.index);
        return;
      case 'done':
        if (this.#layersBlocking()) return;
        this.#state = 'seeding';
        this.#discovery.completed();
        void this.#resume?.schedule();
        this.emit('done', { infoHash: this.id });
        return;
      case 'event':
        if (a.event.type === 'piece:failed') {
          this.emit('hash-failed', { index: a.event.index });
          this.#peers.record('hash-failed', a.event.contributors.join(', '), {
            reason: `piece ${a.event.index} failed its hash check`,
          });
        }
        return;
      default:
        assertNever(a);
    }
  }

  /** Bans `address` for the session (every torrent) with its evidence, and says so. */
  #ban(address: string, reason: BanReason, evidence: string): void {
    if (this.#ctx.pool.isBanned(address)) return;
    this.#peers.record('banned', address, { reason: `${reason}: ${evidence}` });
    this.emit('warning', { message: `banned ${address}: ${evidence}` });
    this.#ctx.pool.ban(address, `${this.metainfo.name}: ${evidence}`);
  }

  #onVerified(index: number, ok: boolean): void {
    this.#readCache.invalidate(index);
    if (ok) {
      this.emit('piece', { index });
      void this.#resume?.schedule();
    }
  }

  async #readBlock(key: string, piece: number, offset: number, length: number): Promise<void> {
    const block = { piece, offset, length };
    let lease: BlockLease;
    try {
      lease = await this.#readCache.read(piece, offset, length, (i, into) => this.storage.readPiece(i, into));
    } catch (e) {
      this.emit('warning', { message: `read failed for piece ${piece}`, error: e as Error });
      if (!this.#closed) this.#run(this.#engine.onReadFailed(key, block, this.#ctx.now()));
      return;
    }
    // Upload limit: wait for the block's turn at the session's tokens.
    const turn = this.#ctx.acquireUp(length, () => this.#closed);
    if (turn !== undefined) {
      await turn;
      if (this.#closed) {
        lease.release();
        return;
      }
    }
    const p = this.#peers.get(key);
    if (p === undefined || this.#closed) {
      lease.release();
      return;
    }
    // The block's memory is reused once the stream handed it to the network (or dropped it).
    if (!p.conn.sendPiece(piece, offset, lease.data, lease.release)) await p.conn.whenWritable();
    if (this.#closed || !this.#peers.has(key)) return;
    this.#run(this.#engine.onBlockSent(key, block, this.#ctx.now()));
  }

  #armEngineTimer(): void {
    if (this.#closed) return;
    const at = this.#engine.nextDeadline();
    if (at === undefined) return;
    if (this.#engineTimer !== undefined && at >= this.#engineTimerAt) return;
    if (this.#engineTimer !== undefined) clearTimeout(this.#engineTimer);
    this.#engineTimerAt = at;
    this.#engineTimer = setTimeout(
      () => {
        this.#engineTimer = undefined;
        this.#engineTimerAt = Number.POSITIVE_INFINITY;
        if (!this.#closed) this.#run(this.#engine.tick(this.#ctx.now()));
      },
      Math.max(0, at - this.#ctx.now()),
    );
    this.#engineTimer.unref();
  }

  #housekeep(): void {
    if (this.#closed) return;
    const now = this.#ctx.now();
    this.#hashes.tick(now);
    this.#peers.housekeep(now);
  }

  #snapshot() {
    const s = this.stats();
    return this.storage.fileStats().then((files) => ({
      ...(this.metainfo.infoHashV1 ? { infoHashV1: this.metainfo.infoHashV1 } : {}),
      ...(this.metainfo.infoHashV2 ? { infoHashV2: this.metainfo.infoHashV2 } : {}),
      pieces: this.#engine.haves().toWire(),
      files,
      pieceLayers: this.#hashes.layers.layers(),
      uploaded: s.totalUploaded,
      downloaded: s.totalDownloaded,
    }));
  }

  #fail(e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    if (this.#state === 'error' || this.#closed) return;
    this.#error = error;
    this.#state = 'error';
    this.#peers.closeAll('torrent-error');
    this.emit('error', { error });
  }
}

function assertNever(x: never): never {
  throw new ShoalError(ErrorCode.SessionInvalidArgument, `unexpected action ${JSON.stringify(x)}`, {});
}
