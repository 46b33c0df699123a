/**
 * The choker: who we upload to (BEP 3 §choking, and Cohen's "Incentives Build Robustness in
 * BitTorrent").
 *
 * - **Leech mode** (we still want pieces) — tit-for-tat: every {@link RECHOKE_INTERVAL_MS},
 *   the {@link UNCHOKE_SLOTS} interested peers that upload to us fastest (over the last ~20 s)
 *   are unchoked; snubbed peers are left out of these regular slots.
 * - **Seed mode** (we want nothing) — upload spreads: either the peers we upload to fastest
 *   (`'fastest-upload'`), or `'round-robin'`: each unchoked peer keeps its slot for
 *   {@link SEED_ROUND_ROBIN_QUANTUM_MS}, then the peers that waited longest take over.
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
  #optimistic: PeerKey[] = [];
  #optimisticAt = Number.NEGATIVE_INFINITY;

  constructor(options: ChokerOptions = {}) {
    this.slots = Math.max(0, options.slots ?? UNCHOKE_SLOTS);
    this.optimisticSlots = Math.max(0, options.optimisticSlots ?? OPTIMISTIC_SLOTS);
    this.#optimisticIntervalMs = options.optimisticIntervalMs ?? OPTIMISTIC_INTERVAL_MS;
    this.#seedPolicy = options.seedPolicy ?? 'round-robin';
    this.#quantumMs = options.roundRobinQuantumMs ?? SEED_ROUND_ROBIN_QUANTUM_MS;
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
      ranked = interested
        .filter((p) => !p.isSnubbed)
        .sort((a, b) => b.downloadRate - a.downloadRate || stable(a, b));
    } else if (this.#seedPolicy === 'fastest-upload') {
      ranked = [...interested].sort((a, b) => b.uploadRate - a.uploadRate || stable(a, b));
    } else {
      // Round robin: unchoked peers within their quantum keep their slot; then the choked
      // peers that waited longest; peers whose quantum is over come last.
      const group = (p: ChokerPeerView): number =>
        p.isChoked ? 1 : p.lastUnchokedAt !== undefined && now - p.lastUnchokedAt < this.#quantumMs ? 0 : 2;
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
    let optimistic = rotate ? [] : this.#optimistic.filter((k) => byKey.has(k) && !regular.has(k));
    if (rotate) this.#optimisticAt = now;
    const pool = interested.filter((p) => !regular.has(p.key) && !optimistic.includes(p.key));
    while (optimistic.length < this.optimisticSlots && pool.length > 0) {
      const weights = pool.map((p) =>
        now - p.connectedAt < OPTIMISTIC_NEW_PEER_MS ? OPTIMISTIC_NEW_PEER_WEIGHT : 1,
      );
      let r = random.int(weights.reduce((s, w) => s + w, 0));
      let at = 0;
      while (r >= weights[at]!) r -= weights[at++]!;
      optimistic = [...optimistic, pool[at]!.key];
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

  /** Forgets a peer that left. */
  removePeer(key: PeerKey): void {
    this.#optimistic = this.#optimistic.filter((k) => k !== key);
  }
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
