/**
 * The receiving half of one connection's memory: packets that arrived but cannot be handed to
 * the reader yet — out of order (a gap before them) or in order while the reader is paused.
 *
 * Slots are indexed by `seq_nr & (size − 1)` and remember which seq they hold; the table starts
 * small and doubles up to its bound ({@link ReceiveBuffer.slots} packets past the next one to
 * deliver). Each slot keeps its byte array once allocated, so a steady transfer reuses the same
 * memory — but no more than `retainBytes` in all (the receive buffer), so a peer varying its
 * packet sizes cannot make every slot keep a 64 KiB array. The total held is bounded by the
 * connection's receive buffer:
 * packets past it are dropped, and the advertised window (receive buffer − held − delivered but
 * not consumed) tells the sender to slow down first.
 */
import { seqDiff } from './seq.js';

/** Out-of-order and undelivered packets of one connection. */
export class ReceiveBuffer {
  /** Most packets held, counted from the next one to deliver (the bound). */
  readonly slots: number;
  #mask: number;
  #data: (Uint8Array | undefined)[];
  #length: Int32Array;
  /** The seq each slot holds, or -1 when free. */
  #seq: Int32Array;
  /** Payload bytes held. */
  heldBytes = 0;
  /** Packets held. */
  heldPackets = 0;
  /** Bytes of the slots' arrays, held or kept for reuse. */
  retainedBytes = 0;
  readonly #retainLimit: number;

  /**
   * `slots` must be a power of two below 32768; `retainBytes` bounds the memory kept for reuse.
   */
  constructor(slots: number, retainBytes = Number.POSITIVE_INFINITY, initialSlots = 16) {
    this.slots = slots;
    this.#retainLimit = retainBytes;
    const n = Math.min(slots, initialSlots);
    this.#mask = n - 1;
    this.#data = new Array<Uint8Array | undefined>(n).fill(undefined);
    this.#length = new Int32Array(n);
    this.#seq = new Int32Array(n).fill(-1);
  }

  /** True when a packet with `seq` is held. */
  has(seq: number): boolean {
    return this.#seq[seq & this.#mask] === seq;
  }

  /**
   * Copies a packet's payload (`bytes[at, at + n)`) into the slot of `seq`; `base` is the next seq
   * to deliver (every held seq is within `slots` after it).
   */
  store(seq: number, base: number, bytes: Uint8Array, at: number, n: number): void {
    while (seqDiff(seq, base) > this.#mask) this.#grow(base);
    const i = seq & this.#mask;
    if (this.#seq[i] === seq) return;
    let buf = this.#data[i];
    if (buf === undefined || buf.length < n) {
      if (buf !== undefined) this.retainedBytes -= buf.length;
      buf = new Uint8Array(Math.max(n, 1500));
      this.retainedBytes += buf.length;
      this.#data[i] = buf;
    }
    if (n > 0) buf.set(bytes.subarray(at, at + n), 0);
    this.#length[i] = n;
    this.#seq[i] = seq;
    this.heldBytes += n;
    this.heldPackets++;
  }

  /** The bytes of the packet `seq` (valid until the slot is reused); its length is {@link lengthOf}. */
  dataOf(seq: number): Uint8Array {
    return this.#data[seq & this.#mask] ?? this.#freed!;
  }

  lengthOf(seq: number): number {
    return this.#length[seq & this.#mask]!;
  }

  /** Frees the slot of `seq`, keeping its memory for reuse. */
  remove(seq: number): void {
    const i = seq & this.#mask;
    if (this.#seq[i] !== seq) return;
    this.#seq[i] = -1;
    this.heldBytes -= this.#length[i]!;
    this.heldPackets--;
    const buf = this.#data[i];
    if (buf !== undefined && this.retainedBytes > this.#retainLimit) {
      // Over the reuse budget: let this array go (its bytes stay valid for the caller's call).
      this.retainedBytes -= buf.length;
      this.#data[i] = undefined;
      this.#freed = buf;
    }
  }

  /** The array of the slot freed last, when {@link remove} let it go (see {@link dataOf}). */
  #freed: Uint8Array | undefined;

  /** Drops every packet and array (the connection ended). */
  dispose(): void {
    this.#data.fill(undefined);
    this.#seq.fill(-1);
    this.#freed = undefined;
    this.heldBytes = 0;
    this.heldPackets = 0;
    this.retainedBytes = 0;
  }

  #grow(base: number): void {
    const n = (this.#mask + 1) * 2;
    const mask = n - 1;
    const data = new Array<Uint8Array | undefined>(n).fill(undefined);
    const length = new Int32Array(n);
    const seqs = new Int32Array(n).fill(-1);
    for (let i = 0; i <= this.#mask; i++) {
      const s = this.#seq[i]!;
      if (s < 0 || seqDiff(s, base) > mask) {
        // Free slots' arrays are not carried over.
        const b = this.#data[i];
        if (b !== undefined && s < 0) this.retainedBytes -= b.length;
        continue;
      }
      data[s & mask] = this.#data[i];
      length[s & mask] = this.#length[i]!;
      seqs[s & mask] = s;
    }
    this.#mask = mask;
    this.#data = data;
    this.#length = length;
    this.#seq = seqs;
  }
}
