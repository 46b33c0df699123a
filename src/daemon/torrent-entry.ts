/**
 * What the daemon knows of one torrent, whether the session holds it or not: its persisted
 * record, its metainfo (once known), the session's {@link Torrent} (from its start until it is
 * removed or fails to start; paused and queued torrents stay in the session), and the last known
 * progress (from the resume record while it is not in the session yet).
 *
 * Operations on one torrent (pause, resume, verify, remove, priorities) are serialised through
 * {@link TorrentEntry.run}, so two requests can never interleave their steps.
 */
import type { Metainfo } from '../metainfo/index.js';
import type { PendingMagnet, Torrent } from '../session/index.js';
import { toHex } from '../shared/hash.js';
import { PieceMap } from '../storage/index.js';
import type { Bitfield } from '../wire/index.js';
import type { TorrentStateName } from './api-types.js';
import type { TorrentRecord } from './state-store.js';

/** What `Torrent.stats()` returns. */
export type TorrentRunStats = ReturnType<Torrent['stats']>;

/** Progress known without a running torrent. */
export interface ProgressSnapshot {
  readonly have: Bitfield;
  readonly uploaded: number;
  readonly downloaded: number;
}

/** Piece layout facts derived from the metainfo and the file priorities (cached). */
export interface Layout {
  readonly map: PieceMap;
  /** Bytes of wanted (priority > 0), non-padding files. */
  readonly wantedBytes: number;
  /** Bytes of the pieces touching a wanted file (what the engine's `leftBytes` counts down). */
  readonly wantedPieceBytes: number;
  /** Pieces touching a wanted file. */
  readonly wanted: Uint8Array;
}

export class TorrentEntry {
  readonly id: string;
  record: TorrentRecord;
  metainfo: Metainfo | undefined;
  /** The session's torrent, while the session holds it (running, paused, queued or failed). */
  torrent: Torrent | undefined;
  /** The magnet whose metadata is being fetched, while it is. */
  pendingMagnet: PendingMagnet | undefined;
  /** Aborts the metadata fetch of a magnet. */
  magnetAbort: AbortController | undefined;
  /**
   * Aborted whenever the torrent stops running (paused, removed, failed): streams waiting on it
   * give up. {@link renewLife} gives a started or resumed torrent a fresh one.
   */
  life = new AbortController();
  /** Last known progress while not running. */
  snapshot: ProgressSnapshot | undefined;
  /** A daemon-level error (missing .torrent file, failed metadata fetch). */
  failure: string | undefined;
  /** Peers the user named (`--peer`, `shoal peer add`), from the record: given to it whenever it starts. */
  peerList(): readonly { readonly host: string; readonly port: number }[] {
    return this.record.peers ?? [];
  }
  /** Set by `remove` until the removal is complete: listed, but no longer addressable. */
  removing = false;
  /** Number of `/stream` responses reading this torrent. */
  streams = 0;
  /** Place in the daemon's queue (kept by QueueOrder; 0 first, -1 before it joins). */
  queuePosition = -1;
  #stats: { readonly torrent: Torrent; readonly stats: TorrentRunStats } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #layout: { key: readonly number[] | undefined; metainfo: Metainfo; layout: Layout } | undefined;
  #hex: { metainfo: Metainfo | undefined; v1: string | null; v2: string | null } | undefined;

  constructor(record: TorrentRecord, metainfo: Metainfo | undefined) {
    this.id = record.id;
    this.record = record;
    this.metainfo = metainfo;
  }

  /**
   * The running torrent's statistics. `Torrent.stats()` costs microseconds, which a list of
   * thousands of torrents pays on every request; an idle torrent (no peer, both rates zero) cannot
   * change until a peer connects or a piece is verified, so its last figures are reused until
   * {@link invalidateStats} (called on the torrent's `peer`, `piece`, `done` and `error` events,
   * and when priorities change).
   */
  stats(): TorrentRunStats | undefined {
    const t = this.torrent;
    if (t === undefined) return undefined;
    const c = this.#stats;
    if (c !== undefined && c.torrent === t) return c.stats;
    const stats = t.stats();
    const idle = stats.peerCount === 0 && stats.downloadRate === 0 && stats.uploadRate === 0;
    this.#stats = idle ? { torrent: t, stats } : undefined;
    return stats;
  }

  invalidateStats(): void {
    this.#stats = undefined;
  }

  /** A fresh {@link life} when the last one was aborted. */
  renewLife(): void {
    if (this.life.signal.aborted) this.life = new AbortController();
  }

  /** Runs `fn` after every operation queued before it on this torrent. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn, fn);
    this.#queue = p.catch(() => {});
    return p;
  }

  get name(): string {
    return this.metainfo?.name ?? this.record.name;
  }

  /** Hex info-hashes (cached; for a magnet without metadata, from its id). */
  hashes(): { readonly v1: string | null; readonly v2: string | null } {
    const m = this.metainfo;
    if (this.#hex !== undefined && this.#hex.metainfo === m) return this.#hex;
    const v1 = m?.infoHashV1 ? toHex(m.infoHashV1) : this.id.length === 40 ? this.id : null;
    const v2 = m?.infoHashV2 ? toHex(m.infoHashV2) : this.id.length === 64 ? this.id : null;
    this.#hex = { metainfo: m, v1, v2 };
    return this.#hex;
  }

  get infoHashV2Hex(): string | undefined {
    return this.metainfo?.infoHashV2 === undefined ? undefined : (this.hashes().v2 ?? undefined);
  }

  get state(): TorrentStateName {
    const t = this.torrent;
    if (t !== undefined) {
      switch (t.state) {
        case 'checking':
          return 'checking';
        case 'downloading':
          return 'downloading';
        case 'seeding':
          return 'seeding';
        case 'paused':
          return 'paused';
        case 'queued':
          return 'queued';
        case 'error':
          return 'error';
        case 'stopped':
          return this.record.paused ? 'paused' : 'queued';
      }
    }
    if (this.failure !== undefined) return 'error';
    if (this.pendingMagnet !== undefined || (this.magnetAbort !== undefined && this.metainfo === undefined))
      return 'metadata';
    return this.record.paused ? 'paused' : 'queued';
  }

  /** Why the torrent is in `error`. */
  get errorMessage(): string | undefined {
    if (this.torrent?.state === 'error') return this.torrent.error?.message ?? 'unknown error';
    return this.failure;
  }

  /** Effective priority of each file by file index (0 skip, 1 normal, 2 high; padding files 0 or 1, unused). */
  priorities(): number[] {
    const m = this.metainfo;
    if (m === undefined) return [];
    const p = this.record.filePriorities;
    return m.files.map((_, i) => p?.[i] ?? 1);
  }

  /** Piece layout and wanted sizes, recomputed when the priorities change. */
  layout(): Layout | undefined {
    const m = this.metainfo;
    if (m === undefined) return undefined;
    // Records are replaced, never mutated: the priorities array's identity is the cache key.
    const key = this.record.filePriorities;
    if (this.#layout !== undefined && this.#layout.key === key && this.#layout.metainfo === m)
      return this.#layout.layout;
    const map = this.torrent?.storage.map ?? new PieceMap(m);
    const prio = this.priorities();
    const wanted = new Uint8Array(m.pieceCount);
    let wantedBytes = 0;
    m.files.forEach((f, i) => {
      if (f.isPadding || f.length === 0 || prio[i] === 0) return;
      wantedBytes += f.length;
      const { first, last } = map.filePieces(i);
      wanted.fill(1, first, last + 1);
    });
    let wantedPieceBytes = 0;
    for (let i = 0; i < wanted.length; i++) if (wanted[i] === 1) wantedPieceBytes += map.pieceSize(i);
    const layout = { map, wantedBytes, wantedPieceBytes, wanted };
    this.#layout = { key, metainfo: m, layout };
    return layout;
  }
}
