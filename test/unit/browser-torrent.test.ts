/**
 * The browser bundle's torrent session (src/browser/browser-torrent.ts) in Node, over fake data
 * channels: its bounds (torrent size, peers) and hostile peers (a wrong handshake, a frame longer
 * than the wire allows), each refused with only that peer closed. The real transfers run in
 * Chromium (test/e2e/shoal-browser.test.ts).
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { BROWSER_HOUSEKEEPING_MS } from '../../src/browser/browser-torrent.js';
import type { RtcDataChannel, RtcPeerConnection } from '../../src/browser/dom.js';
import { BrowserTorrent, RtcStream } from '../../src/browser/index.js';
import { encode } from '../../src/codec/index.js';
import { ErrorCode, ShoalError } from '../../src/shared/errors.js';
import {
  HANDSHAKE_TIMEOUT_MS,
  KEEP_ALIVE_INTERVAL_MS,
  MAX_BROWSER_PEERS,
  MAX_BROWSER_TORRENT_BYTES,
  PEER_IDLE_TIMEOUT_MS,
} from '../../src/shared/limits.js';
import { encodeHandshake, makeReserved } from '../../src/wire/index.js';

const PIECE = 16 * 1024 * 1024;

function torrentOf(length: number): Uint8Array {
  const pieces = Math.ceil(length / PIECE);
  return encode({ info: { length, name: 'x', 'piece length': PIECE, pieces: new Uint8Array(20 * pieces) } });
}

/** A data channel and peer connection that record what is sent and whether they were closed. */
function fakeStream() {
  const sent: Uint8Array[] = [];
  const state = { closed: false };
  const dc = {
    binaryType: 'blob',
    readyState: 'open',
    bufferedAmount: 0,
    bufferedAmountLowThreshold: 0,
    onopen: null,
    onclose: null as (() => void) | null,
    onerror: null,
    onmessage: null as ((e: { data: ArrayBuffer }) => void) | null,
    onbufferedamountlow: null,
    send: (d: Uint8Array) => sent.push(d.slice()),
    close() {
      state.closed = true;
    },
  };
  const pc = { connectionState: 'connected', onconnectionstatechange: null, close() {} };
  const stream = new RtcStream(pc as unknown as RtcPeerConnection, dc as unknown as RtcDataChannel);
  const deliver = (bytes: Uint8Array) => dc.onmessage?.({ data: bytes.slice().buffer });
  return { stream, sent, state, deliver };
}

test(`a torrent over MAX_BROWSER_TORRENT_BYTES (${MAX_BROWSER_TORRENT_BYTES}) is refused; one below is held`, () => {
  assert.throws(
    () => BrowserTorrent.create(torrentOf(MAX_BROWSER_TORRENT_BYTES + 1)),
    (e: unknown) => e instanceof ShoalError && e.code === ErrorCode.StorageNoSpace,
  );
  const t = BrowserTorrent.create(torrentOf(3 * PIECE + 5));
  assert.equal(t.stats().pieceCount, 4);
  assert.equal(t.isFinished, false);
  t.close();
});

test(`peers beyond MAX_BROWSER_PEERS (${MAX_BROWSER_PEERS}) are closed; the others get our handshake`, () => {
  const t = BrowserTorrent.create(torrentOf(100_000));
  const fakes = Array.from({ length: MAX_BROWSER_PEERS + 1 }, fakeStream);
  for (const f of fakes) t.addStream(f.stream);
  assert.equal(t.peerCount, MAX_BROWSER_PEERS);
  assert.equal(fakes.filter((f) => f.state.closed).length, 1);
  assert.equal(fakes[MAX_BROWSER_PEERS]?.state.closed, true);
  assert.equal(fakes[0]?.sent[0]?.length, 68, 'a BitTorrent handshake');
  t.close();
});

test('a wrong info-hash and an oversized frame each close only their peer', () => {
  const t = BrowserTorrent.create(torrentOf(100_000));
  const events: string[] = [];
  t.on('peer', (e) => events.push(`${e.type} ${e.peer}`));
  const [good, wrongHash, flood] = [fakeStream(), fakeStream(), fakeStream()];
  for (const f of [good, wrongHash, flood]) t.addStream(f.stream);
  const ours = good.sent[0] as Uint8Array;
  const infoHash = ours.subarray(28, 48);
  const hs = (h: Uint8Array) =>
    encodeHandshake({
      reserved: makeReserved({ fast: true }),
      infoHash: h,
      peerId: new Uint8Array(20).fill(7),
    });
  good.deliver(hs(infoHash));
  wrongHash.deliver(hs(new Uint8Array(20).fill(1)));
  flood.deliver(hs(infoHash));
  flood.deliver(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 7]));
  assert.equal(wrongHash.state.closed, true);
  assert.equal(flood.state.closed, true);
  assert.equal(good.state.closed, false);
  assert.equal(t.peerCount, 1);
  assert.ok(events.includes('connected rtc-1'));
  t.close();
  assert.equal(good.state.closed, true, 'close() closes every peer');
});

test('a peer without a handshake in HANDSHAKE_TIMEOUT_MS, or silent for PEER_IDLE_TIMEOUT_MS, is closed; keep-alives are sent', () => {
  mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  try {
    let now = 0;
    const advance = (ms: number) => {
      for (let left = ms; left > 0; left -= BROWSER_HOUSEKEEPING_MS) {
        now += BROWSER_HOUSEKEEPING_MS;
        mock.timers.tick(BROWSER_HOUSEKEEPING_MS);
      }
    };
    const t = BrowserTorrent.create(torrentOf(100_000), { now: () => now });
    const [mute, talker] = [fakeStream(), fakeStream()];
    t.addStream(mute.stream);
    t.addStream(talker.stream);
    const infoHash = (talker.sent[0] as Uint8Array).subarray(28, 48);
    talker.deliver(
      encodeHandshake({
        reserved: makeReserved({ fast: true }),
        infoHash,
        peerId: new Uint8Array(20).fill(9),
      }),
    );
    advance(HANDSHAKE_TIMEOUT_MS - BROWSER_HOUSEKEEPING_MS);
    assert.equal(mute.state.closed, false, 'not before the timeout');
    advance(BROWSER_HOUSEKEEPING_MS);
    assert.equal(mute.state.closed, true, 'no handshake in time');
    assert.equal(talker.state.closed, false);
    const before = talker.sent.length;
    advance(KEEP_ALIVE_INTERVAL_MS);
    assert.ok(
      talker.sent.slice(before).some((b) => b.length === 4 && b.every((x) => x === 0)),
      'a keep-alive after KEEP_ALIVE_INTERVAL_MS of our silence',
    );
    assert.equal(talker.state.closed, false, 'not idle yet');
    advance(PEER_IDLE_TIMEOUT_MS);
    assert.equal(talker.state.closed, true, 'closed once silent for PEER_IDLE_TIMEOUT_MS');
    assert.equal(t.peerCount, 0);
    t.close();
  } finally {
    mock.timers.reset();
  }
});
