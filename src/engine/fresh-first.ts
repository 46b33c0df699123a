/**
 * Fresh-first seeding: a seed spends its upload on the pieces the swarm has the fewest copies of,
 * rather than on copies of pieces the peers already have or are already getting from it.
 *
 * Why: in a swarm whose pace the seed sets (its upload is the scarce resource), every block it
 * sends of a piece the peers could trade among themselves delays the pieces only it has. Leechers
 * pick rarest first from what *they* see, which is a partial view: several of them start the same
 * still-rare piece from the seed at once, or ask it for a piece that peers they are not connected
 * to already hold; a flash crowd on one subnet shares one BEP 6 allowed-fast set. The seed sees
 * more: who holds what (HAVE messages) and what it is sending to whom. A piece's *coverage* is the
 * number of connected peers that hold it plus those it is on its way to from us. When a peer asks
 * for a covered piece while some piece it lacks is uncovered (only the seed has it), the seed
 * refuses the request (BEP 6 reject) and suggests an uncovered piece (BEP 6 suggest). The engine
 * asks when the request arrives and again when the block leaves the upload queue, so a request
 * queued behind others is judged with what the seed knows when it would send it. Once every
 * piece is out, everything asked is served: refusing then would only idle the seed's upload.
 * Shoal's picker takes suggestions first and does not ask a peer again for a piece it refused
 * lately; other clients at worst go on to their next pick. Requests a choked peer makes of its
 * allowed-fast set are served only for uncovered pieces: outside its unchoke slots the seed only
 * adds pieces the swarm does not have.
 *
 * This is what BEP 16 super-seeding aims at, without hiding pieces: a peer sees a complete seed,
 * and is never refused more than {@link FRESH_FIRST_MAX_REFUSALS} pieces in a row.
 *
 * Pure bookkeeping: the engine reports what it serves, HAVEs and departures, and asks
 * {@link FreshFirst.redirect} before serving a block.
 */
import type { PeerKey } from './actions.js';
import type { Random } from './random.js';

/**
 * A piece counts as on its way to a peer for this long after the seed sent it a block of it, in
 * ms. @default 10000
 */
export const FRESH_FIRST_PENDING_MS = 10_000;
/**
 * Most pieces refused in a row to one peer; its next request is served whatever it asks (a
 * client that ignores suggestions and insists is not starved). @default 32
 */
export const FRESH_FIRST_MAX_REFUSALS = 32;
/** How often the coverage order of all pieces is rebuilt, in ms. @default 500 */
export const FRESH_FIRST_RESCAN_MS = 500;
/** Pieces the peer lacks looked at per decision, at most (the best of them is suggested). @default 64 */
export const FRESH_FIRST_SCAN_LIMIT = 64;

/**
 * A peer that announced {@link FRESH_FIRST_HOARDER_PIECES} pieces it got from us at least this
 * long ago, none of which ever reached another peer, counts as not sharing, in ms. @default 5000
 */
export const FRESH_FIRST_HOARDER_GRACE_MS = 5_000;
/** Pieces from us a peer must hold before it can count as not sharing. @default 2 */
export const FRESH_FIRST_HOARDER_PIECES = 2;

/** What fresh-first seeding reads of the swarm. */
export interface FreshFirstView {
  readonly pieceCount: number;
  /** Connected peers that have piece `i`. */
  availability(i: number): number;
}

/** A request {@link FreshFirst.redirect} refuses, and the piece to suggest instead, if any. */
export interface FreshFirstRefusal {
  readonly suggest: number | undefined;
}

interface Sharing {
  readonly given: Set<number>;
  readonly holds: Set<number>;
  held: number[];
  spread: number;
}

export class FreshFirst {
  readonly #pieceCount: number;
  /** Per piece: peers we are sending it to → when we last sent them a block of it, ms. */
  readonly #pending = new Map<number, Map<PeerKey, number>>();
  /** Pieces refused to each peer since we last served it, and how many. */
  readonly #refused = new Map<PeerKey, { readonly pieces: Set<number>; count: number }>();
  /** Every piece, least covered first, as of the last scan. */
  readonly #order: Uint32Array;
  readonly #scanCoverage: Uint32Array;
  #scannedAt = Number.NEGATIVE_INFINITY;
  /** Per piece: connected peers we served a block of it to. */
  readonly #givers = new Map<number, Set<PeerKey>>();
  /** Pieces seen at a peer we did not serve them to (they spread). */
  readonly #spread = new Set<number>();
  /**
   * Per peer: pieces we served it, those of them it announced, when it announced the first of
   * them, and how many spread.
   */
  readonly #sharing = new Map<PeerKey, Sharing>();

  constructor(pieceCount: number) {
    this.#pieceCount = pieceCount;
    this.#order = new Uint32Array(pieceCount);
    this.#scanCoverage = new Uint32Array(pieceCount);
  }

  /**
   * Before queueing or sending a block of `piece` to `peer`: undefined to serve it, or a refusal
   * — with an uncovered piece to suggest when the piece is newly refused (its other blocks are
   * refused without a new suggestion). `choked`: the peer asks while we choke it (BEP 6
   * allowed-fast). `peerHas(i)` says whether the peer has piece `i`.
   */
  redirect(
    peer: PeerKey,
    piece: number,
    choked: boolean,
    view: FreshFirstView,
    peerHas: (i: number) => boolean,
    now: number,
    random: Random,
  ): FreshFirstRefusal | undefined {
    const sending = this.#pending.get(piece)?.get(peer);
    if (sending !== undefined && now - sending < FRESH_FIRST_PENDING_MS) return undefined;
    let refused = this.#refused.get(peer);
    if (refused !== undefined && refused.count >= FRESH_FIRST_MAX_REFUSALS) return undefined;
    // A piece refused before is judged again like a new one: what made the refusal right (a less
    // covered piece the peer lacked) may be gone — it got that piece elsewhere, and this is the
    // last it lacks; refused for good, it would wait on the seed forever.
    const mine = this.coverage(piece, view, now, peer);
    if (mine === 0) return this.#served(refused, piece);
    let best: number | undefined;
    // Allowed-fast (choked): only pieces nobody has, and nothing to suggest it could ask for.
    if (!choked) {
      // Only for a piece nobody has: once every piece is out, the seed's upload is best spent
      // on whatever keeps it busy (refusing then leaves it idle while peers wait on each other).
      best = this.#leastCovered(peer, piece, 1, view, peerHas, now, random);
      if (best === undefined) return this.#served(refused, piece);
    }
    // More blocks of a refused piece: refused again, nothing new suggested, not counted again.
    if (refused?.pieces.has(piece)) return { suggest: undefined };
    if (refused === undefined) {
      refused = { pieces: new Set(), count: 0 };
      this.#refused.set(peer, refused);
    }
    refused.pieces.add(piece);
    refused.count++;
    return { suggest: best };
  }

  /** A piece once refused to the peer is served now: its next refusal counts as a new one. */
  #served(refused: { readonly pieces: Set<number> } | undefined, piece: number): undefined {
    refused?.pieces.delete(piece);
    return undefined;
  }

  /** We are sending a block of `piece` to `peer` (it left the upload queue). */
  onServe(peer: PeerKey, piece: number, now: number): void {
    this.#refused.delete(peer);
    this.#mark(piece, peer, now);
    let g = this.#givers.get(piece);
    if (g === undefined) {
      g = new Set();
      this.#givers.set(piece, g);
    }
    g.add(peer);
    this.#sharingOf(peer).given.add(piece);
  }

  /**
   * The peer announced piece `piece`: it holds it now, availability counts it. When we served
   * the piece to one peer only and this is another, that one passed it on (or a peer it reached
   * did): it shares.
   */
  onHave(peer: PeerKey, piece: number, now: number): void {
    const m = this.#pending.get(piece);
    if (m !== undefined) {
      m.delete(peer);
      if (m.size === 0) this.#pending.delete(piece);
    }
    const givers = this.#givers.get(piece);
    if (givers === undefined) return;
    if (givers.has(peer)) {
      const s = this.#sharingOf(peer);
      s.holds.add(piece);
      if (s.held.length < FRESH_FIRST_HOARDER_PIECES) s.held.push(now);
    } else if (!this.#spread.has(piece)) {
      this.#spread.add(piece);
      if (givers.size === 1) for (const g of givers) this.#sharingOf(g).spread++;
    }
  }

  /**
   * True when the peer holds pieces it got from us, announced long enough ago to have passed one
   * on, and none ever reached another peer: it does not share (a free-rider, or a peer nobody
   * can reach).
   */
  isHoarder(peer: PeerKey, now: number): boolean {
    const s = this.#sharing.get(peer);
    if (s === undefined || s.spread > 0 || s.held.length < FRESH_FIRST_HOARDER_PIECES) return false;
    return now - s.held[FRESH_FIRST_HOARDER_PIECES - 1]! >= FRESH_FIRST_HOARDER_GRACE_MS;
  }

  /** The peer left. */
  removePeer(peer: PeerKey): void {
    this.#refused.delete(peer);
    const s = this.#sharing.get(peer);
    if (s !== undefined) {
      for (const i of s.given) {
        const g = this.#givers.get(i);
        g?.delete(peer);
        if (g?.size === 0) this.#givers.delete(i);
      }
      this.#sharing.delete(peer);
    }
    for (const [i, m] of this.#pending) {
      m.delete(peer);
      if (m.size === 0) this.#pending.delete(i);
    }
    this.#scannedAt = Number.NEGATIVE_INFINITY; // coverage dropped
  }

  /**
   * Connected peers other than `except` that hold piece `i` or are getting it from us — not
   * counting hoarders' copies of what we gave them: a piece only they hold is still only ours to
   * give (else the sharers get it last, from us, one turn at a time).
   */
  coverage(piece: number, view: FreshFirstView, now: number, except?: PeerKey): number {
    let c = view.availability(piece);
    const givers = this.#givers.get(piece);
    if (givers !== undefined)
      for (const g of givers) if (this.#sharing.get(g)?.holds.has(piece) && this.isHoarder(g, now)) c--;
    const m = this.#pending.get(piece);
    if (m === undefined) return Math.max(0, c);
    for (const [k, at] of m) {
      if (now - at >= FRESH_FIRST_PENDING_MS) m.delete(k);
      else if (k !== except && !this.isHoarder(k, now)) c++;
    }
    if (m.size === 0) this.#pending.delete(piece);
    return Math.max(0, c);
  }

  #sharingOf(peer: PeerKey): Sharing {
    let s = this.#sharing.get(peer);
    if (s === undefined) {
      s = { given: new Set(), holds: new Set(), held: [], spread: 0 };
      this.#sharing.set(peer, s);
    }
    return s;
  }

  #mark(piece: number, peer: PeerKey, now: number): void {
    let m = this.#pending.get(piece);
    if (m === undefined) {
      m = new Map();
      this.#pending.set(piece, m);
    }
    m.set(peer, now);
  }

  /**
   * A piece the peer lacks with coverage below `than`, the least covered found (ties at random),
   * or undefined. Walks the pieces in the order of the last scan; coverage only grows between
   * scans except when pending entries lapse, so the walk stops once the scanned coverage reaches
   * the best live one.
   */
  #leastCovered(
    peer: PeerKey,
    piece: number,
    than: number,
    view: FreshFirstView,
    peerHas: (i: number) => boolean,
    now: number,
    random: Random,
  ): number | undefined {
    if (now - this.#scannedAt >= FRESH_FIRST_RESCAN_MS) this.#scan(view, now);
    let best = than;
    let pick: number | undefined;
    let ties = 0;
    let looked = 0;
    for (let k = 0; k < this.#pieceCount && looked < FRESH_FIRST_SCAN_LIMIT; k++) {
      const i = this.#order[k]!;
      if (this.#scanCoverage[i]! >= best && pick !== undefined) break;
      if (this.#scanCoverage[i]! >= than) break;
      if (i === piece || peerHas(i)) continue;
      looked++;
      const c = this.coverage(i, view, now, peer);
      if (c < best) {
        best = c;
        pick = i;
        ties = 1;
      } else if (c === best && pick !== undefined && random.int(++ties) === 0) pick = i;
    }
    return pick;
  }

  #scan(view: FreshFirstView, now: number): void {
    this.#scannedAt = now;
    const cov = this.#scanCoverage;
    for (let i = 0; i < this.#pieceCount; i++) {
      cov[i] = this.coverage(i, view, now);
      this.#order[i] = i;
    }
    // Least covered first; pieces of equal coverage in a fresh random-ish order each scan would
    // cost a shuffle — the caller breaks ties at random among the pieces it looks at instead.
    this.#order.sort((a, b) => cov[a]! - cov[b]!);
  }
}
