/**
 * The MSE handshakes' input buffer. Bytes arrive in borrowed chunks of any size; the state
 * machines read fixed fields, search windows and padding from them. Bytes are read from the
 * chunk in place when they are contiguous there, and copied into a small fixed buffer only when
 * a field straddles two chunks or the handshake waits for more. Whatever is left when a push
 * returns is copied (the chunk is borrowed), and that is bounded by the largest read a state
 * asks for, so a handshake never holds more than `capacity` bytes.
 *
 * Views returned by {@link ByteQueue.peek}/{@link ByteQueue.take} are valid until the next call.
 */
const EMPTY = new Uint8Array(0);

export class ByteQueue {
  readonly #pend: Uint8Array;
  #pStart = 0;
  #pEnd = 0;
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  #consumed = 0;

  /** @param capacity the largest `peek`/`take` that will be asked for, in bytes. */
  constructor(capacity: number) {
    this.#pend = new Uint8Array(capacity);
  }

  /** Bytes consumed since the start: the stream offset of the next byte. */
  get offset(): number {
    return this.#consumed;
  }

  /** Bytes readable now. */
  get available(): number {
    return this.#pEnd - this.#pStart + this.#chunk.length - this.#pos;
  }

  /** Starts reading `chunk` (borrowed until {@link stash}). */
  feed(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#pos = 0;
  }

  /** The first `min(n, available)` bytes, contiguous, without consuming them. */
  peek(n: number): Uint8Array {
    if (n > this.#pend.length) throw new RangeError('peek beyond the queue capacity');
    const held = this.#pEnd - this.#pStart;
    if (held === 0) return this.#chunk.subarray(this.#pos, this.#pos + n);
    const m = Math.min(n - held, this.#chunk.length - this.#pos);
    if (m > 0) {
      this.#reserve(m);
      this.#pend.set(this.#chunk.subarray(this.#pos, this.#pos + m), this.#pEnd);
      this.#pEnd += m;
      this.#pos += m;
    }
    return this.#pend.subarray(this.#pStart, this.#pStart + Math.min(n, this.#pEnd - this.#pStart));
  }

  /** Drops the first `n` bytes (at most {@link available}). */
  consume(n: number): void {
    const held = this.#pEnd - this.#pStart;
    if (n <= held) this.#pStart += n;
    else {
      this.#pStart = this.#pEnd = 0;
      this.#pos += n - held;
    }
    this.#consumed += n;
  }

  /** Exactly `n` bytes, consumed, or undefined (and nothing consumed) when fewer are here. */
  take(n: number): Uint8Array | undefined {
    if (this.available < n) return undefined;
    const v = this.peek(n);
    this.consume(n);
    return v;
  }

  /** Up to `n` bytes (as many as are here, maybe none), consumed. */
  takeSome(n: number): Uint8Array {
    const v = this.peek(Math.min(n, this.available, this.#pend.length));
    this.consume(v.length);
    return v;
  }

  /** Every byte left, as a fresh copy; the queue is then empty. */
  rest(): Uint8Array {
    const held = this.#pend.subarray(this.#pStart, this.#pEnd);
    const tail = this.#chunk.subarray(this.#pos);
    const out = new Uint8Array(held.length + tail.length);
    out.set(held, 0);
    out.set(tail, held.length);
    this.consume(out.length);
    this.#chunk = EMPTY;
    this.#pos = 0;
    return out;
  }

  /** Ends a push: copies the unread rest of the borrowed chunk and lets go of the chunk. */
  stash(): void {
    const m = this.#chunk.length - this.#pos;
    if (m > 0) {
      this.#reserve(m);
      this.#pend.set(this.#chunk.subarray(this.#pos), this.#pEnd);
      this.#pEnd += m;
    }
    this.#chunk = EMPTY;
    this.#pos = 0;
  }

  /** Makes room for `m` more bytes at the end of the held bytes. */
  #reserve(m: number): void {
    if (this.#pEnd + m <= this.#pend.length) return;
    const held = this.#pEnd - this.#pStart;
    if (held + m > this.#pend.length) throw new RangeError('MSE input queue over its capacity');
    this.#pend.copyWithin(0, this.#pStart, this.#pEnd);
    this.#pStart = 0;
    this.#pEnd = held;
  }
}
