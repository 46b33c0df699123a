/**
 * Which of a torrent's files are wanted, and how much: the user's file priorities (0 skip,
 * 1 normal, 2 high, by metainfo file index) turned into piece priorities for the engine, with the
 * files a v2 torrent cannot verify yet (no piece layer) skipped until it can; the selection
 * handed to storage (skipped files' bytes go to the parts file); and the streaming window.
 */
import type { EngineAction, TorrentEngine } from '../engine/index.js';
import type { Metainfo } from '../metainfo/index.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';
import { piecePriorities } from './torrent-types.js';

export interface FileSelectionHost {
  readonly metainfo: Metainfo;
  readonly storage: TorrentStorage;
  readonly engine: TorrentEngine;
  now(): number;
  run(actions: EngineAction[]): void;
  /** Files whose v2 piece layer is not known yet (metainfo indices). */
  missingLayers(): number[];
  /** Every wanted piece is verified (after the change). */
  isFinished(): boolean;
  /** A complete torrent wants more now (priorities changed). */
  finishedChanged(): void;
  fail(error: unknown): void;
}

export class FileSelection {
  readonly #host: FileSelectionHost;
  /** File priorities the user chose (undefined: all normal). */
  #user: readonly number[] | undefined;

  constructor(host: FileSelectionHost, priorities: readonly number[] | undefined) {
    this.#host = host;
    this.#user = priorities;
    this.#select();
  }

  /** The user's priorities (undefined: all normal). */
  get priorities(): readonly number[] | undefined {
    return this.#user;
  }

  /** True when file `index` (metainfo index) is wanted. */
  isWanted(index: number): boolean {
    return this.#user === undefined || (this.#user[index] ?? 1) > 0;
  }

  /** Changes the priorities (0 skip, 1 normal, 2 high) by metainfo file index. */
  set(priorities: readonly number[]): void {
    this.#user = [...priorities];
    this.#select((i) => this.#host.engine.have(i));
    this.apply();
  }

  /** Makes a skipped file wanted (someone reads it). */
  want(index: number): void {
    const p = this.#user?.[index];
    if (p === undefined || p > 0) return;
    const next = [...(this.#user ?? [])];
    next[index] = 1;
    this.set(next);
  }

  /** The selection again, for a storage that replaced the old one (the files moved). */
  reselect(): void {
    this.#select((i) => this.#host.engine.have(i));
  }

  /** Skipped files' bytes live in the parts file, not beside the selected files. */
  #select(isVerified?: (piece: number) => boolean): void {
    const p = this.#user;
    if (p === undefined) return;
    const wanted = this.#host.metainfo.files.map((_, i) => (p[i] ?? 1) > 0);
    this.#host.storage.setWantedFiles(wanted, isVerified).catch((e: unknown) => this.#host.fail(e));
  }

  /** The user's priorities for the engine, with files that cannot be verified yet skipped. */
  apply(): void {
    const h = this.#host;
    const wasFinished = h.isFinished();
    const missing = h.missingLayers();
    const p = [...(this.#user ?? h.metainfo.files.map(() => 1))];
    if (h.metainfo.version === 'v2') for (const i of missing) p[i] = 0;
    // Seeds are kept while layers are missing (v2 or hybrid): they are who can send them.
    h.engine.setKeepSeeds(missing.length > 0);
    h.run(h.engine.setFilePriorities(piecePriorities(h.metainfo, p), h.now()));
    if (wasFinished && !h.isFinished()) h.finishedChanged();
  }

  /** Pieces `[first, first + count)` go before all others, in order; `count` 0 clears. */
  setStreamingWindow(first: number, count: number): void {
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count)) return;
    const h = this.#host;
    h.run(h.engine.setStreamingWindow(Math.max(0, first), Math.max(0, count), h.now()));
  }
}
