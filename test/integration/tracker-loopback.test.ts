/**
 * Shoal's tracker clients against Shoal's tracker server over loopback: HTTP and UDP on one
 * swarm state, announce → the other peer appears, scrape counts, the Announcer end to end, IPv6.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type AnnounceRequest,
  Announcer,
  httpAnnounce,
  httpScrape,
  type TrackerPeer,
  UdpTrackerSocket,
} from '../../src/discovery/index.js';
import { startTracker, type TrackerServer } from '../../src/tracker/index.js';

const IH = new Uint8Array(20).fill(0x5a);
const req = (n: number, over: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash: IH,
  peerId: new Uint8Array(20).fill(n),
  port: 7000 + n,
  uploaded: 0,
  downloaded: 0,
  left: 100,
  event: 'started',
  ...over,
});
const ports = (peers: readonly TrackerPeer[]) => peers.map((p) => p.port).sort();

describe('Shoal tracker over loopback', { timeout: 60_000 }, () => {
  let now = 0;
  let tracker: TrackerServer;
  let udp: UdpTrackerSocket;
  before(async () => {
    tracker = await startTracker({ host: '127.0.0.1', intervalS: 60, clock: () => now });
    udp = new UdpTrackerSocket({ bindV4: '127.0.0.1', retransmitBaseMs: 200 });
  });
  after(async () => {
    await udp.close();
    await tracker.close();
  });

  test('HTTP and UDP announces share one swarm; each peer gets the others', async () => {
    const http = tracker.httpAnnounceUrl!;
    const u = tracker.udpAnnounceUrl!;
    assert.deepEqual((await httpAnnounce(http, req(1))).peers, []);
    const r2 = await udp.announce(u, req(2));
    assert.deepEqual(ports(r2.peers), [7001]);
    assert.equal(r2.interval, 60);
    const r3 = await httpAnnounce(http, req(3, { left: 0 }));
    assert.deepEqual(ports(r3.peers), [7001, 7002]);
    assert.deepEqual([r3.complete, r3.incomplete], [1, 2]);
    const r4 = await udp.announce(u, req(4, { numwant: 1 }));
    assert.equal(r4.peers.length, 1);
  });

  test('scrape counts over HTTP and UDP, with completed downloads', async () => {
    await httpAnnounce(tracker.httpAnnounceUrl!, req(1, { left: 0, event: 'completed' }));
    const other = new Uint8Array(20).fill(1);
    const viaHttp = await httpScrape(tracker.httpAnnounceUrl!, [IH, other]);
    const viaUdp = await udp.scrape(tracker.udpAnnounceUrl!, [IH, other]);
    const want = { complete: 2, downloaded: 1, incomplete: 2 };
    assert.deepEqual(
      viaHttp.find((e) => e.infoHash[0] === 0x5a),
      { infoHash: IH, ...want },
    );
    assert.deepEqual(viaUdp[0], { infoHash: IH, ...want });
    assert.deepEqual(viaUdp[1], { infoHash: other, complete: 0, downloaded: 0, incomplete: 0 });
  });

  test('peers that stop announcing expire after interval × 1.5', async () => {
    const before = tracker.stats().peers;
    assert.ok(before >= 4);
    now += 60_000;
    await httpAnnounce(tracker.httpAnnounceUrl!, req(9));
    now += 30_001; // everyone but peer 9 is now 90.001 s old
    tracker.core.state.expire();
    assert.equal(tracker.stats().peers, 1);
    const r = await udp.announce(tracker.udpAnnounceUrl!, req(10));
    assert.deepEqual(ports(r.peers), [7009]);
  });
});

describe('Announcer against the Shoal tracker', { timeout: 60_000 }, () => {
  test('two torrents find each other over HTTP and UDP; complete and stop are reflected in scrape', async () => {
    const tracker = await startTracker({ host: '127.0.0.1', intervalS: 60 });
    const udp = new UdpTrackerSocket({ bindV4: '127.0.0.1' });
    const mk = (n: number, trackers: string[][], left: () => number) =>
      new Announcer(
        {
          infoHash: IH,
          peerId: new Uint8Array(20).fill(n),
          port: 9000 + n,
          trackers,
          getStats: () => ({ uploaded: 0, downloaded: 0, left: left() }),
          requestTimeoutMs: 5000,
        },
        { udp },
      );
    let leftA = 10;
    // A: a dead HTTP tracker first in its only tier, then the real one over HTTP.
    const a = mk(1, [['http://127.0.0.1:1/announce', tracker.httpAnnounceUrl!]], () => leftA);
    const b = mk(2, [[tracker.udpAnnounceUrl!]], () => 0);
    try {
      a.start();
      await a.next('tracker:announced');
      const gotPeers = b.next('peers:received');
      b.start();
      const { peers, url } = await gotPeers;
      assert.equal(url, tracker.udpAnnounceUrl);
      assert.deepEqual(ports(peers), [9001]);
      assert.equal(a.trackers[0]?.url, tracker.httpAnnounceUrl, 'the working tracker moved to the front');
      // A asks again and now sees B.
      const aPeers = a.next('peers:received');
      await a.announce();
      assert.deepEqual(ports((await aPeers).peers), [9002]);
      leftA = 0;
      a.complete();
      const done = await a.next('tracker:announced');
      assert.equal(done.event, 'completed');
      assert.deepEqual(
        await b.scrape().then((e) => e && [e.complete, e.incomplete, e.downloaded]),
        [2, 0, 1],
      );
      await a.stop();
      assert.equal(tracker.stats().peers, 1);
    } finally {
      await a.close();
      await b.close();
      await udp.close();
      await tracker.close();
    }
  });
});

describe('IPv6 loopback', { timeout: 60_000 }, () => {
  test('peers6 over HTTP and 18-byte peers over UDP', async () => {
    // ::1 is required (the v2 blame test bans by it too): a machine without it fails here.
    const tracker = await startTracker({ host: '::1' });
    const udp = new UdpTrackerSocket({ bindV6: '::1' });
    try {
      assert.equal(tracker.httpAnnounceUrl, `http://[::1]:${tracker.httpPort}/announce`);
      await httpAnnounce(tracker.httpAnnounceUrl!, req(1));
      const r = await udp.announce(tracker.udpAnnounceUrl!, req(2));
      assert.deepEqual(r.peers, [{ host: '::1', port: 7001, family: 6 }]);
      const h = await httpAnnounce(tracker.httpAnnounceUrl!, req(3));
      assert.deepEqual(h.peers.map((p) => `${p.host}/${p.port}/${p.family}`).sort(), [
        '::1/7001/6',
        '::1/7002/6',
      ]);
    } finally {
      await udp.close();
      await tracker.close();
    }
  });
});
