/**
 * Runs one uTP transfer on a {@link UtpSimNetwork}: host A dials B, each side writes its own
 * seeded random stream (as fast as `write` accepts), closes when done, and records what it
 * received. Invariants are checked at every event: no bound (send buffer, receive buffer,
 * in-flight packets, congestion window, timers) is ever crossed.
 */

import { MAX_UTP_PACKETS_IN_FLIGHT, UTP_MAX_RTO_MS, UTP_MIN_RTO_MS } from '../../../src/shared/limits.js';
import { SeededRandom } from '../../../src/testing/sim-network.js';
import { type UtpLinkOptions, UtpSimNetwork } from '../../../src/testing/utp-sim.js';
import type { UtpCloseReason, UtpConnection, UtpEndpointOptions } from '../../../src/utp/index.js';

export interface TransferOptions {
  readonly link: UtpLinkOptions;
  /** Bytes A sends to B. */
  readonly aToB: number;
  /** Bytes B sends to A. @default 0 */
  readonly bToA?: number;
  readonly endpoint?: UtpEndpointOptions;
  /** A's first sequence number (near 65535 to cross the wrap). */
  readonly initialSeq?: number;
  /** Virtual time limit, in ms. @default 3_600_000 */
  readonly limitMs?: number;
  /** The reader consumes this many bytes per ms at most (a slow reader); undefined: at once. */
  readonly readerBytesPerMs?: number;
  /** Largest single write, in bytes. @default 50_000 */
  readonly writeChunk?: number;
}

export interface Side {
  conn: UtpConnection | undefined;
  sent: Uint8Array;
  written: number;
  received: Uint8Array;
  receivedLength: number;
  ended: boolean;
  closed: UtpCloseReason | undefined;
  violations: string[];
  connectedAt: number;
  maxHeld: number;
  maxWindow: number;
  /** Virtual time at which each tenth of the expected bytes had arrived. */
  tenthsAt: number[];
}

export interface TransferResult {
  readonly a: Side;
  readonly b: Side;
  readonly net: UtpSimNetwork;
  readonly finishedAt: number;
  readonly startedAt: number;
  readonly done: boolean;
}

function side(bytes: Uint8Array, expect: number): Side {
  return {
    conn: undefined,
    sent: bytes,
    written: 0,
    received: new Uint8Array(expect),
    receivedLength: 0,
    ended: false,
    closed: undefined,
    violations: [],
    connectedAt: -1,
    maxHeld: 0,
    maxWindow: 0,
    tenthsAt: [],
  };
}

export function runTransfer(o: TransferOptions): TransferResult {
  const net = new UtpSimNetwork(o.link);
  const rnd = new SeededRandom(o.link.seed ^ 0xabcdef);
  const bToA = o.bToA ?? 0;
  const a = side(rnd.bytes(o.aToB), bToA);
  const b = side(rnd.bytes(bToA), o.aToB);
  const chunk = o.writeChunk ?? 50_000;
  const sendBuf = o.endpoint?.sendBufferBytes ?? 1024 * 1024;
  const recvBuf = o.endpoint?.receiveBufferBytes ?? 1024 * 1024;

  const check = (s: Side) => {
    const c = s.conn;
    if (c === undefined) return;
    if (c.bufferedBytes > sendBuf) s.violations.push(`send buffer ${c.bufferedBytes}`);
    if (c.receiveHeldBytes + c.unconsumedBytes > recvBuf + c.mtuCeiling)
      s.violations.push(`receive buffer ${c.receiveHeldBytes}+${c.unconsumedBytes}`);
    if (c.inFlight.count > MAX_UTP_PACKETS_IN_FLIGHT) s.violations.push(`in flight ${c.inFlight.count}`);
    if (c.cc.windowBytes > sendBuf || c.cc.windowBytes < c.packetPayloadBytes / 2)
      s.violations.push(`window ${c.cc.windowBytes}`);
    const rto = c.rtt.rtoMs;
    if (rto < UTP_MIN_RTO_MS || rto > UTP_MAX_RTO_MS) s.violations.push(`rto ${rto}`);
    const d = c.nextDeadline();
    if (d !== undefined && !(d >= net.now - 1e-6 || d >= net.now - 1))
      s.violations.push(`deadline in the past ${d}`);
    s.maxHeld = Math.max(s.maxHeld, c.receiveHeldBytes);
    s.maxWindow = Math.max(s.maxWindow, c.cc.windowBytes);
  };

  const pump = (s: Side, host: string) => {
    const c = s.conn;
    if (c === undefined || c.isClosed || c.state === 'syn-sent') return;
    while (s.written < s.sent.length) {
      const n = c.write(s.sent.subarray(s.written, Math.min(s.sent.length, s.written + chunk)));
      s.written += n;
      if (n === 0) break;
    }
    if (s.written === s.sent.length) c.close();
    net.settle(host);
  };

  // A slow reader consumes on a schedule instead of at once.
  const reader = (s: Side, host: string) => {
    if (o.readerBytesPerMs === undefined) return;
    const step = 10;
    const tick = () => {
      const c = s.conn;
      if (c === undefined || c.isClosed) return;
      const n = Math.min(c.unconsumedBytes, o.readerBytesPerMs! * step);
      if (n > 0) c.consumed(n);
      net.settle(host);
      net.clock.after(step, tick);
    };
    net.clock.after(step, tick);
  };

  const bind = (s: Side, c: UtpConnection, host: string) => {
    s.conn = c;
    c.setHandlers({
      data: (bytes, off, len) => {
        if (s.receivedLength + len > s.received.length) {
          s.violations.push('more bytes than sent');
          return;
        }
        s.received.set(bytes.subarray(off, off + len), s.receivedLength);
        s.receivedLength += len;
        while (
          s.tenthsAt.length < 10 &&
          s.receivedLength >= ((s.tenthsAt.length + 1) * s.received.length) / 10
        ) {
          s.tenthsAt.push(net.now);
        }
        if (o.readerBytesPerMs === undefined) c.consumed(len);
        check(s);
      },
      event: (e) => {
        if (e.type === 'connected') {
          s.connectedAt = net.now;
          pump(s, host);
        } else if (e.type === 'writable') pump(s, host);
        else if (e.type === 'end') s.ended = true;
        else if (e.type === 'closed') s.closed = e.reason;
      },
    });
    reader(s, host);
  };

  const epA = net.addEndpoint('192.0.2.1', o.endpoint);
  net.addEndpoint('192.0.2.2', o.endpoint, (c) => {
    bind(b, c, '192.0.2.2');
    // The acceptor may write at once (before the dialler's first data).
    pump(b, '192.0.2.2');
  });
  const startedAt = net.now;
  const conn = epA.connect('192.0.2.2', 6881, net.now, o.initialSeq);
  bind(a, conn, '192.0.2.1');
  net.settle('192.0.2.1');
  // Invariants between events too (timers, acks).
  const limit = net.now + (o.limitMs ?? 3_600_000);
  const done = net.clock.runUntilDone(() => {
    check(a);
    check(b);
    return a.closed !== undefined && b.closed !== undefined;
  }, limit);
  return { a, b, net, finishedAt: net.now, startedAt, done };
}

/** The first differing offset of two byte arrays, or -1. */
export function firstDifference(x: Uint8Array, y: Uint8Array): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return i;
  return x.length === y.length ? -1 : n;
}
