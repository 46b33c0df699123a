/**
 * The piece threads: up to `count` plain worker threads (`piece-thread.ts`) that check each
 * received piece and write it when it matches ({@link HashPool.hashPieceBuffer}).
 *
 * Why not piscina, which runs the other hashing tasks: a piscina worker loads piscina itself,
 * ~4 MB more than a plain thread that loads only `piece-task.ts` (a live isolate costs ~10 MB
 * on its own), and a download runs one from start to end.
 *
 * Each task goes at once to the thread with the fewest tasks in hand (a new thread is started
 * while fewer than `count` run and all are busy); a thread runs its tasks in order. Callers
 * bound how many pieces they submit. A thread is unref'd while it has nothing to do, so it never
 * keeps the process alive. A thread that dies (an uncaught error, or it exits) fails its tasks
 * and is replaced on the next one. `close()` stops them all and fails what is in hand.
 */
import { Worker } from 'node:worker_threads';
import type { PiecesFailure, PieceTask } from './piece-task.js';
import type { PieceThreadRequest, PieceThreadResponse } from './piece-thread.js';

/** Options of {@link PieceThreads}. */
export interface PieceThreadsOptions {
  /** Most threads. */
  readonly count: number;
  /** The thread's entry file (`piece-thread.js`, or the CommonJS shim that loads the `.ts`). */
  readonly entry: string;
  /** Given to the thread as `workerData` (the shim's module to load). */
  readonly workerData?: string;
  /** Young generation of each thread, MiB. */
  readonly youngGenerationMb: number;
}

interface InHand {
  resolve(result: Uint8Array | PiecesFailure): void;
  reject(err: Error): void;
}

interface Thread {
  readonly worker: Worker;
  readonly tasks: Map<number, InHand>;
}

/** See the module notes. */
export class PieceThreads {
  readonly #options: PieceThreadsOptions;
  readonly #threads: Thread[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: PieceThreadsOptions) {
    this.#options = options;
  }

  /** Threads running now. */
  get live(): number {
    return this.#threads.length;
  }

  /** Starts every thread now rather than at the first tasks. */
  start(): void {
    while (!this.#closed && this.#threads.length < this.#options.count) this.#spawn();
  }

  /**
   * Runs `task` on a thread. Its buffer is moved there (detached here) and comes back as the
   * result, unless the piece's write failed. Rejects when the thread dies or the pool closes.
   */
  run(task: PieceTask): Promise<Uint8Array | PiecesFailure> {
    if (this.#closed) return Promise.reject(new Error('the piece threads are closed'));
    let thread: Thread | undefined;
    for (const t of this.#threads) if (thread === undefined || t.tasks.size < thread.tasks.size) thread = t;
    if (thread === undefined || (thread.tasks.size > 0 && this.#threads.length < this.#options.count)) {
      thread = this.#spawn();
    }
    const t = thread;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      t.tasks.set(id, { resolve, reject });
      t.worker.ref();
      const request: PieceThreadRequest = { id, task };
      try {
        t.worker.postMessage(request, [task.data.buffer as ArrayBuffer]);
      } catch (err) {
        t.tasks.delete(id);
        if (t.tasks.size === 0) t.worker.unref();
        reject(err as Error);
      }
    });
  }

  #spawn(): Thread {
    const worker = new Worker(this.#options.entry, {
      workerData: this.#options.workerData,
      resourceLimits: { maxYoungGenerationSizeMb: this.#options.youngGenerationMb },
    });
    const t: Thread = { worker, tasks: new Map() };
    worker.on('message', ({ id, result }: PieceThreadResponse) => {
      const inHand = t.tasks.get(id);
      if (inHand === undefined) return;
      t.tasks.delete(id);
      if (t.tasks.size === 0) worker.unref();
      inHand.resolve(result);
    });
    const fail = (err: Error): void => {
      const at = this.#threads.indexOf(t);
      if (at >= 0) this.#threads.splice(at, 1);
      for (const inHand of t.tasks.values()) inHand.reject(err);
      t.tasks.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`a piece thread exited (code ${code})`)));
    worker.unref();
    this.#threads.push(t);
    return t;
  }

  /** Stops every thread; tasks in hand are rejected. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    const threads = this.#threads.splice(0);
    const closed = new Error('the piece threads are closed');
    await Promise.all(
      threads.map(async (t) => {
        for (const inHand of t.tasks.values()) inHand.reject(closed);
        t.tasks.clear();
        await t.worker.terminate();
      }),
    );
  }
}
