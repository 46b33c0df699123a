/**
 * Web seeds (BEP 17 / 19) as virtual peers of the engine: a deep pipeline of consecutive
 * requests, the same verify-and-blame path as peers, and `onlyBelowPeerRate`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BlockRef } from '../../../src/engine/index.js';
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

describe('TorrentEngine.onBlockRun: a web seed hands over runs of blocks', () => {
  /** `blocks` back to back, block k filled with byte k + 1. */
  function runOf(reqs: readonly BlockMessage[]): { blocks: BlockRef[]; data: Uint8Array } {
    const blocks = reqs.map((r) => ({ piece: r.index, offset: r.begin, length: r.length }));
    const data = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
    let at = 0;
    blocks.forEach((b, k) => {
      data.fill(k + 1, at, at + b.length);
      at += b.length;
    });
    return { blocks, data };
  }

  const writes = (out: EngineAction[]) =>
    out.flatMap((a) =>
      a.type === 'write-block' ? [{ piece: a.piece, offset: a.offset, bytes: a.data.length }] : [],
    );

  test('each stretch of a piece is one write, its piece-complete after it; counted as per block', () => {
    const e = engine(8, 4);
    const reqs = requests(attachWebSeed(e, 'ws'), 'ws');
    // Piece 0 whole, then half of piece 1, in one call.
    const { blocks, data } = runOf(reqs.slice(0, 6));
    const out = e.onBlockRun('ws', blocks, data, 10);
    assert.deepEqual(
      out.filter((a) => a.type === 'write-block' || a.type === 'piece-complete').map((a) => a.type),
      ['write-block', 'piece-complete', 'write-block'],
    );
    assert.deepEqual(writes(out), [
      { piece: 0, offset: 0, bytes: 4 * BLOCK_BYTES },
      { piece: 1, offset: 0, bytes: 2 * BLOCK_BYTES },
    ]);
    const second = out.find((a) => a.type === 'write-block' && a.piece === 1);
    assert.ok(second?.type === 'write-block');
    assert.equal(second.data[0], 5, 'the write of piece 1 starts at its first block');
    assert.equal(e.stats(10).downloadedBytes, 6 * BLOCK_BYTES);
    assert.equal(e.peerStats('ws', 10)?.outstandingRequests, reqs.length - 6);
  });

  test('the same blocks one by one or as runs: the same bytes written, pieces completed and counts', () => {
    const one = engine(16, 4);
    const runs = engine(16, 4);
    let r1 = requests(attachWebSeed(one, 'ws'), 'ws');
    let r2 = requests(attachWebSeed(runs, 'ws'), 'ws');
    assert.deepEqual(r1, r2);
    const bytes1 = new Map<string, number>();
    const bytes2 = new Map<string, number>();
    const done1: number[] = [];
    const done2: number[] = [];
    const record = (out: EngineAction[], bytes: Map<string, number>, done: number[]) => {
      for (const a of out) {
        if (a.type === 'piece-complete') done.push(a.index);
        if (a.type !== 'write-block') continue;
        for (let at = 0; at < a.data.length; at += BLOCK_BYTES)
          bytes.set(`${a.piece}/${a.offset + at}`, a.data[at]!);
      }
    };
    for (let now = 10; now < 1000 && (r1.length > 0 || r2.length > 0); now += 10) {
      // Runs of up to 3 blocks, cut at piece boundaries, the way a chunk of a body is cut.
      const batch = r2.splice(0, 9);
      const o2: EngineAction[] = [];
      for (let k = 0; k < batch.length; ) {
        let end = k + 1;
        while (end < batch.length && end - k < 3 && batch[end]!.index === batch[k]!.index) end++;
        const run = runOf(batch.slice(k, end));
        // The fill byte says which block it is, whatever the run.
        batch.slice(k, end).forEach((b, j) => {
          run.data.fill(b.index * 4 + b.begin / BLOCK_BYTES + 1, j * BLOCK_BYTES, (j + 1) * BLOCK_BYTES);
        });
        o2.push(...runs.onBlockRun('ws', run.blocks, run.data, now));
        k = end;
      }
      record(o2, bytes2, done2);
      r2 = r2.concat(requests(o2, 'ws'));
      const b1 = r1.splice(0, 9);
      const o1: EngineAction[] = [];
      for (const b of b1)
        o1.push(
          ...one.onMessage(
            'ws',
            {
              type: 'piece',
              index: b.index,
              begin: b.begin,
              block: new Uint8Array(b.length).fill(b.index * 4 + b.begin / BLOCK_BYTES + 1),
            },
            now,
          ),
        );
      record(o1, bytes1, done1);
      r1 = r1.concat(requests(o1, 'ws'));
    }
    assert.equal(bytes1.size, 64, 'every block written once');
    assert.deepEqual([...bytes2].sort(), [...bytes1].sort());
    assert.deepEqual(done2, done1);
    assert.equal(runs.stats(1000).downloadedBytes, one.stats(1000).downloadedBytes);
    assert.equal(runs.stats(1000).downloadedBytes, 64 * BLOCK_BYTES);
  });

  test('a block another peer delivered first splits the write, and is counted as wasted', () => {
    const e = engine(2, 4);
    const reqs = requests(attachWebSeed(e, 'ws'), 'ws');
    assert.equal(reqs.length, 8);
    // A peer joins in the endgame and is asked for one of the web seed's blocks; it answers first.
    const dup = requests(
      [
        ...e.addPeer('p', { supportsFast: true, supportsExtensions: true }, 1),
        ...e.onMessage('p', { type: 'have-all' }, 1),
        ...e.onMessage('p', { type: 'unchoke' }, 1),
      ],
      'p',
    );
    assert.equal(dup.length, 1);
    const d = dup[0]!;
    const cancel = answer(e, 'p', dup, 2).filter(
      (a) => a.type === 'send' && a.peer === 'ws' && a.msg.type === 'cancel',
    );
    assert.equal(cancel.length, 1, 'the web seed is told to cancel it');
    const piece = reqs.filter((r) => r.index === d.index);
    const { blocks, data } = runOf(piece);
    const out = e.onBlockRun('ws', blocks, data, 3);
    const k = d.begin / BLOCK_BYTES;
    const expected = [
      ...(k > 0 ? [{ piece: d.index, offset: 0, bytes: k * BLOCK_BYTES }] : []),
      ...(k < 3 ? [{ piece: d.index, offset: (k + 1) * BLOCK_BYTES, bytes: (3 - k) * BLOCK_BYTES }] : []),
    ];
    assert.deepEqual(writes(out), expected);
    assert.equal(out.filter((a) => a.type === 'piece-complete').length, 1);
    assert.equal(e.stats(3).downloadedBytes, 4 * BLOCK_BYTES);
    assert.equal(e.stats(3).wastedBytes, BLOCK_BYTES);
  });

  test('an unrequested block closes the web seed; the blocks before it are still written', () => {
    const e = engine(1000, 4);
    const reqs = requests(attachWebSeed(e, 'ws'), 'ws');
    const run = runOf(reqs.slice(0, 2));
    const stray = { piece: 999, offset: 0, length: BLOCK_BYTES };
    assert.ok(!reqs.some((r) => r.index === stray.piece), 'not asked for');
    const out = e.onBlockRun('ws', [...run.blocks, stray], new Uint8Array(run.data.length + BLOCK_BYTES), 10);
    assert.deepEqual(writes(out), [{ piece: 0, offset: 0, bytes: 2 * BLOCK_BYTES }]);
    const close = out.find((a) => a.type === 'close');
    assert.ok(close?.type === 'close');
    assert.equal(close.reason, 'unrequested-block');
    assert.equal(e.peerStats('ws', 10), undefined, 'forgotten');
  });

  test('data that is not exactly the blocks is refused with a RangeError', () => {
    const e = engine(8, 4);
    const reqs = requests(attachWebSeed(e, 'ws'), 'ws');
    const { blocks, data } = runOf(reqs.slice(0, 2));
    assert.throws(() => e.onBlockRun('ws', blocks, data.subarray(1), 10), RangeError);
    assert.equal(e.stats(10).downloadedBytes, 0);
  });
});
