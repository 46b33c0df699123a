/**
 * The sending half of one connection's memory: a byte ring of what the writer gave us and the
 * packets cut from it that are still unacknowledged.
 *
 * Bytes are addressed by their absolute offset in the outgoing stream. The ring holds
 * `[released, written)`: `[released, cut)` belongs to packets in flight (uTP cannot repackage a
 * resend, so each packet keeps its exact span), `[cut, written)` is not yet in any packet. The
 * oldest packet's span is released only when the cumulative ACK passes it, so a selectively
 * acknowledged packet still holds its bytes until everything before it arrived — the ring never
 * exceeds its capacity, which is the send-buffer bound. It grows by doubling up to that capacity,
 * so an idle connection costs little and a busy one stops allocating once grown.
 *
 * The packets in flight live in parallel typed arrays indexed by `seq_nr & (size − 1)`: no
 * object per packet. They start small and double up to the bound as the window grows.
 */
import { seqAdd, seqDiff } from './seq.js';

const INITIAL_RING_BYTES = 16 * 1024;

/** A bounded byte ring, addressed by absolute stream offset. */
export class ByteRing {
  readonly capacity: number;
  #buf: Uint8Array;
  #released = 0;
  #cut = 0;
  #written = 0;

  /** `capacity` is the most bytes held at once (written and not yet released). */
  constructor(capacity: number) {
    this.capacity = capacity;
    // Allocated at the first write: an idle or receive-only connection costs nothing here.
    this.#buf = new Uint8Array(0);
  }

  /** Bytes held: in packets not yet released plus not yet cut. */
  get heldBytes(): number {
    return this.#written - this.#released;
  }

  /** Bytes written but not yet cut into a packet. */
  get uncutBytes(): number {
    return this.#written - this.#cut;
  }

  /** Room for more writes, in bytes. */
  get freeBytes(): number {
    return this.capacity - this.heldBytes;
  }

  /** Copies as much of `bytes` as fits; returns how many bytes were taken. */
  write(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.freeBytes);
    if (n === 0) return 0;
    this.#ensure(this.heldBytes + n);
    const size = this.#buf.length;
    const at = this.#written % size;
    const first = Math.min(n, size - at);
    this.#buf.set(first === bytes.length ? bytes : bytes.subarray(0, first), at);
    if (first < n) this.#buf.set(bytes.subarray(first, n), 0);
    this.#written += n;
    return n;
  }

  /** Cuts the next `n` uncut bytes into a packet; returns their stream offset. */
  cut(n: number): number {
    const start = this.#cut;
    this.#cut += n;
    return start;
  }

  /** Copies `n` bytes from stream offset `start` into `dst` at `dstAt`. */
  copyOut(start: number, n: number, dst: Uint8Array, dstAt: number): void {
    if (n === 0) return;
    const size = this.#buf.length;
    const at = start % size;
    const first = Math.min(n, size - at);
    dst.set(this.#buf.subarray(at, at + first), dstAt);
    if (first < n) dst.set(this.#buf.subarray(0, n - first), dstAt + first);
  }

  /** Drops the buffer (the connection ended); nothing more is written. */
  dispose(): void {
    this.#buf = new Uint8Array(0);
    this.#released = this.#cut = this.#written;
  }

  /** Frees everything before stream offset `upTo`. */
  release(upTo: number): void {
    if (upTo > this.#released) this.#released = Math.min(upTo, this.#cut);
  }

  #ensure(need: number): void {
    let size = this.#buf.length;
    if (need <= size) return;
    size = Math.max(size, INITIAL_RING_BYTES);
    while (size < need) size *= 2;
    size = Math.min(size, this.capacity);
    const held = this.heldBytes;
    const tmp = new Uint8Array(held);
    if (held > 0) this.copyOut(this.#released, held, tmp, 0);
    const next = new Uint8Array(size);
    const at = this.#released % size;
    const first = Math.min(held, size - at);
    next.set(tmp.subarray(0, first), at);
    if (first < held) next.set(tmp.subarray(first), 0);
    this.#buf = next;
  }
}

/** Flags of a packet in flight. */
export const SlotFlag = {
  /** Acknowledged by a selective ACK (its bytes are still held until the cumulative ACK). */
  Sacked: 1,
  /** Declared lost: to be sent again, not counted in flight meanwhile. */
  NeedResend: 2,
  /** The FIN packet. */
  Fin: 4,
  /** A path-MTU probe. */
  Probe: 8,
} as const;

/**
 * The packets in flight, oldest first: seq numbers `[oldest, next)`, at most `slots` of them.
 */
export class InFlight {
  /** Most packets in flight (the bound; the arrays grow up to it). */
  readonly slots: number;
  #mask: number;
  start: Float64Array;
  length: Int32Array;
  sentAtMs: Float64Array;
  transmissions: Uint8Array;
  flags: Uint8Array;
  /** Seq of the oldest unacknowledged packet. */
  oldest = 0;
  /** Seq the next new packet gets. */
  next = 0;
  /** Payload bytes of packets sent, not acknowledged, not declared lost. */
  bytesInFlight = 0;
  /** Packets flagged {@link SlotFlag.NeedResend}. */
  needResend = 0;

  /** `slots` must be a power of two below 32768; the arrays start small and double as needed. */
  constructor(slots: number, initialSlots = 64) {
    this.slots = slots;
    const n = Math.min(slots, initialSlots);
    this.#mask = n - 1;
    this.start = new Float64Array(n);
    this.length = new Int32Array(n);
    this.sentAtMs = new Float64Array(n);
    this.transmissions = new Uint8Array(n);
    this.flags = new Uint8Array(n);
  }

  /** Resets the window to start at `seq`. */
  reset(seq: number): void {
    this.oldest = seq;
    this.next = seq;
  }

  /** Packets in flight (sent, not cumulatively acknowledged). */
  get count(): number {
    return seqDiff(this.next, this.oldest);
  }

  /** True when no slot is free for a new packet. */
  get isFull(): boolean {
    return this.count >= this.slots;
  }

  /** The slot of `seq`. */
  slot(seq: number): number {
    return seq & this.#mask;
  }

  /** True when `seq` is in flight. */
  contains(seq: number): boolean {
    return seqDiff(seq, this.oldest) < this.count;
  }

  /** Adds a new packet; returns its seq. */
  push(start: number, length: number, flags: number): number {
    if (this.count > this.#mask) this.#grow();
    const seq = this.next;
    const i = seq & this.#mask;
    this.start[i] = start;
    this.length[i] = length;
    this.sentAtMs[i] = 0;
    this.transmissions[i] = 0;
    this.flags[i] = flags;
    this.next = seqAdd(seq, 1);
    return seq;
  }

  #grow(): void {
    const n = (this.#mask + 1) * 2;
    const mask = n - 1;
    const start = new Float64Array(n);
    const length = new Int32Array(n);
    const sentAtMs = new Float64Array(n);
    const transmissions = new Uint8Array(n);
    const flags = new Uint8Array(n);
    for (let k = 0, c = this.count; k < c; k++) {
      const seq = seqAdd(this.oldest, k);
      const from = seq & this.#mask;
      const to = seq & mask;
      start[to] = this.start[from]!;
      length[to] = this.length[from]!;
      sentAtMs[to] = this.sentAtMs[from]!;
      transmissions[to] = this.transmissions[from]!;
      flags[to] = this.flags[from]!;
    }
    this.#mask = mask;
    this.start = start;
    this.length = length;
    this.sentAtMs = sentAtMs;
    this.transmissions = transmissions;
    this.flags = flags;
  }
}
