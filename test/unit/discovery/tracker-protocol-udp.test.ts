import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeUdpRequest,
  decodeUdpResponse,
  encodeUdpAnnounceRequest,
  encodeUdpAnnounceResponse,
  encodeUdpConnectRequest,
  encodeUdpConnectResponse,
  encodeUdpErrorResponse,
  encodeUdpScrapeRequest,
  encodeUdpScrapeResponse,
  parseIpv6,
  readUdpTransactionId,
  TrackerError,
} from '../../../src/discovery/index.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { MAX_UDP_SCRAPE_HASHES, TRACKER_MAX_UDP_PACKET_BYTES } from '../../../src/shared/limits.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const connId = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const req = {
  infoHash: new Uint8Array(20).fill(0x11),
  peerId: new Uint8Array(20).fill(0x22),
  port: 6881,
  uploaded: 3,
  downloaded: 2 ** 33 + 1,
  left: 1,
  event: 'started' as const,
  key: 0xdeadbeef,
};

describe('UDP tracker datagrams (BEP 15 layouts)', () => {
  test('connect request: protocol id 0x41727101980, action 0, transaction id', () => {
    assert.equal(hex(encodeUdpConnectRequest(0x01020304)), '0000041727101980' + '00000000' + '01020304');
  });

  test('announce request: 98 bytes at the documented offsets', () => {
    const b = encodeUdpAnnounceRequest(connId, 0xaabbccdd, req);
    assert.equal(b.length, 98);
    assert.equal(hex(b.subarray(0, 8)), '0102030405060708');
    assert.equal(hex(b.subarray(8, 16)), '00000001aabbccdd');
    assert.equal(hex(b.subarray(16, 36)), '11'.repeat(20));
    assert.equal(hex(b.subarray(36, 56)), '22'.repeat(20));
    assert.equal(hex(b.subarray(56, 64)), '0000000200000001'); // downloaded
    assert.equal(hex(b.subarray(64, 72)), '0000000000000001'); // left
    assert.equal(hex(b.subarray(72, 80)), '0000000000000003'); // uploaded
    assert.equal(hex(b.subarray(80, 84)), '00000002'); // started
    assert.equal(hex(b.subarray(84, 88)), '00000000'); // IP: default
    assert.equal(hex(b.subarray(88, 92)), 'deadbeef'); // key
    assert.equal(hex(b.subarray(92, 96)), 'ffffffff'); // num_want -1
    assert.equal(hex(b.subarray(96, 98)), '1ae1'); // port
    const ev = (event: 'none' | 'completed' | 'stopped') =>
      encodeUdpAnnounceRequest(connId, 1, { ...req, event })[83];
    assert.deepEqual([ev('none'), ev('completed'), ev('stopped')], [0, 1, 3]);
    assert.equal(
      hex(encodeUdpAnnounceRequest(connId, 1, { ...req, numwant: 200 }).subarray(92, 96)),
      '000000c8',
    );
  });

  test('scrape request: 16 + 20·N bytes, at most MAX_UDP_SCRAPE_HASHES', () => {
    const b = encodeUdpScrapeRequest(connId, 9, [new Uint8Array(20).fill(1), new Uint8Array(20).fill(2)]);
    assert.equal(hex(b), '0102030405060708' + '00000002' + '00000009' + '01'.repeat(20) + '02'.repeat(20));
    assert.equal(
      encodeUdpScrapeRequest(connId, 9, new Array(MAX_UDP_SCRAPE_HASHES).fill(new Uint8Array(20))).length,
      16 + 20 * 74,
    );
    assert.throws(
      () => encodeUdpScrapeRequest(connId, 9, new Array(MAX_UDP_SCRAPE_HASHES + 1).fill(new Uint8Array(20))),
      (e: unknown) => e instanceof TrackerError && e.code === ErrorCode.TrackerRequest,
    );
  });

  test('responses decode: connect, announce (IPv4 and IPv6 strides), scrape, error', () => {
    const c = Buffer.from('00000000' + '0000002a' + '0102030405060708', 'hex');
    assert.deepEqual(decodeUdpResponse(c, 4), { action: 'connect', transactionId: 42, connectionId: connId });
    assert.equal(readUdpTransactionId(c), 42);

    const a4 = Buffer.from(
      '00000001' + '00000007' + '00000708' + '00000002' + '00000003' + '7f0000011ae1',
      'hex',
    );
    assert.deepEqual(decodeUdpResponse(a4, 4), {
      action: 'announce',
      transactionId: 7,
      interval: 1800,
      leechers: 2,
      seeders: 3,
      peers: [{ host: '127.0.0.1', port: 6881, family: 4 }],
    });
    const a6 = Buffer.concat([
      a4.subarray(0, 20),
      Buffer.from(parseIpv6('2001:db8::1')!),
      Buffer.from('0050', 'hex'),
    ]);
    const r6 = decodeUdpResponse(a6, 6);
    assert.ok(r6.action === 'announce');
    assert.deepEqual(r6.peers, [{ host: '2001:db8::1', port: 80, family: 6 }]);

    const s = Buffer.from('00000002' + '00000005' + '00000001' + '00000002' + '00000003', 'hex');
    assert.deepEqual(decodeUdpResponse(s, 4), {
      action: 'scrape',
      transactionId: 5,
      entries: [{ seeders: 1, completed: 2, leechers: 3 }],
    });
    const e = Buffer.concat([Buffer.from('00000003' + '00000005', 'hex'), Buffer.from('no such torrent')]);
    assert.deepEqual(decodeUdpResponse(e, 4), {
      action: 'error',
      transactionId: 5,
      message: 'no such torrent',
    });
  });

  test('short and unknown responses are TrackerBadResponse', () => {
    for (const h of [
      '',
      '000000',
      '00000000' + '00000001',
      '00000001' + '00000001' + '00000000',
      '00000009' + '00000001',
    ]) {
      assert.throws(
        () => decodeUdpResponse(Buffer.from(h, 'hex'), 4),
        (e: unknown) => e instanceof TrackerError && e.code === ErrorCode.TrackerBadResponse,
        h,
      );
    }
  });

  test('server side: requests round trip through decodeUdpRequest', () => {
    assert.deepEqual(decodeUdpRequest(encodeUdpConnectRequest(77)), { action: 'connect', transactionId: 77 });
    const a = decodeUdpRequest(encodeUdpAnnounceRequest(connId, 5, { ...req, numwant: 3 }));
    assert.ok(a?.action === 'announce');
    assert.deepEqual(a.connectionId, connId);
    assert.equal(a.downloaded, 2 ** 33 + 1);
    assert.equal(a.left, 1);
    assert.equal(a.uploaded, 3);
    assert.equal(a.event, 'started');
    assert.equal(a.numwant, 3);
    assert.equal(a.port, 6881);
    assert.equal(a.key, 0xdeadbeef);
    const s = decodeUdpRequest(encodeUdpScrapeRequest(connId, 5, [req.infoHash]));
    assert.ok(s?.action === 'scrape');
    assert.deepEqual(s.infoHashes, [req.infoHash]);
  });

  test('server side: malformed, truncated and oversized requests are dropped (undefined)', () => {
    const announce = encodeUdpAnnounceRequest(connId, 5, req);
    const badMagic = encodeUdpConnectRequest(1);
    badMagic[0] = 1;
    const badEvent = announce.slice();
    badEvent[83] = 9;
    const unknownAction = announce.slice();
    unknownAction[11] = 7;
    for (const b of [
      new Uint8Array(0),
      new Uint8Array(15),
      announce.subarray(0, 97),
      badMagic,
      badEvent,
      unknownAction,
    ]) {
      assert.equal(decodeUdpRequest(b), undefined);
    }
    // Extra bytes (BEP 41 options) are fine up to TRACKER_MAX_UDP_PACKET_BYTES, not beyond.
    const atLimit = new Uint8Array(TRACKER_MAX_UDP_PACKET_BYTES);
    atLimit.set(announce);
    assert.equal(decodeUdpRequest(atLimit)?.action, 'announce');
    const over = new Uint8Array(TRACKER_MAX_UDP_PACKET_BYTES + 1);
    over.set(announce);
    assert.equal(decodeUdpRequest(over), undefined);
  });

  test(`server side: a scrape keeps at most MAX_UDP_SCRAPE_HASHES (${MAX_UDP_SCRAPE_HASHES}) hashes`, () => {
    const b = new Uint8Array(16 + 20 * (MAX_UDP_SCRAPE_HASHES + 1));
    b.set(encodeUdpScrapeRequest(connId, 1, [new Uint8Array(20)]).subarray(0, 16));
    const r = decodeUdpRequest(b);
    assert.ok(r?.action === 'scrape');
    assert.equal(r.infoHashes.length, MAX_UDP_SCRAPE_HASHES);
  });

  test('server encoders match the client decoders', () => {
    assert.deepEqual(decodeUdpResponse(encodeUdpConnectResponse(3, connId), 4), {
      action: 'connect',
      transactionId: 3,
      connectionId: connId,
    });
    const a = decodeUdpResponse(
      encodeUdpAnnounceResponse(3, 60, 1, 2, Uint8Array.from([192, 0, 2, 2, 0, 9])),
      4,
    );
    assert.ok(a.action === 'announce');
    assert.equal(a.interval, 60);
    assert.deepEqual(a.peers, [{ host: '192.0.2.2', port: 9, family: 4 }]);
    assert.deepEqual(
      decodeUdpResponse(encodeUdpScrapeResponse(3, [{ seeders: 4, completed: 5, leechers: 6 }]), 4),
      {
        action: 'scrape',
        transactionId: 3,
        entries: [{ seeders: 4, completed: 5, leechers: 6 }],
      },
    );
    const err = encodeUdpErrorResponse(3, 'x'.repeat(500), 20);
    assert.equal(err.length, 28);
  });

  test('property: any bytes are a response or a TrackerError, and a request or undefined', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(4 as const, 6 as const), (b, family) => {
        try {
          decodeUdpResponse(b, family);
        } catch (e) {
          if (!(e instanceof TrackerError)) throw e;
        }
        decodeUdpRequest(b);
      }),
      { numRuns: 3000 },
    );
  });
});
