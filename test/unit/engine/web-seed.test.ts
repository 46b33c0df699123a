/**
 * Web seeds (BEP 17 / 19) as virtual peers of the engine: a deep pipeline of consecutive
 * requests, the same verify-and-blame path as peers, and `onlyBelowPeerRate`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type EngineAction,
  type PeerInit,
  SeededRandom,
  TORRENT_RATE_WINDOW_MS,
  TorrentEngine,
  uniformLayout,
  WEB_SEED_MIN_REQUEST_QUEUE,
  WEB_SEED_RATE_CHECK_MS,
  WEB_SEED_REFILL_BLOCKS,
} from '../../../src/engine/index.js';
import { BLOCK_BYTES, WEB_SEED_REQQ } from '../../../src/shared/limits.js';
import type { BlockMessage } from '../../../src/wire/index.js';

/** An empty engine of `pieces` pieces of `blocks` blocks. */
function engine(pieces: number, blocks: number): TorrentEngine {
  const pieceLength = blocks * BLOCK_BYTES;
  return new TorrentEngine({
    infoHash: new Uint8Array(20).fill(7),
    layout: { ...uniformLayout(pieces * pieceLength, pieceLength), pieceLength },
    random: new SeededRandom(5),
    now: 0,
    options: { allowedFastSetSize: 0 },
  });
}

function requests(actions: EngineAction[], peer: string): BlockMessage[] {
  return actions.flatMap((a) =>
    a.type === 'send' && a.peer === peer && a.msg.type === 'request' ? [a.msg] : [],
  );
}

/** Attaches a web seed the way the runtime does: have all, a deep reqq, unchoked. */
function attachWebSeed(e: TorrentEngine, key: string, webSeed: PeerInit['webSeed'] = {}, now = 0) {
  const out: EngineAction[] = [];
  out.push(
    ...e.addPeer(
      key,
      { supportsFast: true, supportsExtensions: true, blameId: `webseed:${key}`, webSeed },
      now,
    ),
  );
  out.push(...e.onMessage(key, { type: 'have-all' }, now));
  out.push(...e.onExtendedHandshake(key, { reqq: WEB_SEED_REQQ }, now));
  out.push(...e.onMessage(key, { type: 'unchoke' }, now));
  return out;
}

/** Answers requests with `fill`-filled blocks; returns the engine's actions. */
function answer(e: TorrentEngine, key: string, reqs: BlockMessage[], now: number, fill = 1) {
  const out: EngineAction[] = [];
  for (const r of reqs)
    out.push(
      ...e.onMessage(
        key,
        { type: 'piece', index: r.index, begin: r.begin, block: new Uint8Array(r.length).fill(fill) },
        now,
      ),
    );
  return out;
}

describe('TorrentEngine: web seeds', () => {
  test('asks at once for a deep pipeline of consecutive blocks, and is no peer in the counts', () => {
    const e = engine(64, 4);
    const reqs = requests(attachWebSeed(e, 'ws'), 'ws');
    assert.equal(reqs.length, WEB_SEED_MIN_REQUEST_QUEUE);
    // Consecutive in the torrent: piece-major, block-minor, no gap.
    reqs.forEach((r, k) => {
      assert.equal(r.index * 4 * BLOCK_BYTES + r.begin, k * BLOCK_BYTES);
    });
    const s = e.stats(0);
    assert.equal(s.peerCount, 0);
    assert.equal(s.seedCount, 0);
  });

  test('its blocks are written and verified like any peer’s, and its pipeline is topped up in runs', () => {
    const e = engine(64, 4);
    const reqs = requests(attachWebSeed(e, 'ws'), 'ws');
    const out = answer(e, 'ws', reqs.slice(0, 4), 10);
    assert.equal(out.filter((a) => a.type === 'write-block').length, 4);
    assert.deepEqual(
      out.filter((a) => a.type === 'piece-complete'),
      [{ type: 'piece-complete', index: 0 }],
    );
    assert.equal(requests(out, 'ws').length, 0, 'not topped up one block at a time');
    // The next answers, one by one: each top-up is a run of requests, never a block or two.
    let answered = 4;
    let queue = reqs.slice(4);
    const topUps: BlockMessage[][] = [];
    for (; answered < 200 && queue.length > 0; answered++) {
      const more = requests(answer(e, 'ws', [queue.shift()!], 10), 'ws');
      if (more.length > 0) topUps.push(more);
      queue = queue.concat(more);
    }
    assert.ok(topUps.length >= 2, `${topUps.length} top-ups`);
    const run = Math.min(WEB_SEED_REFILL_BLOCKS, WEB_SEED_MIN_REQUEST_QUEUE / 2);
    for (const t of topUps) assert.ok(t.length >= run, `a top-up of ${t.length} requests`);
    const first = topUps[0]![0]!;
    const last = reqs.at(-1)!;
    assert.equal(
      first.index * 4 * BLOCK_BYTES + first.begin,
      (last.index * 4 + last.begin / BLOCK_BYTES + 1) * BLOCK_BYTES,
      'the run goes on where the last one ended',
    );
    assert.equal(e.stats(10).downloadedBytes, answered * BLOCK_BYTES);
  });

  test('a web seed that sent a whole bad piece is banned by its blame id, and forgotten', () => {
    const e = engine(8, 2);
    const reqs = requests(attachWebSeed(e, 'ws'), 'ws');
    answer(
      e,
      'ws',
      reqs.filter((r) => r.index === 0),
      10,
    );
    const out = e.onPieceVerified(0, false, 20, { blockDigests: [new Uint8Array(20), new Uint8Array(20)] });
    const ban = out.find((a) => a.type === 'ban');
    assert.ok(ban !== undefined && ban.type === 'ban');
    assert.equal(ban.address, 'webseed:ws');
    assert.equal(ban.reason, 'sole-sender');
    assert.equal(e.peerStats('ws', 20), undefined);
  });

  test('onlyBelowPeerRate: not asked while peers are fast; asked once they slow down', () => {
    const e = engine(1000, 4);
    // A fast real peer with every piece.
    e.addPeer('p', { supportsFast: true, supportsExtensions: true }, 0);
    e.onMessage('p', { type: 'have-all' }, 0);
    let preqs = requests(e.onMessage('p', { type: 'unchoke' }, 0), 'p');
    let now = 0;
    // The peer delivers about 4 MiB in a fifth of a second.
    for (let k = 0; k < 3 && preqs.length > 0; k++) {
      now += 60;
      const batch = preqs.splice(0, preqs.length);
      preqs = requests(answer(e, 'p', batch, now), 'p');
    }
    const threshold = 1_000_000;
    const wsActions = attachWebSeed(e, 'ws', { onlyBelowPeerRate: threshold }, now);
    assert.equal(requests(wsActions, 'ws').length, 0, 'peers are fast: the origin is spared');
    assert.ok(e.nextDeadline()! <= now + WEB_SEED_RATE_CHECK_MS);
    // The peer stops delivering; after the rate window the origin is asked.
    let asked = 0;
    for (let t = now; t <= now + 20_000 && asked === 0; t += WEB_SEED_RATE_CHECK_MS)
      asked = requests(e.tick(t), 'ws').length;
    assert.ok(asked >= WEB_SEED_MIN_REQUEST_QUEUE, `asked for ${asked} blocks`);
  });

  test('onlyBelowPeerRate with no peer at all: asked at once', () => {
    const e = engine(16, 4);
    assert.equal(requests(attachWebSeed(e, 'ws', { onlyBelowPeerRate: 1_000_000 }), 'ws').length, 64);
  });

  test('onlyBelowPeerRate: a peer that just connected has a rate window to show its rate first', () => {
    const e = engine(1000, 4);
    const ws = requests(attachWebSeed(e, 'ws', { onlyBelowPeerRate: 1_000_000 }), 'ws');
    assert.equal(ws.length, WEB_SEED_MIN_REQUEST_QUEUE, 'alone: asked at once');
    // A (silent) peer connects at 100 ms: the answers refill nothing until its rate is known.
    e.addPeer('p', { supportsFast: true, supportsExtensions: true }, 100);
    e.onMessage('p', { type: 'have-all' }, 100);
    assert.equal(requests(answer(e, 'ws', ws, 200), 'ws').length, 0);
    assert.equal(requests(e.tick(100 + TORRENT_RATE_WINDOW_MS - 1), 'ws').length, 0);
    // A window later the peer has given nothing: the origin is asked again.
    assert.ok(requests(e.tick(100 + TORRENT_RATE_WINDOW_MS + WEB_SEED_RATE_CHECK_MS), 'ws').length > 0);
  });

  test(`a fast web seed's pipeline grows to WEB_SEED_REQQ (${WEB_SEED_REQQ}) blocks, never more`, () => {
    const e = engine(2000, 16);
    let reqs = requests(attachWebSeed(e, 'ws'), 'ws');
    let outstanding = reqs.length;
    let most = outstanding;
    // Answer every request 10 ms later: about 1.6 GB/s.
    for (let now = 10; now < 2000 && reqs.length > 0; now += 10) {
      const batch = reqs.splice(0, reqs.length);
      const more = requests(answer(e, 'ws', batch, now), 'ws');
      outstanding += more.length - batch.length;
      most = Math.max(most, outstanding);
      reqs = more.concat(reqs);
      assert.equal(e.peerStats('ws', now)?.outstandingRequests, outstanding);
    }
    // Topped up in runs: right after one, the pipeline is at the bound; the answers since may
    // have freed fewer than a run's worth of slots.
    assert.ok(most <= WEB_SEED_REQQ, `${most} outstanding`);
    assert.ok(most > WEB_SEED_REQQ - WEB_SEED_REFILL_BLOCKS, `${most} outstanding`);
  });
});
