/**
 * The shared UDP socket (src/net/udp-socket.ts): datagrams told apart by their first bytes, each
 * kind to its one handler, everything else counted and dropped.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { classifyDatagram, SharedUdpSocket } from '../../../src/net/udp-socket.js';
import { encodePacket, PacketType } from '../../../src/utp/index.js';

const utp = (type: number) =>
  encodePacket({
    type: type as PacketType,
    connectionId: 7,
    timestampUs: 1,
    timestampDiffUs: 0,
    wndSize: 0,
    seqNr: 1,
    ackNr: 0,
  });
const tracker = (action: number, extra = 4) => {
  const b = Buffer.alloc(4 + extra);
  b.writeUInt32BE(action, 0);
  return b;
};

test('classifyDatagram: KRPC, uTP and UDP tracker replies by their first bytes', () => {
  assert.equal(
    classifyDatagram(Buffer.from('d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe')),
    'krpc',
  );
  for (const t of [PacketType.Data, PacketType.Fin, PacketType.State, PacketType.Reset, PacketType.Syn])
    assert.equal(classifyDatagram(utp(t)), 'utp', `uTP type ${t}`);
  for (const action of [0, 1, 2, 3])
    assert.equal(classifyDatagram(tracker(action)), 'tracker', `action ${action}`);
  // Neither: an unknown tracker action, a uTP type 5, version 2, short datagrams, a `d` that is
  // not a whole dictionary, an empty datagram.
  assert.equal(classifyDatagram(tracker(4)), undefined);
  const bad = utp(PacketType.Data);
  bad[0] = (5 << 4) | 1;
  assert.equal(classifyDatagram(bad), undefined);
  bad[0] = (0 << 4) | 2;
  assert.equal(classifyDatagram(bad), undefined);
  assert.equal(classifyDatagram(utp(PacketType.State).subarray(0, 19)), undefined);
  assert.equal(classifyDatagram(tracker(1, 3)), undefined);
  assert.equal(classifyDatagram(Buffer.from('d1:a')), undefined);
  assert.equal(classifyDatagram(Buffer.from('d')), undefined);
  assert.equal(classifyDatagram(new Uint8Array(0)), undefined);
});

test('SharedUdpSocket: each kind reaches its handler; the rest is counted as dropped', async () => {
  const shared = await SharedUdpSocket.bind('127.0.0.1', 0);
  const peer = createSocket('udp4');
  try {
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
    const got: string[] = [];
    let all: () => void = () => {};
    const three = new Promise<void>((r) => {
      all = r;
    });
    const note = (kind: string) => (bytes: Buffer, host: string, port: number) => {
      assert.equal(host, '127.0.0.1');
      assert.equal(port, peer.address().port);
      got.push(`${kind}:${bytes.length}`);
      if (got.length === 3) all();
    };
    shared.handle('krpc', note('krpc'));
    shared.handle('utp', note('utp'));
    const stopTracker = shared.handle('tracker', note('tracker'));
    assert.equal(shared.isHandled('tracker'), true);
    // Dropped first (unknown kind), then one of each kind; datagrams from one socket arrive in order.
    peer.send(Buffer.from([0xff, 1, 2, 3]), shared.port, '127.0.0.1');
    peer.send(Buffer.from('d1:y1:qe'), shared.port, '127.0.0.1');
    peer.send(utp(PacketType.Syn), shared.port, '127.0.0.1');
    peer.send(tracker(1, 16), shared.port, '127.0.0.1');
    await three;
    assert.deepEqual(got.sort(), ['krpc:8', 'tracker:20', 'utp:20']);
    assert.deepEqual(shared.stats, { utp: 1, krpc: 1, tracker: 1, dropped: 1 });
    // A kind nobody handles any more is dropped too.
    stopTracker();
    assert.equal(shared.isHandled('tracker'), false);
    const krpc = new Promise<void>((r) => shared.handle('krpc', () => r()));
    peer.send(tracker(0, 12), shared.port, '127.0.0.1');
    peer.send(Buffer.from('d1:y1:re'), shared.port, '127.0.0.1');
    await krpc;
    assert.equal(shared.stats.dropped, 2);
    // Sends go out from the shared port.
    const echoed = once(peer, 'message');
    shared.send(Buffer.from('hello'), peer.address().port, '127.0.0.1');
    const [msg, rinfo] = (await echoed) as [Buffer, { port: number }];
    assert.equal(msg.toString(), 'hello');
    assert.equal(rinfo.port, shared.port);
  } finally {
    peer.close();
    await shared.close();
  }
  // A closed socket refuses sends through the callback, without throwing.
  const err = await new Promise<Error | null>((r) => shared.send(Buffer.from('x'), 9, '127.0.0.1', r));
  assert.match(String(err), /closed/);
});
