/**
 * DEV DOCS — the runtime of one torrent.
 *
 * Owns its {@link TorrentEngine} (the pure swarm state machine), its {@link TorrentStorage}, its
 * resume writer and its timers, and wires its parts together:
 * - {@link TorrentPeers}: the connections (on the session's peer pool) and BEP 10 extensions;
 * - {@link PieceWriter}: the receive path, from a block to a verified piece on disk;
 * - {@link V2Hashes}: BEP 52 piece layers and leaf-hash blame;
 * - {@link TorrentDiscovery}: trackers, the DHT and LSD.
 * The engine's actions are carried out by its {@link EngineDriver} (engine-driver.ts), which also
 * keeps the engine's timer; protocol decisions are the engine's.
 *
 * Invariants:
 * - upload reads are bounded by the engine (reads in flight per peer), and a block counts as
 *   sent only when the stream took it below its high-water mark (back-pressure);
 * - a banned address is banned for the whole session (the pool), whatever peer id it comes back
 *   with;
 * - `close()` releases every connection and timer and leaves a resume record on disk.
 */
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { TrackerStatus } from '../discovery/index.js';
import type { EngineAction, Random, TorrentEngine } from '../engine/index.js';
import type { Metainfo } from '../metainfo/index.js';
import type { AddressHints, PeerSource } from '../net/peer-pool.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { toHex } from '../shared/hash.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { ResumeWriter } from '../storage/resume.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';
import type { Bitfield, Handshake } from '../wire/index.js';
import type { SessionContext } from './context.js';
import { leaveIncompleteFolder, prepareFolder, relocate } from './disk.js';
import { EngineDriver } from './engine-driver.js';
import type { ExtensionFactory } from './extensions/extension.js';
import { openReadStream, type TorrentFileInfo, torrentFiles, waitUntilDone } from './file-stream.js';
import type { PeerConnection } from './peers/peer-connection.js';
import type { PeerLogEntry } from './peers/peer-log.js';
import { ratio, SeedLimitWatch } from './seed-limits.js';
import { TorrentLifecycle } from './torrent-lifecycle.js';
import { TorrentLimits } from './torrent-limits.js';
import { makeEngine, makeTorrentParts, type TorrentParts } from './torrent-parts.js';
import { loadStartState, resumePathOf, resumeSnapshot } from './torrent-resume.js';
import type {
  KnownPeerInfo,
  TorrentEvents,
  TorrentOptions,
  TorrentPeerInfo,
  TorrentRunStats,
  TorrentState,
} from './torrent-types.js';
import type { WebSeedInfo } from './webseed/web-seed.js';

/** Housekeeping period: dialling, keep-alives, idle peers, PEX. */
const HOUSEKEEPING_MS = 1_000;
export class Torrent extends TypedEmitter<TorrentEvents> {
  readonly metainfo: Metainfo;
  /** The 20-byte info-hash used on the wire (v1, or the truncated v2 hash). */
  readonly wireInfoHash: Uint8Array;
  /** Every 20-byte hash peers may use for this torrent (v1 and truncated v2 for hybrids). */
  readonly wireInfoHashes: readonly Uint8Array[];
  /** Hex of the v1 info-hash, else of the v2 one: the torrent's id. */
  readonly id: string;
  #storage: TorrentStorage;
  /** The torrent's parts (torrent-parts.ts). */
  readonly #p: TorrentParts;
  readonly #ctx: SessionContext;
  #engine: TorrentEngine;
  readonly #random: Random;
  /** This torrent's own rate limits and bandwidth priority (`limits.set({...})`). */
  readonly limits: TorrentLimits;
  /** Its seed limits (`seedLimits.set({ratio, idleMs})`; the session's where it sets none). */
  readonly seedLimits: SeedLimitWatch;
  readonly #options: TorrentOptions;
  /** Where the files go once complete (the user's last `moveStorage` wins over the option). */
  #finalDir: string | undefined;
  readonly #life: TorrentLifecycle;
  readonly #driver: EngineDriver;
  #housekeeping: NodeJS.Timeout | undefined;
  #resume: ResumeWriter | undefined;
  #closed = false;
  #files: TorrentFileInfo[] | undefined;
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
    this.#storage = storage;
    this.#options = options;
    this.#finalDir = options.downloadDir;
    const v1 = metainfo.infoHashV1;
    this.wireInfoHash = v1 ?? metainfo.infoHashV2!.subarray(0, 20);
    this.wireInfoHashes = [v1, metainfo.infoHashV2?.subarray(0, 20)].filter(
      (h): h is Uint8Array => h !== undefined,
    );
    this.#life = new TorrentLifecycle(
      {
        isClosed: () => this.#closed,
        hasFailed: () => this.#error !== undefined,
        isFinished: () => this.isFinished,
        stateChanged: (state) => this.emit('state', { state }),
        run: () => this.#run_(),
        halt: (reason) => this.#halt(reason),
        save: async () => {
          await this.#resume?.schedule(true);
        },
        recheckData: (progress) => this.#recheckData(progress),
      },
      options.paused === true,
    );
    this.seedLimits = SeedLimitWatch.of(options, () => ctx.seedLimits());
    this.id = toHex(v1 ?? metainfo.infoHashV2!);
    this.#random = random;
    this.limits = new TorrentLimits(ctx, {
      download: options.downloadRateLimit ?? 0,
      upload: options.uploadRateLimit ?? 0,
      priority: options.bandwidthPriority ?? 'normal',
    });
    this.#engine = this.#makeEngine();
    const self = this;
    const parts = makeTorrentParts(
      {
        ctx,
        metainfo,
        get storage() {
          return self.#storage;
        },
        wireInfoHash: this.wireInfoHash,
        wireInfoHashes: this.wireInfoHashes,
        limits: this.limits,
        get engine() {
          return self.#engine;
        },
        get parts() {
          return parts;
        },
        isActive: () => this.#isActive(),
        isClosed: () => this.#closed,
        run: (a) => this.#run(a),
        fail: (e) => this.#fail(e),
        onVerified: (index, ok) => this.#onVerified(index, ok),
        onLayersChanged: () => {
          void this.#resume?.schedule();
          this.#p.selection.apply();
        },
        addPeer: (host, port, source) => this.addPeer(host, port, source),
        totals: () => {
          const s = this.stats();
          return { uploaded: s.totalUploaded, downloaded: s.totalDownloaded, left: s.leftBytes };
        },
        emit: (event, payload) => this.emit(event, payload),
        filePriorities: options.filePriorities,
        isFinished: () => this.isFinished,
        finishedChanged: () => this.#life.finishedChanged(),
      },
      extensions,
    );
    this.#p = parts;
    this.#driver = new EngineDriver({
      engine: () => this.#engine,
      parts: () => this.#p,
      now: () => this.#ctx.now(),
      isClosed: () => this.#closed,
      done: () => this.#onDone(),
      event: (e) => {
        if (e.type !== 'piece:failed') return;
        this.emit('hash-failed', { index: e.index });
        this.#p.peers.record('hash-failed', e.contributors.join(', '), {
          reason: `piece ${e.index} failed its hash check`,
        });
      },
    });
  }

  /** Where the torrent's files are (its folder moves with `moveStorage`, or once complete). */
  get storage(): TorrentStorage {
    return this.#storage;
  }

  /** The folder the torrent's files are in now. */
  get downloadDir(): string {
    return this.#storage.downloadDir;
  }

  /**
   * Moves the torrent's files (and its parts file) to `dir` — a rename, or a copy across file
   * systems — while it is halted (state `moving`), then goes on from there. Resolves once done;
   * rejects (the torrent stays where it was) if a file cannot be moved.
   */
  async moveStorage(dir: string): Promise<void> {
    await this.#started;
    if (this.#closed) throw new ShoalError(ErrorCode.SessionClosed, `torrent ${this.name} is closed`, {});
    this.#finalDir = dir; // the user chose where it lives: completion does not move it back
    if (resolve(dir) === this.#storage.downloadDir) return;
    await this.#life.exclusive('moving', async () => {
      await this.#p.writer.idle();
      this.#storage = await relocate(this.#ctx, this.#storage, resolve(dir), this.#p.hashes.layers.layers());
      this.#p.selection.reselect();
      this.#p.server.clear();
      await this.#resume?.schedule();
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
    return this.#life.state;
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
    return this.metainfo.version === 'v2' && this.#p.hashes.layers.missingFiles().length > 0;
  }

  #isActive(): boolean {
    return !this.#closed && this.#life.isRunning;
  }

  /** Piece layers known now (from the torrent, a resume record or peers), by hex root. */
  pieceLayers(): Map<string, Uint8Array> {
    return this.#p.hashes.layers.layers();
  }

  stats(): TorrentRunStats {
    const s = this.#engine.stats(this.#ctx.now());
    // The engine's object is fresh per call: extend it in place (a spread costs µs per call, and
    // the daemon lists thousands of torrents).
    return Object.assign(s, {
      totalUploaded: this.#uploadedBase + s.uploadedBytes,
      totalDownloaded: this.#downloadedBase + s.downloadedBytes,
      spilledPieces: this.#p.writer.spilledTotal,
      readingPaused: this.#p.writer.readingPaused,
    });
  }

  /** Verified pieces. */
  bitfield(): Bitfield {
    return this.#engine.haves();
  }

  peers(): TorrentPeerInfo[] {
    return this.#p.peers.infos(this.#ctx.now());
  }

  /** The web seeds (HTTP origins: BEP 19 `url-list` and `ws=`, BEP 17 `httpseeds`) and how they do. */
  webSeeds(): WebSeedInfo[] {
    return this.#p.peers.webSeeds.list();
  }

  /**
   * Uses the HTTP origin `url` as a seed (BEP 19: a file's URL, or a folder's ending in `/`).
   * Throws `SHOAL_ERR_WEBSEED_BAD_URL` for anything but an http(s) URL.
   */
  addWebSeed(url: string): void {
    this.#p.peers.webSeeds.add(url);
  }

  /** The torrent's files as users number them (padding files left out; see `userFiles`). */
  files(): TorrentFileInfo[] {
    this.#files ??= torrentFiles(this.metainfo);
    return this.#files;
  }

  /**
   * A readable stream of file `index` (as {@link files} numbers them), bytes `start`..`end`
   * inclusive: verified pieces are read from disk at once, missing ones are fetched first (they
   * jump ahead of every other piece) and the stream waits for them. It fails if the torrent
   * fails; destroying it (or aborting `signal`) stops the wait.
   */
  createReadStream(
    index: number,
    options: { readonly start?: number; readonly end?: number; readonly signal?: AbortSignal } = {},
  ): Readable {
    // A skipped file is wanted once someone reads it.
    return openReadStream(this, index, (f) => this.#p.selection.want(f.metainfoIndex), options);
  }

  /** Smart-ban evidence held (≤ MAX_SMART_BAN_PIECES failed pieces, MAX_SMART_BAN_BLOCKS blocks). */
  smartBanStats(): { readonly pieces: number; readonly blocks: number } {
    return this.#engine.smartBanStats();
  }

  /** Known addresses with their source and dial state (≤ `maxKnownPeersPerTorrent`). */
  knownPeers(): KnownPeerInfo[] {
    return this.#p.peers.knownPeers();
  }

  /**
   * Recent peer events, oldest first: connects, disconnects, refusals, hash failures and bans,
   * each with its reason (bounded, MAX_PEER_LOG_ENTRIES).
   */
  peerLog(): PeerLogEntry[] {
    return this.#p.peers.log();
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
    return waitUntilDone(this, options.signal);
  }

  /** Loads resume data (or rechecks), then starts connecting. Called by the session. */
  start(): Promise<void> {
    this.#started ??= this.#start().catch((e: unknown) => this.#fail(e));
    return this.#started;
  }

  async #start(): Promise<void> {
    const m = this.metainfo;
    const resumePath = resumePathOf(this.#ctx.options.resumeDir, this.id);
    const start = await loadStartState(
      m,
      this.storage,
      this.#p.hashes.layers,
      resumePath,
      this.#options.recheck === true,
    );
    const have = start.have;
    this.#uploadedBase = start.uploaded;
    this.#downloadedBase = start.downloaded;
    if (this.#closed) return;
    // Something is left to download: its folder must take data (seeding complete data from
    // read-only media is fine).
    if (have.some((h) => !h)) await this.#checkDisk();
    if (resumePath !== undefined) this.#resume = new ResumeWriter(resumePath, () => this.#snapshot());
    const now = this.#ctx.now();
    const haveIdx: number[] = [];
    have.forEach((h, i) => {
      if (h) haveIdx.push(i);
    });
    this.#run(this.#engine.setHave(haveIdx, now));
    if (this.#p.selection.priorities !== undefined || this.#p.hashes.layers.missingFiles().length > 0)
      this.#p.selection.apply();
    await this.storage.createEmptyFiles();
    if (this.isFinished) this.emit('done', { infoHash: this.id });
    void this.#resume?.schedule();
    if (this.#closed) return;
    this.#life.started();
  }

  /** The download folder can take what is left: writable, with room (and, `full`, allocated). */
  #checkDisk(): Promise<void> {
    return prepareFolder(
      this.#storage,
      (i) => this.#p.selection.isWanted(i),
      this.#ctx.freeSpace,
      this.#options.preallocation ?? this.#ctx.options.preallocation,
    );
  }

  /** A fresh engine (at start, or after a recheck found other pieces than the engine knew). */
  #makeEngine(): TorrentEngine {
    return makeEngine(this.#ctx, this.storage, this.wireInfoHash, this.#random, this.#options.superSeed);
  }

  /** Starts connecting, announcing and keeping house (the lifecycle decided the torrent runs). */
  #run_(): void {
    this.seedLimits.reset(this.#ctx.now());
    this.#p.discovery.start();
    this.#housekeeping ??= setInterval(() => this.#housekeep(), HOUSEKEEPING_MS);
    this.#housekeeping.unref();
    this.#p.peers.dial();
  }

  /** Stops connecting and announcing; every connection closes with `reason`. */
  async #halt(reason: string): Promise<void> {
    if (this.#housekeeping !== undefined) clearInterval(this.#housekeeping);
    this.#housekeeping = undefined;
    this.#driver.stop();
    this.#p.peers.closeAll(reason);
    await this.#p.discovery.stop();
  }

  /** True when the user paused the torrent. */
  get isPaused(): boolean {
    return this.#life.isPaused;
  }

  /** @internal The session's queue holds the torrent back (`true`) or lets it run. */
  setQueued(queued: boolean): void {
    this.#life.setQueued(queued);
  }

  /** Upload ratio over every run (uploaded / downloaded, or / size when seeded from own data). */
  get ratio(): number {
    const s = this.stats();
    return ratio({
      uploaded: s.totalUploaded,
      downloaded: s.totalDownloaded,
      size: this.metainfo.totalLength,
    });
  }

  /**
   * Pauses: every connection closes, the trackers hear `stopped`, nothing is dialled or accepted;
   * verified data and the resume record stay. Resolves once the record is saved.
   */
  pause(): Promise<void> {
    return this.#life.pause();
  }

  /** Resumes a paused torrent (it connects and announces again, or waits in the queue). */
  resume(): void {
    this.#life.resume();
  }

  /**
   * Hashes every piece on disk again and continues from what is there (a file changed or was
   * damaged behind our back): connections close during the check, which `checkProgress` follows.
   * Resolves once the check is done; rejects if the torrent fails or closes meanwhile.
   */
  async recheck(): Promise<void> {
    await this.#started;
    if (this.#closed) throw new ShoalError(ErrorCode.SessionClosed, `torrent ${this.name} is closed`, {});
    return this.#life.recheck();
  }

  /** Share of the pieces hashed by the check in progress (1 when none runs). */
  get checkProgress(): number {
    return this.#life.checkProgress;
  }

  /** Hashes the data again and replaces the engine's view with what is on disk. */
  async #recheckData(progress: (share: number) => void): Promise<void> {
    await this.#p.writer.idle();
    this.#p.writer.clear();
    let have: boolean[];
    try {
      have = await this.storage.recheck((done, all) => progress(all === 0 ? 1 : done / all));
    } catch (e) {
      this.#fail(e);
      throw e;
    }
    if (this.#closed) return;
    const { uploadedBytes: up, downloadedBytes: down } = this.#engine.stats(this.#ctx.now()); // kept: the new engine counts from 0
    [this.#uploadedBase, this.#downloadedBase] = [this.#uploadedBase + up, this.#downloadedBase + down];
    this.#engine = this.#makeEngine();
    this.#run(
      this.#engine.setHave(
        have.flatMap((h, i) => (h ? [i] : [])),
        this.#ctx.now(),
      ),
    );
    this.#p.selection.apply();
    this.#p.server.clear();
  }

  /** Changes file priorities (0 skip, 1 normal, 2 high) by metainfo file index. */
  setFilePriorities(priorities: readonly number[]): void {
    if (!this.#closed) this.#p.selection.set(priorities);
  }

  /** Streaming: pieces `[first, first + count)` go before all others, in order; `count` 0 clears. */
  setStreamingWindow(first: number, count: number): void {
    if (!this.#closed) this.#p.selection.setStreamingWindow(first, count);
  }

  /** Adds a peer address to try (trackers, DHT, PEX, LSD and the user all land here). */
  addPeer(host: string, port: number, source: PeerSource = 'user', hints?: AddressHints): void {
    this.#p.peers.addPeer(host, port, source, hints);
  }

  /** The trackers and how their last announces went. */
  trackers(): TrackerStatus[] {
    return this.#p.discovery.trackers();
  }

  /** Stops all activity, saves resume data, releases connections and timers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#housekeeping !== undefined) clearInterval(this.#housekeeping);
    this.#driver.close();
    const discovery = this.#p.discovery.close();
    this.limits.close();
    this.#p.peers.close('torrent-closed');
    this.#p.writer.clear();
    this.#p.server.clear();
    await this.#started?.catch(() => {});
    // Let writes and verifications in progress finish so the record is as fresh as it can be.
    await this.#p.writer.idle();
    if (this.#resume !== undefined) await this.#resume.saveDurably();
    await discovery;
    if (this.#life.state !== 'error') this.#life.set('stopped');
  }

  /** Called by the session for an incoming connection whose handshake named this torrent. */
  acceptIncoming(conn: PeerConnection, h: Handshake): boolean {
    return this.#p.peers.acceptIncoming(conn, h);
  }

  // ------------------------------------------------------------------ engine actions

  #run(actions: EngineAction[]): void {
    this.#driver.run(actions);
  }

  #onDone(): void {
    if (this.#layersBlocking()) return;
    this.#life.finishedChanged();
    leaveIncompleteFolder(this, this.#finalDir, (message) => this.emit('warning', { message }));
    this.#p.discovery.completed();
    void this.#resume?.schedule();
    this.emit('done', { infoHash: this.id });
  }

  #onVerified(index: number, ok: boolean): void {
    this.#p.server.invalidate(index);
    if (ok) {
      this.emit('piece', { index });
      void this.#resume?.schedule();
    }
  }

  #housekeep(): void {
    if (this.#closed) return;
    const now = this.#ctx.now();
    if (this.#life.state === 'seeding') {
      const s = this.stats();
      const reached = this.seedLimits.check(
        { uploaded: s.totalUploaded, downloaded: s.totalDownloaded, size: this.metainfo.totalLength },
        now,
      );
      if (reached !== undefined) {
        this.emit('seed-limit', { reason: reached, ratio: this.ratio });
        void this.pause();
        return;
      }
    }
    this.#p.hashes.tick(now);
    this.#p.peers.housekeep(now);
  }

  #snapshot() {
    const s = this.stats();
    return resumeSnapshot(this.metainfo, this.storage, this.#engine.haves(), this.#p.hashes.layers, {
      uploaded: s.totalUploaded,
      downloaded: s.totalDownloaded,
    });
  }

  #fail(e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    if (this.#life.state === 'error' || this.#closed) return;
    this.#error = error;
    this.#life.set('error');
    this.#p.peers.closeAll('torrent-error');
    this.emit('error', { error });
  }
}
