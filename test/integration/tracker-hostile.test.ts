/**
 * Hostile input, both ways. The Shoal tracker under malformed HTTP and UDP traffic keeps serving
 * other swarms; the Shoal client facing broken trackers (garbage, hangs, 10 MB replies,
 * redirect loops) gets a typed error, bounded in time and memory, and its announcer keeps going.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  type AnnounceRequest,
  Announcer,
  decodeUdpResponse,
  encodeUdpAnnounceRequest,
  encodeUdpConnectRequest,
  encodeUdpScrapeRequest,
  httpAnnounce,
  httpScrape,
  percentEncodeBytes,
  TrackerError,
  UdpTrackerSocket,
} from '../../src/discovery/index.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { MAX_TRACKER_RESPONSE_BYTES } from '../../src/shared/limits.js';
import { startTracker, type TrackerServer } from '../../src/tracker/index.js';

const req = (n: number, infoHash = new Uint8Array(20).fill(0x77)): AnnounceRequest => ({
  infoHash,
  peerId: new Uint8Array(20).fill(n),
  port: 6000 + n,
  uploaded: 0,
  downloaded: 0,
  left: 1,
  event: 'started',
});

async function rejectsWith(p: Promise<unknown>, code: string): Promise<TrackerError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TrackerError, `expected TrackerError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail('expected a rejection');
}

function get(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

describe('the Shoal tracker under attack keeps serving other swarms', { timeout: 60_000 }, () => {
  let tracker: TrackerServer;
  let udp: UdpTrackerSocket;
  let n = 0;
  /** A normal announce for a fresh swarm must still work. */
  const stillServing = async () => {
    const ih = new Uint8Array(20).fill(++n);
    await httpAnnounce(tracker.httpAnnounceUrl!, req(1, ih));
    const r = await udp.announce(tracker.udpAnnounceUrl!, req(2, ih));
    assert.equal(r.peers.length, 1);
  };
  before(async () => {
    tracker = await startTracker({ host: '127.0.0.1' });
    udp = new UdpTrackerSocket({ bindV4: '127.0.0.1' });
  });
  after(async () => {
    await udp.close();
    await tracker.close();
  });

  test('malformed HTTP announces get a failure reason', async () => {
    const base = `http://127.0.0.1:${tracker.httpPort}`;
    const ih = percentEncodeBytes(new Uint8Array(20));
    for (const [path, reason] of [
      ['/announce?peer_id=xxxxxxxxxxxxxxxxxxxx&port=1', /missing info_hash/],
      [`/announce?info_hash=${ih.slice(3)}&peer_id=xxxxxxxxxxxxxxxxxxxx&port=1`, /info_hash/],
      [`/announce?info_hash=${ih}&peer_id=xxxxxxxxxxxxxxxxxxxx&port=sixty`, /invalid port/],
      [`/announce?info_hash=${ih}&peer_id=xxxxxxxxxxxxxxxxxxxx&port=1&event=%`, /percent/],
    ] as const) {
      const r = await get(base + path);
      assert.equal(r.status, 200);
      assert.match(r.body.toString('latin1'), /^d14:failure reason\d+:/);
      assert.match(r.body.toString('latin1'), reason);
    }
    await stillServing();
  });

  test('garbage and oversized HTTP requests are refused at the HTTP layer', async () => {
    const sock = net.connect(tracker.httpPort!, '127.0.0.1');
    sock.write('\x00\x01GARBAGE NOT HTTP\r\n\r\n');
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    await once(sock, 'close');
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1.1 400/);
    const huge = await get(`http://127.0.0.1:${tracker.httpPort}/announce?x=${'a'.repeat(20_000)}`);
    assert.equal(huge.status, 431);
    await stillServing();
  });

  test('oversized, truncated, garbage and wrong-connection-id datagrams get no reply', async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    const replies: Buffer[] = [];
    s.on('message', (m) => replies.push(m));
    const send = (b: Uint8Array) =>
      new Promise<void>((resolve, reject) =>
        s.send(b, tracker.udpPort!, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
      );
    const nextReply = () => once(s, 'message').then(([m]) => m as Buffer);
    try {
      const ann = (cid: Uint8Array) => encodeUdpAnnounceRequest(cid, 0xabcdef, req(3));
      let got = nextReply();
      await send(encodeUdpConnectRequest(1));
      const cid = decodeUdpResponse(await got, 4);
      assert.ok(cid.action === 'connect');
      const dropped0 = tracker.stats().requests.udpDropped;
      const oversized = new Uint8Array(8000);
      oversized.set(ann(cid.connectionId));
      const attacks = [
        oversized,
        ann(cid.connectionId).subarray(0, 60), // truncated announce
        new Uint8Array(5), // shorter than any header
        new Uint8Array(200).fill(0xff), // garbage
        ann(new Uint8Array(8)), // guessed connection id
        ann(Uint8Array.from(cid.connectionId).reverse()), // wrong connection id
        encodeUdpScrapeRequest(new Uint8Array(8).fill(1), 5, [new Uint8Array(20)]),
      ];
      replies.length = 0;
      for (const a of attacks) await send(a);
      // Loopback keeps order: the first reply after the attacks must be for this scrape.
      got = nextReply();
      await send(encodeUdpScrapeRequest(cid.connectionId, 0x5c, [new Uint8Array(20)]));
      const first = decodeUdpResponse(await got, 4);
      assert.equal(first.transactionId, 0x5c);
      assert.equal(replies.length, 1, 'nothing answered the attacks');
      // The 8000-byte datagram may be cut by the receive buffer; every attack is counted as dropped.
      assert.equal(tracker.stats().requests.udpDropped - dropped0, attacks.length);
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    await stillServing();
  });
});

/** A scripted HTTP "tracker". */
async function fakeHttpTracker(handler: http.RequestListener) {
  const server = http.createServer(handler);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the Shoal client against broken HTTP trackers', { timeout: 60_000 }, () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers) await c();
  });
  const fake = async (handler: http.RequestListener) => {
    const f = await fakeHttpTracker(handler);
    closers.push(f.close);
    return f.url;
  };

  test('garbage bencode → TrackerBadResponse', async () => {
    const url = await fake((_q, res) => res.end('d8:intervali60e5:peers'));
    await rejectsWith(httpAnnounce(url, req(1)), ErrorCode.TrackerBadResponse);
    const html = await fake((_q, res) => res.end('<html>hello</html>'));
    await rejectsWith(httpAnnounce(html, req(1)), ErrorCode.TrackerBadResponse);
    await rejectsWith(httpScrape(html, [new Uint8Array(20)]), ErrorCode.TrackerBadResponse);
  });

  test('a tracker that never answers → TrackerTimeout within the deadline', async () => {
    const url = await fake(() => {});
    const t0 = performance.now();
    await rejectsWith(httpAnnounce(url, req(1), { timeoutMs: 300 }), ErrorCode.TrackerTimeout);
    const took = performance.now() - t0;
    assert.ok(took >= 290 && took < 2000, `took ${took} ms`);
    // A tracker that sends headers and then stalls the body is bounded by the same deadline.
    const stall = await fake((_q, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('d8:interval');
    });
    await rejectsWith(httpAnnounce(stall, req(1), { timeoutMs: 300 }), ErrorCode.TrackerTimeout);
  });

  test(`a 10 MB reply is cut at MAX_TRACKER_RESPONSE_BYTES (${MAX_TRACKER_RESPONSE_BYTES}) → TrackerBadResponse`, async () => {
    const tenMb = Buffer.alloc(10 * 1024 * 1024, 0x61);
    const declared = await fake((_q, res) => {
      res.writeHead(200, { 'content-length': String(tenMb.length) });
      res.end(tenMb);
    });
    const e = await rejectsWith(httpAnnounce(declared, req(1)), ErrorCode.TrackerBadResponse);
    assert.match(e.message, /exceeds/);
    let sent = 0;
    const chunked = await fake((_q, res) => {
      // No content-length: the cap must stop reading mid-stream.
      const pump = () => {
        while (sent < tenMb.length) {
          sent += 64 * 1024;
          if (!res.write(tenMb.subarray(0, 64 * 1024))) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => {});
      pump();
    });
    const e2 = await rejectsWith(httpAnnounce(chunked, req(1)), ErrorCode.TrackerBadResponse);
    assert.match(e2.message, /exceeds/);
    // Just at the cap is still read (and then judged on its content).
    const atCap = await fake((_q, res) => res.end(Buffer.alloc(MAX_TRACKER_RESPONSE_BYTES, 0x61)));
    const e3 = await rejectsWith(httpAnnounce(atCap, req(1)), ErrorCode.TrackerBadResponse);
    assert.match(e3.message, /not bencode/);
  });

  test('failure reasons, HTTP errors and redirect loops', async () => {
    const failing = await fake((_q, res) => res.end('d14:failure reason12:unregisterede'));
    const f = await rejectsWith(httpAnnounce(failing, req(1)), ErrorCode.TrackerFailure);
    assert.equal(f.details.failureReason, 'unregistered');
    const status500 = await fake((_q, res) => {
      res.statusCode = 500;
      res.end('d14:failure reason4:oopse');
    });
    assert.equal(
      (await rejectsWith(httpAnnounce(status500, req(1)), ErrorCode.TrackerFailure)).details.failureReason,
      'oops',
    );
    const status404 = await fake((_q, res) => {
      res.statusCode = 404;
      res.end('not here');
    });
    await rejectsWith(httpAnnounce(status404, req(1)), ErrorCode.TrackerRequest);
    const loop = await fake((q, res) => {
      res.writeHead(302, { location: q.url ?? '/' });
      res.end();
    });
    await rejectsWith(httpAnnounce(loop, req(1)), ErrorCode.TrackerRequest);
    const reset = await fake((q) => q.socket.destroy());
    await rejectsWith(httpAnnounce(reset, req(1)), ErrorCode.TrackerRequest);
  });

  test('an announcer whose trackers are all broken but one keeps working and never throws', async () => {
    const tracker = await startTracker({ host: '127.0.0.1' });
    closers.push(() => tracker.close());
    const hang = await fake(() => {});
    const garbage = await fake((_q, res) => res.end('\xff\xfe'));
    const huge = await fake((_q, res) => res.end(Buffer.alloc(2 * MAX_TRACKER_RESPONSE_BYTES)));
    await httpAnnounce(tracker.httpAnnounceUrl!, req(5, new Uint8Array(20).fill(0x99)));
    const ann = new Announcer(
      {
        infoHash: new Uint8Array(20).fill(0x99),
        peerId: new Uint8Array(20).fill(6),
        port: 6006,
        trackers: [
          [hang],
          [garbage, huge],
          ['udp://127.0.0.1:1'],
          ['wss://unsupported.example/x'],
          [tracker.httpAnnounceUrl!],
        ],
        getStats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
        requestTimeoutMs: 300,
      },
      { udpOptions: { bindV4: '127.0.0.1', retransmitBaseMs: 50, maxRetransmits: 1 } },
    );
    const failures: string[] = [];
    ann.on('tracker:failed', (f) => failures.push(f.error.code));
    try {
      ann.start();
      const { peers } = await ann.next('peers:received');
      assert.deepEqual(
        peers.map((p: { port: number }) => p.port),
        [6005],
      );
      assert.deepEqual(failures.sort(), [
        ErrorCode.TrackerBadResponse,
        ErrorCode.TrackerBadResponse,
        ErrorCode.TrackerRequest,
        ErrorCode.TrackerTimeout,
        ErrorCode.TrackerTimeout,
      ]);
    } finally {
      await ann.close();
    }
  });
});
