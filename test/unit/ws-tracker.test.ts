/**
 * The WebSocket tracker (WebTorrent's protocol) on fake sockets: relaying offers and answers,
 * and its bounds crossed (message size, offers per announce, peers per swarm), with malformed
 * input and bogus SDP refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWsClientMessage, parseWsServerMessage } from '../../src/discovery/tracker-protocol-ws.js';
import { checkSdp } from '../../src/net/webrtc-transport.js';
import { ErrorCode, isShoalError } from '../../src/shared/errors.js';
import {
  MAX_SDP_BYTES,
  MAX_WS_OFFERS_PER_ANNOUNCE,
  MAX_WS_TRACKER_MESSAGE_BYTES,
  WS_TRACKER_INTERVAL_S,
} from '../../src/shared/limits.js';
import { type WsPeerSocket, WsSwarms } from '../../src/tracker/ws-handler.js';

const bin = (n: number) => String.fromCharCode(...new Array(20).fill(n));
const IH = bin(0xab);
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n';

class FakeSocket implements WsPeerSocket {
  readonly got: Record<string, unknown>[] = [];
  send(text: string): void {
    this.got.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(): void {}
}

const announce = (peer: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ action: 'announce', info_hash: IH, peer_id: bin(peer), numwant: 10, left: 1, ...extra });
const offers = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ offer: { type: 'offer', sdp: SDP }, offer_id: bin(100 + i) }));

test('an offer goes to another peer, its answer comes back to the offerer', () => {
  const swarms = new WsSwarms();
  const a = new FakeSocket();
  const b = new FakeSocket();
  swarms.handle(b, announce(2));
  swarms.handle(a, announce(1, { offers: offers(1) }));
  const relayed = b.got.find((m) => m.offer !== undefined);
  assert.equal(relayed?.peer_id, bin(1));
  assert.equal(relayed?.offer_id, bin(100));
  swarms.handle(
    b,
    announce(2, { to_peer_id: bin(1), offer_id: bin(100), answer: { type: 'answer', sdp: SDP } }),
  );
  const answer = a.got.find((m) => m.answer !== undefined);
  assert.equal(answer?.peer_id, bin(2));
  assert.deepEqual(parseWsServerMessage(JSON.stringify(answer)).kind, 'answer');
  swarms.drop(a);
  assert.equal(swarms.peerCount(IH), 1);
});

test('offers beyond MAX_WS_OFFERS_PER_ANNOUNCE are not relayed', () => {
  const swarms = new WsSwarms();
  const sockets = Array.from({ length: MAX_WS_OFFERS_PER_ANNOUNCE + 5 }, () => new FakeSocket());
  for (const [i, s] of sockets.entries()) swarms.handle(s, announce(10 + i));
  const flooder = new FakeSocket();
  swarms.handle(flooder, announce(1, { numwant: 1000, offers: offers(MAX_WS_OFFERS_PER_ANNOUNCE + 5) }));
  assert.equal(swarms.relayedOffers, MAX_WS_OFFERS_PER_ANNOUNCE);
});

test('a swarm full at maxPeersPerSwarm refuses the next peer', () => {
  const swarms = new WsSwarms({ maxPeersPerSwarm: 3 });
  for (let i = 0; i < 3; i++) swarms.handle(new FakeSocket(), announce(i));
  const late = new FakeSocket();
  swarms.handle(late, announce(9));
  assert.equal(swarms.peerCount(IH), 3);
  assert.match(String(late.got[0]?.['failure reason']), /swarm full/);
});

test('a peer id held by another socket cannot be taken over', () => {
  const swarms = new WsSwarms();
  swarms.handle(new FakeSocket(), announce(1));
  const thief = new FakeSocket();
  swarms.handle(thief, announce(1));
  assert.match(String(thief.got[0]?.['failure reason']), /in use/);
});

test('malformed and oversized messages are refused with a failure, nothing kept', () => {
  const swarms = new WsSwarms();
  const s = new FakeSocket();
  const bad = [
    'not json',
    '[]',
    JSON.stringify({ action: 'announce', info_hash: 'short', peer_id: bin(1) }),
    JSON.stringify({ action: 'announce', info_hash: '\u1234'.repeat(20), peer_id: bin(1) }),
    JSON.stringify({ action: 'nope' }),
    announce(1, { offers: [{ offer: { sdp: 5 }, offer_id: bin(1) }] }),
    announce(1, { offers: 'x' }),
    announce(1, { offers: [{ offer: { sdp: 'x'.repeat(MAX_SDP_BYTES + 1) }, offer_id: bin(1) }] }),
    'x'.repeat(MAX_WS_TRACKER_MESSAGE_BYTES + 1),
  ];
  for (const m of bad) swarms.handle(s, m);
  assert.equal(s.got.length, bad.length);
  assert.ok(s.got.every((m) => typeof m['failure reason'] === 'string'));
  assert.equal(swarms.swarmCount, 0);
  assert.equal(swarms.refused, bad.length);
  assert.throws(
    () => parseWsClientMessage('x'.repeat(MAX_WS_TRACKER_MESSAGE_BYTES + 1)),
    (e) => isShoalError(e, ErrorCode.TrackerBadRequest),
  );
});

test('bogus SDP is refused before the WebRTC library sees it', () => {
  assert.throws(
    () => checkSdp('hello'),
    (e) => isShoalError(e, ErrorCode.NetRefused),
  );
  assert.throws(
    () => checkSdp(`v=0${'a'.repeat(MAX_SDP_BYTES)}`),
    (e) => isShoalError(e, ErrorCode.NetLimit),
  );
  assert.equal(checkSdp(SDP), SDP);
});

test('scrape counts the WebRTC swarm', () => {
  const swarms = new WsSwarms();
  swarms.handle(new FakeSocket(), announce(1, { left: 0 }));
  swarms.handle(new FakeSocket(), announce(2));
  const s = new FakeSocket();
  swarms.handle(s, JSON.stringify({ action: 'scrape', info_hash: [IH] }));
  const r = parseWsServerMessage(JSON.stringify(s.got[0]));
  assert.equal(r.kind, 'scrape');
  if (r.kind === 'scrape')
    assert.deepEqual(r.files.get('ab'.repeat(20)), { complete: 1, incomplete: 1, downloaded: 0 });
});

test('the announce reply carries the configured interval, WS_TRACKER_INTERVAL_S by default', () => {
  const interval = (swarms: WsSwarms) => {
    const s = new FakeSocket();
    swarms.handle(s, announce(1));
    return s.got.find((m) => m.interval !== undefined)?.interval;
  };
  assert.equal(interval(new WsSwarms()), WS_TRACKER_INTERVAL_S);
  assert.equal(interval(new WsSwarms({ intervalS: 7 })), 7);
});
