/**
 * The upload side of one peer connection: the peer's requests waiting to be served, the
 * storage reads in flight for it, and the rules that decide what happens to each request
 * (BEP 3 choking, BEP 6 reject and allowed fast). The mirror of `request-scheduler.ts`.
 *
 * Memory is bounded twice: at most {@link MAX_QUEUED_PEER_REQUESTS} queued requests, and at most
 * `maxReadsInFlight` blocks handed to storage and not yet sent — so a peer's appetite never turns
 * into an unbounded buffer; the socket's back-pressure (the runtime acknowledges a read only when
 * the socket took the block) paces the rest.
 */
import {
  MAX_BLOCK_BYTES,
  MAX_INVALID_REQUESTS,
  MAX_QUEUED_PEER_REQUESTS,
  MAX_REQUESTS_WHILE_CHOKED,
} from '../shared/limits.js';
import type { CloseReason } from './actions.js';
import type { BlockRef } from './piece-layout.js';

/** What an upload queue needs to know about the torrent. */
export interface UploadTorrentView {
  readonly pieceCount: number;
  pieceSize(index: number): number;
  /** We have (verified) piece `index`. */
  have(index: number): boolean;
}

/** What to do with an incoming request. */
export type RequestVerdict =
  /** Queued for serving. */
  | { readonly kind: 'queued' }
  /** Already queued: ignore. */
  | { readonly kind: 'duplicate' }
  /** Refused: send a BEP 6 reject, or (without BEP 6) drop it silently. */
  | { readonly kind: 'refused'; readonly why: 'choked' | 'invalid' | 'queue-full' | 'redirected' }
  /** The peer crossed a bound: close the connection. */
  | { readonly kind: 'close'; readonly reason: CloseReason };

/** The per-peer upload queue; see the module notes. */
export class UploadQueue {
  readonly #supportsFast: boolean;
  readonly #maxReads: number;
  readonly #queue: BlockRef[] = [];
  #readsInFlight = 0;
  /** Requests refused because we choke the peer, since we last unchoked it. */
  #whileChoked = 0;
  #invalid = 0;

  /**
   * @param supportsFast the connection negotiated BEP 6.
   * @param maxReadsInFlight most `read-block`s outstanding at once.
   */
  constructor(supportsFast: boolean, maxReadsInFlight: number) {
    this.#supportsFast = supportsFast;
    this.#maxReads = Math.max(1, maxReadsInFlight);
  }

  /** Requests waiting to be read. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Reads handed to storage and not yet acknowledged. */
  get readsInFlight(): number {
    return this.#readsInFlight;
  }

  /**
   * Judges a request (BEP 3 §request, BEP 6 §reject request): invalid requests (outside the
   * torrent, past the piece end, longer than MAX_BLOCK_BYTES, or for a piece we lack) are refused
   * up to MAX_INVALID_REQUESTS; while we choke the peer, requests outside its allowed-fast set
   * are refused up to MAX_REQUESTS_WHILE_CHOKED; beyond MAX_QUEUED_PEER_REQUESTS queued, a BEP 6
   * peer is refused and another peer dropped. `redirect`, asked last about a request that could
   * be queued, may refuse it (a seed steering its upload, fresh-first.ts).
   */
  onRequest(
    r: BlockRef,
    torrent: UploadTorrentView,
    isChoking: boolean,
    allowedFast: ReadonlySet<number>,
    redirect?: (r: BlockRef) => boolean,
  ): RequestVerdict {
    const valid =
      Number.isInteger(r.piece) &&
      r.piece >= 0 &&
      r.piece < torrent.pieceCount &&
      r.length > 0 &&
      r.length <= MAX_BLOCK_BYTES &&
      r.offset + r.length <= torrent.pieceSize(r.piece) &&
      torrent.have(r.piece);
    if (!valid) {
      return ++this.#invalid > MAX_INVALID_REQUESTS
        ? { kind: 'close', reason: 'invalid-request' }
        : { kind: 'refused', why: 'invalid' };
    }
    if (isChoking && !allowedFast.has(r.piece)) {
      // BEP 6: "SHOULD send a reject unless the piece is in the allowed fast set", and MAY
      // close on "an excessive number" (requests keep coming for a while after a choke).
      return ++this.#whileChoked > MAX_REQUESTS_WHILE_CHOKED
        ? { kind: 'close', reason: 'requests-while-choked' }
        : { kind: 'refused', why: 'choked' };
    }
    if (this.#queue.some((q) => sameBlock(q, r))) return { kind: 'duplicate' };
    if (this.#queue.length >= MAX_QUEUED_PEER_REQUESTS) {
      return this.#supportsFast
        ? { kind: 'refused', why: 'queue-full' }
        : { kind: 'close', reason: 'request-flood' };
    }
    if (redirect?.(r) === true) return { kind: 'refused', why: 'redirected' };
    this.#queue.push(r);
    return { kind: 'queued' };
  }

  /** The peer cancelled `r`; true when it was still queued (and is now removed). */
  onCancel(r: BlockRef): boolean {
    const at = this.#queue.findIndex((q) => sameBlock(q, r));
    if (at < 0) return false;
    this.#queue.splice(at, 1);
    return true;
  }

  /**
   * We choke the peer: queued requests outside `allowedFast` are removed and returned (BEP 6:
   * reject each; BEP 3: the choke discards them). Reads in flight complete.
   */
  onChoke(allowedFast: ReadonlySet<number>): BlockRef[] {
    const dropped = this.#queue.filter((r) => !allowedFast.has(r.piece));
    const kept = this.#queue.filter((r) => allowedFast.has(r.piece));
    this.#queue.length = 0;
    this.#queue.push(...kept);
    return dropped;
  }

  /** We unchoke the peer: its count of requests while choked starts over. */
  onUnchoke(): void {
    this.#whileChoked = 0;
  }

  /**
   * Requests to hand to storage now (oldest first), within the reads-in-flight bound. `judge`,
   * asked about each one as it would leave the queue, may drop it instead ('refuse': the caller
   * rejects it — a seed steering its upload with what it knows at send time, fresh-first.ts) or
   * leave it queued for now ('skip').
   */
  nextReads(judge?: (r: BlockRef) => 'serve' | 'refuse' | 'skip'): BlockRef[] {
    const reads: BlockRef[] = [];
    let at = 0;
    while (this.#readsInFlight < this.#maxReads && at < this.#queue.length) {
      const r = this.#queue[at]!;
      const verdict = judge?.(r) ?? 'serve';
      if (verdict === 'skip') {
        at++;
        continue;
      }
      this.#queue.splice(at, 1);
      if (verdict === 'refuse') continue;
      reads.push(r);
      this.#readsInFlight++;
    }
    return reads;
  }

  /** True when some queued request satisfies `match`. */
  hasQueued(match: (r: BlockRef) => boolean): boolean {
    return this.#queue.some(match);
  }

  /** A read finished (sent or failed). */
  onReadDone(): void {
    this.#readsInFlight = Math.max(0, this.#readsInFlight - 1);
  }
}

function sameBlock(a: BlockRef, b: BlockRef): boolean {
  return a.piece === b.piece && a.offset === b.offset && a.length === b.length;
}
