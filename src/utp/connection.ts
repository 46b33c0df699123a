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
 *   LEDBAT, path-MTU search) is {@link Sender}; the receive side (ordering, delivery, the FIN,
 *   the advertised window, the selective ACK) is {@link Receiver}. This file is the state machine,
 *   the timers and the packet building between them.
 * - Timers: a retransmission timeout (from the oldest unacknowledged send or ACK progress) resends
 *   everything unacknowledged from a one-packet window; a closed peer window is probed with one
 *   packet after a timeout; an idle connection sends ST_STATE keep-alives; a silent peer ends it.
 * - Data packets are cut a little short of the path MTU floor so a selective ACK fits without
 *   growing a resend past it; a probe is flagged (`probe`) so a runtime can forbid fragmentation.
 */
import { ErrorCode } from '../shared/errors.js';

export type {
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

import {
  MAX_UTP_PACKETS_IN_FLIGHT,
  MAX_UTP_RECEIVE_PACKETS,
  MAX_UTP_SYN_RESENDS,
  MAX_UTP_TIMEOUTS,
  UTP_DEFAULT_MAX_DATAGRAM_BYTES,
  UTP_FIN_LINGER_MS,
  UTP_IDLE_TIMEOUT_MS,
  UTP_KEEPALIVE_MS,
  UTP_MAX_DATAGRAM_BYTES,
  UTP_MIN_DATAGRAM_BYTES,
  UTP_RECEIVE_BUFFER_BYTES,
  UTP_SEND_BUFFER_BYTES,
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
import {
  DATAGRAM_SIZE_DECLARATION_BYTES,
  EXTENSION_BITS,
  EXTENSION_SACK,
  encodeDatagramSizeDeclaration,
  encodeExtensionHeader,
  encodeHeader,
  PacketType,
  UTP_HEADER_BYTES,
  type UtpHeaderFields,
  type UtpPacket,
} from './packet.js';
import { Receiver, type ReceiverSink } from './receiver.js';
import type { RttEstimator } from './rtt.js';
import { type InFlight, SlotFlag } from './send-buffer.js';
import { DATA_SACK_RESERVE, Sender } from './sender.js';
import { SEQ_MASK, seqAdd, seqDiff } from './seq.js';

/** Largest selective-ACK mask on a data packet / on an ST_STATE, in bytes. */
const DATA_SACK_MAX_BYTES = 8;
const STATE_SACK_MAX_BYTES = 64;
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
  readonly #out: UtpOutput;
  readonly #owner: UtpConnectionOwner | undefined;
  #handlers: UtpConnectionHandlers | undefined;
  readonly #hdr: UtpHeaderFields = {
    type: PacketType.State,
    connectionId: 0,
    timestampUs: 0,
    timestampDiffUs: 0,
    wndSize: 0,
    seqNr: 0,
    ackNr: 0,
  };
  // sending
  readonly #tx: Sender;
  #peerWnd = 0;
  #rtoStartMs = 0;
  #consecutiveTimeouts = 0;
  #windowLimited = false;
  #blockedSinceMs = -1;
  #forceOne = false;
  #writeBlocked = false;
  #synSeq = 0;
  #synSentAtMs = 0;
  #synSends = 0;
  /** Ceiling toward a peer that declares large datagrams (0: none), in bytes. */
  readonly #largeDatagramBytes: number;
  /** The largest datagram we declare we accept, in bytes. */
  readonly #acceptBytes: number;
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
  #replyMicro = 0;
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
    this.#out = out;
    this.#owner = owner;
    this.#rx = new Receiver(opts.receiveBufferBytes ?? UTP_RECEIVE_BUFFER_BYTES, MAX_UTP_RECEIVE_PACKETS);
    const max = Math.min(UTP_MAX_DATAGRAM_BYTES, opts.maxDatagramBytes ?? UTP_DEFAULT_MAX_DATAGRAM_BYTES);
    const min = Math.min(
      max,
      Math.max(UTP_HEADER_BYTES + DATA_SACK_RESERVE + 1, opts.minDatagramBytes ?? UTP_MIN_DATAGRAM_BYTES),
    );
    const receiveBytes = opts.receiveBufferBytes ?? UTP_RECEIVE_BUFFER_BYTES;
    // A packet must fit the receive window many times over, or the sender stalls on it.
    this.#acceptBytes = Math.max(
      UTP_DEFAULT_MAX_DATAGRAM_BYTES,
      Math.min(UTP_MAX_DATAGRAM_BYTES, Math.floor(receiveBytes / 8)),
    );
    this.#largeDatagramBytes =
      opts.mtuProbing === false ? 0 : Math.min(UTP_MAX_DATAGRAM_BYTES, opts.largeDatagramBytes ?? 0);
    this.#tx = new Sender({
      sendBufferBytes: opts.sendBufferBytes ?? UTP_SEND_BUFFER_BYTES,
      inFlightPackets: MAX_UTP_PACKETS_IN_FLIGHT,
      initialWindowBytes: INITIAL_WINDOW_BYTES,
      mtuFloor: opts.mtuProbing === false ? max : min,
      mtuCeiling: max,
      ...(opts.targetDelayMs === undefined ? {} : { targetDelayMs: opts.targetDelayMs }),
    });
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
    return this.#peerWnd;
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
    this.#peerWnd = p.wndSize;
    this.#noteTimestamps(p, now);
    this.#notePeerDatagrams(p);
    this.#ackOwed = true;
  }

  /** The peer's SYN or SYN answer declared its datagram size: probe up to it if the path may carry it. */
  #notePeerDatagrams(p: UtpPacket): void {
    if (p.datagramBytes === 0) return;
    this.#peerDeclared = true;
    const large = Math.min(this.#largeDatagramBytes, p.datagramBytes);
    if (large > this.#tx.mtu.ceiling) this.#tx.mtu.raiseCeiling(large);
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
      this.#rtoStartMs = now;
      this.#noteTimestamps(p, now);
      this.#notePeerDatagrams(p);
      this.#peerWnd = p.wndSize;
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
      this.#peerWnd = p.wndSize;
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
    if (this.inFlight.count > 0) d = Math.min(d, this.#rtoStartMs + this.rtt.rtoMs);
    else if (this.#blockedSinceMs >= 0) d = Math.min(d, this.#blockedSinceMs + this.rtt.rtoMs);
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
    if (this.inFlight.count > 0 && now >= this.#rtoStartMs + this.rtt.rtoMs) this.#onTimeout(now);
    if (this.isClosed) return;
    if (
      this.inFlight.count === 0 &&
      this.#blockedSinceMs >= 0 &&
      now >= this.#blockedSinceMs + this.rtt.rtoMs
    ) {
      // The peer's window stayed closed for a timeout: send one packet anyway (a window probe).
      this.#forceOne = true;
      this.#blockedSinceMs = now;
    }
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
    this.#rtoStartMs = now;
  }

  // --- output -----------------------------------------------------------------------------------

  /** Sends what is due: resends, new data within the windows, a FIN, an owed ACK. */
  flush(now: number): void {
    if (this.isClosed || this.#state === 'syn-sent') return;
    if (this.#state === 'syn-recv') {
      // No data before the dialler's next packet: a reordered data packet overtaking our SYN
      // answer would make the dialler take its seq_nr as the first (libtorrent does).
      if (this.#ackOwed) this.#sendControl(PacketType.State, now, 0);
      this.#ackOwed = false;
      return;
    }
    let sent = false;
    const f = this.inFlight;
    if (f.needResend > 0) {
      for (let k = 0, n = f.count; k < n && f.needResend > 0; k++) {
        const seq = seqAdd(f.oldest, k);
        const i = f.slot(seq);
        if ((f.flags[i]! & SlotFlag.NeedResend) === 0) continue;
        const len = f.length[i]!;
        if (f.bytesInFlight > 0 && f.bytesInFlight + len > this.cc.windowBytes) break;
        f.flags[i] = f.flags[i]! & ~(SlotFlag.NeedResend | SlotFlag.Probe);
        f.needResend--;
        this.#sendData(seq, now);
        this.stats.packetsResent++;
        sent = true;
      }
    }
    this.#windowLimited = false;
    const payloadMax = this.packetPayloadBytes;
    for (;;) {
      const uncut = this.#tx.ring.uncutBytes;
      if (uncut === 0 || f.isFull) break;
      let n = Math.min(uncut, payloadMax);
      let flags = 0;
      const probeSize = this.#probeSize();
      if (probeSize > 0 && uncut >= probeSize - UTP_HEADER_BYTES - DATA_SACK_RESERVE) {
        n = probeSize - UTP_HEADER_BYTES - DATA_SACK_RESERVE;
        flags = SlotFlag.Probe;
      }
      // Nagle: a short packet waits while others are in flight (their ACK will carry it out).
      if (n < payloadMax && f.count > 0 && !this.#closing) break;
      if (f.bytesInFlight > 0 && f.bytesInFlight + n > this.cc.windowBytes) {
        this.#windowLimited = true;
        break;
      }
      if (f.bytesInFlight + n > this.#peerWnd) {
        // The reader's window is closed: wait for its update, or probe after a timeout.
        if (!this.#forceOne) {
          if (this.#blockedSinceMs < 0) this.#blockedSinceMs = now;
          break;
        }
        this.#forceOne = false;
        if (flags !== 0) {
          flags = 0;
          n = Math.min(uncut, payloadMax);
        }
      }
      this.#blockedSinceMs = -1;
      const seq = f.push(this.#tx.ring.cut(n), n, flags);
      if (flags !== 0) this.#tx.mtu.sent(seq);
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

  #probeSize(): number {
    return this.#tx.mtu.nextProbeBytes();
  }

  #sendSyn(now: number): void {
    this.#synSends++;
    this.#synSentAtMs = now;
    const h = this.#hdr;
    h.type = PacketType.Syn;
    h.connectionId = this.recvId;
    h.seqNr = this.#synSeq;
    h.ackNr = 0;
    this.#fillCommon(h, now);
    const length = UTP_HEADER_BYTES + DATAGRAM_SIZE_DECLARATION_BYTES;
    const buf = this.#out.acquire(length);
    const at = encodeHeader(buf, h, EXTENSION_BITS);
    encodeDatagramSizeDeclaration(buf, at, 0, this.#acceptBytes);
    this.#transmit(buf, length, false, now);
  }

  /** ST_STATE or ST_RESET, with a selective ACK of up to `sackMax` bytes when packets are missing. */
  #sendControl(type: PacketType, now: number, sackMax: number): void {
    const h = this.#hdr;
    h.type = type;
    h.connectionId = this.sendId;
    // After our FIN, libtorrent ignores any packet whose seq_nr is past the FIN's (it takes it
    // as beyond the end of the stream), ACKs included: they carry the FIN's seq_nr then.
    h.seqNr =
      this.#state === 'syn-recv' ? this.#synSeq : this.#finSeq >= 0 ? this.#finSeq : this.inFlight.next;
    h.ackNr = this.#rx.ackNr;
    this.#fillCommon(h, now);
    const sackLen = sackMax > 0 ? this.#rx.sackBytes(sackMax) : 0;
    // The SYN answer declares our datagram size back to a peer that declared its own.
    const declare = this.#state === 'syn-recv' && type === PacketType.State && this.#peerDeclared;
    const buf = this.#out.acquire(
      UTP_HEADER_BYTES + (sackLen > 0 ? 2 + sackLen : 0) + (declare ? DATAGRAM_SIZE_DECLARATION_BYTES : 0),
    );
    let at: number;
    if (declare) {
      at = encodeHeader(buf, h, EXTENSION_BITS);
      at = encodeDatagramSizeDeclaration(buf, at, sackLen > 0 ? EXTENSION_SACK : 0, this.#acceptBytes);
      if (sackLen > 0) {
        at = encodeExtensionHeader(buf, at, 0, sackLen);
        this.#rx.writeSack(buf, at, sackLen);
        at += sackLen;
      }
    } else {
      at = this.#encodeWithSack(buf, h, sackLen);
    }
    this.#transmit(buf, at, false, now);
  }

  #sendData(seq: number, now: number): void {
    const f = this.inFlight;
    const i = f.slot(seq);
    const len = f.length[i]!;
    const h = this.#hdr;
    h.type = (f.flags[i]! & SlotFlag.Fin) !== 0 ? PacketType.Fin : PacketType.Data;
    h.connectionId = this.sendId;
    h.seqNr = seq;
    h.ackNr = this.#rx.ackNr;
    this.#fillCommon(h, now);
    const sackLen = this.#rx.sackBytes(DATA_SACK_MAX_BYTES);
    const buf = this.#out.acquire(UTP_HEADER_BYTES + DATA_SACK_RESERVE + len);
    const at = this.#encodeWithSack(buf, h, sackLen);
    if (len > 0) this.#tx.ring.copyOut(f.start[i]!, len, buf, at);
    if (f.bytesInFlight === 0) this.#rtoStartMs = now;
    f.bytesInFlight += len;
    f.sentAtMs[i] = now;
    if (f.transmissions[i]! < 255) f.transmissions[i] = f.transmissions[i]! + 1;
    const probe = (f.flags[i]! & SlotFlag.Probe) !== 0 && f.transmissions[i] === 1;
    this.#transmit(buf, at + len, probe, now);
  }

  #fillCommon(h: UtpHeaderFields, now: number): void {
    h.timestampUs = Math.floor(now * 1000) >>> 0;
    h.timestampDiffUs = this.#replyMicro;
    h.wndSize = this.#rx.window;
    this.#rx.lastAdvertised = h.wndSize;
  }

  #encodeWithSack(buf: Uint8Array, h: UtpHeaderFields, sackLen: number): number {
    let at = encodeHeader(buf, h, sackLen > 0 ? EXTENSION_SACK : 0);
    if (sackLen === 0) return at;
    at = encodeExtensionHeader(buf, at, 0, sackLen);
    this.#rx.writeSack(buf, at, sackLen);
    return at + sackLen;
  }

  #transmit(buf: Uint8Array, length: number, probe: boolean, now: number): void {
    this.#lastSendMs = now;
    this.#ackOwed = false;
    this.stats.packetsSent++;
    this.#out.send(buf, length, probe);
  }

  // --- acknowledgements -------------------------------------------------------------------------

  #onAck(p: UtpPacket, now: number): void {
    const acked = this.#tx.onAck(p, now, this.#windowLimited);
    this.stats.fastRetransmits = this.#tx.fastRetransmits;
    if (this.#tx.progressed) {
      this.#consecutiveTimeouts = 0;
      this.#rtoStartMs = now;
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
    if (p.timestampUs !== 0) this.#replyMicro = ((Math.floor(now * 1000) >>> 0) - p.timestampUs) >>> 0;
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
