/**
 * DEV DOCS — fetching a torrent's info dictionary from peers (BEP 9 `ut_metadata`).
 *
 * Owns: which metadata pieces are wanted, which peer was asked for which piece, the bytes
 * received so far, and the verdict on the assembled dictionary. Pure: the runtime feeds it
 * extended handshakes and `ut_metadata` messages with the time, and sends what it returns.
 *
 * The only truth is the info-hash: neither a peer's `metadata_size` nor its pieces can be
 * checked before the whole dictionary hashes right, and a hostile peer may lie about both.
 *
 * Invariants:
 * - Each peer's plausible `metadata_size` (0 < size ≤ MAX_METADATA_BYTES) is remembered; the
 *   size in use is the first one announced, and only peers that announced that size (or none)
 *   are asked. A peer whose size differs is not dropped: when the size in use fails (its
 *   dictionary does not hash right) or every peer announcing it stalls (rejects, times out),
 *   the fetch starts over with a size another peer announced. A data message whose
 *   `total_size` differs from the size in use is a protocol error for that peer only.
 * - A piece is requested from at most one peer at a time, and re-requested from another
 *   peer after a reject, a disconnect or METADATA_REQUEST_TIMEOUT_MS.
 * - The assembled bytes are accepted only when their SHA-1 (v1) or SHA-256 (v2) equals the
 *   info-hash. A failed dictionary assembled from one peer convicts that peer (it is reported
 *   bad, the runtime drops it). One assembled from several peers convicts nobody — one liar
 *   must not get the honest peers dropped beside it — and from then on each attempt is *solo*:
 *   every piece from one peer, so the next failure names its sender. Each failure removes a
 *   peer or leaves solo attempts, so a fetch with one honest peer among liars completes.
 */
import type { Hasher } from '../shared/hash.js';
import { bytesEqual, nodeHasher } from '../shared/hash.js';
import { MAX_METADATA_BYTES, METADATA_PIECE_BYTES } from '../shared/limits.js';
import type { PeerKey } from './actions.js';

/** Time a peer has to answer one metadata request, in ms. */
export const METADATA_REQUEST_TIMEOUT_MS = 10_000;
/** Metadata requests outstanding to one peer. */
export const METADATA_REQUESTS_PER_PEER = 4;

export type MetadataAction =
  | { readonly type: 'request'; readonly peer: PeerKey; readonly piece: number }
  /** The peer sent bad or mismatching metadata: disconnect it. */
  | { readonly type: 'bad-peer'; readonly peer: PeerKey; readonly reason: string }
  /** The verified info dictionary. */
  | { readonly type: 'complete'; readonly info: Uint8Array };

interface PeerInfo {
  readonly extId: number;
  /** The `metadata_size` it announced, if any. */
  readonly size: number | undefined;
  readonly outstanding: Set<number>;
  /** It rejected or let a request time out (asked last). */
  rejected: boolean;
}

export interface MetadataExchangeInit {
  /** 20-byte v1 info-hash (SHA-1 of the info dictionary), when known. */
  readonly infoHashV1?: Uint8Array;
  /** 32-byte v2 info-hash (SHA-256 of the info dictionary), when known. */
  readonly infoHashV2?: Uint8Array;
  readonly hasher?: Hasher;
}

export class MetadataExchange {
  readonly #v1: Uint8Array | undefined;
  readonly #v2: Uint8Array | undefined;
  readonly #hasher: Hasher;
  readonly #peers = new Map<PeerKey, PeerInfo>();
  #size = 0;
  #pieces: (Uint8Array | undefined)[] = [];
  /** Piece → who was asked and when. */
  readonly #asked = new Map<number, { peer: PeerKey; at: number }>();
  readonly #contributors = new Set<PeerKey>();
  /** A dictionary from several senders failed: each attempt now takes every piece from one peer. */
  #solo = false;
  #done = false;

  constructor(init: MetadataExchangeInit) {
    if (init.infoHashV1 === undefined && init.infoHashV2 === undefined) {
      throw new RangeError('metadata exchange needs an info-hash');
    }
    this.#v1 = init.infoHashV1;
    this.#v2 = init.infoHashV2;
    this.#hasher = init.hasher ?? nodeHasher;
  }

  get isComplete(): boolean {
    return this.#done;
  }

  /** Metadata size in bytes, once a peer announced it (0 before). */
  get size(): number {
    return this.#size;
  }

  /** Pieces received so far. */
  get receivedPieces(): number {
    return this.#pieces.filter((p) => p !== undefined).length;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /** A peer's BEP 10 handshake: its `ut_metadata` id and `metadata_size`, if any. */
  onExtendedHandshake(
    peer: PeerKey,
    extId: number | undefined,
    metadataSize: number | undefined,
    now: number,
  ) {
    const out: MetadataAction[] = [];
    if (this.#done || extId === undefined || extId <= 0) return out;
    if (
      metadataSize !== undefined &&
      (metadataSize <= 0 || metadataSize > MAX_METADATA_BYTES || !Number.isSafeInteger(metadataSize))
    ) {
      this.#dropPeer(peer);
      out.push({ type: 'bad-peer', peer, reason: `implausible metadata_size ${metadataSize}` });
      return out;
    }
    this.#dropPeer(peer); // a repeated handshake replaces the first
    this.#peers.set(peer, { extId, size: metadataSize, outstanding: new Set(), rejected: false });
    if (this.#size === 0 && metadataSize !== undefined) this.#useSize(metadataSize);
    this.#fill(out, now);
    return out;
  }

  /** The peer's `ut_metadata` id (to address requests), if it has one. */
  extIdOf(peer: PeerKey): number | undefined {
    return this.#peers.get(peer)?.extId;
  }

  onData(peer: PeerKey, piece: number, totalSize: number, data: Uint8Array, now: number): MetadataAction[] {
    const out: MetadataAction[] = [];
    const p = this.#peers.get(peer);
    if (this.#done || p === undefined) return out;
    if (!p.outstanding.has(piece)) return out; // unrequested or late: ignore
    if (totalSize !== this.#size) {
      this.#dropPeer(peer);
      out.push({ type: 'bad-peer', peer, reason: `total_size ${totalSize} ≠ ${this.#size}` });
      this.#fill(out, now);
      return out;
    }
    const expected = Math.min(METADATA_PIECE_BYTES, this.#size - piece * METADATA_PIECE_BYTES);
    p.outstanding.delete(piece);
    this.#asked.delete(piece);
    if (data.length !== expected) {
      this.#dropPeer(peer);
      out.push({ type: 'bad-peer', peer, reason: `metadata piece ${piece} of ${data.length} bytes` });
      this.#fill(out, now);
      return out;
    }
    this.#pieces[piece] = new Uint8Array(data);
    this.#contributors.add(peer);
    if (this.#pieces.every((x) => x !== undefined)) this.#assemble(out, now);
    else this.#fill(out, now);
    return out;
  }

  onReject(peer: PeerKey, piece: number, now: number): MetadataAction[] {
    const out: MetadataAction[] = [];
    const p = this.#peers.get(peer);
    if (p === undefined || !p.outstanding.delete(piece)) return out;
    this.#asked.delete(piece);
    p.rejected = true;
    this.#abandonSolo(peer);
    this.#fill(out, now);
    return out;
  }

  removePeer(peer: PeerKey, now: number): MetadataAction[] {
    const out: MetadataAction[] = [];
    this.#abandonSolo(peer);
    this.#dropPeer(peer);
    this.#fill(out, now);
    return out;
  }

  /** Re-requests pieces whose requests timed out. */
  tick(now: number): MetadataAction[] {
    const out: MetadataAction[] = [];
    for (const [piece, a] of this.#asked) {
      if (now - a.at < METADATA_REQUEST_TIMEOUT_MS) continue;
      this.#asked.delete(piece);
      const p = this.#peers.get(a.peer);
      if (p !== undefined) {
        p.outstanding.delete(piece);
        p.rejected = true; // slow: prefer others
        this.#abandonSolo(a.peer);
      }
    }
    this.#fill(out, now);
    return out;
  }

  /** When the next timeout check is due (undefined when nothing is outstanding). */
  nextDeadline(): number | undefined {
    let at: number | undefined;
    for (const a of this.#asked.values()) {
      const t = a.at + METADATA_REQUEST_TIMEOUT_MS;
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  #dropPeer(peer: PeerKey): void {
    const p = this.#peers.get(peer);
    if (p === undefined) return;
    for (const piece of p.outstanding) this.#asked.delete(piece);
    this.#peers.delete(peer);
  }

  /**
   * In solo mode, the attempt of `peer` cannot finish as a solo one (it refused, stalled or
   * left): it starts over, so that another peer's copy is not mixed with this one's pieces.
   */
  #abandonSolo(peer: PeerKey): void {
    if (this.#solo && this.#size > 0 && (this.#contributors.has(peer) || this.#isAsking(peer)))
      this.#useSize(this.#size);
  }

  #isAsking(peer: PeerKey): boolean {
    for (const a of this.#asked.values()) if (a.peer === peer) return true;
    return false;
  }

  /** Starts over with `size`: every piece is wanted again. */
  #useSize(size: number): void {
    this.#size = size;
    this.#pieces = new Array(Math.ceil(size / METADATA_PIECE_BYTES)).fill(undefined);
    this.#contributors.clear();
    for (const [piece, a] of this.#asked) this.#peers.get(a.peer)?.outstanding.delete(piece);
    this.#asked.clear();
  }

  /** The peer may be asked for pieces of the size in use. */
  #agrees(p: PeerInfo): boolean {
    return p.size === undefined || p.size === this.#size;
  }

  /**
   * When no peer announcing the size in use can be asked (every one gone or stalling) and a
   * peer announcing another size can, starts over with that size.
   */
  #maybeSwitchSize(): void {
    let stalled = true;
    let other: number | undefined;
    for (const p of this.#peers.values()) {
      if (p.rejected) continue;
      if (this.#agrees(p)) stalled = false;
      else other ??= p.size;
    }
    if (this.#size === 0 || (stalled && other !== undefined)) {
      if (other !== undefined) this.#useSize(other);
      else if (this.#size === 0) {
        for (const p of this.#peers.values()) {
          if (p.size !== undefined) {
            this.#useSize(p.size);
            break;
          }
        }
      }
    }
  }

  #fill(out: MetadataAction[], now: number): void {
    if (this.#done) return;
    this.#maybeSwitchSize();
    if (this.#size === 0) return;
    // Peers that never rejected first, then the rest.
    let order = [...this.#peers.entries()]
      .filter(([, p]) => this.#agrees(p))
      .sort((a, b) => Number(a[1].rejected) - Number(b[1].rejected));
    if (this.#solo) {
      // Every piece of this attempt from one peer: the one that already sent or was asked some.
      const current = order.find(([k, p]) => this.#contributors.has(k) || p.outstanding.size > 0);
      order = current !== undefined ? [current] : order.slice(0, 1);
    }
    for (let piece = 0; piece < this.#pieces.length; piece++) {
      if (this.#pieces[piece] !== undefined || this.#asked.has(piece)) continue;
      const candidate = order.find(([, p]) => p.outstanding.size < METADATA_REQUESTS_PER_PEER);
      if (candidate === undefined) return;
      const [key, p] = candidate;
      p.outstanding.add(piece);
      this.#asked.set(piece, { peer: key, at: now });
      out.push({ type: 'request', peer: key, piece });
    }
  }

  #assemble(out: MetadataAction[], now: number): void {
    const info = new Uint8Array(this.#size);
    this.#pieces.forEach((p, i) => {
      info.set(p!, i * METADATA_PIECE_BYTES);
    });
    const ok =
      (this.#v1 === undefined || bytesEqual(this.#hasher.digest('sha1', info), this.#v1)) &&
      (this.#v2 === undefined || bytesEqual(this.#hasher.digest('sha256', info), this.#v2));
    if (ok) {
      this.#done = true;
      out.push({ type: 'complete', info });
      return;
    }
    if (this.#contributors.size === 1) {
      // One sender: it sent bad metadata (or a size that is not the real one).
      for (const peer of this.#contributors) {
        this.#dropPeer(peer);
        out.push({ type: 'bad-peer', peer, reason: 'metadata does not match the info-hash' });
      }
    } else {
      // Several senders, and no telling which lied: from now on, one sender per attempt.
      this.#solo = true;
    }
    // Start over, with a size another peer announced if this one's peers are all gone.
    const size = this.#size;
    this.#size = 0;
    const keeps = [...this.#peers.values()].some((p) => p.size === size);
    if (keeps) this.#useSize(size);
    else {
      this.#pieces = [];
      this.#contributors.clear();
    }
    this.#fill(out, now);
  }
}
