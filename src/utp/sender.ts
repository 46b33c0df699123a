/**
 * The sending half of one connection's reliability: the bytes written ({@link ByteRing}), the
 * packets in flight ({@link InFlight}), and what acknowledgements do to them — cumulative and
 * selective ACKs free packets and feed the RTT estimator and LEDBAT; loss is detected from three
 * duplicate ACKs (the oldest packet) or three selectively acknowledged packets after a hole
 * (BEP 29 §packet loss), and halves the window at most once per window of packets; a lost MTU
 * probe narrows the path instead. Packet building and timers stay with the connection.
 */
import { Ledbat } from './ledbat.js';
import { MtuProbe } from './mtu-probe.js';
import { PacketType, sackBit, UTP_HEADER_BYTES, type UtpPacket } from './packet.js';
import { RttEstimator } from './rtt.js';
import { ByteRing, InFlight, SlotFlag } from './send-buffer.js';
import { seqAdd, seqDiff, seqLess } from './seq.js';

/** Duplicate ACKs that make the oldest packet count as lost (BEP 29). */
export const DUP_ACK_THRESHOLD = 3;
/** Bytes reserved in each data packet for a selective ACK (extension header and 8 bytes of mask). */
export const DATA_SACK_RESERVE = 2 + 8;

/** Options of a {@link Sender}. */
export interface SenderOptions {
  readonly sendBufferBytes: number;
  readonly inFlightPackets: number;
  readonly initialWindowBytes: number;
  /** Path-MTU floor and ceiling, in datagram bytes. */
  readonly mtuFloor: number;
  readonly mtuCeiling: number;
  readonly targetDelayMs?: number;
}

/** The send side of one connection. */
export class Sender {
  readonly ring: ByteRing;
  readonly inFlight: InFlight;
  readonly rtt = new RttEstimator();
  readonly cc: Ledbat;
  readonly mtu: MtuProbe;
  /** The last {@link onAck} moved the cumulative ACK forward. */
  progressed = false;
  fastRetransmits = 0;
  #dupAcks = 0;
  /** Smallest round trip among the packets the ACK being applied covers, in ms. */
  #ackMinRttMs = Number.POSITIVE_INFINITY;
  /** Losses of packets before this seq do not cut the window again. */
  #lossSeq = 0;

  constructor(o: SenderOptions) {
    this.ring = new ByteRing(o.sendBufferBytes);
    this.inFlight = new InFlight(o.inFlightPackets);
    this.mtu = new MtuProbe(o.mtuFloor, o.mtuCeiling);
    this.cc = new Ledbat({
      initialWindowBytes: o.initialWindowBytes,
      maxWindowBytes: this.ring.capacity,
      ...(o.targetDelayMs === undefined ? {} : { targetDelayMs: o.targetDelayMs }),
    });
  }

  /** Starts the sequence space: the next new packet gets `seq`. */
  start(seq: number): void {
    this.inFlight.reset(seq);
    this.#lossSeq = seq;
  }

  /** The payload of a full data packet now, in bytes. */
  get packetPayloadBytes(): number {
    return this.mtu.floor - UTP_HEADER_BYTES - DATA_SACK_RESERVE;
  }

  /** The datagram size packet `seq` was cut for (its SACK room included), in bytes. */
  datagramBytesOf(seq: number): number {
    return this.inFlight.length[this.inFlight.slot(seq)]! + UTP_HEADER_BYTES + DATA_SACK_RESERVE;
  }

  /**
   * Applies the ACK (and selective ACK) of `p`, already checked not to acknowledge anything never
   * sent. `windowLimited`: the sender was held back by the window (LEDBAT grows it only then).
   * Returns the payload bytes newly acknowledged; {@link progressed} says whether the cumulative
   * ACK moved.
   */
  onAck(p: UtpPacket, now: number, windowLimited: boolean): number {
    const f = this.inFlight;
    const ahead = seqDiff(p.ackNr, seqAdd(f.oldest, -1));
    let acked = 0;
    this.progressed = false;
    this.#ackMinRttMs = Number.POSITIVE_INFINITY;
    if (ahead !== 0 && ahead < 0x8000) {
      for (let k = 0; k < ahead; k++) acked += this.#ackOne(seqAdd(f.oldest, k), now, true);
      const li = f.slot(p.ackNr);
      this.ring.release(f.start[li]! + f.length[li]!);
      f.oldest = seqAdd(p.ackNr, 1);
      this.#dupAcks = 0;
      this.rtt.backoff = 0;
      this.progressed = true;
    } else if (
      ahead === 0 &&
      p.type === PacketType.State &&
      f.count > 0 &&
      (f.flags[f.slot(f.oldest)]! & SlotFlag.NeedResend) === 0
    ) {
      if (++this.#dupAcks >= DUP_ACK_THRESHOLD) {
        this.#dupAcks = 0;
        this.fastRetransmits++;
        this.markLost(f.oldest);
      }
    }
    if (p.sackOffset >= 0 && f.count > 0) acked += this.#onSack(p, now);
    // The queuing delay is bounded by the round trips of the packets this ACK covers, not by the
    // smallest round trip ever seen: that one is taken with empty queues (near 0 ms on a LAN) and
    // would cap the delay below the target, so LEDBAT would never yield.
    if (acked > 0) this.cc.onAck(acked, this.packetPayloadBytes, windowLimited, this.#ackMinRttMs);
    return acked;
  }

  /** Acknowledges `seq`; returns the payload bytes newly acknowledged. */
  #ackOne(seq: number, now: number, cumulative: boolean): number {
    const f = this.inFlight;
    const i = f.slot(seq);
    const flags = f.flags[i]!;
    if (cumulative) f.flags[i] = 0;
    if ((flags & SlotFlag.Sacked) !== 0) return 0;
    if (!cumulative) f.flags[i] = (flags & ~SlotFlag.NeedResend) | SlotFlag.Sacked;
    const len = f.length[i]!;
    if ((flags & SlotFlag.NeedResend) !== 0) f.needResend--;
    else f.bytesInFlight -= len;
    // Karn: only a packet sent once gives an unambiguous round trip.
    if (f.transmissions[i] === 1) {
      const rtt = now - f.sentAtMs[i]!;
      this.rtt.sample(rtt);
      if (rtt < this.#ackMinRttMs) this.#ackMinRttMs = rtt;
    }
    if ((flags & SlotFlag.Probe) !== 0) this.mtu.acked(seq, this.datagramBytesOf(seq));
    return len;
  }

  #onSack(p: UtpPacket, now: number): number {
    const f = this.inFlight;
    let acked = 0;
    const base = seqAdd(p.ackNr, 2);
    const bits = Math.min(p.sackLength * 8, f.count);
    let last = -1;
    for (let b = 0; b < bits; b++) {
      const seq = seqAdd(base, b);
      if (!f.contains(seq)) break;
      if (sackBit(p, b)) {
        acked += this.#ackOne(seq, now, false);
        last = b;
      }
    }
    if (last < 0) return acked;
    // Any packet with DUP_ACK_THRESHOLD or more selectively acknowledged packets after it is lost.
    let after = 0;
    for (let b = last; b >= -1; b--) {
      const seq = seqAdd(base, b);
      if (!f.contains(seq)) continue;
      const flags = f.flags[f.slot(seq)]!;
      if ((flags & SlotFlag.Sacked) !== 0) after++;
      else if (after >= DUP_ACK_THRESHOLD && (flags & SlotFlag.NeedResend) === 0) this.markLost(seq);
    }
    return acked;
  }

  /** Declares `seq` lost: it is resent at the next flush and leaves the bytes in flight. */
  markLost(seq: number): void {
    const f = this.inFlight;
    const i = f.slot(seq);
    const flags = f.flags[i]!;
    if ((flags & (SlotFlag.NeedResend | SlotFlag.Sacked)) !== 0 || f.transmissions[i] === 0) return;
    f.flags[i] = flags | SlotFlag.NeedResend;
    f.needResend++;
    f.bytesInFlight -= f.length[i]!;
    if ((flags & SlotFlag.Probe) !== 0) {
      // A lost probe says the path is narrower, not congested.
      this.mtu.lost(seq, this.datagramBytesOf(seq));
      return;
    }
    if (!seqLess(seq, this.#lossSeq)) {
      this.cc.onLoss(this.packetPayloadBytes);
      this.#lossSeq = f.next;
    }
  }

  /** Frees the send buffer (the connection ended). */
  dispose(): void {
    this.ring.dispose();
  }

  /** A retransmission timeout: everything unacknowledged is resent from a one-packet window. */
  onTimeout(): void {
    this.rtt.backoff++;
    const f = this.inFlight;
    for (let k = 0, n = f.count; k < n; k++) {
      const seq = seqAdd(f.oldest, k);
      const i = f.slot(seq);
      if ((f.flags[i]! & (SlotFlag.Sacked | SlotFlag.NeedResend)) !== 0) continue;
      if ((f.flags[i]! & SlotFlag.Probe) !== 0) this.mtu.lost(seq, this.datagramBytesOf(seq));
      f.flags[i] = f.flags[i]! | SlotFlag.NeedResend;
      f.needResend++;
      f.bytesInFlight -= f.length[i]!;
    }
    this.cc.onTimeout(this.packetPayloadBytes);
    this.#lossSeq = f.next;
  }
}
