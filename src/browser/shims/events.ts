/**
 * `node:events` as the browser bundle sees it (vite aliases the import here): the part of
 * `EventEmitter` that src/shared/typed-emitter.ts uses.
 */
type Listener = (...args: unknown[]) => void;

export class EventEmitter {
  readonly #map = new Map<string, Listener[]>();

  setMaxListeners(_n: number): this {
    return this;
  }

  on(event: string, fn: Listener): this {
    this.#map.set(event, [...(this.#map.get(event) ?? []), fn]);
    return this;
  }

  once(event: string, fn: Listener): this {
    const once: Listener & { inner?: Listener } = (...args) => {
      this.off(event, once);
      fn(...args);
    };
    once.inner = fn;
    return this.on(event, once);
  }

  off(event: string, fn: Listener): this {
    const list = this.#map.get(event) ?? [];
    const i = list.findIndex((l) => l === fn || (l as { inner?: Listener }).inner === fn);
    if (i >= 0) this.#map.set(event, [...list.slice(0, i), ...list.slice(i + 1)]);
    return this;
  }

  emit(event: string, ...args: unknown[]): boolean {
    const list = this.#map.get(event);
    if (list === undefined || list.length === 0) {
      if (event === 'error') throw args[0] instanceof Error ? args[0] : new Error(String(args[0]));
      return false;
    }
    for (const l of list) l(...args);
    return true;
  }

  listenerCount(event: string): number {
    return this.#map.get(event)?.length ?? 0;
  }
}
