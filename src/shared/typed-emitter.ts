/** A typed facade over node:events: one event map per emitter (STYLE §3). */
import { EventEmitter } from 'node:events';

// biome-ignore lint/suspicious/noExplicitAny: listener argument tuples are checked by the map
export type EventMap = Record<string, any>;

export class TypedEmitter<T extends EventMap> {
  readonly #ee = new EventEmitter();

  constructor() {
    this.#ee.setMaxListeners(100);
  }

  on<K extends keyof T & string>(event: K, listener: (payload: T[K]) => void): this {
    this.#ee.on(event, listener);
    return this;
  }

  once<K extends keyof T & string>(event: K, listener: (payload: T[K]) => void): this {
    this.#ee.once(event, listener);
    return this;
  }

  off<K extends keyof T & string>(event: K, listener: (payload: T[K]) => void): this {
    this.#ee.off(event, listener);
    return this;
  }

  /** Resolves with the next payload of `event` (rejects on `signal` abort). */
  next<K extends keyof T & string>(event: K, signal?: AbortSignal): Promise<T[K]> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#ee.off(event, handler);
        reject(signal?.reason);
      };
      const handler = (p: T[K]) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(p);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#ee.once(event, handler);
    });
  }

  protected emit<K extends keyof T & string>(event: K, payload: T[K]): void {
    if (event === 'error' && this.#ee.listenerCount('error') === 0) return;
    this.#ee.emit(event, payload);
  }

  listenerCount<K extends keyof T & string>(event: K): number {
    return this.#ee.listenerCount(event);
  }
}
