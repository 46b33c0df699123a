import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode } from '../../../src/shared/errors.js';
import {
  MAX_UTP_PACKETS_IN_FLIGHT,
  MAX_UTP_RECEIVE_PACKETS,
  MAX_UTP_SYN_RESENDS,
  MAX_UTP_TIMEOUTS,
  UTP_DEFAULT_MAX_DATAGRAM_BYTES,
  UTP_FIN_LINGER_MS,
  UTP_IDLE_TIMEOUT_MS,
  UTP_INITIAL_RTO_MS,
  UTP_KEEPALIVE_MS,
  UTP_MAX_DATAGRAM_BYTES,
  UTP_SYN_RECV_TIMEOUT_MS,
  UTP_TIME_WAIT_MS,
} from '../../../src/shared/limits.js';
import { sackBit, UtpConnection } from '../../../src/utp/index.js';
import { Capture, PacketType, peerPacket, record } from './helpers.js';

/** A dialled connection, connected: our data starts at seq 101, the peer's at 5001. */
function dialled(opts = {}, initialSeq = 100) {
  const out = new Capture();
  const c = new UtpConnection({ recvId: 1000, sendId: 1001, initialSeq }, out, 0, opts);
  const r = record(c);
  c.connect(0);
  const syn = out.take()[0]!;
  c.onPacket(peerPacket({ type: PacketType.State, connectionId: 1000, seqNr: 5001, ackNr: syn.seqNr }), 10);
  c.flush(10);
  out.take();
  return { c, out, r };
}

const bytes = (n: number, v = 7) => new Uint8Array(n).fill(v);

describe('UtpConnection: handshake (BEP 29 §connection setup)', () => {
  test('the SYN carries our receive id; later packets our send id (= receive id + 1)', () => {
    const out = new Capture();
    const c = new UtpConnection({ recvId: 65535, sendId: 0, initialSeq: 1 }, out, 0);
    const r = record(c);
    c.connect(0);
    const [syn] = out.take();
    assert.equal(syn!.type, PacketType.Syn);
    assert.equal(syn!.connectionId, 65535);
    assert.equal(syn!.seqNr, 1);
    assert.equal(c.state, 'syn-sent');
    // An answer that does not acknowledge the SYN is ignored.
    c.onPacket(peerPacket({ type: PacketType.State, connectionId: 65535, seqNr: 77, ackNr: 9 }), 5);
    assert.equal(c.state, 'syn-sent');
    c.onPacket(peerPacket({ type: PacketType.State, connectionId: 65535, seqNr: 77, ackNr: 1 }), 5);
    assert.equal(c.state, 'connected');
    assert.deepEqual(r.events, [{ type: 'connected' }]);
    c.write(bytes(10));
    c.flush(6);
    const sent = out.take();
    const data = sent.find((p) => p.type === PacketType.Data)!;
    assert.equal(data.connectionId, 0, 'send id wraps to 0');
    assert.equal(data.seqNr, 2);
    assert.equal(data.ackNr, 76, 'the answer’s seq_nr is the peer’s first data seq: ack_nr = seq_nr − 1');
  });

  test('accepting answers with ST_STATE whose seq_nr is our first data seq, and sends no data before the dialler speaks', () => {
    const out = new Capture();
    const c = new UtpConnection({ recvId: 501, sendId: 500, initialSeq: 65535 }, out, 0);
    const r = record(c);
    c.accept(peerPacket({ type: PacketType.Syn, connectionId: 500, seqNr: 42 }), 0);
    c.write(bytes(100));
    c.flush(0);
    const [ack, ...rest] = out.take();
    assert.equal(ack!.type, PacketType.State);
    assert.equal(ack!.connectionId, 500);
    assert.equal(ack!.ackNr, 42);
    assert.equal(ack!.seqNr, 65535);
    assert.equal(rest.length, 0);
    // A resent SYN is answered again, with the same seq_nr.
    c.onPacket(peerPacket({ type: PacketType.Syn, connectionId: 500, seqNr: 42 }), 1);
    c.flush(1);
    assert.equal(out.take()[0]!.seqNr, 65535);
    c.onPacket(
      peerPacket({ type: PacketType.Data, connectionId: 501, seqNr: 43, ackNr: 65534 }, bytes(3, 9)),
      2,
    );
    c.flush(2);
    assert.equal(c.state, 'connected');
    assert.deepEqual(r.data, [9, 9, 9]);
    const data = out.take().find((p) => p.type === PacketType.Data)!;
    assert.equal(data.seqNr, 65535);
    assert.equal(data.ackNr, 43);
  });

  test(`a dial fails with UtpTimeout after MAX_UTP_SYN_RESENDS (${MAX_UTP_SYN_RESENDS}) resends, backing off`, () => {
    const out = new Capture();
    const c = new UtpConnection({ recvId: 1, sendId: 2, initialSeq: 1 }, out, 0);
    const r = record(c);
    c.connect(0);
    let t = 0;
    const times: number[] = [];
    while (!c.isClosed) {
      t = c.nextDeadline()!;
      c.tick(t);
      times.push(t);
    }
    assert.equal(out.take().length, 1 + MAX_UTP_SYN_RESENDS);
    assert.equal(times[0], UTP_INITIAL_RTO_MS);
    assert.equal(times[1]! - times[0]!, 2 * UTP_INITIAL_RTO_MS);
    const closed = r.events.at(-1)!;
    assert.equal(closed.type === 'closed' && closed.reason, 'timeout');
    assert.equal(closed.type === 'closed' && closed.error?.code, ErrorCode.UtpTimeout);
  });

  test(`an accepted connection that never hears from the dialler again times out after UTP_SYN_RECV_TIMEOUT_MS`, () => {
    const c = new UtpConnection({ recvId: 501, sendId: 500, initialSeq: 1 }, new Capture(), 0);
    const r = record(c);
    c.accept(peerPacket({ type: PacketType.Syn, connectionId: 500, seqNr: 42 }), 0);
    let t = 0;
    while (!c.isClosed) {
      t = c.nextDeadline()!;
      c.tick(t);
    }
    assert.equal(t, UTP_SYN_RECV_TIMEOUT_MS, 'keep-alives go out, but the half-open bound holds');
    assert.equal(c.closeReason, 'timeout');
    assert.ok(c.nextDeadline() === undefined);
    assert.equal(r.events.at(-1)!.type, 'closed');
  });
});

describe('UtpConnection: data, acknowledgements, loss', () => {
  test('in-order data is delivered from the datagram and acknowledged once per flush', () => {
    const { c, out, r } = dialled();
    c.onPacket(peerPacket({ type: PacketType.Data, seqNr: 5001, ackNr: 100 }, bytes(2, 1)), 20);
    c.onPacket(peerPacket({ type: PacketType.Data, seqNr: 5002, ackNr: 100 }, bytes(2, 2)), 20);
    c.flush(20);
    assert.deepEqual(r.data, [1, 1, 2, 2]);
    const acks = out.take();
    assert.equal(acks.length, 1);
    assert.equal(acks[0]!.ackNr, 5002);
    assert.equal(acks[0]!.sackOffset, -1);
  });

  test('out-of-order data is held, selectively acknowledged, and delivered when the gap fills', () => {
    const { c, out, r } = dialled();
    c.onPacket(peerPacket({ type: PacketType.Data, seqNr: 5003, ackNr: 100 }, bytes(1, 3)), 20);
    c.onPacket(peerPacket({ type: PacketType.Data, seqNr: 5005, ackNr: 100 }, bytes(1, 5)), 20);
    c.flush(20);
    const [ack] = out.take();
    assert.equal(ack!.ackNr, 5000);
    assert.equal(sackBit(ack!, 0), false, '5002 missing');
    assert.equal(sackBit(ack!, 1), true, '5003');
    assert.equal(sackBit(ack!, 3), true, '5005');
    assert.equal(r.data.length, 0);
    assert.equal(c.receiveHeldBytes, 2);
    c.onPacket(peerPacket({ type: PacketType.Data, seqNr: 5001, ackNr: 100 }, bytes(1, 1)), 21);
    c.onPacket(peerPacket({ type: PacketType.Data, seqNr: 5002, ackNr: 100 }, bytes(1, 2)), 21);
    c.onPacket(peerPacket({ type: PacketType.Data, seqNr: 5004, ackNr: 100 }, bytes(1, 4)), 21);
    c.flush(21);
    assert.deepEqual(r.data, [1, 2, 3, 4, 5]);
    assert.equal(out.take()[0]!.ackNr, 5005);
    // A duplicate is not delivered twice, but is acknowledged again.
    c.onPacket(peerPacket({ type: PacketType.Data, seqNr: 5003, ackNr: 100 }, bytes(1, 3)), 22);
    c.flush(22);
    assert.deepEqual(r.data, [1, 2, 3, 4, 5]);
    assert.equal(out.take()[0]!.ackNr, 5005);
  });

  test('sequence numbers wrap from 65535 to 0 in both directions', () => {
    const { c, out, r } = dialled({ mtuProbing: false }, 65533);
    c.write(bytes(2 * c.packetPayloadBytes, 4));
    c.flush(20);
    const sent = out.take().filter((p) => p.type === PacketType.Data);
    assert.deepEqual(
      sent.map((p) => p.seqNr),
      [65534, 65535],
    );
    c.write(bytes(2 * c.packetPayloadBytes, 4));
    c.onPacket(peerPacket({ type: PacketType.State, seqNr: 5001, ackNr: 65535 }), 30);
    c.flush(30);
    assert.deepEqual(
      out.take().map((p) => p.seqNr),
      [0, 1],
    );
    c.onPacket(peerPacket({ type: PacketType.State, seqNr: 5001, ackNr: 1 }), 40);
    assert.equal(c.inFlight.count, 0);
    assert.equal(c.bufferedBytes, 0);
    assert.ok(r.events.every((e) => e.type !== 'closed'));
  });

  test('three duplicate ACKs resend the oldest packet and halve the window', () => {
    const { c, out } = dialled({ mtuProbing: false });
    c.cc.windowBytes = 100_000;
    c.write(bytes(10 * c.packetPayloadBytes));
    c.flush(20);
    const sent = out.take();
    assert.equal(sent.length, 10);
    const w = c.cc.windowBytes;
    for (let i = 0; i < 3; i++)
      c.onPacket(peerPacket({ type: PacketType.State, seqNr: 5001, ackNr: 100 }), 30);
    c.flush(30);
    const resent = out.take();
    assert.equal(resent[0]!.seqNr, 101);
    assert.equal(c.stats.fastRetransmits, 1);
    assert.equal(c.cc.windowBytes, w / 2);
  });

  test('a packet with three selectively acknowledged packets after it is resent', () => {
    const { c, out } = dialled({ mtuProbing: false });
    c.cc.windowBytes = 100_000;
    c.write(bytes(6 * c.packetPayloadBytes));
    c.flush(20);
    out.take();
    // ack 101, SACK 103, 104, 105 (bits 0..2 are 103..105): 102 is lost.
    c.onPacket(
      peerPacket(
        { type: PacketType.State, seqNr: 5001, ackNr: 101 },
        undefined,
        Uint8Array.of(0b111, 0, 0, 0),
      ),
      30,
    );
    c.flush(30);
    const resent = out.take().filter((p) => p.type === PacketType.Data);
    assert.deepEqual(
      resent.map((p) => p.seqNr),
      [102],
    );
  });

  test(`a timeout resends from a one-packet window; MAX_UTP_TIMEOUTS (${MAX_UTP_TIMEOUTS}) in a row end the connection`, () => {
    const { c, out, r } = dialled();
    c.write(bytes(3 * c.packetPayloadBytes));
    c.flush(20);
    assert.ok(out.take().length >= 2);
    const t = c.nextDeadline()!;
    c.tick(t);
    const resent = out.take();
    assert.equal(resent.length, 1);
    assert.equal(resent[0]!.seqNr, 101);
    assert.equal(c.cc.windowBytes, c.packetPayloadBytes);
    let timeouts = 1;
    while (!c.isClosed) {
      const d = c.nextDeadline()!;
      c.tick(d);
      if (out.take().some((p) => p.type === PacketType.Data)) timeouts++;
    }
    assert.equal(timeouts, MAX_UTP_TIMEOUTS, 'the next timeout ends it without another resend');
    assert.equal(c.closeReason, 'timeout');
    assert.equal(r.events.at(-1)!.type, 'closed');
  });

  test('an ACK of a packet never sent is ignored', () => {
    const { c, out } = dialled();
    c.write(bytes(10));
    c.flush(20);
    out.take();
    c.onPacket(peerPacket({ type: PacketType.State, seqNr: 5001, ackNr: 300 }), 30);
    assert.equal(c.inFlight.count, 1);
  });

  test('an idle connection sends a keep-alive ST_STATE', () => {
    const { c, out } = dialled();
    assert.equal(c.nextDeadline(), 10 + UTP_KEEPALIVE_MS);
    c.tick(10 + UTP_KEEPALIVE_MS);
    const [k] = out.take();
    assert.equal(k!.type, PacketType.State);
  });
});

describe('UtpConnection: buffers and windows', () => {
  test('write accepts no more than the send buffer, and says when it is writable again', () => {
    const { c, r } = dialled({ sendBufferBytes: 10_000 });
    assert.equal(c.write(bytes(25_000)), 10_000);
    assert.equal(c.write(bytes(1)), 0);
    c.flush(20);
    c.onPacket(peerPacket({ type: PacketType.State, seqNr: 5001, ackNr: c.inFlight.next - 1 }), 40);
    assert.ok(r.events.some((e) => e.type === 'writable'));
    assert.ok(c.write(bytes(5000)) > 0);
  });

  test('a paused reader shrinks the advertised window; held bytes never pass the receive buffer', () => {
    const cap = 8 * 1000;
    const { c, out, r } = dialled({ receiveBufferBytes: cap });
    c.pause();
    let seq = 5001;
    for (let i = 0; i < 30; i++)
      c.onPacket(peerPacket({ type: PacketType.Data, seqNr: seq++, ackNr: 100 }, bytes(1000)), 20);
    c.flush(20);
    assert.ok(c.receiveHeldBytes <= cap + c.mtuCeiling, `${c.receiveHeldBytes}`);
    assert.equal(r.data.length, 0);
    const ack = out.take()[0]!;
    assert.equal(ack.wndSize, 0);
    assert.ok(ack.ackNr < 5030, 'packets past the buffer were dropped, not acknowledged');
    c.resume();
    c.flush(30);
    assert.equal(r.data.length, c.stats.bytesDelivered);
    assert.ok(r.data.length >= cap);
    const update = out.take()[0]!;
    assert.equal(update.wndSize, cap, 'consumed bytes reopen the window, announced at once');
  });

  test('a closed peer window stops sending; a window probe goes out after a timeout', () => {
    const { c, out } = dialled();
    c.onPacket(peerPacket({ type: PacketType.State, seqNr: 5001, ackNr: 100, wndSize: 0 }), 20);
    c.write(bytes(5000));
    c.flush(20);
    assert.equal(out.take().length, 0);
    c.tick(c.nextDeadline()!);
    assert.equal(out.take().filter((p) => p.type === PacketType.Data).length, 1);
  });
});

describe('UtpConnection: FIN and RESET', () => {
  test('close sends the rest, then a FIN; the peer’s FIN ends after every byte before it', () => {
    const { c, out, r } = dialled();
    c.write(bytes(10, 1));
    c.close();
    assert.equal(c.write(bytes(1)), 0);
    c.flush(20);
    const sent = out.take();
    assert.deepEqual(
      sent.map((p) => p.type),
      [PacketType.Data, PacketType.Fin],
    );
    assert.equal(c.state, 'fin-sent');
    // The peer's FIN (seq 5002) arrives before its data (5001): no end until the data is in.
    c.onPacket(peerPacket({ type: PacketType.Fin, seqNr: 5002, ackNr: 102 }), 30);
    assert.ok(!r.events.some((e) => e.type === 'end'));
    c.onPacket(peerPacket({ type: PacketType.Data, seqNr: 5001, ackNr: 102 }, bytes(1, 8)), 31);
    assert.deepEqual(
      r.data,
      [1].map(() => 8),
    );
    assert.equal(c.closeReason, 'end');
    assert.deepEqual(
      r.events.map((e) => e.type),
      ['connected', 'end', 'closed'],
    );
    // Its ACK went out at once, with our FIN's seq_nr (libtorrent ignores packets past a FIN),
    // and a resent FIN is acknowledged again (time-wait).
    const finalAck = out.take().at(-1)!;
    assert.equal(finalAck.ackNr, 5002);
    assert.equal(finalAck.seqNr, sent[1]!.seqNr);
    c.onPacket(peerPacket({ type: PacketType.Fin, seqNr: 5002, ackNr: 102 }), 32);
    assert.equal(out.take()[0]!.ackNr, 5002);
  });

  test('ST_RESET from the peer resets the connection with UtpReset', () => {
    const { c, r } = dialled();
    c.onPacket(peerPacket({ type: PacketType.Reset, seqNr: 1, ackNr: 100 }), 20);
    assert.equal(c.state, 'reset');
    const e = r.events.at(-1)!;
    assert.equal(e.type === 'closed' && e.error?.code, ErrorCode.UtpReset);
  });

  test('destroy sends ST_RESET', () => {
    const { c, out } = dialled();
    c.destroy(20);
    assert.equal(out.take()[0]!.type, PacketType.Reset);
    assert.equal(c.closeReason, 'destroyed');
  });
});

describe('UtpConnection: path MTU probing', () => {
  test('binary search: an acknowledged probe raises the floor, a lost one lowers the ceiling', () => {
    const { c, out } = dialled({ minDatagramBytes: 600, maxDatagramBytes: 9000 });
    c.cc.windowBytes = 1_000_000;
    c.write(bytes(200_000));
    c.flush(20);
    const probe = out.sent.find((s) => s.probe)!;
    const mid = (600 + 9000 + 1) >> 1;
    // The probe's payload leaves room for a selective ACK it did not need this time (10 bytes).
    assert.equal(probe.bytes.length, mid - 10);
    out.take();
    // Acknowledge everything: the floor rises to the probe.
    c.onPacket(peerPacket({ type: PacketType.State, seqNr: 5001, ackNr: c.inFlight.next - 1 }), 30);
    assert.equal(c.mtuFloor, mid);
    c.write(bytes(200_000));
    c.flush(30);
    const probe2 = out.sent.find((s) => s.probe)!;
    assert.ok(probe2.bytes.length > c.mtuFloor);
    out.take();
    // Lose it (3 duplicate ACKs while it is the oldest): the ceiling drops below it, no window cut.
    const w = c.cc.windowBytes;
    const last = c.inFlight.oldest - 1;
    assert.equal(probe2.packet.seqNr, c.inFlight.oldest);
    for (let i = 0; i < 3; i++)
      c.onPacket(peerPacket({ type: PacketType.State, seqNr: 5001, ackNr: last }), 40);
    assert.equal(c.mtuCeiling, probe2.bytes.length + 10 - 1);
    assert.ok(c.cc.windowBytes >= w);
  });
});

describe('UtpConnection: bounds', () => {
  test(`at most MAX_UTP_PACKETS_IN_FLIGHT (${MAX_UTP_PACKETS_IN_FLIGHT}) packets are in flight`, () => {
    const { c, out } = dialled({
      mtuProbing: false,
      maxDatagramBytes: 600,
      sendBufferBytes: 4 * 1024 * 1024,
    });
    c.cc.windowBytes = 1e12;
    c.onPacket(peerPacket({ type: PacketType.State, seqNr: 5001, ackNr: 100, wndSize: 0xffffffff }), 15);
    c.write(bytes(3 * 1024 * 1024));
    c.flush(20);
    assert.equal(c.inFlight.count, MAX_UTP_PACKETS_IN_FLIGHT);
    assert.equal(out.take().length, MAX_UTP_PACKETS_IN_FLIGHT);
    c.flush(21);
    assert.equal(out.take().length, 0, 'no more until some are acknowledged');
  });

  test(`received packets more than MAX_UTP_RECEIVE_PACKETS (${MAX_UTP_RECEIVE_PACKETS}) ahead are dropped`, () => {
    const { c, r } = dialled({ receiveBufferBytes: 64 * 1024 * 1024 });
    const first = 5001;
    c.onPacket(
      peerPacket({ type: PacketType.Data, seqNr: first + MAX_UTP_RECEIVE_PACKETS - 1, ackNr: 100 }, bytes(1)),
      20,
    );
    assert.equal(c.receiveHeldBytes, 1, 'the last slot of the window is kept');
    c.onPacket(
      peerPacket({ type: PacketType.Data, seqNr: first + MAX_UTP_RECEIVE_PACKETS, ackNr: 100 }, bytes(1)),
      20,
    );
    assert.equal(c.receiveHeldBytes, 1, 'one past it is not');
    assert.equal(r.data.length, 0);
  });

  test('datagram sizes: UTP_DEFAULT_MAX_DATAGRAM_BYTES by default, never above UTP_MAX_DATAGRAM_BYTES', () => {
    assert.equal(dialled().c.mtuCeiling, UTP_DEFAULT_MAX_DATAGRAM_BYTES);
    assert.equal(dialled({ maxDatagramBytes: 1e6 }).c.mtuCeiling, UTP_MAX_DATAGRAM_BYTES);
  });

  test(`a peer silent for UTP_IDLE_TIMEOUT_MS (${UTP_IDLE_TIMEOUT_MS}) ends the connection`, () => {
    const { c, r } = dialled();
    let t = 0;
    while (!c.isClosed) {
      t = c.nextDeadline()!;
      c.tick(t);
    }
    assert.equal(t, 10 + UTP_IDLE_TIMEOUT_MS);
    assert.equal(c.closeReason, 'timeout');
    assert.equal(r.events.at(-1)!.type, 'closed');
  });

  test(`after our FIN is acknowledged, a peer that never sends its own is given UTP_FIN_LINGER_MS`, () => {
    const { c, out } = dialled();
    c.close();
    c.flush(20);
    const fin = out.take().find((p) => p.type === PacketType.Fin)!;
    c.onPacket(peerPacket({ type: PacketType.State, seqNr: 5001, ackNr: fin.seqNr }), 30);
    assert.equal(c.state, 'fin-sent');
    let t = 0;
    while (!c.isClosed) {
      t = c.nextDeadline()!;
      c.tick(t);
    }
    assert.equal(t, 30 + UTP_FIN_LINGER_MS);
    assert.equal(c.closeReason, 'end');
  });
});

describe('UtpConnection: time-wait', () => {
  test(`after a clean end it answers resends for UTP_TIME_WAIT_MS (${UTP_TIME_WAIT_MS}) after the last one`, () => {
    const { c, out } = dialled();
    c.close();
    c.flush(20);
    const fin = out.take().find((p) => p.type === PacketType.Fin)!;
    c.onPacket(peerPacket({ type: PacketType.Fin, seqNr: 5001, ackNr: fin.seqNr }), 30);
    assert.equal(c.closeReason, 'end');
    assert.equal(c.isTimeWait, true);
    assert.equal(c.bufferedBytes, 0, 'buffers freed');
    out.take();
    c.onPacket(
      peerPacket({ type: PacketType.Fin, seqNr: 5001, ackNr: fin.seqNr }),
      30 + UTP_TIME_WAIT_MS - 1,
    );
    const ack = out.take()[0]!;
    assert.equal(ack.type, PacketType.State);
    assert.equal(ack.ackNr, 5001);
    assert.equal(c.nextDeadline(), 30 + 2 * UTP_TIME_WAIT_MS - 1, 'refreshed by the resend');
    c.tick(30 + 2 * UTP_TIME_WAIT_MS - 1);
    assert.equal(c.isTimeWait, false);
    assert.equal(c.nextDeadline(), undefined);
  });
});

describe('UtpConnection: LEDBAT sees queuing delay beyond the smallest round trip ever seen', () => {
  test('a delay above the target shrinks the window even when an early round trip was 1 ms', () => {
    const { c, out } = dialled();
    let t = 20;
    const exchange = (rttMs: number, delayUs: number) => {
      c.write(bytes(1000));
      c.flush(t);
      const data = out.take().find((p) => p.type === PacketType.Data)!;
      t += rttMs;
      c.onPacket(
        peerPacket({
          type: PacketType.State,
          connectionId: 1000,
          seqNr: 5001,
          ackNr: data.seqNr,
          timestampDiffUs: delayUs,
        }),
        t,
      );
      t += 1;
    };
    // An empty path: 1 ms round trips, the base one-way delay 1 ms.
    for (let i = 0; i < 4; i++) exchange(1, 1000);
    const before = c.cc.windowBytes;
    // A queue of 250 ms (2.5× the target) on the path: round trips of 300 ms.
    for (let i = 0; i < 8; i++) exchange(300, 251_000);
    assert.ok(c.cc.ourDelayUs >= 250_000);
    assert.ok(c.cc.windowBytes < before, `window ${c.cc.windowBytes} not below ${before}`);
  });
});
