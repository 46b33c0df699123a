/**
 * The receiving half of one connection's memory: packets that arrived but cannot be handed to
 * the reader yet — out of order (a gap before them) or in order while the reader is paused.
 *
 * Slots are indexed by `seq_nr & (slots − 1)`, and each keeps its byte array once allocated
 * (grown, never shrunk), so a steady transfer reuses the same memory. The total held is bounded
 * by the connection's receive buffer: packets past it are dropped, and the advertised window
 * (receive buffer − held − delivered but not consumed) tells the sender to slow down first.
 */

/** Out-of-order and undelivered packets of one connection. */
export class ReceiveBuffer {
  readonly slots: number;
  readonly #mask: number;
  readonly #data: (Uint8Array | undefined)[];
  readonly #length: Int32Array;
  readonly #present: Uint8Array;
  /** Payload bytes held. */
  heldBytes = 0;
  /** Packets held. */
  heldPackets = 0;

  /** `slots` must be a power of two below 32768. */
  constructor(slots: number) {
    this.slots = slots;
    this.#mask = slots - 1;
    this.#data = new Array<Uint8Array | undefined>(slots).fill(undefined);
    this.#length = new Int32Array(slots);
    this.#present = new Uint8Array(slots);
  }

  /** True when a packet with `seq` is held. */
  has(seq: number): boolean {
    return this.#present[seq & this.#mask] === 1;
  }

  /** Copies a packet's payload (`bytes[at, at + n)`) into the slot of `seq`. */
  store(seq: number, bytes: Uint8Array, at: number, n: number): void {
    const i = seq & this.#mask;
    if (this.#present[i] === 1) return;
    let buf = this.#data[i];
    if (buf === undefined || buf.length < n) {
      buf = new Uint8Array(Math.max(n, 1500));
      this.#data[i] = buf;
    }
    if (n > 0) buf.set(bytes.subarray(at, at + n), 0);
    this.#length[i] = n;
    this.#present[i] = 1;
    this.heldBytes += n;
    this.heldPackets++;
  }

  /** The bytes of the packet `seq` (valid until the slot is reused); its length is {@link lengthOf}. */
  dataOf(seq: number): Uint8Array {
    return this.#data[seq & this.#mask]!;
  }

  lengthOf(seq: number): number {
    return this.#length[seq & this.#mask]!;
  }

  /** Frees the slot of `seq`, keeping its memory for reuse. */
  remove(seq: number): void {
    const i = seq & this.#mask;
    if (this.#present[i] !== 1) return;
    this.#present[i] = 0;
    this.heldBytes -= this.#length[i]!;
    this.heldPackets--;
  }
}
