/**
 * The sending half of one connection's reliability: the bytes written ({@link ByteRing}), the
 * packets in flight ({@link InFlight}), and what acknowledgements do to them — cumulative and
 * selective ACKs free packets and feed the RTT estimator and LEDBAT; loss is detected from three
 * duplicate ACKs (the oldest packet) or three selectively acknowledged packets after a hole
 * (BEP 29 §packet loss), and halves the window at most once per window of packets; a lost MTU
 * probe narrows the path instead. It also decides what may go out next (resends, then new packets
 * within the congestion and peer windows). Packet building and timers stay with the connection.
 */
import {
  MAX_UTP_PACKETS_IN_FLIGHT,
  UTP_DEFAULT_MAX_DATAGRAM_BYTES,
  UTP_MAX_DATAGRAM_BYTES,
  UTP_MIN_DATAGRAM_BYTES,
  UTP_SEND_BUFFER_BYTES,
} from '../shared/limits.js';
import type { UtpConnectionOptions } from './connection-types.js';
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
  /** Ceiling toward a peer that declares it takes larger datagrams (0: none), in bytes. */
  readonly largeDatagramBytes?: number;
  readonly sendBufferBytes: number;
  readonly inFlightPackets: number;
  readonly initialWindowBytes: number;
  /** Path-MTU floor and ceiling, in datagram bytes. */
  readonly mtuFloor: number;
  readonly mtuCeiling: number;
  readonly targetDelayMs?: number;
}

/** The send side's options from a connection's: datagram sizes, send buffer, LEDBAT target. */
export function senderOptionsFor(opts: UtpConnectionOptions, initialWindowBytes: number): SenderOptions {
  const max = Math.min(UTP_MAX_DATAGRAM_BYTES, opts.maxDatagramBytes ?? UTP_DEFAULT_MAX_DATAGRAM_BYTES);
  const min = Math.min(
    max,
    Math.max(UTP_HEADER_BYTES + DATA_SACK_RESERVE + 1, opts.minDatagramBytes ?? UTP_MIN_DATAGRAM_BYTES),
  );
  return {
    sendBufferBytes: opts.sendBufferBytes ?? UTP_SEND_BUFFER_BYTES,
    inFlightPackets: MAX_UTP_PACKETS_IN_FLIGHT,
    initialWindowBytes,
    mtuFloor: opts.mtuProbing === false ? max : min,
    mtuCeiling: max,
    largeDatagramBytes:
      opts.mtuProbing === false ? 0 : Math.min(UTP_MAX_DATAGRAM_BYTES, opts.largeDatagramBytes ?? 0),
    ...(opts.targetDelayMs === undefined ? {} : { targetDelayMs: opts.targetDelayMs }),
  };
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
  /** The peer's advertised receive window, in bytes. */
  peerWindow = 0;
  /** The last {@link cutNext} stopped at the congestion window (LEDBAT grows it only then). */
  windowLimited = false;
  /** Since when the peer's closed window holds new data back, in ms (-1: it does not). */
  blockedSinceMs = -1;
  /** One packet may pass the peer's closed window (a window probe is due). */
  #forceOne = false;
  fastRetransmits = 0;
  #dupAcks = 0;
  /** Smallest round trip among the packets the ACK being applied covers, in ms. */
  #ackMinRttMs = Number.POSITIVE_INFINITY;
  /** Losses of packets before this seq do not cut the window again. */
  #lossSeq = 0;
  readonly #largeDatagramBytes: number;

  constructor(o: SenderOptions) {
    this.#largeDatagramBytes = o.largeDatagramBytes ?? 0;
    this.ring = new ByteRing(o.sendBufferBytes);
    this.inFlight = new InFlight(o.inFlightPackets);
    this.mtu = new MtuProbe(o.mtuFloor, o.mtuCeiling);
    this.cc = new Ledbat({
      initialWindowBytes: o.initialWindowBytes,
      maxWindowBytes: this.ring.capacity,
      ...(o.targetDelayMs === undefined ? {} : { targetDelayMs: o.targetDelayMs }),
    });
  }

  /** The peer declared it takes datagrams up to `bytes`: probe up to them if the path may carry them. */
  peerTakes(bytes: number): void {
    const large = Math.min(this.#largeDatagramBytes, bytes);
    if (large > this.mtu.ceiling) this.mtu.raiseCeiling(large);
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

  /**
   * Hands every packet due for resending that fits the congestion window to `send`, oldest first,
   * with its resend and probe flags cleared. Returns how many.
   */
  takeResends(send: (seq: number) => void): number {
    const f = this.inFlight;
    let sent = 0;
    for (let k = 0, n = f.count; k < n && f.needResend > 0; k++) {
      const seq = seqAdd(f.oldest, k);
      const i = f.slot(seq);
      if ((f.flags[i]! & SlotFlag.NeedResend) === 0) continue;
      if (f.bytesInFlight > 0 && f.bytesInFlight + f.length[i]! > this.cc.windowBytes) break;
      f.flags[i] = f.flags[i]! & ~(SlotFlag.NeedResend | SlotFlag.Probe);
      f.needResend--;
      send(seq);
      sent++;
    }
    return sent;
  }

  /**
   * Cuts the next new packet from the written bytes when the windows let it go: full packets of
   * the MTU floor, one probe of the next MTU size at a time; a short packet waits while others
   * are in flight unless `closing` (Nagle: their ACK carries it out); the congestion window
   * ({@link windowLimited}) and the peer's window hold packets back — the latter until its update,
   * or one packet after a timeout ({@link windowProbeDue}). Returns the packet's seq, or -1.
   */
  cutNext(now: number, closing: boolean): number {
    const f = this.inFlight;
    const uncut = this.ring.uncutBytes;
    if (uncut === 0 || f.isFull) return -1;
    const payloadMax = this.packetPayloadBytes;
    let n = Math.min(uncut, payloadMax);
    let flags = 0;
    const probeSize = this.mtu.nextProbeBytes();
    if (probeSize > 0 && uncut >= probeSize - UTP_HEADER_BYTES - DATA_SACK_RESERVE) {
      n = probeSize - UTP_HEADER_BYTES - DATA_SACK_RESERVE;
      flags = SlotFlag.Probe;
    }
    if (n < payloadMax && f.count > 0 && !closing) return -1;
    if (f.bytesInFlight > 0 && f.bytesInFlight + n > this.cc.windowBytes) {
      this.windowLimited = true;
      return -1;
    }
    if (f.bytesInFlight + n > this.peerWindow) {
      if (!this.#forceOne) {
        if (this.blockedSinceMs < 0) this.blockedSinceMs = now;
        return -1;
      }
      this.#forceOne = false;
      if (flags !== 0) {
        flags = 0;
        n = Math.min(uncut, payloadMax);
      }
    }
    this.blockedSinceMs = -1;
    const seq = f.push(this.ring.cut(n), n, flags);
    if (flags !== 0) this.mtu.sent(seq);
    return seq;
  }

  /** Nothing in flight and the peer's window closed for a timeout by `now`: let one packet pass. */
  windowProbeDue(now: number): void {
    if (this.inFlight.count > 0 || this.blockedSinceMs < 0 || now < this.blockedSinceMs + this.rtt.rtoMs)
      return;
    this.#forceOne = true;
    this.blockedSinceMs = now;
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
