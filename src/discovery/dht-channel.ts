/** A queue turned into an async iterable, for the DHT runtime's long operations (STYLE §3). */

/** A bounded-by-its-producer queue turned into an async iterable (one consumer). */
export class Channel<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #done = false;
  #error: { e: unknown } | undefined;
  #wake: (() => void) | undefined;

  push(v: T): void {
    if (this.#done || this.#error !== undefined) return;
    this.#items.push(v);
    this.#wake?.();
  }

  end(): void {
    this.#done = true;
    this.#wake?.();
  }

  fail(e: unknown): void {
    if (this.#done || this.#error !== undefined) return;
    this.#error = { e };
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.#error !== undefined) throw this.#error.e;
      const v = this.#items.shift();
      if (v !== undefined) {
        yield v;
        continue;
      }
      if (this.#done) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}
