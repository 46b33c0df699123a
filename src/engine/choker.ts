/**
 * The choker: who we upload to (BEP 3 §choking, and Cohen's "Incentives Build Robustness in
 * BitTorrent").
 *
 * - **Leech mode** (we still want pieces) — tit-for-tat: every {@link RECHOKE_INTERVAL_MS},
 *   the {@link UNCHOKE_SLOTS} interested peers that upload to us fastest (over the last ~20 s)
 *   are unchoked; snubbed peers are left out of these regular slots.
 * - **Seed mode** (we want nothing) — upload spreads: either the peers we upload to fastest
 *   (`'fastest-upload'`), or `'round-robin'`: each unchoked peer keeps its slot for
 *   {@link SEED_ROUND_ROBIN_QUANTUM_MS} or until it got `roundRobinBytes` from us (a piece, by
 *   default: a seed's upload reaches more peers, each with a piece to trade) — the engine lets
 *   the turn finish the pieces it began (`turnOpen`) — or until it was sent nothing for
 *   {@link SEED_IDLE_TURN_MS}, then the peers that waited longest take over. Peers known not to
 *   pass on what they get (`isHoarder`) come after all others and never get a seed's optimistic
 *   slot, so they get its upload only when nobody else wants it.
 * - **Optimistic unchoke**, in both modes: {@link OPTIMISTIC_SLOTS} more interested peer,
 *   rotated every {@link OPTIMISTIC_INTERVAL_MS}, chosen at random with newly connected peers
 *   {@link OPTIMISTIC_NEW_PEER_WEIGHT}× as likely, so newcomers get a first piece to trade and we
 *   discover faster peers.
 *
 * Never more than `slots + optimisticSlots` peers are unchoked. Pure: the caller passes read-only
 * peer views, the time and a {@link Random}; the decision comes back as data. The upload-side
 * rule lives here too: {@link mayServe} (never serve a choked peer, except BEP 6 allowed-fast
 * pieces) and the BEP 6 {@link allowedFastSet} generator.
 */
import { type Hasher, nodeHasher } from '../shared/hash.js';
import type { PeerKey } from './actions.js';
import type { Random } from './random.js';

/** Regular (tit-for-tat) unchoke slots. @default 4 */
export const UNCHOKE_SLOTS = 4;
/** Optimistic unchoke slots, on top of the regular ones. @default 1 */
export const OPTIMISTIC_SLOTS = 1;
/** Time between two rechokes, in ms. @default 10000 */
export const RECHOKE_INTERVAL_MS = 10_000;
/** Time between two optimistic unchoke rotations, in ms. @default 30000 */
export const OPTIMISTIC_INTERVAL_MS = 30_000;
/** A peer connected less than this long ago counts as new for the optimistic draw, in ms. @default 60000 */
export const OPTIMISTIC_NEW_PEER_MS = 60_000;
/** How much likelier a new peer is to be drawn as the optimistic unchoke. @default 3 */
export const OPTIMISTIC_NEW_PEER_WEIGHT = 3;
/** In round-robin seed mode, how long an unchoked peer keeps its slot, in ms. @default 30000 */
export const SEED_ROUND_ROBIN_QUANTUM_MS = 30_000;
/**
 * In round-robin seed mode, an unchoked peer's turn also ends once it got this many pieces' worth
 * of bytes (the engine's default `roundRobinBytes`). @default 1
 */
export const SEED_ROUND_ROBIN_PIECES = 1;
/**
 * A seed's round-robin turn also ends when the peer was sent nothing for this long (since its
 * unchoke or the last block) — it asks for nothing, so the slot goes to a peer that waits, in ms.
 * @default 2000
 */
export const SEED_IDLE_TURN_MS = 2_000;
/**
 * A seed's round-robin turn that used up its bytes goes on while pieces begun in the turn are
 * not all sent (a half-sent piece that nobody else has would have to be sent again), up to this
 * many times the turn's bytes. @default 3
 */
export const SEED_TURN_OVERRUN = 3;
/**
 * In leech mode, a peer with fewer pieces than this may take a regular slot without uploading
 * to us (a newcomer has nothing to trade yet); others must reciprocate. @default 10
 */
export const TFT_NEWCOMER_PIECES = 10;
/**
 * In leech mode, an optimistic turn is on probation for this many pieces' worth of bytes (the
 * engine's default `optimisticProbationBytes`): a peer past the newcomer stage that sent nothing
 * back by then loses it. One piece: in a swarm of N peers, every peer's first turn to a
 * free-rider adds up to N × this, so more would hand it the file. @default 1
 */
export const OPTIMISTIC_PROBATION_PIECES = 1;
/**
 * A peer's chance to be drawn as the optimistic unchoke is divided by 1 + 4 × this × the
 * optimistic turns it took without sending us anything — unless it ever unchoked us (it shares;
 * it could not return our turn in time). @default 4
 */
export const UNRETURNED_TURN_PENALTY = 4;
/** BEP 6: pieces in an allowed-fast set ("We currently set k to 10"). @default 10 */
export const ALLOWED_FAST_SET_SIZE = 10;

/** How a seed chooses whom to upload to. */
export type SeedChokingPolicy = 'fastest-upload' | 'round-robin';

/** Whether we are downloading (tit-for-tat) or only uploading. */
export type ChokerMode = 'leech' | 'seed';

/** What the choker reads about one peer. */
export interface ChokerPeerView {
  readonly key: PeerKey;
  /** The peer is interested in our pieces. */
  readonly isInterested: boolean;
  /** We currently choke the peer. */
  readonly isChoked: boolean;
  /** The peer's upload rate to us, bytes/s, over ~20 s. */
  readonly downloadRate: number;
  /** Our upload rate to the peer, bytes/s, over ~20 s. */
  readonly uploadRate: number;
  /** The peer sent us nothing for a long while although we asked (see request-scheduler). */
  readonly isSnubbed: boolean;
  /** When the connection started, ms. */
  readonly connectedAt: number;
  /** When we last unchoked the peer (choked → unchoked), ms; undefined if never. */
  readonly lastUnchokedAt: number | undefined;
  /** When we last sent the peer a block, or unchoked it, ms. @default undefined: never */
  readonly lastSentAt?: number | undefined;
  /** Payload bytes we sent the peer since we last unchoked it. @default 0 */
  readonly uploadedSinceUnchoke?: number;
  /**
   * In a seed's round robin: the turn still has blocks to send (its bytes are not used up, or
   * pieces begun in it are not all sent; the engine decides). @default undefined: by bytes alone
   */
  readonly turnOpen?: boolean;
  /** Pieces the peer got from us never reached anyone else (fresh-first.ts). @default false */
  readonly isHoarder?: boolean;
  /** Pieces the peer has. @default 0 */
  readonly pieceCount?: number;
  /** Payload bytes the peer has sent us in all. @default 0 */
  readonly downloadedBytes?: number;
  /**
   * The peer unchoked us at least once: it shares, so optimistic turns it did not return count
   * against it less (see {@link UNRETURNED_TURN_PENALTY}). @default false
   */
  readonly hasUnchokedUs?: boolean;
  /** We are interested in the peer: it has pieces we want, so it could trade. @default true */
  readonly amInterested?: boolean;
}

/** The choker's settings. */
export interface ChokerOptions {
  /** @default UNCHOKE_SLOTS */
  readonly slots?: number;
  /** @default OPTIMISTIC_SLOTS */
  readonly optimisticSlots?: number;
  /** @default OPTIMISTIC_INTERVAL_MS */
  readonly optimisticIntervalMs?: number;
  /** @default 'round-robin' (libtorrent's default `seed_choking_algorithm`) */
  readonly seedPolicy?: SeedChokingPolicy;
  /** @default SEED_ROUND_ROBIN_QUANTUM_MS */
  readonly roundRobinQuantumMs?: number;
  /** In round-robin seed mode, bytes after which an unchoked peer's turn ends. @default unlimited */
  readonly roundRobinBytes?: number;
  /**
   * In leech mode, an optimistic peer that got this many bytes from us (or held the turn for
   * {@link RECHOKE_INTERVAL_MS}) without sending anything back loses its turn. @default unlimited
   */
  readonly optimisticProbationBytes?: number;
}

/** The outcome of a rechoke: transitions only. */
export interface ChokeDecision {
  /** Currently choked peers to unchoke. */
  readonly unchoke: readonly PeerKey[];
  /** Currently unchoked peers to choke. */
  readonly choke: readonly PeerKey[];
  /** The optimistic unchokes after this round (unchoked, or staying unchoked). */
  readonly optimistic: readonly PeerKey[];
}

/** The choker; it keeps only the optimistic unchoke rotation between rounds. */
export class Choker {
  readonly slots: number;
  readonly optimisticSlots: number;
  readonly #optimisticIntervalMs: number;
  readonly #seedPolicy: SeedChokingPolicy;
  readonly #quantumMs: number;
  readonly #quantumBytes: number;
  readonly #optimisticBytes: number;
  #optimistic: PeerKey[] = [];
  #optimisticAt = Number.NEGATIVE_INFINITY;
  /** Per optimistic peer: when its turn began, and the bytes it had sent us then. */
  readonly #turns = new Map<PeerKey, { readonly at: number; readonly bytes: number }>();
  /** Optimistic turns (in leech mode) a peer took without sending us anything back. */
  readonly #unreturned = new Map<PeerKey, number>();

  constructor(options: ChokerOptions = {}) {
    this.slots = Math.max(0, options.slots ?? UNCHOKE_SLOTS);
    this.optimisticSlots = Math.max(0, options.optimisticSlots ?? OPTIMISTIC_SLOTS);
    this.#optimisticIntervalMs = options.optimisticIntervalMs ?? OPTIMISTIC_INTERVAL_MS;
    this.#seedPolicy = options.seedPolicy ?? 'round-robin';
    this.#quantumMs = options.roundRobinQuantumMs ?? SEED_ROUND_ROBIN_QUANTUM_MS;
    this.#quantumBytes = options.roundRobinBytes ?? Number.POSITIVE_INFINITY;
    this.#optimisticBytes = options.optimisticProbationBytes ?? Number.POSITIVE_INFINITY;
  }

  /** Peers currently held as optimistic unchokes. */
  get optimistic(): readonly PeerKey[] {
    return this.#optimistic;
  }

  /** True when `key` holds an optimistic slot. */
  isOptimistic(key: PeerKey): boolean {
    return this.#optimistic.includes(key);
  }

  /**
   * Decides who is unchoked from now on. Call every {@link RECHOKE_INTERVAL_MS}, and when a
   * slot may have freed (a peer left, or lost interest).
   */
  rechoke(peers: readonly ChokerPeerView[], now: number, random: Random, mode: ChokerMode): ChokeDecision {
    const interested = peers.filter((p) => p.isInterested);
    const tie = new Map<PeerKey, number>();
    for (const p of interested) tie.set(p.key, random.int(0x4000_0000));
    const stable = (a: ChokerPeerView, b: ChokerPeerView): number =>
      Number(a.isChoked) - Number(b.isChoked) || tie.get(a.key)! - tie.get(b.key)!;

    let ranked: ChokerPeerView[];
    if (mode === 'leech') {
      // Tit-for-tat: regular slots for the peers that upload to us, and for those that cannot
      // (newcomers with fewer than TFT_NEWCOMER_PIECES pieces, sharers with nothing we want).
      // Any other peer gets only optimistic turns until it uploads to us — a free-rider gains
      // nothing from spare slots.
      ranked = interested
        .filter((p) => regularSlotEligible(p, 'leech'))
        .sort((a, b) => b.downloadRate - a.downloadRate || stable(a, b));
    } else if (this.#seedPolicy === 'fastest-upload') {
      ranked = [...interested].sort((a, b) => b.uploadRate - a.uploadRate || stable(a, b));
    } else {
      // Round robin: unchoked peers within their quantum keep their slot; then the choked
      // peers that waited longest; peers whose quantum is over come last; hoarders after all.
      const group = (p: ChokerPeerView): number =>
        (p.isHoarder === true ? 3 : 0) + (p.isChoked ? 1 : this.#turnLasts(p, now) ? 0 : 2);
      const waited = (p: ChokerPeerView): number => p.lastUnchokedAt ?? Number.NEGATIVE_INFINITY;
      ranked = [...interested].sort(
        (a, b) => group(a) - group(b) || waited(a) - waited(b) || tie.get(a.key)! - tie.get(b.key)!,
      );
    }
    const regular = new Set(ranked.slice(0, this.slots).map((p) => p.key));

    // Optimistic slots: keep the current ones until the rotation is due, unless they left,
    // lost interest or earned a regular slot.
    const byKey = new Map(interested.map((p) => [p.key, p]));
    const rotate = now - this.#optimisticAt >= this.#optimisticIntervalMs;
    // In leech mode an optimistic turn is a trade offer: a peer past the newcomer stage that sent
    // nothing within a rechoke interval or its probation bytes loses the turn, and unless it once
    // unchoked us is drawn less often afterwards (Cohen: a free-rider gets only what optimistic
    // unchokes give). A seed's optimistic turn is a turn like the others: in round robin it ends
    // with its bytes or when idle, and a peer found hoarding loses it at once (else one drawn
    // before it was found out keeps the seed's extra slot for a whole rotation, unmetered).
    const ended = (k: PeerKey): boolean => {
      const p = byKey.get(k);
      if (p !== undefined && mode === 'seed')
        return p.isHoarder === true || (this.#seedPolicy === 'round-robin' && !this.#turnLasts(p, now));
      const t = this.#turns.get(k);
      if (p === undefined || t === undefined || mode !== 'leech') return false;
      if ((p.pieceCount ?? 0) < TFT_NEWCOMER_PIECES || (p.downloadedBytes ?? 0) > t.bytes) return false;
      return now - t.at >= RECHOKE_INTERVAL_MS || (p.uploadedSinceUnchoke ?? 0) >= this.#optimisticBytes;
    };
    for (const k of this.#optimistic)
      if (mode === 'leech' && ended(k) && byKey.get(k)?.hasUnchokedUs !== true)
        this.#unreturned.set(k, (this.#unreturned.get(k) ?? 0) + 1);
    let optimistic = rotate
      ? []
      : this.#optimistic.filter((k) => byKey.has(k) && !regular.has(k) && !ended(k));
    if (rotate) this.#optimisticAt = now;
    for (const k of [...this.#turns.keys()]) if (!optimistic.includes(k)) this.#turns.delete(k);
    // Between rotations (a turn ended, or its peer earned a regular slot) the slot goes only to a
    // peer known to share — it unchoked us once — or a newcomer: a free-rider never unchokes
    // anyone, so it cannot chain turn after turn from us. A seed never gives it to a hoarder.
    const trusted = (p: ChokerPeerView): boolean =>
      mode !== 'leech'
        ? p.isHoarder !== true
        : rotate || p.hasUnchokedUs === true || (p.pieceCount ?? 0) < TFT_NEWCOMER_PIECES;
    const pool = interested.filter((p) => !regular.has(p.key) && !optimistic.includes(p.key) && trusted(p));
    while (optimistic.length < this.optimisticSlots && pool.length > 0) {
      const weights = pool
        .map(
          (p) =>
            ((now - p.connectedAt < OPTIMISTIC_NEW_PEER_MS ? OPTIMISTIC_NEW_PEER_WEIGHT : 1) * 16) /
            (1 +
              (p.hasUnchokedUs === true ? 0 : 4 * UNRETURNED_TURN_PENALTY) *
                (this.#unreturned.get(p.key) ?? 0)),
        )
        .map((w) => Math.max(1, Math.round(w)));
      let r = random.int(weights.reduce((s, w) => s + w, 0));
      let at = 0;
      while (r >= weights[at]!) r -= weights[at++]!;
      optimistic = [...optimistic, pool[at]!.key];
      this.#turns.set(pool[at]!.key, { at: now, bytes: pool[at]!.downloadedBytes ?? 0 });
      pool.splice(at, 1);
    }
    this.#optimistic = optimistic;

    const unchoked = new Set([...regular, ...optimistic]);
    const unchoke: PeerKey[] = [];
    const choke: PeerKey[] = [];
    for (const p of peers) {
      if (unchoked.has(p.key)) {
        if (p.isChoked) unchoke.push(p.key);
      } else if (!p.isChoked) choke.push(p.key);
    }
    return { unchoke, choke, optimistic };
  }

  /** In round-robin seed mode: the unchoked peer was sent nothing for SEED_IDLE_TURN_MS. */
  isIdle(p: { readonly lastSentAt?: number | undefined }, now: number): boolean {
    return (
      this.#seedPolicy === 'round-robin' &&
      p.lastSentAt !== undefined &&
      now - p.lastSentAt >= SEED_IDLE_TURN_MS
    );
  }

  /** Whether a seed's round-robin turns end when a peer is idle (see {@link isIdle}). */
  get endsIdleTurns(): boolean {
    return this.#seedPolicy === 'round-robin';
  }

  /**
   * In round-robin seed mode: the unchoked peer's turn is not over — by time, and by bytes
   * (`turnOpen` when the engine tells; it lets a turn finish the pieces it began).
   */
  #turnLasts(p: ChokerPeerView, now: number): boolean {
    if (p.lastUnchokedAt === undefined || now - p.lastUnchokedAt >= this.#quantumMs) return false;
    if (this.isIdle(p, now)) return false;
    return p.turnOpen ?? (p.uploadedSinceUnchoke ?? 0) < this.#quantumBytes;
  }

  /**
   * Bytes sent to the unchoked peer since its unchoke at which its turn may end, so a rechoke is
   * due: a seed's round-robin turn, or an optimistic turn's probation while we download.
   */
  turnBytes(key: PeerKey, mode: ChokerMode): number {
    if (mode === 'seed')
      return this.#seedPolicy === 'round-robin' ? this.#quantumBytes : Number.POSITIVE_INFINITY;
    return this.isOptimistic(key) ? this.#optimisticBytes : Number.POSITIVE_INFINITY;
  }

  /** Forgets a peer that left. */
  removePeer(key: PeerKey): void {
    this.#optimistic = this.#optimistic.filter((k) => k !== key);
    this.#turns.delete(key);
    this.#unreturned.delete(key);
  }
}

/**
 * Whether the peer may hold a regular (non-optimistic) slot: in leech mode only if it uploads to
 * us, is a newcomer (tit-for-tat), or has nothing we want but once unchoked us (a sharer behind
 * us — a free-rider never unchokes anyone); never while snubbed. In seed mode always.
 */
export function regularSlotEligible(
  p: Pick<ChokerPeerView, 'isSnubbed' | 'downloadRate' | 'pieceCount' | 'amInterested' | 'hasUnchokedUs'>,
  mode: ChokerMode,
): boolean {
  if (mode === 'seed') return true;
  if (p.isSnubbed) return false;
  if (p.downloadRate > 0 || (p.pieceCount ?? 0) < TFT_NEWCOMER_PIECES) return true;
  return p.amInterested === false && p.hasUnchokedUs === true;
}

/**
 * The upload-side rule (BEP 3, BEP 6): a request is served only when we do not choke the peer,
 * or when the piece is in the allowed-fast set we gave it.
 */
export function mayServe(piece: number, isChokingPeer: boolean, allowedFast: ReadonlySet<number>): boolean {
  return !isChokingPeer || allowedFast.has(piece);
}

/**
 * The canonical BEP 6 allowed-fast set of a peer, in generation order.
 *
 * `ip` is the peer's address: 4 bytes (BEP 6 masks it to its /24: `0xFFFFFF00 & ip`), or 16
 * bytes for IPv6, for which BEP 6 has "no provisions": Shoal then masks to the /48 and hashes the
 * 16 bytes the same way. `k` is clamped to `pieceCount` (the BEP loop would never end otherwise).
 */
export function allowedFastSet(
  ip: Uint8Array,
  infoHash: Uint8Array,
  pieceCount: number,
  k: number = ALLOWED_FAST_SET_SIZE,
  hasher: Hasher = nodeHasher,
): number[] {
  const want = Math.min(k, pieceCount);
  const out: number[] = [];
  if (want <= 0) return out;
  const masked = ip.slice();
  if (masked.length === 4) masked[3] = 0;
  else masked.fill(0, 6);
  let x = new Uint8Array(masked.length + infoHash.length);
  x.set(masked, 0);
  x.set(infoHash, masked.length);
  while (out.length < want) {
    x = new Uint8Array(hasher.digest('sha1', x));
    for (let i = 0; i < 5 && out.length < want; i++) {
      const j = i * 4;
      const y = ((x[j]! << 24) | (x[j + 1]! << 16) | (x[j + 2]! << 8) | x[j + 3]!) >>> 0;
      const index = y % pieceCount;
      if (!out.includes(index)) out.push(index);
    }
  }
  return out;
}
