/**
 * The browser bundle's WebSocket tracker client (src/browser/ws-tracker.ts) over a fake
 * `WebSocket` and a fake WebRTC factory: it announces with its offers, answers a relayed offer,
 * and shrugs off hostile tracker messages (not JSON, oversized, wrong types, answers to offers it
 * never made) with a warning each, never a throw.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrowserRtc, RtcOffer } from '../../src/browser/rtc.js';
import { BrowserWsTracker } from '../../src/browser/ws-tracker.js';
import { MAX_WS_TRACKER_MESSAGE_BYTES, WS_OFFERS_PER_ANNOUNCE } from '../../src/shared/limits.js';

class FakeWebSocket {
  static last: FakeWebSocket | undefined;
  readyState = 0;
  binaryType = 'blob';
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  readonly sent: string[] = [];
  constructor(readonly url: string) {
    FakeWebSocket.last = this;
  }
  send(text: string): void {
    this.sent.push(text);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
}

const bin = (fill: number) => String.fromCharCode(...new Array(20).fill(fill));
const settle = () => new Promise((r) => setImmediate(r));

test('announces with offers, answers a relayed offer, and refuses hostile messages without throwing', async () => {
  const g = globalThis as { WebSocket?: unknown };
  const saved = g.WebSocket;
  g.WebSocket = FakeWebSocket;
  const warnings: string[] = [];
  let answered = 0;
  const rtc = {
    offer: async (): Promise<RtcOffer> => ({
      sdp: 'v=0 offer',
      accept: async () => Promise.reject(new Error('not here')),
      cancel: () => {},
    }),
    answer: async (sdp: string) => {
      answered++;
      assert.equal(sdp, 'v=0 theirs');
      return { sdp: 'v=0 ours', stream: new Promise<never>(() => {}) };
    },
  } as unknown as BrowserRtc;
  const tracker = new BrowserWsTracker({
    url: 'ws://127.0.0.1:1/',
    infoHash: new Uint8Array(20).fill(1),
    peerId: new Uint8Array(20).fill(2),
    rtc,
    getStats: () => ({ uploaded: 0, downloaded: 0, left: 100 }),
    wantedPeers: () => 50,
    onStream: () => assert.fail('no stream opens here'),
    onWarning: (m) => warnings.push(m),
  });
  try {
    tracker.start();
    const ws = FakeWebSocket.last as FakeWebSocket;
    ws.open();
    await settle();
    const announce = JSON.parse(ws.sent[0] as string);
    assert.equal(announce.event, 'started');
    assert.equal(announce.offers.length, WS_OFFERS_PER_ANNOUNCE);
    const deliver = (data: unknown) => ws.onmessage?.({ data });
    const hostile: unknown[] = [
      'not json',
      '[]',
      JSON.stringify({ action: 'announce', info_hash: 5 }),
      JSON.stringify({
        action: 'announce',
        info_hash: bin(1),
        offer: { sdp: 7 },
        offer_id: bin(3),
        peer_id: bin(4),
      }),
      'x'.repeat(MAX_WS_TRACKER_MESSAGE_BYTES + 1),
    ];
    for (const h of hostile) deliver(h);
    assert.ok(warnings.length >= hostile.length - 1, warnings.join('\n'));
    // An answer to an offer we never made, and one for another torrent: ignored.
    deliver(
      JSON.stringify({
        action: 'announce',
        info_hash: bin(1),
        peer_id: bin(4),
        offer_id: bin(9),
        answer: { type: 'answer', sdp: 'v=0 x' },
      }),
    );
    deliver(
      JSON.stringify({
        action: 'announce',
        info_hash: bin(7),
        peer_id: bin(4),
        offer_id: bin(3),
        offer: { type: 'offer', sdp: 'v=0 theirs' },
      }),
    );
    assert.equal(answered, 0);
    // A relayed offer for our torrent: answered through the tracker, to its peer and offer id.
    deliver(
      JSON.stringify({
        action: 'announce',
        info_hash: bin(1),
        peer_id: bin(4),
        offer_id: bin(3),
        offer: { type: 'offer', sdp: 'v=0 theirs' },
      }),
    );
    await settle();
    assert.equal(answered, 1);
    const answer = JSON.parse(ws.sent.at(-1) as string);
    assert.equal(answer.to_peer_id, bin(4));
    assert.equal(answer.offer_id, bin(3));
    assert.equal(answer.answer.sdp, 'v=0 ours');
  } finally {
    tracker.stop();
    g.WebSocket = saved;
  }
  const last = JSON.parse((FakeWebSocket.last as FakeWebSocket).sent.at(-1) as string);
  assert.equal(last.event, 'stopped');
});
