/**
 * Carries out a torrent engine's actions and keeps its timer: the one place where the pure
 * engine's decisions meet the torrent's connections, receive path and serve path.
 *
 * - `run(actions)` does each action in order (web seeds take the ones addressed to them first),
 *   then, once per event-loop turn, arms a timer at the engine's next deadline. That lookup walks
 *   every peer, so it is not repeated after every batch of messages (with 50 peers sending it
 *   took 7 % of the main thread); deadlines are timeouts of a second or more, and a turn's delay
 *   does not move them.
 * - When the timer fires, `engine.tick(now)` gives the next actions.
 * - `stop()` clears the timer (a halted torrent); `close()` also drops a pending arm.
 */
import type { EngineAction, EngineEvent, TorrentEngine } from '../engine/index.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import type { TorrentParts } from './torrent-parts.js';

/** What the driver needs from its torrent. */
export interface EngineDriverHost {
  /** The torrent's current engine (a recheck makes a new one). */
  engine(): TorrentEngine;
  parts(): TorrentParts;
  now(): number;
  isClosed(): boolean;
  /** The engine says the download is complete. */
  done(): void;
  /** An engine event for the torrent's listeners. */
  event(e: EngineEvent): void;
}

export class EngineDriver {
  readonly #host: EngineDriverHost;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #arming: NodeJS.Immediate | undefined;

  constructor(host: EngineDriverHost) {
    this.#host = host;
  }

  run(actions: readonly EngineAction[]): void {
    const p = this.#host.parts();
    for (const a of actions) if (!p.peers.webSeeds.takes(a)) this.#do(p, a);
    this.#arming ??= setImmediate(() => {
      this.#arming = undefined;
      this.#arm();
    });
  }

  /** Clears the engine's timer; the next `run` arms it again. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  close(): void {
    this.stop();
    if (this.#arming !== undefined) clearImmediate(this.#arming);
    this.#arming = undefined;
  }

  #do(p: TorrentParts, a: EngineAction): void {
    switch (a.type) {
      case 'send':
        p.peers.get(a.peer)?.conn.send(a.msg);
        return;
      case 'close':
        p.peers.get(a.peer)?.conn.close(a.reason, a.error);
        return;
      case 'ban':
        p.peers.ban(a.address, a.reason, a.evidence);
        return;
      case 'write-block':
        p.writer.writeBlock(a.piece, a.offset, a.data);
        return;
      case 'read-block':
        void p.server.serve(a.peer, a.piece, a.offset, a.length);
        return;
      case 'piece-complete':
        p.writer.onPieceComplete(a.index);
        return;
      case 'done':
        this.#host.done();
        return;
      case 'event':
        this.#host.event(a.event);
        return;
      default:
        assertNever(a);
    }
  }

  #arm(): void {
    const host = this.#host;
    if (host.isClosed()) return;
    const at = host.engine().nextDeadline();
    if (at === undefined) return;
    if (this.#timer !== undefined && at >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        if (!host.isClosed()) this.run(host.engine().tick(host.now()));
      },
      Math.max(0, at - host.now()),
    );
    this.#timer.unref();
  }
}

function assertNever(x: never): never {
  throw new ShoalError(ErrorCode.SessionInvalidArgument, `unexpected action ${JSON.stringify(x)}`, {});
}
