/**
 * DEV DOCS — the runtime of one torrent.
 *
 * Owns: the torrent's peer connections, its known-peer list, its {@link TorrentEngine}, its
 * {@link TorrentStorage}, its resume writer and its timers. It is the adapter between the
 * pure engine and the world: socket messages become `engine.onMessage` calls, and the engine's
 * actions become socket writes, disk reads/writes and verifications. Protocol decisions are
 * the engine's; this file only carries them out.
 *
 * Invariants:
 * - A piece is reported verified to the engine only after `storage.verifyPiece` matched its
 *   hash, and only after every block write of that piece finished.
 * - Unverified block writes in flight are bounded by MAX_PENDING_WRITE_BYTES: above it every
 *   peer socket of the torrent stops being read until the disk catches up.
 * - Complete pieces waiting for their hash check and write are bounded too: once they hold
 *   VERIFY_BACKLOG_SHARE of the assembly buffers, every peer socket stops being read until one
 *   is written. Hashing and writing are then the bottleneck, and TCP slows the senders down;
 *   without the pause the next pieces would find no buffer and go to disk block by block, to be
 *   read back for their check, which costs more CPU exactly when there is none to spare.
 * - Upload reads are bounded by the engine (reads in flight per peer), and a block counts as
 *   sent only when the socket took it below its high-water mark (back-pressure).
 * - `close()` releases every socket and timer and leaves a resume record on disk.
 */
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { Announcer, type TrackerStatus } from '../discovery/index.js';
import {
  ADVERTISED_REQQ,
  type EngineAction,
  type PeerKey,
  type PeerStats,
  PiecePriority,
  type Random,
  TorrentEngine,
  type TorrentStats,
} from '../engine/index.js';
import {
  hashesForRequest,
  log2,
  type Metainfo,
  nextPow2,
  padHash,
  treeLayersFrom,
  verifyHashes,
} from '../metainfo/index.js';
import { dialPeer, PeerConnection } from '../net/peer-connection.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { sha256, toHex } from '../shared/hash.js';
import {
  BLOCK_BYTES,
  CONNECT_TIMEOUT_MS,
  KEEP_ALIVE_INTERVAL_MS,
  MAX_KNOWN_PEERS_PER_TORRENT,
  MAX_PENDING_WRITE_BYTES,
  PEER_IDLE_TIMEOUT_MS,
  VERIFY_BACKLOG_SHARE,
} from '../shared/limits.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { PIECE_DIGEST_TAIL_BYTES } from '../storage/hash-pool.js';
import { PieceAssembler } from '../storage/piece-assembler.js';
import { type BlockLease, PieceReadCache } from '../storage/read-cache.js';
import { decodeResume, ResumeWriter, readResumeFile } from '../storage/resume.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';
import {
  Bitfield,
  clientFromPeerId,
  decodeExtendedHandshake,
  decodeUtMetadata,
  decodeUtPex,
  EXTENDED_HANDSHAKE_ID,
  ExtensionName,
  encodeExtendedHandshake,
  encodeUtMetadata,
  encodeUtPex,
  type Handshake,
  keepAlive,
  makeReserved,
  metadataPieceCount,
  PexFlag,
  type PexPeer,
  readReserved,
  type WireMessage,
} from '../wire/index.js';
import type { SessionContext } from './context.js';
import { HASH_REQUEST_MAX_LENGTH, type HashRequestFields, PieceLayers } from './piece-layers.js';

/** Our BEP 10 extension ids (what peers must use when sending to us). */
const OUR_EXT = { [ExtensionName.UtMetadata]: 1, [ExtensionName.UtPex]: 2 } as const;
/** DHT re-announce period while we have peers enough (BEP 5 peers expire after ~30 min). */
export const DHT_ANNOUNCE_INTERVAL_MS = 15 * 60_000;
/** DHT re-announce period while we have (almost) no peers. */
export const DHT_ANNOUNCE_RETRY_MS = 60_000;
/** BEP 11: at most one PEX message per peer per minute. */
export const PEX_INTERVAL_MS = 60_000;
/** BEP 11: added / dropped entries per PEX message we send. */
export const PEX_MAX_PEERS = 50;
/** Housekeeping period: dialling, keep-alives, idle peers. */
const HOUSEKEEPING_MS = 1_000;
/** Back-off after a failed connection attempt, doubled per failure. */
const RECONNECT_BASE_MS = 5_000;
/** Failed attempts after which an address is forgotten. */
const MAX_CONNECT_FAILURES = 5;
/** Bytes of whole pieces kept in memory to serve uploads. */
export const READ_CACHE_BYTES = 16 * 1024 * 1024;

export type TorrentState = 'checking' | 'downloading' | 'seeding' | 'stopped' | 'error';

export interface TorrentEvents {
  /** A piece was verified and written. */
  piece: { readonly index: number };
  /** Every wanted piece is verified (data complete on disk). */
  done: { readonly infoHash: string };
  peer: {
    readonly type: 'connected' | 'disconnected';
    readonly address: string;
    readonly reason?: string;
    readonly client?: string;
  };
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

interface Blame {
  readonly index: number;
  readonly req: HashRequestFields;
  readonly root: Uint8Array;
  readonly blocks: number;
  readonly senders: readonly (PeerKey | undefined)[];
  readonly contributors: readonly PeerKey[];
  /** Our hashes of the blocks as received. */
  readonly leaves: readonly Uint8Array[];
  readonly asked: Set<PeerKey>;
  peer?: PeerKey;
  at: number;
}

/** The ban warning's ending for a peer whose block failed its BEP 52 leaf hash. */
const BAD_BLOCK_BAN = ': a block failed its BEP 52 leaf hash';

/** Time a peer has to answer a leaf-hash request before another is asked. */
const BLAME_TIMEOUT_MS = 20_000;

interface KnownPeer {
  readonly host: string;
  readonly port: number;
  failures: number;
  nextAttemptAt: number;
  connected: boolean;
}

/**
 * Two connections to one peer (ours has id `ourId`, the peer `theirId`): whether to keep the new
 * one (opened by us if `newOutgoing`) and close the existing one, or refuse the new one. Both
 * ends keep the connection opened by the end with the larger peer id, so they agree; when both
 * connections were opened by the same end, the existing one stays.
 */
export function keepsNewConnection(
  ourId: Uint8Array,
  theirId: Uint8Array,
  newOutgoing: boolean,
  existingOutgoing: boolean,
): boolean {
  const oursWins = Buffer.compare(ourId, theirId) > 0;
  return newOutgoing === oursWins && existingOutgoing !== oursWins;
}

interface LivePeer {
  readonly key: PeerKey;
  readonly conn: PeerConnection;
  readonly address: string;
  /** The peer id from its handshake. */
  readonly peerId: Uint8Array;
  client?: string;
  /** The peer's id for ut_metadata, when it supports it. */
  utMetadataId?: number;
  /** Both sides set the BEP 52 v2 bit: hash requests may be sent. */
  supportsV2?: boolean;
  /** The peer's id for ut_pex, when it supports it (never set for private torrents). */
  utPexId?: number;
  /** The port the peer listens on (`p` of its extended handshake, or the one we dialled). */
  listenPort?: number;
  /** Addresses we told this peer about in PEX, and when we last sent. */
  pexSent?: Set<string>;
  pexAt?: number;
  /** When the peer last sent us PEX (to ignore floods). */
  pexReceivedAt?: number;
}

export interface TorrentPeerInfo extends PeerStats {
  readonly address: string;
  readonly client: string | undefined;
  readonly outgoing: boolean;
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
  readonly #peers = new Map<PeerKey, LivePeer>();
  readonly #known = new Map<string, KnownPeer>();
  readonly #banned = new Set<string>();
  #halfOpen = 0;
  #seq = 0;
  #state: TorrentState = 'checking';
  #engineTimer: NodeJS.Timeout | undefined;
  #engineTimerAt = Number.POSITIVE_INFINITY;
  /** The engine's next deadline is looked up once per event-loop turn (see #run). */
  #armImmediate: NodeJS.Immediate | undefined;
  #housekeeping: NodeJS.Timeout | undefined;
  #resume: ResumeWriter | undefined;
  #announcer: Announcer | undefined;
  readonly #discovery = new AbortController();
  #pendingWriteBytes = 0;
  #readingPaused = false;
  /** Pieces verified from an assembly buffer right now (each holds a buffer until written). */
  #verifyingInMemory = 0;
  /** {@link #verifyingInMemory} at which peers stop being read (see the invariants). */
  readonly #verifyBacklogLimit: number;
  /** Blocks of incomplete pieces, verified in memory then written whole. */
  readonly #assembler: PieceAssembler;
  /** Pieces whose blocks went to disk unverified (memory budget): verified from disk. */
  readonly #spilled = new Set<number>();
  #spilledTotal = 0;
  /** Writes in flight per piece, and pieces waiting for them before verification. */
  readonly #writesInFlight = new Map<number, number>();
  readonly #verifyWhenWritten = new Set<number>();
  readonly #verifying = new Set<number>();
  readonly #readCache: PieceReadCache;
  /** v2 piece layers: answering hash requests, fetching the ones a magnet lacks. */
  readonly #layers: PieceLayers;
  /** Hash requests we sent (root hex + index) → the peer asked. */
  readonly #layerRequests = new Map<string, PeerKey>();
  /** Failed v2 pieces waiting for their leaf hashes to name the bad blocks' senders. */
  readonly #blames = new Map<string, Blame>();
  /** File priorities the user chose (undefined: all normal). */
  #userPriorities: readonly number[] | undefined;
  #closed = false;
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
    this.#assembler = new PieceAssembler(
      metainfo.pieceLength,
      MAX_PENDING_WRITE_BYTES,
      PIECE_DIGEST_TAIL_BYTES,
    );
    this.#verifyBacklogLimit = verifyBacklogLimit(this.#assembler.slots);
    this.#readCache = new PieceReadCache(READ_CACHE_BYTES, metainfo.pieceLength);
    this.#layers = new PieceLayers(metainfo);
    this.#userPriorities = options.filePriorities;
    this.id = toHex(v1 ?? metainfo.infoHashV2!);
    this.#engine = new TorrentEngine({
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
    return this.metainfo.version === 'v2' && this.#layers.missingFiles().length > 0;
  }

  /** Piece layers known now (from the torrent, a resume record or peers), by hex root. */
  pieceLayers(): Map<string, Uint8Array> {
    return this.#layers.layers();
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
      spilledPieces: this.#spilledTotal,
      readingPaused: this.#readingPaused,
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
        out.push({ ...s, address: p.address, client: p.client, outgoing: p.conn.outgoing });
    }
    return out;
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
          if (this.#layers.restore(hex, layer)) this.storage.setPieceLayer(hex, layer);
        }
      }
    }
    if (have === undefined) {
      const stats = await this.storage.fileStats();
      const anyData = stats.some((s) => s.size > 0);
      have = anyData ? await this.storage.recheck() : new Array<boolean>(m.pieceCount).fill(false);
    }
    if (this.#closed) return;
    if (resumePath !== undefined) this.#resume = new ResumeWriter(resumePath, () => this.#snapshot());
    const now = this.#ctx.now();
    const haveIdx: number[] = [];
    have.forEach((h, i) => {
      if (h) haveIdx.push(i);
    });
    this.#run(this.#engine.setHave(haveIdx, now));
    if (this.#userPriorities !== undefined || this.#layers.missingFiles().length > 0) this.#applyPriorities();
    await this.storage.createEmptyFiles();
    this.#state = this.isFinished ? 'seeding' : 'downloading';
    if (this.isFinished) this.emit('done', { infoHash: this.id });
    void this.#resume?.schedule();
    this.#startAnnouncer();
    this.#startDht();
    if (!this.metainfo.isPrivate) this.#ctx.lsd?.add(this.wireInfoHash);
    this.#housekeeping = setInterval(() => this.#housekeep(), HOUSEKEEPING_MS);
    this.#housekeeping.unref();
    this.#dial();
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
    const p = [...(this.#userPriorities ?? this.metainfo.files.map(() => 1))];
    if (this.metainfo.version === 'v2') for (const i of this.#layers.missingFiles()) p[i] = 0;
    // Seeds are kept while layers are missing (v2 or hybrid): they are who can send them.
    this.#engine.setKeepSeeds(this.#layers.missingFiles().length > 0);
    this.#run(this.#engine.setFilePriorities(this.#filePriorities(p), this.#ctx.now()));
    if (wasFinished && !this.isFinished && this.#state === 'seeding') this.#state = 'downloading';
  }

  /** Asks a v2 peer for the piece layers we lack (BEP 52 hash requests). */
  #requestLayers(peer: LivePeer): void {
    for (const req of this.#layers.requests()) {
      const key = `${toHex(req.piecesRoot)}:${req.index}`;
      const asked = this.#layerRequests.get(key);
      if (asked !== undefined && this.#peers.has(asked)) continue;
      this.#layerRequests.set(key, peer.key);
      peer.conn.send({ type: 'hash-request', ...req });
    }
  }

  #onHashMessage(peer: LivePeer, msg: WireMessage): void {
    if (msg.type === 'hash-request') {
      const fields: HashRequestFields = {
        piecesRoot: msg.piecesRoot,
        baseLayer: msg.baseLayer,
        index: msg.index,
        length: msg.length,
        proofLayers: msg.proofLayers,
      };
      const reply = (hashes: Uint8Array | undefined) =>
        peer.conn.send(
          hashes === undefined ? { type: 'hash-reject', ...fields } : { type: 'hashes', ...fields, hashes },
        );
      // With 16 KiB pieces the leaf layer is the piece layer: answered from the layers we hold.
      const pieceLayer = log2(this.metainfo.pieceLength / BLOCK_BYTES);
      if (msg.baseLayer === 0 && pieceLayer > 0)
        void this.#answerLeaves(fields).then(reply, () => reply(undefined));
      else reply(this.#layers.answer(msg));
      return;
    }
    if (msg.type !== 'hashes' && msg.type !== 'hash-reject') return;
    if (msg.baseLayer === 0 && this.#blames.has(`${toHex(msg.piecesRoot)}:${msg.index}`)) {
      this.#onLeafHashes(peer, msg);
      return;
    }
    const key = `${toHex(msg.piecesRoot)}:${msg.index}`;
    if (this.#layerRequests.get(key) !== peer.key) return; // unrequested: ignore
    this.#layerRequests.delete(key);
    if (msg.type !== 'hashes') {
      this.#askAnotherForLayers(peer.key);
      return;
    }
    const r = this.#layers.onHashes(msg);
    if (r === false) {
      // Hashes that do not lead to the file's root: a lying or broken peer.
      peer.conn.close(
        'bad-hashes',
        new ShoalError(ErrorCode.WireProtocol, 'hashes do not match the pieces root', {}),
      );
      return;
    }
    if (r === undefined) return;
    const hex = toHex(this.metainfo.files[r]!.piecesRoot!);
    const layer = this.#layers.layers().get(hex);
    if (layer !== undefined) this.storage.setPieceLayer(hex, layer);
    void this.#resume?.schedule();
    this.#applyPriorities();
  }

  /**
   * BEP 52 blame: a v2 piece failed, so ask a peer for its leaf hashes; the blocks whose hash
   * differs name their senders exactly, and only they are banned. Returns false when block-level
   * blame is not possible (v1-only torrents, one-block pieces, no v2 peer): the engine then
   * strikes the contributors as usual.
   */
  #startBlame(index: number, data: Uint8Array): boolean {
    if (this.metainfo.version === 'v1') return false;
    const fi = this.storage.map.fileAt(index * this.metainfo.pieceLength);
    const file = this.metainfo.files[fi];
    if (file === undefined || file.isPadding) return false;
    const pieceInFile = index - Math.floor(file.offset / this.metainfo.pieceLength);
    const plan = this.#layers.leafRequest(file, pieceInFile);
    if (plan === undefined) return false;
    const senders = this.#engine.blockSenders(index);
    const v2Bytes = Math.min(
      this.metainfo.pieceLength,
      file.length - pieceInFile * this.metainfo.pieceLength,
    );
    const leaves: Uint8Array[] = [];
    for (let b = 0; b < plan.blocks; b++) {
      leaves.push(sha256(data.subarray(b * BLOCK_BYTES, Math.min((b + 1) * BLOCK_BYTES, v2Bytes))));
    }
    const contributors = [...new Set(senders.filter((k): k is PeerKey => k !== undefined))];
    this.#run(this.#engine.onPieceVerified(index, false, this.#ctx.now(), { deferBlame: true }));
    const blame: Blame = {
      ...plan,
      index,
      senders,
      contributors,
      leaves,
      asked: new Set(),
      at: this.#ctx.now(),
    };
    this.#blames.set(`${toHex(plan.req.piecesRoot)}:${plan.req.index}`, blame);
    this.#askForLeaves(blame);
    return true;
  }

  #askForLeaves(blame: Blame): void {
    // Peers that sent none of the piece first: a culprit has no reason to answer truthfully
    // (its answer is verified anyway) or at all.
    const peers = [...this.#peers.values()].sort(
      (a, b) => Number(blame.contributors.includes(a.key)) - Number(blame.contributors.includes(b.key)),
    );
    for (const p of peers) {
      if (!p.supportsV2 || blame.asked.has(p.key)) continue;
      blame.asked.add(p.key);
      blame.peer = p.key;
      blame.at = this.#ctx.now();
      p.conn.send({ type: 'hash-request', ...blame.req });
      return;
    }
    this.#blameFallback(blame);
  }

  /** Nobody could give the leaf hashes: strike every contributor the usual way. */
  #blameFallback(blame: Blame): void {
    this.#blames.delete(`${toHex(blame.req.piecesRoot)}:${blame.req.index}`);
    this.#run(this.#engine.strikePeers(blame.contributors, this.#ctx.now()));
  }

  #onLeafHashes(
    peer: LivePeer,
    msg: HashRequestFields & { readonly type: string; readonly hashes?: Uint8Array },
  ): void {
    const key = `${toHex(msg.piecesRoot)}:${msg.index}`;
    const blame = this.#blames.get(key);
    if (blame === undefined || blame.peer !== peer.key) return;
    if (msg.type !== 'hashes' || msg.hashes === undefined) {
      this.#askForLeaves(blame);
      return;
    }
    const base = verifyHashes(blame.root, blame.req.length, 0, blame.req.length, msg.hashes);
    if (base === undefined) {
      // Leaf hashes that do not lead to the torrent's piece hash: this peer's data is bad.
      this.#banProven(peer.key);
      this.#askForLeaves(blame);
      return;
    }
    this.#blames.delete(key);
    const culprits = new Set<PeerKey>();
    blame.leaves.forEach((leaf, b) => {
      if (Buffer.compare(leaf, base[b]!) !== 0 && blame.senders[b] !== undefined)
        culprits.add(blame.senders[b]!);
    });
    if (culprits.size === 0) {
      this.#run(this.#engine.strikePeers(blame.contributors, this.#ctx.now()));
      return;
    }
    for (const c of culprits) this.#banProven(c);
  }

  /**
   * Bans a peer proven (by BEP 52 hashes) to have sent bad data, even if it has disconnected in
   * the meantime: its address is refused from now on.
   */
  #banProven(key: PeerKey): void {
    if (this.#peers.has(key)) {
      this.#run(this.#engine.banPeer(key, this.#ctx.now()));
      return;
    }
    // Keys are `${address}:${port}/${seq}` (see #attach): the address is what gets banned.
    const hostPort = key.slice(0, key.lastIndexOf('/'));
    const host = hostPort.slice(0, hostPort.lastIndexOf(':'));
    if (host !== '' && !this.#banned.has(host)) this.#banAddress(host, hostPort, BAD_BLOCK_BAN);
  }

  /** Refuses `host` from now on, forgets `hostPort` as a peer to dial, and says why. */
  #banAddress(host: string, hostPort: string, why: string): void {
    this.#banned.add(host);
    this.#known.delete(hostPort);
    this.emit('warning', { message: `banned ${hostPort}${why}` });
  }

  /** Leaf hashes (base layer 0) of one piece we have, computed from disk, with proofs. */
  async #answerLeaves(req: HashRequestFields): Promise<Uint8Array | undefined> {
    const fi = this.metainfo.files.findIndex(
      (f) => f.piecesRoot !== undefined && Buffer.compare(f.piecesRoot, req.piecesRoot) === 0,
    );
    const file = this.metainfo.files[fi];
    if (file === undefined || req.length < 1 || req.length > HASH_REQUEST_MAX_LENGTH) return undefined;
    const perPiece = this.metainfo.pieceLength / BLOCK_BYTES;
    const small = file.length <= this.metainfo.pieceLength;
    const span = small ? nextPow2(Math.ceil(file.length / BLOCK_BYTES)) : perPiece;
    const pieceInFile = Math.floor(req.index / span);
    if (req.index % req.length !== 0 || req.length > span || (req.index % span) + req.length > span)
      return undefined;
    if (req.proofLayers > log2(span) - 1) return undefined; // proofs above the piece: not served
    const index = Math.floor(file.offset / this.metainfo.pieceLength) + pieceInFile;
    if (!this.#engine.have(index)) return undefined;
    const data = await this.storage.readPiece(index);
    const v2Bytes = Math.min(
      this.metainfo.pieceLength,
      file.length - pieceInFile * this.metainfo.pieceLength,
    );
    const leaves: Uint8Array[] = [];
    for (let at = 0; at < v2Bytes; at += BLOCK_BYTES)
      leaves.push(sha256(data.subarray(at, Math.min(at + BLOCK_BYTES, v2Bytes))));
    while (leaves.length < span) leaves.push(padHash(0));
    const out = hashesForRequest(treeLayersFrom(leaves, 0), req.index % span, req.length, req.proofLayers);
    return out === undefined ? undefined : Buffer.concat(out);
  }

  #askAnotherForLayers(except: PeerKey): void {
    for (const p of this.#peers.values()) {
      if (p.key !== except && p.supportsV2) {
        this.#requestLayers(p);
        return;
      }
    }
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

  /** Adds a peer address to try (trackers, DHT, PEX and the user all land here). */
  addPeer(host: string, port: number): void {
    if (this.#closed || !Number.isInteger(port) || port <= 0 || port > 65535) return;
    const key = `${host}:${port}`;
    if (this.#banned.has(host) || this.#known.has(key)) return;
    if (this.#known.size >= MAX_KNOWN_PEERS_PER_TORRENT) {
      // Forget one address that keeps failing before accepting a new one.
      for (const [k, p] of this.#known) {
        if (!p.connected && p.failures > 0) {
          this.#known.delete(k);
          break;
        }
      }
      if (this.#known.size >= MAX_KNOWN_PEERS_PER_TORRENT) return;
    }
    this.#known.set(key, { host, port, failures: 0, nextAttemptAt: 0, connected: false });
    if (this.#state === 'downloading' || this.#state === 'seeding') this.#dial();
  }

  /** The trackers and how their last announces went. */
  trackers(): TrackerStatus[] {
    return this.#announcer?.trackers ?? [];
  }

  #startAnnouncer(): void {
    const tiers = this.metainfo.trackers.filter((t) => t.length > 0);
    if (!this.#ctx.options.trackers || tiers.length === 0 || this.#closed) return;
    const announcer = new Announcer(
      {
        infoHash: this.wireInfoHash,
        peerId: this.#ctx.peerId,
        port: this.#ctx.listenPort(),
        trackers: tiers,
        getStats: () => {
          const s = this.stats();
          return { uploaded: s.totalUploaded, downloaded: s.totalDownloaded, left: s.leftBytes };
        },
        onPeers: (peers) => {
          for (const p of peers) this.addPeer(p.host, p.port);
        },
      },
      { udp: this.#ctx.udpTrackerSocket() },
    );
    announcer.on('tracker:failed', (e) =>
      this.emit('warning', { message: `tracker failed: ${e.url}: ${e.error.message}`, error: e.error }),
    );
    this.#announcer = announcer;
    announcer.start();
  }

  /** Announces to the DHT and feeds the peers it finds, again and again (BEP 5). */
  #startDht(): void {
    const dht = this.#ctx.dht;
    if (dht === undefined || this.metainfo.isPrivate || this.#closed) return;
    const signal = this.#discovery.signal;
    const loop = async () => {
      while (!signal.aborted) {
        try {
          const r = await dht.announce(this.wireInfoHash, this.#ctx.listenPort(), { signal });
          for (const p of r.peers) this.addPeer(p.host, p.port);
        } catch (e) {
          if (signal.aborted) return;
          this.emit('warning', {
            message: `DHT announce failed: ${(e as Error).message}`,
            error: e as Error,
          });
        }
        const wait = this.#peers.size < 4 ? DHT_ANNOUNCE_RETRY_MS : DHT_ANNOUNCE_INTERVAL_MS;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          t.unref();
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              resolve();
            },
            { once: true },
          );
        });
      }
    };
    void loop();
  }

  /** Stops all activity, saves resume data, releases sockets and timers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#housekeeping !== undefined) clearInterval(this.#housekeeping);
    if (this.#engineTimer !== undefined) clearTimeout(this.#engineTimer);
    if (this.#armImmediate !== undefined) clearImmediate(this.#armImmediate);
    this.#discovery.abort();
    this.#ctx.lsd?.remove(this.wireInfoHash);
    for (const p of [...this.#peers.values()]) p.conn.close('torrent-closed');
    this.#peers.clear();
    this.#assembler.clear();
    this.#readCache.clear();
    await this.#started?.catch(() => {});
    // Let writes and verifications in progress finish so the record is as fresh as it can be.
    while (this.#verifying.size > 0 || this.#pendingWriteBytes > 0) {
      await new Promise((r) => setImmediate(r));
    }
    if (this.#resume !== undefined) await this.#resume.saveDurably();
    if (this.#announcer !== undefined) {
      await this.#announcer.stop().catch(() => {});
      await this.#announcer.close();
    }
    if (this.#state !== 'error') this.#state = 'stopped';
  }

  // ------------------------------------------------------------------ connections

  /** Called by the session for an incoming connection whose handshake named this torrent. */
  acceptIncoming(conn: PeerConnection, h: Handshake): boolean {
    if (!this.#canAttach(conn, h)) return false;
    // Answer with the hash the peer used (v1 or truncated v2 of a hybrid, BEP 52).
    this.#sendHandshake(conn, h.infoHash);
    this.#attach(conn, h);
    return true;
  }

  #canAttach(conn: PeerConnection, h: Handshake): boolean {
    if (this.#closed || (this.#state !== 'downloading' && this.#state !== 'seeding')) return false;
    if (this.#banned.has(conn.remoteAddress)) return false;
    if (Buffer.compare(h.peerId, this.#ctx.peerId) === 0) return false; // ourselves
    // Our own dials stop at the limit (#dial); a peer that dials us may take one of the slack
    // places beyond it, so a late joiner is not shut out by a swarm whose members are all full.
    const o = this.#ctx.options;
    const limit = o.maxConnectionsPerTorrent + (conn.outgoing ? 0 : o.incomingConnectionSlack);
    if (this.#peers.size >= limit) return false;
    for (const p of this.#peers.values()) {
      if (p.conn.remoteAddress === conn.remoteAddress && p.conn.remotePort === conn.remotePort) return false;
    }
    // Both ends dialled each other (each found the other through the tracker): one connection
    // per peer is enough — two would take two unchoke slots and split its requests. Both ends
    // keep the one opened by the end with the larger peer id, so they agree without talking.
    // Same address too, so a stranger quoting a peer's id cannot get that peer dropped.
    const dup = [...this.#peers.values()].find(
      (p) => p.conn.remoteAddress === conn.remoteAddress && Buffer.compare(p.peerId, h.peerId) === 0,
    );
    if (dup !== undefined) {
      if (!keepsNewConnection(this.#ctx.peerId, h.peerId, conn.outgoing, dup.conn.outgoing)) return false;
      dup.conn.close('duplicate');
    }
    return true;
  }

  /** Our reserved bits: BEP 10, BEP 6, and the v2 bit when the torrent has v2 metadata (BEP 52). */
  #reserved(): Uint8Array {
    return makeReserved({
      extended: true,
      fast: true,
      dht: this.#ctx.dht !== undefined && !this.metainfo.isPrivate,
      v2: this.metainfo.version !== 'v1',
    });
  }

  #sendHandshake(conn: PeerConnection, infoHash: Uint8Array = this.wireInfoHash): void {
    conn.sendHandshake({
      reserved: this.#reserved(),
      infoHash,
      peerId: this.#ctx.peerId,
    });
  }

  #dial(): void {
    if (this.#closed || (this.#state !== 'downloading' && this.#state !== 'seeding')) return;
    const now = this.#ctx.now();
    const o = this.#ctx.options;
    for (const p of this.#known.values()) {
      if (this.#halfOpen >= o.maxHalfOpenPerTorrent) break;
      if (this.#peers.size + this.#halfOpen >= o.maxConnectionsPerTorrent) break;
      if (!this.#ctx.canOpenConnection()) break;
      if (p.connected || p.nextAttemptAt > now) continue;
      this.#connect(p);
    }
  }

  #connect(p: KnownPeer): void {
    p.connected = true;
    this.#halfOpen++;
    let settled = false;
    const socket: Socket = dialPeer(p.host, p.port);
    const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
    timer.unref();
    const failed = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#halfOpen--;
      p.connected = false;
      p.failures++;
      p.nextAttemptAt = this.#ctx.now() + RECONNECT_BASE_MS * 2 ** Math.min(p.failures, 6);
      if (p.failures >= MAX_CONNECT_FAILURES) this.#known.delete(`${p.host}:${p.port}`);
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('error', failed);
      this.#halfOpen--;
      if (this.#closed) {
        socket.destroy();
        return;
      }
      this.#ctx.trackConnection(socket);
      const conn: PeerConnection = new PeerConnection({
        socket,
        outgoing: true,
        handshakeTimeoutMs: this.#ctx.options.handshakeTimeoutMs,
        handlers: {
          onHandshake: (h) => {
            const known = this.wireInfoHashes.some((x) => Buffer.compare(x, h.infoHash) === 0);
            if (!known || !this.#canAttach(conn, h)) return false;
            this.#attach(conn, h);
            return true;
          },
          onMessages: () => {},
          onClose: () => {
            p.connected = false;
            p.failures++;
            p.nextAttemptAt = this.#ctx.now() + RECONNECT_BASE_MS * 2 ** Math.min(p.failures, 6);
          },
        },
      });
      this.#sendHandshake(conn);
    });
  }

  #attach(conn: PeerConnection, h: Handshake): void {
    const key: PeerKey = `${conn.remoteAddress}:${conn.remotePort}/${++this.#seq}`;
    const ours = this.#reserved();
    const theirs = readReserved(h.reserved);
    const mine = readReserved(ours);
    const peer: LivePeer = {
      key,
      conn,
      address: `${conn.remoteAddress}:${conn.remotePort}`,
      peerId: h.peerId,
      ...(conn.outgoing ? { listenPort: conn.remotePort } : {}),
    };
    const client = clientFromPeerId(h.peerId);
    if (client !== undefined) peer.client = client.version ? `${client.name} ${client.version}` : client.name;
    this.#peers.set(key, peer);
    if (this.#readingPaused) conn.pauseReading();
    conn.setPieceCount(this.metainfo.pieceCount);
    this.#rebind(peer);
    const ip = ipBytes(conn.remoteAddress);
    const extended = theirs.extended && mine.extended;
    // BEP 6: the bitfield / have all / have none must follow the handshake immediately.
    this.#run(
      this.#engine.addPeer(
        key,
        { supportsFast: theirs.fast && mine.fast, supportsExtensions: extended, ...(ip ? { ip } : {}) },
        this.#ctx.now(),
      ),
    );
    if (extended) {
      conn.send({
        type: 'extended',
        extId: EXTENDED_HANDSHAKE_ID,
        payload: encodeExtendedHandshake({
          extensions: new Map(
            Object.entries(OUR_EXT).filter(([n]) => n !== ExtensionName.UtPex || !this.metainfo.isPrivate),
          ),
          client: 'Shoal 0.1.0',
          port: this.#ctx.listenPort(),
          reqq: ADVERTISED_REQQ,
          metadataSize: this.metainfo.infoBytes.length,
          ...(ip !== undefined ? { yourIp: ip } : {}),
        }),
      });
    }
    if (theirs.dht && mine.dht && this.#ctx.dht !== undefined)
      conn.send({ type: 'port', port: this.#ctx.dht.port });
    // BEP 52: the reserved bit announces v2 on hybrid connections; a connection made with the
    // truncated v2 info-hash (libtorrent does not set the bit then) is v2 by definition.
    const v2Hash = this.metainfo.infoHashV2?.subarray(0, 20);
    const byV2Hash = v2Hash !== undefined && Buffer.compare(h.infoHash, v2Hash) === 0;
    if (mine.v2 && (theirs.v2 || byV2Hash)) {
      peer.supportsV2 = true;
      if (this.#layers.missingFiles().length > 0) this.#requestLayers(peer);
    }
    this.emit('peer', {
      type: 'connected',
      address: peer.address,
      ...(peer.client ? { client: peer.client } : {}),
    });
  }

  #rebind(peer: LivePeer): void {
    peer.conn.rebind({
      onHandshake: () => false,
      onMessages: (msgs) => this.#onMessages(peer, msgs),
      onClose: (reason, error) => this.#onPeerClosed(peer, reason, error),
      onBytesReceived: (n) => this.#ctx.throttleDown(n),
    });
  }

  #onPeerClosed(peer: LivePeer, reason: string, error?: Error): void {
    if (!this.#peers.delete(peer.key)) return;
    if ([...this.#layerRequests.values()].includes(peer.key)) this.#askAnotherForLayers(peer.key);
    const known = this.#known.get(peer.address);
    if (known !== undefined) {
      known.connected = false;
      known.nextAttemptAt = this.#ctx.now() + RECONNECT_BASE_MS;
    }
    if (!this.#closed) this.#run(this.#engine.removePeer(peer.key, this.#ctx.now()));
    this.emit('peer', {
      type: 'disconnected',
      address: peer.address,
      reason: error === undefined ? reason : `${reason}: ${error.message}`,
    });
  }

  #onMessages(peer: LivePeer, msgs: WireMessage[]): void {
    if (this.#closed) return;
    const now = this.#ctx.now();
    for (const msg of msgs) {
      if (!this.#peers.has(peer.key)) return;
      if (msg.type === 'extended') {
        this.#onExtended(peer, msg.extId, msg.payload, now);
        continue;
      }
      if (msg.type === 'port') {
        // BEP 5: the peer's DHT node listens on this UDP port.
        if (this.#ctx.dht !== undefined && !this.metainfo.isPrivate)
          this.#ctx.dht.addNode(peer.conn.remoteAddress, msg.port);
        continue;
      }
      if (msg.type === 'hash-request' || msg.type === 'hashes' || msg.type === 'hash-reject') {
        this.#onHashMessage(peer, msg);
        continue;
      }
      this.#run(this.#engine.onMessage(peer.key, msg, now));
    }
  }

  #onExtended(peer: LivePeer, extId: number, payload: Uint8Array, now: number): void {
    try {
      if (extId === EXTENDED_HANDSHAKE_ID) {
        const hs = decodeExtendedHandshake(payload);
        const ut = hs.extensions.get(ExtensionName.UtMetadata);
        if (ut !== undefined && ut > 0) peer.utMetadataId = ut;
        const pex = hs.extensions.get(ExtensionName.UtPex);
        if (pex !== undefined && pex > 0 && !this.metainfo.isPrivate) {
          peer.utPexId = pex;
          this.#sendPex(peer, now);
        }
        if (hs.port !== undefined && hs.port > 0 && !peer.conn.outgoing) peer.listenPort = hs.port;
        if (hs.client !== undefined && peer.client === undefined) peer.client = hs.client;
        this.#run(
          this.#engine.onExtendedHandshake(peer.key, hs.reqq === undefined ? {} : { reqq: hs.reqq }, now),
        );
        return;
      }
      if (extId === OUR_EXT[ExtensionName.UtPex]) {
        if (this.metainfo.isPrivate) return;
        // BEP 11 peers send at most once a minute; ignore anything faster than half that.
        if (peer.pexReceivedAt !== undefined && now - peer.pexReceivedAt < PEX_INTERVAL_MS / 2) return;
        peer.pexReceivedAt = now;
        const msg = decodeUtPex(payload);
        for (const p of msg.added) this.addPeer(p.host, p.port);
        return;
      }
      if (extId === OUR_EXT[ExtensionName.UtMetadata]) {
        const m = decodeUtMetadata(payload);
        if (m === undefined || m.type !== 'request' || peer.utMetadataId === undefined) return;
        const info = this.metainfo.infoBytes;
        const count = metadataPieceCount(info.length);
        const reply =
          m.piece < count
            ? encodeUtMetadata({
                type: 'data',
                piece: m.piece,
                totalSize: info.length,
                data: info.subarray(m.piece * 16384, Math.min(info.length, (m.piece + 1) * 16384)),
              })
            : encodeUtMetadata({ type: 'reject', piece: m.piece });
        peer.conn.send({ type: 'extended', extId: peer.utMetadataId, payload: reply });
      }
    } catch (e) {
      peer.conn.close('protocol-error', e instanceof Error ? e : new Error(String(e)));
    }
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
      case 'send': {
        const p = this.#peers.get(a.peer);
        p?.conn.send(a.msg);
        return;
      }
      case 'close': {
        const p = this.#peers.get(a.peer);
        if (p === undefined) return;
        p.conn.close(a.reason, a.error);
        return;
      }
      case 'ban': {
        const p = this.#peers.get(a.peer);
        if (p === undefined) return;
        this.#banAddress(
          p.conn.remoteAddress,
          p.address,
          a.reason === 'bad-block'
            ? BAD_BLOCK_BAN
            : a.reason === 'sole-sender'
              ? ': sole sender of a piece that failed its hash check'
              : ` after ${a.strikes} hash failures`,
        );
        p.conn.close('banned');
        return;
      }
      case 'write-block':
        this.#writeBlock(a.piece, a.offset, a.data);
        return;
      case 'read-block':
        void this.#readBlock(a.peer, a.piece, a.offset, a.length);
        return;
      case 'piece-complete':
        this.#onPieceComplete(a.index);
        return;
      case 'done':
        if (this.#layersBlocking()) return;
        this.#state = 'seeding';
        this.#announcer?.complete();
        void this.#resume?.schedule();
        this.emit('done', { infoHash: this.id });
        return;
      case 'event':
        if (a.event.type === 'piece:failed') this.emit('hash-failed', { index: a.event.index });
        return;
      default:
        assertNever(a);
    }
  }

  /**
   * Takes a received block. `data` is valid only during this call (a view of a read buffer that
   * the next socket read reuses, see PeerConnection): it is copied into its piece's buffer, or
   * for a write to disk.
   */
  #writeBlock(piece: number, offset: number, data: Uint8Array): void {
    if (this.#spilled.has(piece)) {
      this.#writeToDisk(piece, offset, data);
      return;
    }
    if (!this.#assembler.add(piece, offset, data)) {
      // Every assembly buffer is busy: this piece goes to disk as it arrives, verified from there.
      this.#spilled.add(piece);
      this.#spilledTotal++;
      this.#writeToDisk(piece, offset, data);
    }
  }

  #onPieceComplete(index: number): void {
    if (this.#spilled.has(index)) {
      if ((this.#writesInFlight.get(index) ?? 0) > 0) this.#verifyWhenWritten.add(index);
      else void this.#verifyOnDisk(index);
      return;
    }
    const held = this.#assembler.take(index);
    if (held === undefined) return;
    void this.#verifyInMemory(index, held.data, held.slot);
  }

  async #verifyInMemory(index: number, slab: Uint8Array, slot: number): Promise<void> {
    this.#verifying.add(index);
    this.#verifyingInMemory++;
    this.#updateReadPause();
    let buffer: Uint8Array | undefined;
    try {
      const r = await this.storage.verifyBuffer(index, slab);
      buffer = r.buffer;
      const data = buffer.subarray(0, this.storage.map.pieceSize(index));
      if (r.ok && !this.#closed) await this.storage.writePiece(index, data);
      if (!r.ok && !this.#closed && this.#startBlame(index, data)) return;
      this.#afterVerify(index, r.ok);
    } catch (e) {
      this.#fail(e);
    } finally {
      this.#assembler.release(slot, buffer);
      this.#verifying.delete(index);
      this.#verifyingInMemory--;
      this.#updateReadPause();
    }
  }

  /** Writes a block in place, unverified. `data` is copied: see {@link #writeBlock}. */
  #writeToDisk(piece: number, offset: number, borrowed: Uint8Array): void {
    const data = borrowed.slice();
    this.#writesInFlight.set(piece, (this.#writesInFlight.get(piece) ?? 0) + 1);
    this.#pendingWriteBytes += data.length;
    this.#updateReadPause();
    this.storage.writeBlock(piece, offset, data).then(
      () => {
        this.#pendingWriteBytes -= data.length;
        this.#updateReadPause();
        const left = (this.#writesInFlight.get(piece) ?? 1) - 1;
        if (left > 0) this.#writesInFlight.set(piece, left);
        else {
          this.#writesInFlight.delete(piece);
          if (this.#verifyWhenWritten.delete(piece)) void this.#verifyOnDisk(piece);
        }
      },
      (e: unknown) => {
        this.#pendingWriteBytes -= data.length;
        this.#fail(e);
      },
    );
  }

  #updateReadPause(): void {
    const pause =
      this.#pendingWriteBytes > MAX_PENDING_WRITE_BYTES ||
      this.#verifyingInMemory >= this.#verifyBacklogLimit;
    if (pause === this.#readingPaused) return;
    // Hysteresis on the write bytes: resume once half of them are written.
    if (!pause && this.#pendingWriteBytes > MAX_PENDING_WRITE_BYTES / 2) return;
    this.#readingPaused = pause;
    for (const p of this.#peers.values()) {
      if (pause) p.conn.pauseReading();
      else p.conn.resumeReading();
    }
  }

  async #verifyOnDisk(index: number): Promise<void> {
    if (this.#verifying.has(index)) return;
    this.#verifying.add(index);
    let ok = false;
    try {
      ok = await this.storage.verifyPiece(index);
    } catch (e) {
      this.#fail(e);
      return;
    } finally {
      this.#verifying.delete(index);
    }
    this.#spilled.delete(index);
    this.#afterVerify(index, ok);
  }

  #afterVerify(index: number, ok: boolean): void {
    if (this.#closed) return;
    this.#readCache.invalidate(index);
    this.#run(this.#engine.onPieceVerified(index, ok, this.#ctx.now()));
    if (ok) {
      this.emit('piece', { index });
      void this.#resume?.schedule();
    }
  }

  async #readBlock(key: PeerKey, piece: number, offset: number, length: number): Promise<void> {
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
    // The block's memory is reused once the socket handed it to the kernel (or dropped it).
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

  /** The addresses other peers could dial, for PEX. */
  #pexAddresses(): Map<string, PexPeer> {
    const out = new Map<string, PexPeer>();
    for (const p of this.#peers.values()) {
      if (p.listenPort === undefined) continue;
      const host = p.conn.remoteAddress.startsWith('::ffff:')
        ? p.conn.remoteAddress.slice(7)
        : p.conn.remoteAddress;
      const family = host.includes(':') ? 6 : 4;
      const stats = this.#engine.peerStats(p.key, this.#ctx.now());
      const flags = (stats?.isSeed ? PexFlag.Seed : 0) | (p.conn.outgoing ? PexFlag.Reachable : 0);
      out.set(`${host}:${p.listenPort}`, { host, port: p.listenPort, family, flags });
    }
    return out;
  }

  /** Sends a PEX diff to one peer if its minute is up (BEP 11). */
  #sendPex(peer: LivePeer, now: number): void {
    if (peer.utPexId === undefined || this.metainfo.isPrivate) return;
    if (peer.pexAt !== undefined && now - peer.pexAt < PEX_INTERVAL_MS) return;
    const current = this.#pexAddresses();
    current.delete(`${peer.conn.remoteAddress}:${peer.listenPort}`);
    const sent = peer.pexSent ?? new Set<string>();
    const added: PexPeer[] = [];
    const dropped: PexPeer[] = [];
    for (const [k, v] of current) if (!sent.has(k) && added.length < PEX_MAX_PEERS) added.push(v);
    for (const k of sent) {
      if (current.has(k) || dropped.length >= PEX_MAX_PEERS) continue;
      const i = k.lastIndexOf(':');
      const host = k.slice(0, i);
      dropped.push({ host, port: Number(k.slice(i + 1)), family: host.includes(':') ? 6 : 4, flags: 0 });
    }
    if (added.length === 0 && dropped.length === 0 && peer.pexAt !== undefined) return;
    for (const a of added) sent.add(`${a.host}:${a.port}`);
    for (const d of dropped) sent.delete(`${d.host}:${d.port}`);
    peer.pexSent = sent;
    peer.pexAt = now;
    peer.conn.send({ type: 'extended', extId: peer.utPexId, payload: encodeUtPex({ added, dropped }) });
  }

  #housekeep(): void {
    if (this.#closed) return;
    const now = this.#ctx.now();
    for (const p of this.#peers.values()) this.#sendPex(p, now);
    for (const b of [...this.#blames.values()]) if (now - b.at > BLAME_TIMEOUT_MS) this.#askForLeaves(b);
    const t = performance.now();
    for (const p of this.#peers.values()) {
      if (t - p.conn.lastReceivedAt > PEER_IDLE_TIMEOUT_MS) p.conn.close('idle');
      else if (t - p.conn.lastSentAt > KEEP_ALIVE_INTERVAL_MS) p.conn.send(keepAlive);
    }
    this.#dial();
  }

  #snapshot() {
    const s = this.stats();
    return this.storage.fileStats().then((files) => ({
      ...(this.metainfo.infoHashV1 ? { infoHashV1: this.metainfo.infoHashV1 } : {}),
      ...(this.metainfo.infoHashV2 ? { infoHashV2: this.metainfo.infoHashV2 } : {}),
      pieces: this.#engine.haves().toWire(),
      files,
      pieceLayers: this.#layers.layers(),
      uploaded: s.totalUploaded,
      downloaded: s.totalDownloaded,
    }));
  }

  #fail(e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    if (this.#state === 'error' || this.#closed) return;
    this.#error = error;
    this.#state = 'error';
    for (const p of [...this.#peers.values()]) p.conn.close('torrent-error');
    this.emit('error', { error });
  }
}

function ipBytes(addr: string): Uint8Array | undefined {
  const v4 = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  const parts = v4.split('.');
  if (parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) {
    return Uint8Array.from(parts.map(Number));
  }
  return undefined;
}

function assertNever(x: never): never {
  throw new ShoalError(ErrorCode.SessionInvalidArgument, `unexpected action ${JSON.stringify(x)}`, {});
}

/**
 * Complete pieces that may wait for their hash check and write, out of `slots` assembly
 * buffers, before peers stop being read: {@link VERIFY_BACKLOG_SHARE} of them, and always one
 * buffer left for a piece being assembled.
 */
export function verifyBacklogLimit(slots: number): number {
  return Math.max(1, Math.min(slots - 1, Math.floor(slots * VERIFY_BACKLOG_SHARE)));
}
