/**
 * The BEP 15 client state machine against scripted UDP trackers on 127.0.0.1: retransmission
 * with the 15·2ⁿ back-off (base shrunk to milliseconds), connection-id expiry, error action,
 * replies from strangers, deadlines.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, describe, test } from 'node:test';
import {
  decodeUdpRequest,
  encodeUdpAnnounceResponse,
  encodeUdpConnectResponse,
  encodeUdpErrorResponse,
  encodeUdpScrapeResponse,
  TrackerError,
  UdpTrackerSocket,
  type UdpTrackerSocketOptions,
} from '../../src/discovery/index.js';
import { ErrorCode } from '../../src/shared/errors.js';

type Reply = (
  req: NonNullable<ReturnType<typeof decodeUdpRequest>>,
  n: number,
  from: dgram.RemoteInfo,
) => Uint8Array | undefined;

async function fakeUdpTracker(reply: Reply) {
  const sock = dgram.createSocket('udp4');
  const log: { action: string; at: number; connectionId?: string }[] = [];
  let n = 0;
  sock.on('message', (msg, rinfo) => {
    const req = decodeUdpRequest(msg);
    if (req === undefined) return;
    log.push({
      action: req.action,
      at: performance.now(),
      ...(req.action !== 'connect' ? { connectionId: Buffer.from(req.connectionId).toString('hex') } : {}),
    });
    const r = reply(req, n++, rinfo);
    if (r !== undefined) sock.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return {
    url: `udp://127.0.0.1:${sock.address().port}/announce`,
    log,
    sock,
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

const ID = Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9]);
const req = {
  infoHash: new Uint8Array(20).fill(1),
  peerId: new Uint8Array(20).fill(2),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 1,
  event: 'started' as const,
};
const okAnnounce = (tid: number) =>
  encodeUdpAnnounceResponse(tid, 60, 1, 2, Uint8Array.of(192, 0, 2, 1, 0, 80));

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers) await c();
});

function client(opts: UdpTrackerSocketOptions = {}) {
  const c = new UdpTrackerSocket({ bindV4: '127.0.0.1', retransmitBaseMs: 1000, ...opts });
  closers.push(() => c.close());
  return c;
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<TrackerError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TrackerError, String(e));
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail('expected a rejection');
}

describe('UDP tracker client (BEP 15)', { timeout: 60_000 }, () => {
  test('connect, announce, and the connection id is reused within its lifetime', async () => {
    const t = await fakeUdpTracker((r) =>
      r.action === 'connect'
        ? encodeUdpConnectResponse(r.transactionId, ID)
        : r.action === 'announce'
          ? okAnnounce(r.transactionId)
          : undefined,
    );
    closers.push(t.close);
    const c = client();
    const a = await c.announce(t.url, req);
    assert.deepEqual(a, {
      interval: 60,
      complete: 2,
      incomplete: 1,
      peers: [{ host: '192.0.2.1', port: 80, family: 4 }],
    });
    await c.announce(t.url, req);
    assert.deepEqual(
      t.log.map((l) => l.action),
      ['connect', 'announce', 'announce'],
    );
    assert.equal(t.log[1]?.connectionId, '0909090909090909');
  });

  test('retransmits after base·2ⁿ and gives up after maxRetransmits with TrackerTimeout', async () => {
    const t = await fakeUdpTracker(() => undefined);
    closers.push(t.close);
    const c = client({ retransmitBaseMs: 30, maxRetransmits: 3 });
    const t0 = performance.now();
    await rejectsWith(c.announce(t.url, req, { timeoutMs: 10_000 }), ErrorCode.TrackerTimeout);
    const gaveUp = performance.now() - t0;
    assert.equal(t.log.length, 4, 'first send + 3 retransmissions');
    // Send i leaves no earlier than 30·(2^i − 1) ms after the first: a datagram cannot arrive before it
    // is sent, so its arrival is a lower bound that scheduling delay can only push later. (Gaps between
    // arrivals are not: a busy event loop can hand two datagrams to the fake tracker back to back.)
    for (const [i, want] of [
      [1, 30],
      [2, 90],
      [3, 210],
    ] as const) {
      const at = t.log[i]!.at - t0;
      assert.ok(at >= want - 5 && at < want + 2_000, `send ${i} at ${at} ms, want ≥ ~${want}`);
    }
    // It gives up only after the last retransmission's own timeout (240 ms) ran out too.
    assert.ok(gaveUp >= 450 - 5 && gaveUp < 450 + 3_000, `gave up after ${gaveUp} ms, want ≥ ~450`);
    assert.ok(t.log.every((l) => l.action === 'connect'));
  });

  test('a lost announce is retransmitted; an expired connection id is renewed first', async () => {
    const t = await fakeUdpTracker((r, n) => {
      if (r.action === 'connect')
        return encodeUdpConnectResponse(r.transactionId, Uint8Array.of(0, 0, 0, 0, 0, 0, 0, n));
      // Drop the first two announces.
      return t.log.filter((l) => l.action === 'announce').length <= 2
        ? undefined
        : okAnnounce(r.transactionId);
    });
    closers.push(t.close);
    // Ids live 50 ms: the announce retransmissions (after 20, then 40 ms) outlive the first id.
    const c = client({ retransmitBaseMs: 20, connectionIdLifetimeMs: 50 });
    const a = await c.announce(t.url, req, { timeoutMs: 5000 });
    assert.equal(a.peers.length, 1);
    const actions = t.log.map((l) => l.action);
    assert.equal(actions[0], 'connect');
    assert.ok(actions.filter((a) => a === 'announce').length >= 3, actions.join(','));
    assert.ok(
      actions.lastIndexOf('connect') > actions.indexOf('announce'),
      `reconnected: ${actions.join(',')}`,
    );
    const ids = new Set(t.log.filter((l) => l.action === 'announce').map((l) => l.connectionId));
    assert.ok(ids.size >= 2, 'the retransmission after renewal uses the new id');
  });

  test('the error action is a TrackerFailure with the tracker text', async () => {
    const t = await fakeUdpTracker((r) =>
      r.action === 'connect'
        ? encodeUdpConnectResponse(r.transactionId, ID)
        : encodeUdpErrorResponse(r.transactionId, 'torrent not registered'),
    );
    closers.push(t.close);
    const e = await rejectsWith(client().announce(t.url, req), ErrorCode.TrackerFailure);
    assert.equal(e.details.failureReason, 'torrent not registered');
  });

  test('replies with a wrong action, short replies, and replies from another port are not accepted', async () => {
    const wrong = await fakeUdpTracker((r) =>
      r.action === 'connect'
        ? encodeUdpConnectResponse(r.transactionId, ID)
        : encodeUdpScrapeResponse(r.transactionId, []),
    );
    closers.push(wrong.close);
    await rejectsWith(client().announce(wrong.url, req), ErrorCode.TrackerBadResponse);

    const short = await fakeUdpTracker((r) => {
      const b = Buffer.alloc(12);
      b.writeUInt32BE(r.action === 'connect' ? 0 : 1, 0);
      b.writeUInt32BE(r.transactionId, 4);
      return b;
    });
    closers.push(short.close);
    await rejectsWith(client().announce(short.url, req), ErrorCode.TrackerBadResponse);

    // A stranger answers every transaction id it sees, from another port: ignored, so the request times out.
    const stranger = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => stranger.close(() => resolve())));
    const target = await fakeUdpTracker((r, _n, from) => {
      stranger.send(encodeUdpConnectResponse(r.transactionId, ID), from.port, '127.0.0.1');
      return undefined;
    });
    closers.push(target.close);
    const c = client({ maxRetransmits: 1, retransmitBaseMs: 30 });
    const p = c.announce(target.url, req);
    await rejectsWith(p, ErrorCode.TrackerTimeout);
  });

  test('scrape returns entries in request order', async () => {
    const t = await fakeUdpTracker((r) =>
      r.action === 'connect'
        ? encodeUdpConnectResponse(r.transactionId, ID)
        : encodeUdpScrapeResponse(r.transactionId, [
            { seeders: 1, completed: 2, leechers: 3 },
            { seeders: 4, completed: 5, leechers: 6 },
          ]),
    );
    closers.push(t.close);
    const h1 = new Uint8Array(20).fill(1);
    const h2 = new Uint8Array(20).fill(2);
    assert.deepEqual(await client().scrape(t.url, [h1, h2]), [
      { infoHash: h1, complete: 1, downloaded: 2, incomplete: 3 },
      { infoHash: h2, complete: 4, downloaded: 5, incomplete: 6 },
    ]);
  });

  test('the overall deadline and abort signal bound a request; close() fails pending ones', async () => {
    const t = await fakeUdpTracker(() => undefined);
    closers.push(t.close);
    const c = client({ retransmitBaseMs: 15_000 });
    const t0 = performance.now();
    await rejectsWith(c.announce(t.url, req, { timeoutMs: 80 }), ErrorCode.TrackerTimeout);
    assert.ok(performance.now() - t0 < 2000);
    const ac = new AbortController();
    const p = c.announce(t.url, req, { signal: ac.signal });
    ac.abort();
    await rejectsWith(p, ErrorCode.TrackerRequest);
    const q = c.announce(t.url, req);
    await new Promise((resolve) => t.sock.once('message', resolve));
    await c.close();
    await rejectsWith(q, ErrorCode.TrackerRequest);
    assert.equal(c.pendingCount, 0);
  });

  test('bad URLs are TrackerRequest', async () => {
    const c = client();
    for (const u of [
      'udp://127.0.0.1/announce',
      'http://127.0.0.1:1/announce',
      'not a url',
      'udp://no-such-host.invalid:1',
    ]) {
      await rejectsWith(c.announce(u, req, { timeoutMs: 2000 }), ErrorCode.TrackerRequest);
    }
  });
});
