/**
 * The RC4 stage of an MSE/PE connection: a {@link PeerStream} over another one that decrypts
 * what it reads and encrypts what it writes, after the handshake (src/wire/mse) negotiated RC4.
 *
 * Reads are decrypted in place: a chunk from the transport is a borrowed view of a read buffer
 * that only this call uses, so no copy is needed. Writes cannot be: a caller may lend a buffer
 * that other connections read too (a cached piece block), so each write is encrypted into space
 * taken from a {@link SlabPool} and the caller's buffer is released at once. A slab is reused once
 * every write in it was handed to the network, so a steady upload allocates nothing.
 */
import type { PeerStream, StreamHandlers, TransportKind } from '../../net/transport.js';
import type { Rc4 } from '../../wire/index.js';

/** Size of the slabs encrypted writes are carved from. */
export const MSE_WRITE_SLAB_BYTES = 256 * 1024;
/** Free slabs kept for reuse (per process); more are left to the garbage collector. */
const MAX_FREE_SLABS = 64;

interface Slab {
  readonly bytes: Uint8Array;
  /** Writes still using the slab. */
  users: number;
  /** Next free byte. */
  used: number;
}

/** Space for encrypted writes, reused once the network took it (see the module notes). */
export class SlabPool {
  readonly #free: Slab[] = [];
  #current: Slab | undefined;

  /** `n` bytes of space, and the function to call once they are no longer needed. */
  take(n: number): { readonly view: Uint8Array; readonly release: () => void } {
    if (n > MSE_WRITE_SLAB_BYTES) return { view: new Uint8Array(n), release: () => {} };
    let slab = this.#current;
    if (slab === undefined || slab.used + n > slab.bytes.length) {
      slab = this.#free.pop() ?? { bytes: new Uint8Array(MSE_WRITE_SLAB_BYTES), users: 0, used: 0 };
      slab.used = 0;
      const old = this.#current;
      this.#current = slab;
      // The slab we leave goes back once its last write is done (or now, if none is pending).
      if (old !== undefined && old.users === 0) this.#recycle(old);
    }
    const s = slab;
    const view = s.bytes.subarray(s.used, s.used + n);
    s.used += n;
    s.users++;
    let released = false;
    return {
      view,
      release: () => {
        if (released) return;
        released = true;
        if (--s.users === 0 && s !== this.#current) this.#recycle(s);
      },
    };
  }

  #recycle(s: Slab): void {
    if (this.#free.length < MAX_FREE_SLABS) this.#free.push(s);
  }
}

/** The process's pool (one event loop: no locking needed). */
const sharedSlabs = new SlabPool();

/** A stream whose bytes are RC4-encrypted both ways (MSE/PE with RC4 selected). */
export class MseStream implements PeerStream {
  readonly #inner: PeerStream;
  readonly #encrypt: Rc4;
  readonly #decrypt: Rc4;

  constructor(inner: PeerStream, encrypt: Rc4, decrypt: Rc4) {
    this.#inner = inner;
    this.#encrypt = encrypt;
    this.#decrypt = decrypt;
  }

  get transport(): TransportKind {
    return this.#inner.transport;
  }
  get outgoing(): boolean {
    return this.#inner.outgoing;
  }
  get remoteAddress(): string {
    return this.#inner.remoteAddress;
  }
  get remotePort(): number {
    return this.#inner.remotePort;
  }
  get writableLength(): number {
    return this.#inner.writableLength;
  }
  get isOpen(): boolean {
    return this.#inner.isOpen;
  }

  bind(handlers: StreamHandlers): void {
    this.#inner.bind({
      data: (chunk) => {
        this.#decrypt.process(chunk);
        handlers.data(chunk);
      },
      drain: () => handlers.drain(),
      close: (error) => handlers.close(error),
    });
  }

  write(bytes: Uint8Array, onDone?: () => void): boolean {
    const space = sharedSlabs.take(bytes.length);
    this.#encrypt.processTo(bytes, space.view);
    // The caller's bytes were copied: its buffer is free now.
    onDone?.();
    return this.#inner.write(space.view, space.release);
  }

  cork(): void {
    this.#inner.cork();
  }
  uncork(): void {
    this.#inner.uncork();
  }
  pause(): void {
    this.#inner.pause();
  }
  resume(): void {
    this.#inner.resume();
  }
  destroy(error?: Error): void {
    this.#inner.destroy(error);
  }
}
