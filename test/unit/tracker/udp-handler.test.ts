import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeUdpResponse,
  encodeUdpAnnounceRequest,
  encodeUdpConnectRequest,
  encodeUdpScrapeRequest,
} from '../../../src/discovery/index.js';
import { TRACKER_MAX_UDP_PACKET_BYTES, TRACKER_MAX_UDP_REPLY_BYTES } from '../../../src/shared/limits.js';
import { TrackerCore, UdpTrackerHandler } from '../../../src/tracker/index.js';

const IH = new Uint8Array(20).fill(0x42);

function setup(opts: ConstructorParameters<typeof TrackerCore>[0] = {}) {
  let now = 0;
  const core = new TrackerCore({ clock: () => now, intervalS: 120, maxNumwant: 1000, ...opts });
  const h = new UdpTrackerHandler(core);
  const connect = (addr: string, port: number): Uint8Array => {
    const r = h.handle(Buffer.from(encodeUdpConnectRequest(1)), addr, port);
    assert.ok(r);
    const d = decodeUdpResponse(r, 4);
    assert.ok(d.action === 'connect');
    return d.connectionId;
  };
  const announce = (addr: string, port: number, peerPort: number, extra: Record<string, unknown> = {}) => {
    const id = connect(addr, port);
    return h.handle(
      Buffer.from(
        encodeUdpAnnounceRequest(id, 9, {
          infoHash: IH,
          peerId: new Uint8Array(20).fill(peerPort & 255),
          port: peerPort,
          uploaded: 0,
          downloaded: 0,
          left: 5,
          event: 'started',
          ...extra,
        }),
      ),
      addr,
      port,
    );
  };
  const advance = (ms: number): void => {
    now += ms;
  };
  return { core, h, connect, announce, advance };
}

describe('UDP tracker handler', () => {
  test('connect → announce → peers of the swarm, in the family of the packet', () => {
    const { announce } = setup();
    announce('127.0.0.1', 5000, 6001);
    const r = announce('127.0.0.2', 5000, 6002);
    assert.ok(r);
    const d = decodeUdpResponse(r, 4);
    assert.ok(d.action === 'announce');
    assert.equal(d.interval, 120);
    assert.equal(d.leechers, 2);
    assert.deepEqual(d.peers, [{ host: '127.0.0.1', port: 6001, family: 4 }]);
    // An IPv4-mapped source is IPv4 (dual-stack sockets report it so): 6-byte stride.
    const m = announce('::ffff:127.0.0.3', 5000, 6003);
    assert.ok(m);
    assert.equal((m.length - 20) % 6, 0);
    assert.equal(m.length, 20 + 2 * 6);
  });

  test('the connect reply is exactly as large as the connect request (no amplification)', () => {
    const { h } = setup();
    const req = Buffer.from(encodeUdpConnectRequest(5));
    assert.equal(h.handle(req, '192.0.2.1', 1)?.length, req.length);
  });

  test('wrong, guessed and other-address connection ids get no reply at all', () => {
    const { h, connect, core } = setup();
    const id = connect('192.0.2.1', 1000);
    const pkt = (cid: Uint8Array) =>
      Buffer.from(
        encodeUdpAnnounceRequest(cid, 1, {
          infoHash: IH,
          peerId: IH,
          port: 1,
          uploaded: 0,
          downloaded: 0,
          left: 0,
          event: 'none',
        }),
      );
    assert.equal(h.handle(pkt(new Uint8Array(8)), '192.0.2.1', 1000), undefined);
    assert.equal(h.handle(pkt(id), '192.0.2.2', 1000), undefined, 'spoofer at another address');
    assert.equal(h.handle(pkt(id), '192.0.2.1', 1001), undefined, 'another port');
    assert.ok(h.handle(pkt(id), '192.0.2.1', 1000));
    const scrape = Buffer.from(encodeUdpScrapeRequest(new Uint8Array(8).fill(9), 1, [IH]));
    assert.equal(h.handle(scrape, '192.0.2.1', 1000), undefined);
    assert.equal(core.counters.udpDropped, 4);
  });

  test('connection ids expire after two rotation periods', () => {
    const { h, connect, advance } = setup({ secretRotateMs: 60_000 });
    const id = connect('192.0.2.1', 1000);
    const scrape = Buffer.from(encodeUdpScrapeRequest(id, 1, [IH]));
    assert.ok(h.handle(scrape, '192.0.2.1', 1000));
    advance(120_000);
    assert.equal(h.handle(scrape, '192.0.2.1', 1000), undefined);
  });

  test('truncated, oversized and unknown datagrams are dropped', () => {
    const { h, connect } = setup();
    const id = connect('192.0.2.1', 1);
    const good = Buffer.from(
      encodeUdpAnnounceRequest(id, 1, {
        infoHash: IH,
        peerId: IH,
        port: 1,
        uploaded: 0,
        downloaded: 0,
        left: 0,
        event: 'none',
      }),
    );
    const oversized = Buffer.alloc(TRACKER_MAX_UDP_PACKET_BYTES + 1);
    good.copy(oversized);
    const unknown = Buffer.from(good);
    unknown.writeUInt32BE(9, 8);
    const badMagic = Buffer.from(encodeUdpConnectRequest(1));
    badMagic[3] = 0;
    for (const b of [Buffer.alloc(0), Buffer.alloc(15), good.subarray(0, 97), oversized, unknown, badMagic]) {
      assert.equal(h.handle(b, '192.0.2.1', 1), undefined, `length ${b.length}`);
    }
    const padded = Buffer.alloc(TRACKER_MAX_UDP_PACKET_BYTES);
    good.copy(padded);
    assert.ok(h.handle(padded, '192.0.2.1', 1), 'extension bytes up to the limit are fine');
  });

  test(`announce replies never exceed TRACKER_MAX_UDP_REPLY_BYTES (${TRACKER_MAX_UDP_REPLY_BYTES}), whatever num_want says`, () => {
    const { announce } = setup();
    for (let i = 0; i < 300; i++) announce(`10.0.${i >> 8}.${i & 255}`, 1, 7000);
    const r4 = announce('198.51.100.9', 1, 7000, { numwant: 100_000 });
    assert.ok(r4);
    assert.equal(r4.length, 20 + 6 * 202);
    assert.ok(r4.length <= TRACKER_MAX_UDP_REPLY_BYTES);
    for (let i = 0; i < 100; i++) announce(`2001:db8::${i.toString(16)}`, 1, 7000);
    const r6 = announce('2001:db8::ffff', 1, 7000, { numwant: 100_000 });
    assert.ok(r6);
    assert.equal(r6.length, 20 + 18 * 67);
    assert.ok(r6.length <= TRACKER_MAX_UDP_REPLY_BYTES);
    const d6 = decodeUdpResponse(r6, 6);
    assert.ok(d6.action === 'announce' && d6.peers.every((p) => p.family === 6));
  });

  test('num_want -1 means the default; stopped gets no peers and leaves the swarm', () => {
    const { announce, core } = setup({ defaultNumwant: 3 });
    for (let i = 1; i <= 10; i++) announce(`10.0.0.${i}`, 1, 7000);
    const r = announce('198.51.100.1', 1, 7000);
    assert.equal(r?.length, 20 + 6 * 3);
    const s = announce('198.51.100.1', 1, 7000, { event: 'stopped' });
    assert.equal(s?.length, 20);
    assert.equal(core.state.totals().peers, 10);
  });

  test('scrape replies are smaller than their requests', () => {
    const { h, connect, announce } = setup();
    announce('192.0.2.1', 1, 7000, { left: 0 });
    announce('192.0.2.2', 1, 7000);
    const id = connect('192.0.2.3', 1);
    const req = Buffer.from(encodeUdpScrapeRequest(id, 4, [IH, new Uint8Array(20)]));
    const r = h.handle(req, '192.0.2.3', 1);
    assert.ok(r && r.length < req.length);
    assert.deepEqual(decodeUdpResponse(r, 4), {
      action: 'scrape',
      transactionId: 4,
      entries: [
        { seeders: 1, completed: 0, leechers: 1 },
        { seeders: 0, completed: 0, leechers: 0 },
      ],
    });
  });

  test('whitelist refusals and port 0 are error replies no larger than the request', () => {
    const { announce } = setup({ whitelist: [new Uint8Array(20)] });
    const r = announce('192.0.2.1', 1, 7000);
    assert.ok(r && r.length <= 98);
    const d = decodeUdpResponse(r, 4);
    assert.ok(d.action === 'error');
    assert.match(d.message, /whitelist/);
    const { announce: a2 } = setup();
    const p0 = a2('192.0.2.1', 1, 0);
    assert.ok(p0);
    const e = decodeUdpResponse(p0, 4);
    assert.ok(e.action === 'error' && /port/.test(e.message));
  });
});
