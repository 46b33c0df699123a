import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  type AnnounceRequest,
  type AnnounceResponse,
  Announcer,
  TrackerError,
  type TrackerEvent,
  TrackerTierList,
  type TrackerTransport,
} from '../../../src/discovery/index.js';
import { ErrorCode } from '../../../src/shared/errors.js';

/** A seeded PRNG (mulberry32). */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Behaviour = 'ok' | 'fail' | 'throw' | 'hang';

/** A scripted transport: each URL behaves as told and every call is logged. */
function fakeTransport(behaviour: Record<string, Behaviour>, interval = 0) {
  const calls: { url: string; event: TrackerEvent; left: number; numwant?: number; key?: number }[] = [];
  const transport: TrackerTransport = {
    async announce(url: string, req: AnnounceRequest, opts): Promise<AnnounceResponse> {
      calls.push({
        url,
        event: req.event,
        left: req.left,
        ...(req.numwant !== undefined ? { numwant: req.numwant } : {}),
        ...(req.key !== undefined ? { key: req.key } : {}),
      });
      const b = behaviour[url] ?? 'ok';
      if (b === 'fail')
        throw new TrackerError(ErrorCode.TrackerFailure, 'nope', { url, failureReason: 'nope' });
      if (b === 'throw') throw new TypeError('a broken transport');
      if (b === 'hang') {
        await new Promise((_, reject) =>
          opts.signal?.addEventListener('abort', () =>
            reject(new TrackerError(ErrorCode.TrackerRequest, 'aborted', { url })),
          ),
        );
      }
      return {
        interval,
        complete: 1,
        incomplete: 2,
        peers: [{ host: '192.0.2.1', port: 6881, family: 4 }],
        ...(url.includes('warn') ? { warning: 'careful' } : {}),
      };
    },
    async scrape(url, infoHashes) {
      if ((behaviour[url] ?? 'ok') !== 'ok')
        throw new TrackerError(ErrorCode.TrackerTimeout, 'slow', { url });
      return infoHashes.map((h) => ({ infoHash: h, complete: 5, downloaded: 6, incomplete: 7 }));
    },
  };
  return { transport, calls };
}

const open: Announcer[] = [];
/** Every announcer a test makes is closed at the end, even when the test fails. */
function track(a: Announcer): Announcer {
  open.push(a);
  return a;
}
after(async () => {
  for (const a of open) await a.close();
});

const base = {
  infoHash: new Uint8Array(20).fill(1),
  peerId: new Uint8Array(20).fill(2),
  port: 6881,
  minIntervalMs: 0,
  retryBaseMs: 5,
  retryMaxMs: 20,
};

describe('BEP 12 tiers', { timeout: 20_000 }, () => {
  test('each tier is shuffled once; a tracker that answers moves to the front of its tier', () => {
    const tiers = new TrackerTierList([['a', 'b', 'c', 'd'], ['e'], [], ['a', 'f']], seeded(4));
    const t = tiers.tiers;
    assert.equal(t.length, 3, 'empty tier dropped');
    assert.deepEqual([...t[0]!].sort(), ['a', 'b', 'c', 'd']);
    assert.deepEqual(t[2], ['f'], 'duplicate URL dropped');
    const last = t[0]![3]!;
    tiers.promote(last);
    assert.equal(tiers.tiers[0]![0], last);
    assert.deepEqual(tiers.tiers[0]!.slice(1), t[0]!.slice(0, 3));
    tiers.promote('e');
    assert.deepEqual(tiers.tiers[1], ['e']);
    assert.deepEqual(
      tiers.order().map((e) => e.tier),
      [0, 0, 0, 0, 1, 2],
    );
  });
});

describe('Announcer', { timeout: 20_000 }, () => {
  test('tries trackers in tier order, moves the responsive one to the front, reports its peers', async () => {
    const { transport, calls } = fakeTransport({ a: 'fail', b: 'throw' });
    let left = 100;
    const got: string[] = [];
    const ann = track(
      new Announcer(
        {
          ...base,
          trackers: [['a'], ['b', 'c']],
          getStats: () => ({ uploaded: 1, downloaded: 2, left }),
          onPeers: (peers, url) => got.push(`${url}:${peers.length}`),
        },
        { transport, random: seeded(1) },
      ),
    );
    const failed: string[] = [];
    ann.on('tracker:failed', (f) => failed.push(`${f.url}:${f.error.code}`));
    ann.start();
    await ann.next('tracker:announced');
    assert.deepEqual(got, ['c:1']);
    assert.deepEqual(failed.sort(), ['a:SHOAL_ERR_TRACKER_FAILURE', 'b:SHOAL_ERR_TRACKER_REQUEST']);
    // seeded(1) shuffles tier 1 to [b, c]: a fails, b throws, c answers.
    assert.deepEqual(
      calls.map((c) => c.url),
      ['a', 'b', 'c'],
    );
    assert.equal(ann.trackers.find((t) => t.tier === 1)?.url, 'c', 'c moved to the front of tier 1');
    assert.ok(calls.every((c) => c.event === 'started' && c.numwant === 50));
    // The next (timer) round starts at the top tier again (BEP 12), then c, now first in tier 1.
    left = 0;
    const before = calls.length;
    await ann.next('tracker:announced');
    const round = calls.slice(before);
    assert.equal(round[0]?.url, 'a');
    assert.equal(round.at(-1)?.url, 'c');
    assert.equal(round.at(-1)?.event, 'none', 'c already has started');
    assert.equal(round.at(-1)?.left, 0, 'figures are read at announce time');
    await ann.close();
  });

  test('started, then completed once, then stopped to every tracker that got started', async () => {
    const { transport, calls } = fakeTransport({}, 3600);
    const ann = track(
      new Announcer(
        { ...base, trackers: [['a'], ['b']], getStats: () => ({ uploaded: 0, downloaded: 0, left: 0 }) },
        { transport },
      ),
    );
    ann.start();
    await ann.next('tracker:announced');
    ann.complete();
    const done = await ann.next('tracker:announced');
    assert.equal(done.event, 'completed');
    assert.equal(await ann.announce(), true);
    await ann.stop();
    assert.deepEqual(
      calls.map((c) => `${c.url}:${c.event}`),
      ['a:started', 'a:completed', 'a:none', 'a:stopped'],
    );
    assert.equal(calls.at(-1)?.numwant, 0);
    await ann.close();
  });

  test('the same key is sent on every announce', async () => {
    const { transport, calls } = fakeTransport({});
    const ann = track(
      new Announcer(
        { ...base, trackers: [['a']], getStats: () => ({ uploaded: 0, downloaded: 0, left: 1 }) },
        { transport },
      ),
    );
    ann.start();
    await ann.next('tracker:announced');
    await ann.announce();
    assert.equal(calls.length, 2);
    assert.equal(calls[0]?.key, calls[1]?.key);
    await ann.close();
  });

  test('when every tracker fails it retries with back-off and never throws', async () => {
    const { transport, calls } = fakeTransport({ a: 'fail', b: 'throw' });
    const ann = track(
      new Announcer(
        { ...base, trackers: [['a', 'b']], getStats: () => ({ uploaded: 0, downloaded: 0, left: 1 }) },
        { transport },
      ),
    );
    let failures = 0;
    ann.on('tracker:failed', () => failures++);
    ann.start();
    try {
      // Three rounds of two failures; the retry is armed right after a round's last failure.
      while (failures < 6) await ann.next('tracker:failed');
      assert.ok(calls.length >= 6);
      assert.ok(ann.nextAnnounceAt !== undefined);
    } finally {
      await ann.close();
    }
    assert.equal(ann.nextAnnounceAt, undefined);
  });

  test('a warning message is reported as tracker:warning', async () => {
    const { transport } = fakeTransport({});
    const ann = track(
      new Announcer(
        { ...base, trackers: [['http://warn']], getStats: () => ({ uploaded: 0, downloaded: 0, left: 1 }) },
        { transport },
      ),
    );
    ann.start();
    const w = await ann.next('tracker:warning');
    assert.deepEqual(w, { url: 'http://warn', message: 'careful' });
    await ann.close();
  });

  test('stop() does not wait on a hanging tracker longer than the stop timeout', async () => {
    const { transport, calls } = fakeTransport({ a: 'ok' });
    const ann = track(
      new Announcer(
        {
          ...base,
          trackers: [['a']],
          getStats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
          stopTimeoutMs: 50,
        },
        {
          transport: {
            ...transport,
            announce: (url, req, opts) =>
              req.event === 'stopped'
                ? new Promise((_, reject) =>
                    setTimeout(
                      () => reject(new TrackerError(ErrorCode.TrackerTimeout, 'slow', { url })),
                      opts.timeoutMs,
                    ),
                  )
                : transport.announce(url, req, opts),
          },
        },
      ),
    );
    ann.start();
    await ann.next('tracker:announced');
    const t0 = performance.now();
    const failed = ann.next('tracker:failed');
    await ann.stop();
    const f = await failed;
    assert.equal(f.event, 'stopped');
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(calls.length, 1);
    await ann.close();
  });

  test('close() aborts a round stuck on a hanging tracker and releases its timers', async () => {
    const { transport } = fakeTransport({ a: 'hang' });
    const ann = track(
      new Announcer(
        { ...base, trackers: [['a']], getStats: () => ({ uploaded: 0, downloaded: 0, left: 1 }) },
        { transport },
      ),
    );
    ann.start();
    await ann.close();
    assert.equal(ann.nextAnnounceAt, undefined);
    assert.throws(
      () => ann.start(),
      (e: unknown) => (e as { code?: string }).code === ErrorCode.SessionClosed,
    );
  });

  test('scrape asks the first tracker that answers', async () => {
    const { transport } = fakeTransport({ a: 'fail' });
    const ann = track(
      new Announcer(
        { ...base, trackers: [['a'], ['b']], getStats: () => ({ uploaded: 0, downloaded: 0, left: 1 }) },
        { transport },
      ),
    );
    const s = await ann.scrape();
    assert.deepEqual(s && [s.complete, s.downloaded, s.incomplete], [5, 6, 7]);
    await ann.close();
  });

  test('20-byte info-hash and peer id are required', () => {
    assert.throws(
      () =>
        new Announcer({
          ...base,
          infoHash: new Uint8Array(32),
          trackers: [],
          getStats: () => ({ uploaded: 0, downloaded: 0, left: 0 }),
        }),
      (e: unknown) => (e as { code?: string }).code === ErrorCode.SessionInvalidArgument,
    );
  });
});
