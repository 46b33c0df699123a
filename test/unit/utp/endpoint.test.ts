import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MAX_UTP_HALF_OPEN,
  MAX_UTP_RESETS_PER_SECOND,
  MAX_UTP_SYN_RATE_IPS,
  MAX_UTP_SYNS_PER_IP_PER_SECOND,
} from '../../../src/shared/limits.js';
import { SeededRandom } from '../../../src/testing/sim-network.js';
import {
  decodePacket,
  encodePacket,
  PacketType,
  type UtpConnection,
  UtpEndpoint,
  type UtpEndpointOptions,
  type UtpPacket,
} from '../../../src/utp/index.js';

function endpoint(opts: UtpEndpointOptions = {}) {
  const sent: { packet: UtpPacket; host: string; port: number }[] = [];
  const accepted: UtpConnection[] = [];
  const buf = new Uint8Array(70_000);
  const ep = new UtpEndpoint(
    {
      random: new SeededRandom(1),
      output: {
        acquire: () => buf,
        send: (d, len, host, port) => sent.push({ packet: decodePacket(d.slice(0, len)), host, port }),
      },
      onAccept: (c) => accepted.push(c),
    },
    opts,
  );
  return { ep, sent, accepted };
}

/** The dependencies an {@link endpoint} was made with (to make another on the same capture). */
function depsOf(e: ReturnType<typeof endpoint>) {
  const buf = new Uint8Array(70_000);
  return {
    output: {
      acquire: () => buf,
      send: (d: Uint8Array, len: number, host: string, port: number) =>
        e.sent.push({ packet: decodePacket(d.slice(0, len)), host, port }),
    },
    onAccept: (c: UtpConnection) => e.accepted.push(c),
  };
}

const syn = (id: number, seq = 1) =>
  encodePacket({
    type: PacketType.Syn,
    connectionId: id,
    timestampUs: 1,
    timestampDiffUs: 0,
    wndSize: 65536,
    seqNr: seq,
    ackNr: 0,
  });

describe('UtpEndpoint', () => {
  test('accepts a SYN: receive id = SYN id + 1, answer on the SYN id; a resent SYN does not open a second connection', () => {
    const { ep, sent, accepted } = endpoint();
    assert.equal(ep.onDatagram(syn(700), '127.0.0.1', 5000, 0), true);
    ep.flush(0);
    assert.equal(accepted.length, 1);
    assert.equal(accepted[0]!.recvId, 701);
    assert.equal(accepted[0]!.sendId, 700);
    assert.equal(sent[0]!.packet.type, PacketType.State);
    assert.equal(sent[0]!.packet.connectionId, 700);
    ep.onDatagram(syn(700), '127.0.0.1', 5000, 1);
    ep.flush(1);
    assert.equal(accepted.length, 1);
    assert.equal(sent.length, 2);
    // The same id from another port is another connection.
    ep.onDatagram(syn(700), '127.0.0.1', 5001, 2);
    assert.equal(ep.size, 2);
  });

  test('two endpoints connect and exchange bytes', () => {
    const a = endpoint();
    const b = endpoint();
    const c = a.ep.connect('127.0.0.2', 6881, 0);
    const deliver = (from: typeof a, to: typeof b, host: string, now: number) => {
      for (const s of from.sent.splice(0)) to.ep.onDatagram(s.packet.bytes, host, 6881, now);
      to.ep.flush(now);
    };
    let got = '';
    c.setHandlers({ data: () => {}, event: () => {} });
    deliver(a, b, '127.0.0.1', 1);
    const acc = b.accepted[0]!;
    acc.setHandlers({
      data: (x, o, l) => (got += new TextDecoder().decode(x.subarray(o, o + l))),
      event: () => {},
    });
    deliver(b, a, '127.0.0.2', 2);
    assert.equal(c.state, 'connected');
    c.write(new TextEncoder().encode('hello'));
    a.ep.flush(3);
    deliver(a, b, '127.0.0.1', 4);
    assert.equal(got, 'hello');
    assert.equal(acc.state, 'connected');
  });

  for (const seeds of [
    [1, 1],
    [1, 2],
  ] as const)
    test(`crossing SYNs (BEP 55 simultaneous open, random seeds ${seeds}): both dials and both accepts connect, each carries bytes`, () => {
      // Like two hosts behind NATs: A's first SYN is lost (B's NAT had no hole yet), B's SYN
      // passes (A's SYN opened A's NAT), then A's resent SYN passes too.
      const make = (seed: number) => {
        const e = endpoint();
        return { ...e, ep: new UtpEndpoint({ ...depsOf(e), random: new SeededRandom(seed) }) };
      };
      const a = make(seeds[0]);
      const b = make(seeds[1]);
      const deliver = (from: typeof a, to: typeof b, host: string, now: number) => {
        for (const s of from.sent.splice(0)) to.ep.onDatagram(s.packet.bytes, host, 6881, now);
        to.ep.flush(now);
      };
      const ca = a.ep.connect('198.51.100.2', 6881, 0);
      const cb = b.ep.connect('198.51.100.1', 6881, 0);
      a.sent.length = 0; // A's first SYN: dropped on the way
      deliver(b, a, '198.51.100.2', 1); // B's SYN reaches A: A accepts it beside its own dial
      assert.equal(a.accepted.length, 1);
      deliver(a, b, '198.51.100.1', 2); // A's STATE answer: B's dial connects
      assert.equal(cb.state, 'connected');
      a.ep.tick(1500); // A's dial resends its SYN
      a.ep.flush(1500);
      deliver(a, b, '198.51.100.1', 1500);
      assert.equal(b.accepted.length, 1);
      deliver(b, a, '198.51.100.2', 1501);
      assert.equal(ca.state, 'connected');
      assert.equal(a.ep.size, 2);
      assert.equal(b.ep.size, 2);
      // Each of the four ends gets what its partner writes, and nothing of the other connection's.
      const got = new Map<UtpConnection, string>();
      for (const c of [ca, cb, a.accepted[0]!, b.accepted[0]!]) {
        got.set(c, '');
        c.setHandlers({
          data: (x, o, l) => got.set(c, got.get(c)! + new TextDecoder().decode(x.subarray(o, o + l))),
          event: () => {},
        });
      }
      ca.write(new TextEncoder().encode('a-dial'));
      a.accepted[0]!.write(new TextEncoder().encode('a-accept'));
      a.ep.flush(1600);
      deliver(a, b, '198.51.100.1', 1601);
      assert.equal(got.get(b.accepted[0]!), 'a-dial');
      assert.equal(got.get(cb), 'a-accept');
      assert.equal(a.ep.stats.unknown + b.ep.stats.unknown, 0);
    });

  test('datagrams that are not uTP are handed back; malformed uTP is counted and dropped', () => {
    const { ep, sent } = endpoint();
    assert.equal(ep.onDatagram(new TextEncoder().encode('d1:t2:xx1:y1:qe'), '127.0.0.1', 1, 0), false);
    const bad = syn(5);
    bad[1] = 9; // an extension header past the end
    assert.equal(ep.onDatagram(bad, '127.0.0.1', 1, 0), true);
    assert.equal(ep.stats.malformed, 1);
    assert.equal(ep.stats.notUtp, 1);
    assert.equal(sent.length, 0);
  });

  test(`packets for unknown connections get ST_RESET, at most MAX_UTP_RESETS_PER_SECOND (${MAX_UTP_RESETS_PER_SECOND}) a second`, () => {
    const { ep, sent } = endpoint();
    const data = encodePacket(
      {
        type: PacketType.Data,
        connectionId: 9,
        timestampUs: 1,
        timestampDiffUs: 0,
        wndSize: 0,
        seqNr: 3,
        ackNr: 4,
      },
      Uint8Array.of(1),
    );
    for (let i = 0; i < MAX_UTP_RESETS_PER_SECOND + 50; i++) ep.onDatagram(data, '127.0.0.1', 1, 100);
    assert.equal(sent.length, MAX_UTP_RESETS_PER_SECOND);
    assert.equal(sent[0]!.packet.type, PacketType.Reset);
    assert.equal(sent[0]!.packet.ackNr, 3);
    assert.equal(sent[0]!.packet.connectionId, 9, 'the id the stranger sent with');
    ep.onDatagram(data, '127.0.0.1', 1, 1100);
    assert.equal(sent.length, MAX_UTP_RESETS_PER_SECOND + 1, 'a new second, a new allowance');
    // A reset is never answered with a reset.
    const reset = encodePacket({
      type: PacketType.Reset,
      connectionId: 9,
      timestampUs: 1,
      timestampDiffUs: 0,
      wndSize: 0,
      seqNr: 3,
      ackNr: 4,
    });
    ep.onDatagram(reset, '127.0.0.1', 1, 5000);
    assert.equal(sent.length, MAX_UTP_RESETS_PER_SECOND + 1);
  });

  test('an ST_RESET carrying either id of a connection resets it', () => {
    for (const dialled of [true, false]) {
      const { ep, accepted } = endpoint();
      if (!dialled) ep.onDatagram(syn(700), '127.0.0.1', 1, 0);
      const c = dialled ? ep.connect('127.0.0.1', 1, 0) : accepted[0]!;
      const reset = (id: number) =>
        encodePacket({
          type: PacketType.Reset,
          connectionId: id,
          timestampUs: 1,
          timestampDiffUs: 0,
          wndSize: 0,
          seqNr: 1,
          ackNr: 0,
        });
      ep.onDatagram(reset(c.sendId), '127.0.0.1', 1, 1);
      assert.equal(c.state, 'reset', dialled ? 'dialled, by its send id' : 'accepted, by its send id');
    }
    const { ep } = endpoint();
    const c = ep.connect('127.0.0.1', 1, 0);
    ep.onDatagram(
      encodePacket({
        type: PacketType.Reset,
        connectionId: c.recvId,
        timestampUs: 1,
        timestampDiffUs: 0,
        wndSize: 0,
        seqNr: 1,
        ackNr: 0,
      }),
      '127.0.0.1',
      1,
      1,
    );
    assert.equal(c.state, 'reset', 'by its receive id');
  });

  test('a full connection table refuses SYNs with ST_RESET', () => {
    const { ep, sent, accepted } = endpoint({ maxConnections: 3 });
    for (let i = 0; i < 5; i++) ep.onDatagram(syn(100 + 10 * i), `127.0.0.${i + 1}`, 1, 0);
    assert.equal(accepted.length, 3);
    assert.equal(ep.stats.refusedFull, 2);
    assert.equal(sent.filter((s) => s.packet.type === PacketType.Reset).length, 2);
    assert.throws(() => ep.connect('127.0.0.9', 1, 0), /uTP connections open/);
  });

  test(`at most MAX_UTP_HALF_OPEN (${MAX_UTP_HALF_OPEN}) accepted connections wait for the dialler`, () => {
    const { ep, accepted } = endpoint({ maxSynsPerIpPerSecond: 10_000 });
    for (let i = 0; i < MAX_UTP_HALF_OPEN + 10; i++) ep.onDatagram(syn(2 * i), '127.0.0.1', 1, 0);
    assert.equal(accepted.length, MAX_UTP_HALF_OPEN);
    assert.equal(ep.halfOpen, MAX_UTP_HALF_OPEN);
    assert.equal(ep.stats.refusedHalfOpen, 10);
    // One dialler speaks: its connection is no longer half-open, a new SYN fits.
    const first = accepted[0]!;
    const data = encodePacket({
      type: PacketType.State,
      connectionId: first.recvId,
      timestampUs: 1,
      timestampDiffUs: 0,
      wndSize: 65536,
      seqNr: 2,
      ackNr: first.inFlight.next - 1,
    });
    ep.onDatagram(data, '127.0.0.1', 1, 1);
    assert.equal(first.state, 'connected');
    assert.equal(ep.halfOpen, MAX_UTP_HALF_OPEN - 1);
    ep.onDatagram(syn(60_000), '127.0.0.1', 1, 2);
    assert.equal(accepted.length, MAX_UTP_HALF_OPEN + 1);
  });

  test(`at most MAX_UTP_SYNS_PER_IP_PER_SECOND (${MAX_UTP_SYNS_PER_IP_PER_SECOND}) SYNs a second from one address`, () => {
    const { ep, accepted } = endpoint({ maxHalfOpen: 1000 });
    for (let i = 0; i < MAX_UTP_SYNS_PER_IP_PER_SECOND + 5; i++) ep.onDatagram(syn(2 * i), '127.0.0.1', 1, 0);
    assert.equal(accepted.length, MAX_UTP_SYNS_PER_IP_PER_SECOND);
    ep.onDatagram(syn(9000), '127.0.0.2', 1, 0);
    assert.equal(accepted.length, MAX_UTP_SYNS_PER_IP_PER_SECOND + 1, 'other addresses are unaffected');
    ep.onDatagram(syn(9002), '127.0.0.1', 1, 1000);
    assert.equal(accepted.length, MAX_UTP_SYNS_PER_IP_PER_SECOND + 2, 'the next second');
  });

  test(`the per-address SYN limiter tracks at most MAX_UTP_SYN_RATE_IPS (${MAX_UTP_SYN_RATE_IPS}) addresses`, () => {
    const { ep, accepted } = endpoint({ maxHalfOpen: 100_000, maxConnections: 100_000 });
    const host = (i: number) => `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    for (let i = 0; i < MAX_UTP_SYN_RATE_IPS; i++) ep.onDatagram(syn(100), host(i), 1, 0);
    assert.equal(accepted.length, MAX_UTP_SYN_RATE_IPS);
    ep.onDatagram(syn(100), host(MAX_UTP_SYN_RATE_IPS), 1, 500);
    assert.equal(ep.stats.refusedRate, 1, "table full of this second's addresses: refused");
    ep.onDatagram(syn(100), host(MAX_UTP_SYN_RATE_IPS), 1, 1000);
    assert.equal(accepted.length, MAX_UTP_SYN_RATE_IPS + 1, 'a second later the old entries are evicted');
  });

  test('a full table evicts a connection in time-wait for a new one', () => {
    const a = endpoint({ maxConnections: 1 });
    const b = endpoint();
    const c = a.ep.connect('127.0.0.2', 6881, 0);
    c.setHandlers({ data: () => {}, event: () => {} });
    const deliver = (from: typeof a, to: typeof b, host: string, now: number) => {
      for (const s of from.sent.splice(0)) to.ep.onDatagram(s.packet.bytes, host, 6881, now);
      to.ep.flush(now);
    };
    deliver(a, b, '127.0.0.1', 1);
    const acc = b.accepted[0]!;
    acc.setHandlers({ data: () => {}, event: (e) => e.type === 'end' && acc.close() });
    deliver(b, a, '127.0.0.2', 2);
    c.close();
    for (let t = 3; t < 20 && !(c.isClosed && acc.isClosed); t++) {
      a.ep.flush(t);
      deliver(a, b, '127.0.0.1', t);
      deliver(b, a, '127.0.0.2', t);
    }
    assert.equal(c.closeReason, 'end');
    assert.equal(a.ep.size, 1, 'kept in time-wait');
    a.ep.onDatagram(syn(900), '127.0.0.3', 1, 30);
    assert.equal(a.accepted.length, 1, 'the time-wait slot went to the new connection');
    assert.equal(a.ep.stats.refusedFull, 0);
  });

  test('a closed connection leaves the table; its deadline goes away', () => {
    const { ep } = endpoint();
    const c = ep.connect('127.0.0.1', 1, 0);
    assert.equal(ep.size, 1);
    assert.ok(ep.nextDeadline() !== undefined);
    c.destroy(1);
    assert.equal(ep.size, 0);
    assert.equal(ep.nextDeadline(), undefined);
  });
});
