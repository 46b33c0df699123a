/**
 * The daemon's queue order: every torrent it keeps, first to last (Transmission's queue
 * positions), persisted as each record's `queuePosition`. The session queues only the torrents
 * it holds (a magnet still fetching its metadata is not one of them), so the session's order is
 * kept equal to this order restricted to the session's torrents: a torrent entering the session
 * (it joins the session's queue last) or moved here is placed among the session's torrents
 * after exactly those that come before it here.
 */
import type { Session } from '../session/index.js';

/** How a torrent moves in the queue. */
export type QueueMove = 'up' | 'down' | 'top' | 'bottom';

/** What the queue orders: each one's place is written into it (0 first, -1 when not queued). */
interface Queued {
  readonly id: string;
  queuePosition: number;
}

export class QueueOrder<T extends Queued> {
  readonly #session: Pick<Session, 'queuePosition' | 'setQueuePosition' | 'getTorrent'>;
  #order: T[] = [];

  constructor(session: Pick<Session, 'queuePosition' | 'setQueuePosition' | 'getTorrent'>) {
    this.#session = session;
  }

  /** The torrents, first to last. */
  list(): readonly T[] {
    return this.#order;
  }

  /** `t`'s place (0 first), or -1. */
  position(t: T): number {
    return t.queuePosition;
  }

  /** Appends `t` (a new torrent waits behind the others). */
  add(t: T): void {
    if (t.queuePosition >= 0 && this.#order[t.queuePosition] === t) return;
    t.queuePosition = this.#order.length;
    this.#order.push(t);
  }

  remove(t: T): void {
    const i = this.#order.indexOf(t);
    if (i < 0) return;
    this.#order.splice(i, 1);
    t.queuePosition = -1;
    this.#renumber(i);
  }

  #renumber(from: number): void {
    for (let i = from; i < this.#order.length; i++) this.#order[i]!.queuePosition = i;
  }

  /** Moves `t` one place, or to an end, or to `position` (clamped); returns its new place. */
  move(t: T, how: QueueMove | number): number {
    const i = this.#order.indexOf(t);
    if (i < 0) return -1;
    const last = this.#order.length - 1;
    const to =
      how === 'up'
        ? i - 1
        : how === 'down'
          ? i + 1
          : how === 'top'
            ? 0
            : how === 'bottom'
              ? last
              : Math.floor(how);
    const at = Math.max(0, Math.min(last, to));
    if (at !== i) {
      this.#order.splice(i, 1);
      this.#order.splice(at, 0, t);
      this.#renumber(Math.min(i, at));
    }
    this.place(t);
    return at;
  }

  /** Puts `t` in the session's queue after the session's torrents that precede it here. */
  place(t: T): void {
    const now = this.#session.queuePosition(t.id);
    if (now < 0) return;
    let before = 0;
    for (const o of this.#order) {
      if (o === t) break;
      // A torrent the session holds is in its queue (a map lookup, where a position is a scan).
      if (this.#session.getTorrent(o.id) !== undefined) before++;
    }
    if (now !== before) this.#session.setQueuePosition(t.id, before);
  }
}
