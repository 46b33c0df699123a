/**
 * Shoal's WebSocket tracker over a real socket on 127.0.0.1, fed hostile input: an oversized
 * frame and a message flood close only that socket; malformed JSON and bogus SDP are answered
 * with a failure; the tracker keeps serving a well-behaved client afterwards. And the WebRTC
 * side: an offer that is not SDP is refused before the library sees it, and the live
 * peer-connection cap holds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { loadWebRtc } from '../../src/net/webrtc-transport.js';
import { ErrorCode, isShoalError } from '../../src/shared/errors.js';
import { MAX_WS_TRACKER_MESSAGE_BYTES, WS_TRACKER_MESSAGES_PER_WINDOW } from '../../src/shared/limits.js';
import { startTracker, type TrackerServer } from '../../src/tracker/index.js';

const bin = (n: number) => String.fromCharCode(...new Array(20).fill(n));

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
const closed = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
const nextMessage = (ws: WebSocket) =>
  new Promise<Record<string, unknown>>((resolve) =>
    ws.once('message', (d) => resolve(JSON.parse(String(d)) as Record<string, unknown>)),
  );

describe('WebSocket tracker under hostile input', { timeout: 60_000 }, () => {
  let tracker: TrackerServer;
  const sockets: WebSocket[] = [];
  before(async () => {
    tracker = await startTracker({ host: '127.0.0.1', udpPort: null });
  });
  after(async () => {
    for (const s of sockets) s.terminate();
    await tracker.close();
  });
  const client = async () => {
    const ws = await open(tracker.wsAnnounceUrl as string);
    ws.on('error', () => {});
    sockets.push(ws);
    return ws;
  };

  test('a frame over MAX_WS_TRACKER_MESSAGE_BYTES closes that socket (1009)', async () => {
    const ws = await client();
    const done = closed(ws);
    ws.send('x'.repeat(MAX_WS_TRACKER_MESSAGE_BYTES + 1));
    assert.equal(await done, 1009);
  });

  test('more than WS_TRACKER_MESSAGES_PER_WINDOW messages close the socket (1008)', async () => {
    const ws = await client();
    const done = closed(ws);
    const msg = JSON.stringify({ action: 'scrape', info_hash: bin(1) });
    for (let i = 0; i <= WS_TRACKER_MESSAGES_PER_WINDOW; i++) ws.send(msg);
    assert.equal(await done, 1008);
  });

  test('malformed JSON and bogus offers get a failure; the tracker still serves', async () => {
    const ws = await client();
    const reply = nextMessage(ws);
    ws.send('{"action":');
    assert.equal(typeof (await reply)['failure reason'], 'string');
    const bogus = nextMessage(ws);
    ws.send(
      JSON.stringify({
        action: 'announce',
        info_hash: bin(2),
        peer_id: bin(3),
        offers: [{ offer: { type: 'answer', sdp: 'v=0' }, offer_id: bin(4) }],
      }),
    );
    assert.match(String((await bogus)['failure reason']), /offer has type answer/);
    const good = await client();
    const announced = nextMessage(good);
    good.send(JSON.stringify({ action: 'announce', info_hash: bin(2), peer_id: bin(5), left: 0 }));
    const r = await announced;
    assert.equal(r.action, 'announce');
    assert.equal(r.complete, 1);
  });

  test('WebRTC refuses an offer that is not SDP, and holds its peer-connection cap', async () => {
    const rtc = await loadWebRtc({ bindAddress: '127.0.0.1', maxPeerConnections: 1 });
    assert.ok(rtc !== undefined, 'node-datachannel is installed');
    try {
      await assert.rejects(rtc.answer('hello'), (e) => isShoalError(e, ErrorCode.NetRefused));
      await assert.rejects(rtc.answer('v=0\r\nnonsense\r\n'), (e) => isShoalError(e, ErrorCode.NetRefused));
      assert.equal(rtc.liveCount, 0, 'nothing kept of a refused offer');
      const first = await rtc.offer();
      await assert.rejects(rtc.offer(), (e) => isShoalError(e, ErrorCode.NetLimit));
      first.cancel();
      assert.equal(rtc.liveCount, 0);
    } finally {
      rtc.close();
    }
  });
});
