/**
 * One uTP connection (BEP 29) as a pure state machine.
 *
 * DEV DOCS
 * - Driven by its endpoint: {@link UtpConnection.onPacket} for each datagram of this connection,
 *   {@link UtpConnection.tick} when {@link UtpConnection.nextDeadline} passes, and
 *   {@link UtpConnection.flush} after a batch of inputs (so one ACK answers a burst of packets,
 *   and writes made meanwhile leave as full packets). Time `now` is in ms (fractional ms carry the
 *   µs of the wire timestamps).
 * - Outputs go through two narrow interfaces given at construction: datagrams are encoded into a
 *   buffer from {@link UtpOutput.acquire} and handed to {@link UtpOutput.send}; bytes for the
 *   reader and events go to {@link UtpConnectionHandlers}. Nothing is allocated per packet in the
 *   steady state: the header fields, the in-flight table and the receive slots are reused.
 * - States: `syn-sent` (we dialled) → `connected`; `syn-recv` (we accepted: SYN answered with an
 *   ST_STATE whose seq_nr is our first data seq, as libtorrent expects) → `connected` at the
 *   dialler's first packet; `fin-sent` after {@link UtpConnection.close} once every byte was cut
 *   into packets; terminal `closed` (graceful end, timeout) or `reset` (ST_RESET either way).
 * - Seams: the send side's reliability (bytes, packets in flight, ACK and loss handling, RTT,
 *   LEDBAT, path-MTU search, which packet may go out next) is {@link Sender}; the receive side
 *   (ordering, delivery, the FIN, the advertised window, the selective ACK) is {@link Receiver};
 *   encoding packets is {@link PacketWriter}. This file is the state machine and the timers.
 * - Timers: a retransmission timeout (from the oldest unacknowledged send or ACK progress) resends
 *   everything unacknowledged from a one-packet window; a closed peer window is probed with one
 *   packet after a timeout; an idle connection sends ST_STATE keep-alives; a silent peer ends it.
 * - Data packets are cut a little short of the path MTU floor so a selective ACK fits without
 *   growing a resend past it; a probe is flagged (`probe`) so a runtime can forbid fragmentation.
 */
import { ErrorCode } from '../shared/errors.js';

import {
  MAX_UTP_RECEIVE_PACKETS,
  MAX_UTP_SYN_RESENDS,
  MAX_UTP_TIMEOUTS,
  UTP_DEFAULT_MAX_DATAGRAM_BYTES,
  UTP_FIN_LINGER_MS,
  UTP_IDLE_TIMEOUT_MS,
  UTP_KEEPALIVE_MS,
  UTP_RECEIVE_BUFFER_BYTES,
  UTP_SYN_RECV_TIMEOUT_MS,
  UTP_TIME_WAIT_MS,
} from '../shared/limits.js';
import type {
  UtpCloseReason,
  UtpConnectionHandlers,
  UtpConnectionInit,
  UtpConnectionOptions,
  UtpConnectionOwner,
  UtpConnectionStats,
  UtpEvent,
  UtpOutput,
  UtpState,
} from './connection-types.js';
import { UtpError } from './errors.js';
import type { Ledbat } from './ledbat.js';
import { PacketType, type UtpPacket } from './packet.js';
import { PacketWriter, STATE_SACK_MAX_BYTES } from './packet-writer.js';
import { Receiver, type ReceiverSink } from './receiver.js';
import type { RttEstimator } from './rtt.js';
import { type InFlight, SlotFlag } from './send-buffer.js';
import { Sender, senderOptionsFor } from './sender.js';
import { SEQ_MASK, seqAdd, seqDiff } from './seq.js';

/** Initial congestion window, in bytes (about two full-size packets). */
const INITIAL_WINDOW_BYTES = 2 * UTP_DEFAULT_MAX_DATAGRAM_BYTES;

/** One uTP connection. */
export class UtpConnection {
  readonly recvId: number;
  readonly sendId: number;
  readonly stats: UtpConnectionStats = {
    packetsSent: 0,
    packetsResent: 0,
    packetsReceived: 0,
    bytesDelivered: 0,
    timeouts: 0,
    fastRetransmits: 0,
  };
  /** Opaque slot for the owner (the endpoint keeps the remote address here). */
  tag: unknown;
  #state: UtpState;
  #closeReason: UtpCloseReason | undefined;
  readonly #owner: UtpConnectionOwner | undefined;
  #handlers: UtpConnectionHandlers | undefined;
  readonly #wire: PacketWriter;
  // sending
  readonly #tx: Sender;
  /**
   * When the retransmission timer expires, fixed when it is (re)started (RFC 6298 §5): an RTT
   * sample taken later (a selective ACK) does not move it, which could put it in the past.
   */
  #rtoDeadlineMs = 0;
  #consecutiveTimeouts = 0;
  /** Resends a packet the sender picked (made once). */
  readonly #resend = (seq: number): void => {
    this.#sendData(seq, this.#nowMs);
    this.stats.packetsResent++;
  };
  #writeBlocked = false;
  #synSeq = 0;
  #synSentAtMs = 0;
  #synSends = 0;
  /** The peer declared its datagram size (our SYN answer declares ours back). */
  #peerDeclared = false;
  #closing = false;
  #finSeq = -1;
  #finAckedAtMs = -1;
  #timeWaitUntilMs = -1;
  // receiving
  readonly #rx: Receiver;
  /** The reader, as the receive side sees it (made once). */
  readonly #sink: ReceiverSink = {
    data: (bytes, offset, length) => this.#handlers?.data(bytes, offset, length),
    stopped: () => this.isClosed,
  };
  #ackOwed = false;
  #lastSendMs: number;
  #lastRecvMs: number;
  /** Time of the input being handled (for packets sent from inside it). */
  #nowMs: number;

  constructor(
    init: UtpConnectionInit,
    out: UtpOutput,
    now: number,
    opts: UtpConnectionOptions = {},
    owner?: UtpConnectionOwner,
  ) {
    this.recvId = init.recvId & SEQ_MASK;
    this.sendId = init.sendId & SEQ_MASK;
    this.#owner = owner;
    this.#rx = new Receiver(opts.receiveBufferBytes ?? UTP_RECEIVE_BUFFER_BYTES, MAX_UTP_RECEIVE_PACKETS);
    this.#wire = new PacketWriter(out, this.#rx);
    this.#tx = new Sender(senderOptionsFor(opts, INITIAL_WINDOW_BYTES));
    this.#state = 'syn-sent';
    this.#lastSendMs = now;
    this.#lastRecvMs = now;
    this.#nowMs = now;
    this.#synSeq = init.initialSeq & SEQ_MASK;
    this.#tx.start(this.#synSeq);
  }

  /** The packets in flight. */
  get inFlight(): InFlight {
    return this.#tx.inFlight;
  }

  /** The round-trip estimator. */
  get rtt(): RttEstimator {
    return this.#tx.rtt;
  }

  /** The congestion controller. */
  get cc(): Ledbat {
    return this.#tx.cc;
  }

  /** The current state. */
  get state(): UtpState {
    return this.#state;
  }

  /** Why the connection ended (undefined while open). */
  get closeReason(): UtpCloseReason | undefined {
    return this.#closeReason;
  }

  /** Ended cleanly and still answering the peer's resends (see {@link UTP_TIME_WAIT_MS}). */
  get isTimeWait(): boolean {
    return this.#timeWaitUntilMs >= 0;
  }

  /** Leaves time-wait at once (the endpoint needs the table slot). */
  forget(): void {
    if (this.#timeWaitUntilMs < 0) return;
    this.#timeWaitUntilMs = -1;
    this.#owner?.closed(this);
  }

  /** True in a terminal state. */
  get isClosed(): boolean {
    return this.#state === 'closed' || this.#state === 'reset';
  }

  /** Bytes written and not yet acknowledged (the send buffer in use). */
  get bufferedBytes(): number {
    return this.#tx.ring.heldBytes;
  }

  /** Bytes written and not yet sent in any packet (waiting for the congestion or peer window). */
  get unsentBytes(): number {
    return this.#tx.ring.uncutBytes;
  }

  /** Room left in the send buffer, in bytes. */
  get writableBytes(): number {
    return this.#closing || this.isClosed ? 0 : this.#tx.ring.freeBytes;
  }

  /** The receive window we advertise, in bytes. */
  get advertisedWindow(): number {
    return this.#rx.window;
  }

  /** Bytes received and held for the reader (out of order or while paused). */
  get receiveHeldBytes(): number {
    return this.#rx.buffer.heldBytes;
  }

  /** Bytes delivered and not yet reported {@link consumed}. */
  get unconsumedBytes(): number {
    return this.#rx.unconsumed;
  }

  /** Largest datagram known to pass the path, in bytes (full packets are cut at it). */
  get mtuFloor(): number {
    return this.#tx.mtu.floor;
  }

  /** Largest datagram that may pass the path, in bytes (probing stays at or below it). */
  get mtuCeiling(): number {
    return this.#tx.mtu.ceiling;
  }

  /** The peer's last advertised window, in bytes. */
  get peerWindow(): number {
    return this.#tx.peerWindow;
  }

  /** The size of a full data packet's payload now, in bytes. */
  get packetPayloadBytes(): number {
    return this.#tx.packetPayloadBytes;
  }

  /** Sets the reader and event handlers; bytes flow only once they are set (and not paused). */
  setHandlers(h: UtpConnectionHandlers): void {
    this.#handlers = h;
    this.#rx.paused = false;
    this.#deliver();
  }

  // --- start ------------------------------------------------------------------------------------

  /** Dials: sends the SYN. */
  connect(now: number): void {
    this.#state = 'syn-sent';
    this.#tx.start(seqAdd(this.#synSeq, 1));
    this.#sendSyn(now);
  }

  /** Accepts the SYN `p` (already matched to this connection by the endpoint). */
  accept(p: UtpPacket, now: number): void {
    this.#state = 'syn-recv';
    this.#tx.start(this.#synSeq);
    this.#rx.start(p.seqNr);
    this.#tx.peerWindow = p.wndSize;
    this.#noteTimestamps(p, now);
    this.#notePeerDatagrams(p);
    this.#ackOwed = true;
  }

  /** The peer's SYN or SYN answer declared its datagram size: probe up to it if the path may carry it. */
  #notePeerDatagrams(p: UtpPacket): void {
    if (p.datagramBytes === 0) return;
    this.#peerDeclared = true;
    this.#tx.peerTakes(p.datagramBytes);
  }

  // --- inputs -----------------------------------------------------------------------------------

  /** Handles one decoded packet addressed to this connection. */
  onPacket(p: UtpPacket, now: number): void {
    this.#nowMs = now;
    if (this.isClosed) {
      // Time-wait: the peer may not have our ACK of its FIN; answer its resends.
      if (this.#timeWaitUntilMs >= 0 && (p.type === PacketType.Fin || p.type === PacketType.Data)) {
        this.#timeWaitUntilMs = now + UTP_TIME_WAIT_MS;
        this.#sendControl(PacketType.State, now, 0);
      }
      return;
    }
    this.stats.packetsReceived++;
    if (p.type === PacketType.Reset) {
      // The peer forgets a connection once both FINs are acknowledged; if our FIN's ACK was lost,
      // its endpoint answers our resent FIN with ST_RESET. Nothing was lost then: a clean end.
      if (this.#rx.ended && this.#finSeq >= 0 && this.inFlight.oldest === this.#finSeq) {
        this.#terminate('closed', 'end');
        return;
      }
      this.#terminate('reset', 'reset', new UtpError(ErrorCode.UtpReset, 'connection reset by peer'));
      return;
    }
    if (p.type === PacketType.Syn) {
      // A resent SYN: our answer was lost.
      if (this.#state === 'syn-recv' && p.seqNr === this.#rx.ackNr) this.#ackOwed = true;
      return;
    }
    if (this.#state === 'syn-sent') {
      if (p.ackNr !== this.#synSeq) return;
      this.#lastRecvMs = now;
      if (this.#synSends === 1) this.rtt.sample(now - this.#synSentAtMs);
      this.rtt.backoff = 0;
      // The answer's seq_nr is the first seq the peer's data will use (see the header).
      this.#rx.start(seqAdd(p.seqNr, -1));
      this.#state = 'connected';
      this.#restartRto(now);
      this.#noteTimestamps(p, now);
      this.#notePeerDatagrams(p);
      this.#tx.peerWindow = p.wndSize;
      // Tell an accepting peer at once that we are here (it sends no data before that).
      this.#ackOwed = true;
      this.#emit({ type: 'connected' });
      if (this.isClosed) return;
      if (p.type === PacketType.State) return;
    } else {
      // An ACK for a packet we never sent: not from this connection's peer, or corrupt.
      const ahead = seqDiff(p.ackNr, seqAdd(this.inFlight.oldest, -1));
      if (ahead < 0x8000 && ahead > this.inFlight.count) return;
      this.#lastRecvMs = now;
      this.#noteTimestamps(p, now);
      this.#tx.peerWindow = p.wndSize;
      if (this.#state === 'syn-recv') {
        this.#state = 'connected';
        this.#emit({ type: 'connected' });
        if (this.isClosed) return;
      }
      this.#onAck(p, now);
      if (this.isClosed) return;
    }
    if (p.type === PacketType.Data || p.type === PacketType.Fin) this.#onData(p);
  }

  /** Queues bytes to send; returns how many were accepted (the rest does not fit the send buffer). */
  write(bytes: Uint8Array): number {
    if (this.#closing || this.isClosed) return 0;
    const n = this.#tx.ring.write(bytes);
    if (n < bytes.length) this.#writeBlocked = true;
    if (n > 0) this.#owner?.wake(this);
    return n;
  }

  /** The reader is done with `n` delivered bytes: they leave the receive window. */
  consumed(n: number): void {
    if (this.#rx.consumed(n, this.packetPayloadBytes)) this.#announceWindow();
  }

  /** Stops delivering bytes; they are held and the advertised window shrinks. */
  pause(): void {
    this.#rx.paused = true;
  }

  /** Delivers held bytes and resumes delivery. */
  resume(): void {
    if (this.#handlers === undefined) return;
    this.#rx.paused = false;
    this.#deliver();
    if (this.#rx.windowWorthAnnouncing(this.packetPayloadBytes)) this.#announceWindow();
  }

  /** Ends our direction gracefully: the rest of the send buffer, then a FIN. */
  close(): void {
    if (this.#closing || this.isClosed) return;
    this.#closing = true;
    if (this.#state === 'syn-sent') {
      this.#terminate('closed', 'end');
      return;
    }
    this.#owner?.wake(this);
  }

  /** Ends at once: an ST_RESET goes out (when the peer knows us) and the connection is `reset`. */
  destroy(now: number): void {
    if (this.isClosed) return;
    if (this.#state !== 'syn-sent') this.#sendControl(PacketType.Reset, now, 0);
    this.#terminate('reset', 'destroyed');
  }

  // --- time -------------------------------------------------------------------------------------

  /** When {@link tick} should next run, in ms (undefined when closed). */
  nextDeadline(): number | undefined {
    if (this.isClosed) return this.#timeWaitUntilMs >= 0 ? this.#timeWaitUntilMs : undefined;
    if (this.#state === 'syn-sent') return this.#synSentAtMs + this.rtt.rtoMs;
    const silence = this.#state === 'syn-recv' ? UTP_SYN_RECV_TIMEOUT_MS : UTP_IDLE_TIMEOUT_MS;
    let d = Math.min(this.#lastSendMs + UTP_KEEPALIVE_MS, this.#lastRecvMs + silence);
    if (this.inFlight.count > 0) d = Math.min(d, this.#rtoDeadlineMs);
    else if (this.#tx.blockedSinceMs >= 0) d = Math.min(d, this.#tx.blockedSinceMs + this.rtt.rtoMs);
    if (this.#finAckedAtMs >= 0)
      d = Math.min(d, Math.max(this.#finAckedAtMs, this.#lastRecvMs) + UTP_FIN_LINGER_MS);
    return d;
  }

  /** Runs the timers due at `now`, then {@link flush}. */
  tick(now: number): void {
    this.#nowMs = now;
    if (this.isClosed) {
      if (this.#timeWaitUntilMs >= 0 && now >= this.#timeWaitUntilMs) {
        this.#timeWaitUntilMs = -1;
        this.#owner?.closed(this);
      }
      return;
    }
    if (this.#state === 'syn-sent') {
      if (now < this.#synSentAtMs + this.rtt.rtoMs) return;
      if (this.#synSends > MAX_UTP_SYN_RESENDS) {
        this.#terminate('closed', 'timeout', new UtpError(ErrorCode.UtpTimeout, 'no answer to SYN'));
        return;
      }
      this.rtt.backoff++;
      this.#sendSyn(now);
      return;
    }
    const silence = this.#state === 'syn-recv' ? UTP_SYN_RECV_TIMEOUT_MS : UTP_IDLE_TIMEOUT_MS;
    if (now >= this.#lastRecvMs + silence) {
      this.#terminate('closed', 'timeout', new UtpError(ErrorCode.UtpTimeout, 'peer silent'));
      return;
    }
    if (this.inFlight.count > 0 && now >= this.#rtoDeadlineMs) this.#onTimeout(now);
    if (this.isClosed) return;
    // The peer's window stayed closed for a timeout: one packet goes anyway (a window probe).
    this.#tx.windowProbeDue(now);
    if (
      this.#finAckedAtMs >= 0 &&
      now >= Math.max(this.#finAckedAtMs, this.#lastRecvMs) + UTP_FIN_LINGER_MS
    ) {
      this.#terminate('closed', 'end');
      return;
    }
    if (now >= this.#lastSendMs + UTP_KEEPALIVE_MS) this.#ackOwed = true;
    this.flush(now);
  }

  #onTimeout(now: number): void {
    this.stats.timeouts++;
    if (++this.#consecutiveTimeouts > MAX_UTP_TIMEOUTS) {
      // Only our FIN unacknowledged, every byte acknowledged and the peer's FIN in: both streams
      // are complete (the peer forgot us after a lost final ACK); that is an end, not a failure.
      if (this.#rx.ended && this.#finSeq >= 0 && this.inFlight.oldest === this.#finSeq) {
        this.#terminate('closed', 'end');
        return;
      }
      this.#terminate('closed', 'timeout', new UtpError(ErrorCode.UtpTimeout, 'retransmissions unanswered'));
      return;
    }
    this.#tx.onTimeout();
    // Full packets timing out again and again: the path MTU may have shrunk (probe down).
    if (this.#consecutiveTimeouts === 2) this.#tx.mtu.narrowed();
    this.#restartRto(now);
  }

  // --- output -----------------------------------------------------------------------------------

  /** Sends what is due: resends, new data within the windows, a FIN, an owed ACK. */
  flush(now: number): void {
    this.#nowMs = now;
    if (this.isClosed || this.#state === 'syn-sent') return;
    if (this.#state === 'syn-recv') {
      // No data before the dialler's next packet: a reordered data packet overtaking our SYN
      // answer would make the dialler take its seq_nr as the first (libtorrent does).
      if (this.#ackOwed) this.#sendControl(PacketType.State, now, 0);
      this.#ackOwed = false;
      return;
    }
    const f = this.inFlight;
    let sent = f.needResend > 0 && this.#tx.takeResends(this.#resend) > 0;
    this.#tx.windowLimited = false;
    for (
      let seq = this.#tx.cutNext(now, this.#closing);
      seq >= 0;
      seq = this.#tx.cutNext(now, this.#closing)
    ) {
      this.#sendData(seq, now);
      sent = true;
    }
    if (this.#closing && this.#finSeq < 0 && this.#tx.ring.uncutBytes === 0 && !f.isFull) {
      this.#finSeq = f.push(this.#tx.ring.cut(0), 0, SlotFlag.Fin);
      this.#state = 'fin-sent';
      this.#sendData(this.#finSeq, now);
      sent = true;
    }
    if (this.#ackOwed && !sent) this.#sendControl(PacketType.State, now, STATE_SACK_MAX_BYTES);
    this.#ackOwed = false;
  }

  #sendSyn(now: number): void {
    this.#synSends++;
    this.#synSentAtMs = now;
    this.#wire.syn(this.recvId, this.#synSeq, now, this.#rx.acceptDatagramBytes);
    this.#sent(now);
  }

  /** ST_STATE or ST_RESET, with a selective ACK of up to `sackMax` bytes when packets are missing. */
  #sendControl(type: PacketType, now: number, sackMax: number): void {
    // After our FIN, libtorrent ignores any packet whose seq_nr is past the FIN's (it takes it
    // as beyond the end of the stream), ACKs included: they carry the FIN's seq_nr then.
    const seq =
      this.#state === 'syn-recv' ? this.#synSeq : this.#finSeq >= 0 ? this.#finSeq : this.inFlight.next;
    // The SYN answer declares our datagram size back to a peer that declared its own.
    const declare = this.#state === 'syn-recv' && type === PacketType.State && this.#peerDeclared;
    this.#wire.control(type, this.sendId, seq, now, sackMax, declare ? this.#rx.acceptDatagramBytes : 0);
    this.#sent(now);
  }

  #sendData(seq: number, now: number): void {
    const f = this.inFlight;
    const i = f.slot(seq);
    const len = f.length[i]!;
    if (f.bytesInFlight === 0) this.#restartRto(now);
    f.bytesInFlight += len;
    f.sentAtMs[i] = now;
    if (f.transmissions[i]! < 255) f.transmissions[i] = f.transmissions[i]! + 1;
    const probe = (f.flags[i]! & SlotFlag.Probe) !== 0 && f.transmissions[i] === 1;
    const type = (f.flags[i]! & SlotFlag.Fin) !== 0 ? PacketType.Fin : PacketType.Data;
    this.#wire.data(type, this.sendId, seq, now, this.#tx.ring, f.start[i]!, len, probe);
    this.#sent(now);
  }

  /** (Re)starts the retransmission timer with the current RTO. */
  #restartRto(now: number): void {
    this.#rtoDeadlineMs = now + this.rtt.rtoMs;
  }

  /** Bookkeeping after any packet went out. */
  #sent(now: number): void {
    this.#lastSendMs = now;
    this.#ackOwed = false;
    this.stats.packetsSent++;
  }

  // --- acknowledgements -------------------------------------------------------------------------

  #onAck(p: UtpPacket, now: number): void {
    const acked = this.#tx.onAck(p, now, this.#tx.windowLimited);
    this.stats.fastRetransmits = this.#tx.fastRetransmits;
    if (this.#tx.progressed) {
      this.#consecutiveTimeouts = 0;
      this.#restartRto(now);
    }
    const ring = this.#tx.ring;
    if (acked > 0 && this.#writeBlocked && ring.freeBytes >= ring.capacity / 4) {
      this.#writeBlocked = false;
      this.#emit({ type: 'writable' });
    }
    if (
      this.#finSeq >= 0 &&
      this.#finAckedAtMs < 0 &&
      !this.inFlight.contains(this.#finSeq) &&
      !this.isClosed
    ) {
      this.#finAckedAtMs = now;
      if (this.#rx.ended) this.#terminate('closed', 'end');
    }
  }

  // --- receiving --------------------------------------------------------------------------------

  #onData(p: UtpPacket): void {
    this.#ackOwed = true;
    const ended = this.#rx.onData(p, this.mtuCeiling, this.#handlers === undefined ? undefined : this.#sink);
    this.stats.bytesDelivered = this.#rx.bytesDelivered;
    if (ended) this.#onEnd();
  }

  /** Hands held in-order packets to the reader while it is not paused. */
  #deliver(): void {
    const ended = this.#rx.deliver(this.#handlers === undefined ? undefined : this.#sink);
    this.stats.bytesDelivered = this.#rx.bytesDelivered;
    if (ended) this.#onEnd();
  }

  /** Every byte up to the peer's FIN was delivered. */
  #onEnd(): void {
    if (this.isClosed) return;
    this.#ackOwed = true;
    this.#emit({ type: 'end' });
    if (!this.isClosed && this.#finAckedAtMs >= 0) this.#terminate('closed', 'end');
  }

  /** The reader made room: an ST_STATE tells the peer at the next flush. */
  #announceWindow(): void {
    this.#ackOwed = true;
    this.#owner?.wake(this);
  }

  #noteTimestamps(p: UtpPacket, now: number): void {
    if (p.timestampUs !== 0) this.#wire.replyMicro = ((Math.floor(now * 1000) >>> 0) - p.timestampUs) >>> 0;
    if (p.timestampDiffUs !== 0) this.cc.onDelaySample(p.timestampDiffUs, now);
  }

  // --- ending -----------------------------------------------------------------------------------

  #terminate(state: 'closed' | 'reset', reason: UtpCloseReason, error?: UtpError): void {
    if (this.isClosed) return;
    // The ACK of the peer's FIN is owed when a clean end completes inside onPacket.
    if (reason === 'end' && this.#ackOwed && this.#state !== 'syn-sent')
      this.#sendControl(PacketType.State, this.#nowMs, 0);
    this.#state = state;
    this.#closeReason = reason;
    if (reason === 'end') {
      // Stay reachable for two timeouts so a lost final ACK can be repeated (TCP's TIME-WAIT).
      this.#timeWaitUntilMs = this.#nowMs + UTP_TIME_WAIT_MS;
      this.#tx.dispose();
      this.#rx.buffer.dispose();
    } else {
      this.#owner?.closed(this);
    }
    this.#emit(error === undefined ? { type: 'closed', reason } : { type: 'closed', reason, error });
  }

  #emit(e: UtpEvent): void {
    this.#handlers?.event(e);
  }
}
