/**
 * Everything the torrent engine knows about one peer connection: the four BEP 3 choke/interest
 * flags, the peer's pieces, our request pipeline to it, its request queue to us, BEP 6
 * allowed-fast sets, rates, byte counters and misbehaviour counters. A plain state holder: the
 * rules live in `torrent-engine.ts`.
 */
import { Bitfield } from '../wire/index.js';
import type { PeerKey } from './actions.js';
import type { PickerPeerView } from './piece-picker.js';
import { RateMeter } from './rate.js';
import { RequestScheduler, type RequestSchedulerOptions } from './request-scheduler.js';
import { UploadQueue } from './upload-queue.js';

/** Window of the per-peer rates the choker reads, in ms ("the last ~20 s"). @default 20000 */
export const PEER_RATE_WINDOW_MS = 20_000;
/**
 * A piece a peer refused while unchoking us (BEP 6 reject) is not asked of that peer again for
 * this long, in ms: a seed steering its upload elsewhere (fresh-first.ts) is not asked the same
 * thing in a loop. @default 10000
 */
export const REFUSED_PIECE_MS = 10_000;
/**
 * ...unless, after this long, we have nothing else to ask of the peer and no other peer that
 * unchokes us has the piece: then it is asked again once (the copy the seed counted on may sit
 * with a peer that never shares), in ms. @default 1000
 */
export const REFUSED_PIECE_RETRY_MS = 1_000;
/**
 * Smallest request pipeline of a web seed, in blocks (1 MiB): its runtime turns consecutive
 * requests into HTTP ranges, so a deep pipeline from the start makes long ranges. @default 64
 */
export const WEB_SEED_MIN_REQUEST_QUEUE = 64;

/** What makes a peer a web seed (BEP 17 / 19): a virtual peer the runtime serves over HTTP. */
export interface WebSeedPeerInit {
  /**
   * Ask it for blocks only while real peers deliver less than this to the torrent, bytes/s (the
   * origin is used only when the swarm is too slow); 0 = always. @default 0
   */
  readonly onlyBelowPeerRate?: number;
}

/** A piece a peer refused: until when it is not asked of the peer, and when it may be retried. */
export interface Refusal {
  readonly until: number;
  /**
   * When the early retry is looked at; again REFUSED_PIECE_RETRY_MS later while another peer
   * that unchokes us offers the piece.
   */
  retryAt: number;
}

/** What the runtime tells the engine about a new connection, after the handshake. */
export interface PeerInit {
  /** Both sides set the BEP 6 fast extension bit (`reserved[7] & 0x04`). */
  readonly supportsFast: boolean;
  /** Both sides set the BEP 10 extension protocol bit (`reserved[5] & 0x10`). */
  readonly supportsExtensions: boolean;
  /** The peer's BEP 10 `reqq`, if already known (see `onExtendedHandshake`). */
  readonly reqq?: number;
  /** The peer's IP address (4 or 16 bytes), for its BEP 6 allowed-fast set. */
  readonly ip?: Uint8Array;
  /**
   * Who answers for the peer's data (smart ban): peers with one blame id are one peer for blame.
   * The runtime gives the remote address. @default the peer key
   */
  readonly blameId?: string;
  /**
   * The peer is a web seed (BEP 17 / 19) driven by the runtime: new pieces are picked for it in
   * runs of consecutive pieces (long HTTP ranges), its pipeline is at least
   * {@link WEB_SEED_MIN_REQUEST_QUEUE} deep, and it may be asked only while peers are slow.
   */
  readonly webSeed?: WebSeedPeerInit;
}

/**
 * Connection phase. BEP 3/6: a `bitfield` (or BEP 6 `have all` / `have none`) may only be the
 * first message after the handshake.
 */
export type PeerPhase = 'awaiting-bitfield' | 'active';

/** Snapshot of one peer for the session and the UI. */
export interface PeerStats {
  readonly key: PeerKey;
  /** Useful payload bytes received from the peer. */
  readonly downloadedBytes: number;
  /** Payload bytes sent to the peer. */
  readonly uploadedBytes: number;
  /** Payload bytes received that were not needed (duplicates, unrequested, failed pieces). */
  readonly wastedBytes: number;
  /** Bytes/s from the peer over PEER_RATE_WINDOW_MS. */
  readonly downloadRate: number;
  /** Bytes/s to the peer over PEER_RATE_WINDOW_MS. */
  readonly uploadRate: number;
  /** Pieces the peer has. */
  readonly pieceCount: number;
  readonly isSeed: boolean;
  readonly amChoking: boolean;
  readonly amInterested: boolean;
  readonly peerChoking: boolean;
  readonly peerInterested: boolean;
  readonly isSnubbed: boolean;
  readonly isOptimistic: boolean;
  /** Our requests on the wire to the peer. */
  readonly outstandingRequests: number;
  /** The peer's requests waiting to be served. */
  readonly queuedRequests: number;
  /** Pieces that failed their hash check with a block from the peer (not all its fault). */
  readonly hashFailures: number;
}

/** The engine's record of one peer. Fields are mutated by the engine only. */
export class PeerState implements PickerPeerView {
  readonly key: PeerKey;
  readonly supportsFast: boolean;
  readonly supportsExtensions: boolean;
  readonly ip: Uint8Array | undefined;
  /** See {@link PeerInit.blameId}. */
  readonly blameId: string;
  /** See {@link PeerInit.webSeed}; undefined for a real peer. */
  readonly webSeed: WebSeedPeerInit | undefined;
  readonly connectedAt: number;
  /** Pieces that failed with a block from this peer (see PeerStats.hashFailures). */
  hashFailures = 0;
  /** Set by the engine: pieces not to ask of this peer now (smart ban's re-download). */
  avoidPredicate: (index: number) => boolean = () => false;
  phase: PeerPhase = 'awaiting-bitfield';

  // BEP 3 §peer wire protocol: both sides start choked and not interested.
  amChoking = true;
  amInterested = false;
  peerChoking = true;
  /** The peer unchoked us at least once (it shares: a free-rider never does). */
  everUnchokedUs = false;
  peerInterested = false;
  lastUnchokedAt: number | undefined;
  /** When we last sent the peer a block, or unchoked it, ms (a seed's idle turns end). */
  lastSentAt: number | undefined;
  /** Payload bytes sent since we last unchoked the peer (a seed's round-robin turn). */
  uploadedSinceUnchoke = 0;
  /**
   * In a seed's round-robin turn (bytes-bounded): bytes of blocks taken from the upload queue
   * since the unchoke, and the pieces they belong to. Once the turn's bytes are taken, only
   * blocks of these pieces are sent, then the turn ends (a turn ends between pieces). The set
   * stops growing then, so it holds at most the turn's bytes ÷ the smallest block + 1 pieces.
   */
  turnPopped = 0;
  readonly turnPieces = new Set<number>();

  /** A new upload turn (an unchoke, or a seed's round-robin turn that starts over). */
  startTurn(): void {
    this.uploadedSinceUnchoke = 0;
    this.turnPopped = 0;
    this.turnPieces.clear();
  }

  /** The peer's pieces. */
  readonly pieces: Bitfield;

  /** See {@link PickerPeerView.avoids}. */
  avoids(index: number): boolean {
    return this.avoidPredicate(index);
  }

  /** See {@link PickerPeerView.runs}: a web seed serves byte ranges. */
  get runs(): boolean {
    return this.webSeed !== undefined;
  }
  /** Counted in the picker as a seed (have all / full bitfield) rather than piece by piece. */
  countedAsSeed = false;
  /** We super-seed this peer (BEP 16): it sees only the pieces revealed to it. */
  superSeeded = false;
  /** Pieces the peer has that we want and lack; > 0 ⇔ we are interested. */
  interesting = 0;

  /** Our pipeline of requests to the peer. */
  readonly requests: RequestScheduler;
  /** BEP 6: pieces the peer lets us download while it chokes us. */
  readonly allowedFastFromPeer = new Set<number>();
  /** BEP 6: the canonical allowed-fast set we computed for the peer. */
  readonly allowedFastForPeer = new Set<number>();
  /** BEP 6: pieces the peer suggested, oldest first; the picker tries them first. */
  readonly suggested = new Set<number>();
  /**
   * Pieces the peer refused while unchoking us → until when we do not ask it for them, ms. All
   * entries last REFUSED_PIECE_MS and a refreshed one is re-inserted, so insertion order is
   * expiry order.
   */
  readonly refusedPieces = new Map<number, Refusal>();

  /** The peer's requests to us. */
  readonly uploads: UploadQueue;

  readonly downloadMeter: RateMeter;
  readonly uploadMeter: RateMeter;
  downloadedBytes = 0;
  uploadedBytes = 0;
  wastedBytes = 0;

  unrequestedBlocks = 0;
  unexpectedRejects = 0;

  constructor(
    key: PeerKey,
    init: PeerInit,
    pieceCount: number,
    now: number,
    schedulerOptions: RequestSchedulerOptions,
    uploadReadsInFlight: number,
  ) {
    this.key = key;
    this.supportsFast = init.supportsFast;
    this.supportsExtensions = init.supportsExtensions;
    this.ip = init.ip;
    this.blameId = init.blameId ?? key;
    this.webSeed = init.webSeed;
    this.connectedAt = now;
    this.pieces = new Bitfield(pieceCount);
    this.requests = new RequestScheduler(
      now,
      init.webSeed === undefined
        ? schedulerOptions
        : {
            ...schedulerOptions,
            minQueue: Math.max(schedulerOptions.minQueue ?? 0, WEB_SEED_MIN_REQUEST_QUEUE),
          },
    );
    this.uploads = new UploadQueue(init.supportsFast, uploadReadsInFlight);
    if (init.reqq !== undefined) this.requests.setPeerReqq(init.reqq);
    this.downloadMeter = new RateMeter(now, { windowMs: PEER_RATE_WINDOW_MS });
    this.uploadMeter = new RateMeter(now, { windowMs: PEER_RATE_WINDOW_MS });
  }

  /** True when the peer has piece `index` (false outside the torrent). */
  has(index: number): boolean {
    return index >= 0 && index < this.pieces.length && this.pieces.get(index);
  }

  /** The peer refused the piece lately (see `refusedPieces`). */
  refuses(index: number): boolean {
    return this.refusedPieces.has(index);
  }

  /** True when the peer has every piece. */
  get isSeed(): boolean {
    return this.pieces.hasAll();
  }

  /** A snapshot for the session and the UI. */
  snapshot(now: number, isOptimistic: boolean): PeerStats {
    return {
      key: this.key,
      downloadedBytes: this.downloadedBytes,
      uploadedBytes: this.uploadedBytes,
      wastedBytes: this.wastedBytes,
      downloadRate: this.downloadMeter.rate(now),
      uploadRate: this.uploadMeter.rate(now),
      pieceCount: this.pieces.count(),
      isSeed: this.isSeed,
      amChoking: this.amChoking,
      amInterested: this.amInterested,
      peerChoking: this.peerChoking,
      peerInterested: this.peerInterested,
      isSnubbed: this.requests.isSnubbed,
      isOptimistic,
      outstandingRequests: this.requests.outstanding,
      queuedRequests: this.uploads.queued,
      hashFailures: this.hashFailures,
    };
  }
}
