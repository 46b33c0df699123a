/**
 * # Download pipeline — design notes
 *
 * The torrent engine's fetch side: it tops up each peer's request pipeline from the
 * {@link PiecePicker}, and owns the rules that decide *whether* a peer is asked at all:
 *
 * - a choking peer is asked only for its BEP 6 allowed-fast pieces;
 * - a piece a peer refused (a reject while unchoked) is not asked of it for REFUSED_PIECE_MS,
 *   and is forgiven early when the peer is idle and nobody else offers it ({@link retryRefused});
 * - smart ban's re-download avoids a piece's contributors while a clean peer can send it;
 * - a web seed with `onlyBelowPeerRate` is asked only while real peers deliver less.
 *
 * It also owns the timers of the fetch side (request timeouts, snubbing, refusal windows, the web
 * seed rate check) for the engine's `tick` and `nextDeadline`. It reads the engine's peer map
 * (never changes it) and emits actions into the caller's `out` array.
 */

import { send } from './action-helpers.js';
import type { EngineAction, PeerKey } from './actions.js';
import { TORRENT_RATE_WINDOW_MS } from './engine-config.js';
import { type PeerState, REFUSED_PIECE_RETRY_MS, type WebSeedPeerInit } from './peer-state.js';
import { ENDGAME_BUSY_PER_PEER, type PiecePicker } from './piece-picker.js';
import { RateMeter } from './rate.js';
import type { SmartBan } from './smart-ban.js';

/** How often a web seed held back by `onlyBelowPeerRate` is looked at again, ms. @default 1000 */
export const WEB_SEED_RATE_CHECK_MS = 1_000;
/**
 * A web seed's pipeline is topped up once this many of its slots are free (or half of them when
 * its queue is shorter, or when nothing is asked of it): its requests become HTTP ranges, so
 * asking for one block each time one arrives only ran the picker 65,536 times per GiB (and its
 * garbage was a third of what the download allocated). 64 blocks is a MiB.
 */
export const WEB_SEED_REFILL_BLOCKS = 64;

/** The engine's fetch side: request pipelines, refusals, timeouts, web seed pacing. */
export class DownloadPipeline {
  readonly #peers: ReadonlyMap<PeerKey, PeerState>;
  readonly #picker: PiecePicker;
  readonly #smartBan: SmartBan;
  /** Bytes from real peers (not web seeds): what `onlyBelowPeerRate` compares with. */
  readonly #downFromPeers: RateMeter;
  /** When web seeds held back by their peer-rate threshold are looked at again. */
  #webSeedCheckAt: number;
  /** Connected real peers (not web seeds), and since when there has been at least one. */
  #realPeers = 0;
  #realPeersSince = 0;

  constructor(peers: ReadonlyMap<PeerKey, PeerState>, picker: PiecePicker, smartBan: SmartBan, now: number) {
    this.#peers = peers;
    this.#picker = picker;
    this.#smartBan = smartBan;
    this.#downFromPeers = new RateMeter(now, { windowMs: TORRENT_RATE_WINDOW_MS, bucketMs: 500 });
    this.#webSeedCheckAt = now + WEB_SEED_RATE_CHECK_MS;
  }

  /** A peer joined (call once it is in the peer map). */
  onPeerAdded(p: PeerState, now: number): void {
    p.avoidPredicate = (i) => this.#avoids(p, i);
    if (p.webSeed === undefined && this.#realPeers++ === 0) this.#realPeersSince = now;
  }

  /** A peer left (already out of the peer map): its requests go back to the picker. */
  onPeerRemoved(p: PeerState): void {
    if (p.webSeed === undefined) this.#realPeers--;
    for (const r of p.requests.dropAll()) this.#picker.release(p.key, r);
  }

  /** `bytes` of new data arrived from `p`. */
  onDownloaded(p: PeerState, bytes: number, now: number): void {
    if (p.webSeed === undefined) this.#downFromPeers.add(bytes, now);
  }

  /** The earliest fetch-side deadline before `at` (or `at`), ms. */
  nextDeadline(at: number): number {
    for (const p of this.#peers.values()) {
      if ((p.webSeed?.onlyBelowPeerRate ?? 0) > 0 && this.#webSeedCheckAt < at) at = this.#webSeedCheckAt;
      const d = p.requests.nextDeadline();
      if (d !== undefined && d < at) at = d;
      // A piece the peer refused may be asked of it again (tick refills the pipeline), early if
      // the peer is idle (see retryRefused).
      const refused = p.refusedPieces.values().next();
      if (!refused.done) {
        if (refused.value.until < at) at = refused.value.until;
        if (refused.value.retryAt < at && this.idleFor(p)) at = refused.value.retryAt;
      }
    }
    return at;
  }

  /** Timers of the fetch side: request timeouts, snub detection, refusals, web seed pacing. */
  tick(out: EngineAction[], now: number): void {
    const slow = new Set<PeerState>();
    for (const p of this.#peers.values()) {
      const { timedOut, becameSnubbed } = p.requests.checkTimeouts(now);
      for (const r of timedOut) {
        this.#picker.release(p.key, r);
        out.push(send(p.key, { type: 'cancel', index: r.piece, begin: r.offset, length: r.length }));
        slow.add(p);
      }
      if (becameSnubbed) out.push({ type: 'event', event: { type: 'peer:snubbed', peer: p.key } });
    }
    if (slow.size > 0) {
      // The other peers get the released blocks first; the slow ones then get one request each.
      for (const p of this.#peers.values()) if (!slow.has(p)) this.fill(p, out, now);
      for (const p of slow) this.fill(p, out, now);
    }
    // Pieces a peer refused may be asked of it again: an idle pipeline would wait for an event.
    for (const p of this.#peers.values()) {
      const pruned = this.#pruneRefused(p, now);
      const retried = this.idleFor(p) && this.#retryRefused(p, now);
      if ((pruned || retried) && !slow.has(p)) this.fill(p, out, now);
    }
    if (now >= this.#webSeedCheckAt) {
      // Web seeds held back while peers were fast may be needed now.
      this.#webSeedCheckAt = now + WEB_SEED_RATE_CHECK_MS;
      for (const p of this.#peers.values()) if (p.webSeed !== undefined) this.fill(p, out, now);
    }
  }

  /** Tops up the peer's request pipeline. */
  fill(p: PeerState, out: EngineAction[], now: number): void {
    if (!p.amInterested || !this.#peers.has(p.key)) return;
    if (p.webSeed !== undefined && !this.#webSeedMayAsk(p.webSeed, now)) return;
    let only: ReadonlySet<number> | undefined;
    if (p.peerChoking) {
      if (p.allowedFastFromPeer.size === 0) return;
      only = p.allowedFastFromPeer;
    }
    const n = p.requests.freeSlots(now);
    if (n <= 0) return;
    if (
      p.webSeed !== undefined &&
      p.requests.outstanding > 0 &&
      n < Math.min(WEB_SEED_REFILL_BLOCKS, p.requests.targetDepth(now) / 2)
    )
      return;
    this.#pruneRefused(p, now);
    const maxBusy = p.requests.outstanding === 0 ? ENDGAME_BUSY_PER_PEER : 0;
    let picked = this.#picker.pick(p, n, { onlyPieces: only, maxBusy });
    if (picked.length === 0 && this.idleFor(p) && this.#retryRefused(p, now))
      picked = this.#picker.pick(p, n, { onlyPieces: only, maxBusy });
    for (const b of picked) {
      p.requests.onRequestSent(b, now);
      out.push(send(p.key, { type: 'request', index: b.piece, begin: b.offset, length: b.length }));
    }
  }

  /** Tops up every peer's pipeline. */
  fillAll(out: EngineAction[], now: number): void {
    for (const p of this.#peers.values()) this.fill(p, out, now);
  }

  /** The peer unchokes us, we want something from it, and nothing is asked of it. */
  idleFor(p: PeerState): boolean {
    return p.amInterested && !p.peerChoking && p.requests.outstanding === 0;
  }

  /**
   * A web seed may be asked now: it has no peer-rate threshold, no peer is connected, or peers
   * have had a whole rate window to show their rate and it is below the threshold.
   */
  #webSeedMayAsk(w: WebSeedPeerInit, now: number): boolean {
    const limit = w.onlyBelowPeerRate ?? 0;
    if (limit <= 0 || this.#realPeers === 0) return true;
    return now - this.#realPeersSince >= TORRENT_RATE_WINDOW_MS && this.#downFromPeers.rate(now) < limit;
  }

  /** Forgets the peer's refusals whose window ended; true if there were any. */
  #pruneRefused(p: PeerState, now: number): boolean {
    let pruned = false;
    for (const [i, r] of p.refusedPieces) {
      if (r.until > now) break; // insertion order is expiry order
      p.refusedPieces.delete(i);
      pruned = true;
    }
    return pruned;
  }

  /**
   * An idle peer's refusals older than REFUSED_PIECE_RETRY_MS: each piece that no other peer
   * unchoking us offers (has, and did not refuse lately) is forgiven (asked again); the others
   * are looked at again REFUSED_PIECE_RETRY_MS later (the peer that offers one may leave or
   * choke us — the sharers leave once done — and the refusing seed may be all that is left). The
   * refusing seed may count on a copy held by a peer that never shares, and nothing else is left
   * to ask of it; it is asked once more, not in a loop (a new refusal starts a new window). True
   * if a piece was forgiven.
   */
  #retryRefused(p: PeerState, now: number): boolean {
    let forgiven = false;
    for (const [i, r] of p.refusedPieces) {
      if (r.retryAt > now) continue;
      let elsewhere = false;
      for (const q of this.#peers.values()) {
        if (q !== p && !q.peerChoking && q.has(i) && !q.refuses(i)) {
          elsewhere = true;
          break;
        }
      }
      if (elsewhere) r.retryAt = now + REFUSED_PIECE_RETRY_MS;
      else {
        p.refusedPieces.delete(i);
        forgiven = true;
      }
    }
    return forgiven;
  }

  /**
   * Smart ban's re-download: a piece that failed with `p` among its senders is not asked of `p`
   * while another peer that did not contribute can send it: it unchokes us, has the piece, did
   * not refuse it lately, and is not stalling (no request of ours timed out since its last
   * block, not snubbed). A non-contributor that never delivers must not hold the piece back
   * from the contributors: re-downloaded by one of them alone, it still settles the blame (a
   * passing copy convicts the others, a failing one convicts its sole sender).
   */
  #avoids(p: PeerState, i: number): boolean {
    if (!this.#smartBan.isContributor(i, p.blameId)) return false;
    for (const q of this.#peers.values()) {
      if (
        q !== p &&
        !q.peerChoking &&
        q.has(i) &&
        !q.refuses(i) &&
        !q.requests.isTimedOut &&
        !q.requests.isSnubbed &&
        !this.#smartBan.isContributor(i, q.blameId)
      )
        return true;
    }
    return false;
  }
}
