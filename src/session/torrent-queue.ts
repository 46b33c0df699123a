/**
 * The session's queue (Transmission's download and seed queues): at most `maxActiveDownloads`
 * torrents download and `maxActiveSeeds` seed at once; the others wait, `queued`, in queue
 * order, and start as places free up (a download finishes, a torrent is paused or removed).
 * Paused and failed torrents take no place. A torrent still checking its data counts as a
 * download until it is known to be complete. 0 means no limit.
 */
import type { Torrent } from './torrent.js';

export interface QueueLimits {
  readonly downloads: number;
  readonly seeds: number;
}

export class TorrentQueue {
  readonly #order: Torrent[] = [];
  #limits: QueueLimits;
  #scheduled = false;

  constructor(limits: QueueLimits) {
    this.#limits = limits;
  }

  get limits(): QueueLimits {
    return this.#limits;
  }

  /** Changes the limits; the queue is decided again. */
  setLimits(limits: Partial<QueueLimits>): void {
    this.#limits = { ...this.#limits, ...limits };
    this.update();
  }

  /** A new torrent joins at the end of the queue. */
  add(t: Torrent): void {
    this.#order.push(t);
    const again = () => this.schedule();
    t.on('state', again);
    t.on('done', again);
    this.update();
  }

  remove(t: Torrent): void {
    const i = this.#order.indexOf(t);
    if (i >= 0) this.#order.splice(i, 1);
    this.schedule();
  }

  /** The torrent's place in the queue (0 first), or -1. */
  position(t: Torrent): number {
    return this.#order.indexOf(t);
  }

  /** Moves a torrent to `position` (clamped); the queue is decided again. */
  move(t: Torrent, position: number): void {
    const i = this.#order.indexOf(t);
    if (i < 0) return;
    this.#order.splice(i, 1);
    const at = Math.max(0, Math.min(this.#order.length, Math.floor(position)));
    this.#order.splice(at, 0, t);
    this.update();
  }

  /** Decides again soon (changes in one turn of the event loop are decided once). */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.update();
    });
  }

  /** Lets the first torrents of each kind run, within the limits, and holds the rest back. */
  update(): void {
    let downloads = 0;
    let seeds = 0;
    for (const t of this.#order) {
      const s = t.state;
      if (t.isPaused || s === 'error' || s === 'stopped') continue;
      const seeding = s !== 'checking' && t.isFinished;
      const max = seeding ? this.#limits.seeds : this.#limits.downloads;
      const running = seeding ? seeds : downloads;
      if (max === 0 || running < max) {
        t.setQueued(false);
        if (seeding) seeds++;
        else downloads++;
      } else t.setQueued(true);
    }
  }
}
