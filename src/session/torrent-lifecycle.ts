/**
 * The state machine of one torrent's life: `checking` → `downloading` ↔ `seeding`, with
 * `paused` (the user), `queued` (the session's active limits), `checking` again (a recheck),
 * `stopped` (closed) and `error`. It decides *when* the torrent runs — connects, announces,
 * keeps house — and asks its host to start or stop doing so; what running means is the host's.
 */
import type { TorrentState } from './torrent-types.js';

/** What the lifecycle drives. */
export interface LifecycleHost {
  isClosed(): boolean;
  hasFailed(): boolean;
  /** Every wanted piece is verified. */
  isFinished(): boolean;
  /** The state changed: publish it. */
  stateChanged(state: TorrentState): void;
  /** Start connecting, announcing and keeping house. */
  run(): void;
  /** Stop all of that; every connection closes with `reason`. */
  halt(reason: string): Promise<void>;
  /** Save the resume record now. */
  save(): Promise<void>;
  /** Hash the data on disk again and take it as the truth; reports progress in [0, 1]. */
  recheckData(progress: (share: number) => void): Promise<void>;
}

export class TorrentLifecycle {
  readonly #host: LifecycleHost;
  #state: TorrentState = 'checking';
  #paused: boolean;
  #queued = false;
  #recheck: Promise<void> | undefined;
  #checkProgress = 1;

  constructor(host: LifecycleHost, paused: boolean) {
    this.#host = host;
    this.#paused = paused;
  }

  get state(): TorrentState {
    return this.#state;
  }

  get isPaused(): boolean {
    return this.#paused;
  }

  /** Downloading or seeding, and not paused. */
  get isRunning(): boolean {
    return !this.#paused && (this.#state === 'downloading' || this.#state === 'seeding');
  }

  /** Share of the pieces hashed by the check in progress (1 when none runs). */
  get checkProgress(): number {
    return this.#checkProgress;
  }

  set(state: TorrentState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#host.stateChanged(state);
  }

  /** The first check (or resume record) is done: run, or wait paused / queued. */
  started(): void {
    if (this.#host.isClosed()) return;
    if (this.#paused) this.set('paused');
    else this.#activate();
  }

  /** A download completed, or a priority change made a complete torrent want more. */
  finishedChanged(): void {
    if (this.#state === 'downloading' && this.#host.isFinished()) this.set('seeding');
    else if (this.#state === 'seeding' && !this.#host.isFinished()) this.set('downloading');
  }

  #activate(): void {
    if (this.#host.isClosed() || this.#host.hasFailed()) return;
    if (this.#queued) {
      this.set('queued');
      return;
    }
    this.set(this.#host.isFinished() ? 'seeding' : 'downloading');
    this.#host.run();
  }

  /**
   * Pauses: every connection closes, the trackers hear `stopped`, nothing is dialled or accepted;
   * verified data and the resume record stay. Resolves once the record is saved.
   */
  async pause(): Promise<void> {
    if (this.#host.isClosed() || this.#paused) return;
    this.#paused = true;
    if (this.#state === 'checking') return; // the check ends paused
    if (this.#state !== 'error') this.set('paused');
    await this.#host.halt('paused');
    await this.#host.save();
  }

  resume(): void {
    if (this.#host.isClosed() || !this.#paused) return;
    this.#paused = false;
    if (this.#state === 'paused') this.#activate();
  }

  /** The session's queue holds the torrent back (`true`) or lets it run. */
  setQueued(queued: boolean): void {
    if (this.#queued === queued || this.#host.isClosed()) return;
    this.#queued = queued;
    if (queued && (this.#state === 'downloading' || this.#state === 'seeding')) {
      this.set('queued');
      void this.#host.halt('queued');
    } else if (!queued && this.#state === 'queued' && !this.#paused) this.#activate();
  }

  /**
   * Runs `op` with the torrent halted, in state `during` (e.g. `moving`), then runs again (or
   * stays paused). One such operation (or recheck) at a time.
   */
  exclusive(during: TorrentState, op: () => Promise<void>): Promise<void> {
    const run = (this.#recheck ?? Promise.resolve())
      .catch(() => {})
      .then(async () => {
        const before = this.#state;
        this.set(during);
        await this.#host.halt(during);
        try {
          await op();
        } finally {
          if (!this.#host.isClosed() && !this.#host.hasFailed()) {
            if (this.#paused) this.set('paused');
            else if (before === 'queued') this.set('queued');
            else this.#activate();
          }
        }
      });
    this.#recheck = run.finally(() => {
      if (this.#recheck === run) this.#recheck = undefined;
    });
    return run;
  }

  /** Hashes the data again (one check at a time), then runs or stays paused. */
  recheck(): Promise<void> {
    this.#recheck ??= this.#runRecheck().finally(() => {
      this.#recheck = undefined;
    });
    return this.#recheck;
  }

  async #runRecheck(): Promise<void> {
    this.set('checking');
    await this.#host.halt('recheck');
    this.#checkProgress = 0;
    try {
      await this.#host.recheckData((share) => {
        this.#checkProgress = share;
      });
    } finally {
      this.#checkProgress = 1;
    }
    if (this.#host.isClosed() || this.#host.hasFailed()) return;
    await this.#host.save();
    if (this.#paused) this.set('paused');
    else this.#activate();
  }
}
