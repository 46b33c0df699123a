/**
 * The receiving half of one connection: which packets arrived, which were handed to the reader,
 * the end of the stream, the window we advertise and the selective ACK we send.
 *
 * `ackNr` is the last packet received in order (what we acknowledge); `deliverNext` the next one
 * the reader gets — it lags `ackNr + 1` only while the reader is paused, the packets in between
 * waiting in the {@link ReceiveBuffer}. An in-order packet with nothing waiting goes straight from
 * the datagram to the reader (no copy). Packets more than the buffer's slots past `deliverNext`,
 * or past the receive buffer's bytes (plus one packet of slack, for the sender's window probe),
 * are dropped unacknowledged; the advertised window (receive buffer − held − delivered but not
 * consumed) tells the sender to slow down before that.
 */
import { UTP_DEFAULT_MAX_DATAGRAM_BYTES, UTP_MAX_DATAGRAM_BYTES } from '../shared/limits.js';
import { PacketType, type UtpPacket } from './packet.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { seqAdd, seqDiff, seqLess } from './seq.js';

/** Where delivered bytes go. */
export interface ReceiverSink {
  /** In-order bytes `bytes[offset, offset + length)`, valid only during the call. */
  data(bytes: Uint8Array, offset: number, length: number): void;
  /** True once the connection ended (a reader may close it from inside `data`). */
  stopped(): boolean;
}

/** The receive side of one connection. */
export class Receiver {
  readonly buffer: ReceiveBuffer;
  /** The receive buffer, in bytes. */
  readonly capacity: number;
  /** Last packet received in order. */
  ackNr = 0;
  /** Next packet for the reader. */
  deliverNext = 0;
  /** Highest packet received (the extent of the selective ACK). */
  highestReceived = 0;
  /** Seq of the peer's FIN, or -1. */
  eofSeq = -1;
  /** Every byte up to the peer's FIN was delivered. */
  ended = false;
  /** Bytes delivered and not yet consumed. */
  unconsumed = 0;
  paused = true;
  /** The window in the last packet we sent. */
  lastAdvertised = 0;
  bytesDelivered = 0;

  constructor(capacity: number, slots: number) {
    this.capacity = capacity;
    this.buffer = new ReceiveBuffer(slots, capacity);
  }

  /** Starts after `lastSeq`, the last packet the peer will not send again (its SYN, or one before its first data). */
  start(lastSeq: number): void {
    this.ackNr = lastSeq;
    this.deliverNext = seqAdd(lastSeq, 1);
    this.highestReceived = lastSeq;
  }

  /**
   * The largest datagram we declare we take, in bytes: an eighth of the receive buffer (a packet
   * must fit the window many times over, or its sender stalls on it), within the datagram bounds.
   */
  get acceptDatagramBytes(): number {
    return Math.max(
      UTP_DEFAULT_MAX_DATAGRAM_BYTES,
      Math.min(UTP_MAX_DATAGRAM_BYTES, Math.floor(this.capacity / 8)),
    );
  }

  /** The receive window to advertise, in bytes. */
  get window(): number {
    return Math.max(0, this.capacity - this.buffer.heldBytes - this.unconsumed);
  }

  /**
   * Takes a data or FIN packet (`slackBytes`: how far past the receive buffer a packet may still
   * be held). Returns true when the stream's end was reached by it.
   */
  onData(p: UtpPacket, slackBytes: number, sink: ReceiverSink | undefined): boolean {
    const seq = p.seqNr;
    if (p.type === PacketType.Fin && this.eofSeq < 0) this.eofSeq = seq;
    if (this.eofSeq >= 0 && seqLess(this.eofSeq, seq)) return false;
    const d = seqDiff(seq, this.ackNr);
    if (d === 0 || d >= 0x8000) return false;
    const buf = this.buffer;
    if (seqDiff(seq, this.deliverNext) >= buf.slots || buf.has(seq)) return false;
    const len = p.payloadLength;
    if (buf.heldBytes + this.unconsumed + len > this.capacity + slackBytes) return false;
    if (d === 1 && this.deliverNext === seq && !this.paused && sink !== undefined) {
      // In order and nothing waiting: straight from the datagram to the reader.
      this.ackNr = seq;
      this.deliverNext = seqAdd(seq, 1);
      if (len > 0) {
        this.unconsumed += len;
        this.bytesDelivered += len;
        sink.data(p.bytes, p.payloadOffset, len);
        if (sink.stopped()) return false;
      }
    } else {
      buf.store(seq, this.deliverNext, p.bytes, p.payloadOffset, len);
    }
    if (seqLess(this.highestReceived, seq)) this.highestReceived = seq;
    while (buf.has(seqAdd(this.ackNr, 1))) this.ackNr = seqAdd(this.ackNr, 1);
    if (seqLess(this.highestReceived, this.ackNr)) this.highestReceived = this.ackNr;
    return this.deliver(sink);
  }

  /**
   * Hands held in-order packets to the reader while it is not paused. Returns true when this
   * reached the end of the stream (the peer's FIN and everything before it).
   */
  deliver(sink: ReceiverSink | undefined): boolean {
    if (sink === undefined) return false;
    const buf = this.buffer;
    const stop = seqAdd(this.ackNr, 1);
    while (!this.paused && this.deliverNext !== stop) {
      const seq = this.deliverNext;
      if (!buf.has(seq)) break;
      const len = buf.lengthOf(seq);
      this.deliverNext = seqAdd(seq, 1);
      this.unconsumed += len;
      this.bytesDelivered += len;
      // Free the slot's accounting before the call; its bytes stay valid until the slot is reused.
      buf.remove(seq);
      if (len > 0) sink.data(buf.dataOf(seq), 0, len);
      if (sink.stopped()) return false;
    }
    if (this.eofSeq >= 0 && !this.ended && this.deliverNext === seqAdd(this.eofSeq, 1)) {
      this.ended = true;
      return true;
    }
    return false;
  }

  /** The reader is done with `n` bytes. Returns true when the window grew enough to announce. */
  consumed(n: number, packetBytes: number): boolean {
    this.unconsumed = Math.max(0, this.unconsumed - n);
    return this.windowWorthAnnouncing(packetBytes);
  }

  /** True when the window grew by a step worth an ST_STATE of its own since it was last sent. */
  windowWorthAnnouncing(packetBytes: number): boolean {
    const w = this.window;
    if (w <= this.lastAdvertised) return false;
    const step = Math.min(this.capacity / 4, packetBytes * 4);
    return w - this.lastAdvertised >= step || (this.lastAdvertised < packetBytes && w >= packetBytes);
  }

  /** Length of the selective-ACK mask to send (0 when nothing past a gap was received), at most `max`. */
  sackBytes(max: number): number {
    const span = seqDiff(this.highestReceived, this.ackNr);
    if (span < 2 || span >= 0x8000) return 0;
    return Math.min(max, ((span - 1 + 31) >> 5) * 4);
  }

  /** Writes a `len`-byte mask at `at`: bit i is `ackNr + 2 + i`, least significant bit first (BEP 29). */
  writeSack(out: Uint8Array, at: number, len: number): void {
    const base = seqAdd(this.ackNr, 2);
    for (let b = 0; b < len; b++) {
      let v = 0;
      for (let bit = 0; bit < 8; bit++) if (this.buffer.has(seqAdd(base, b * 8 + bit))) v |= 1 << bit;
      out[at + b] = v;
    }
  }
}
