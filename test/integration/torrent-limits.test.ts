/**
 * Issue 18's daemon-class features at the library level: a torrent's own upload limit, seed
 * limits (ratio and idle) that pause a seeding torrent, and the queue (at most N downloads at
 * once, in queue order).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type Torrent } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { writeTree } from '../helpers/payload.js';

function nextState(t: Torrent, state: string): Promise<void> {
  if (t.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (e: { state: string }) => {
      if (e.state !== state) return;
      t.off('state', on);
      resolve();
    };
    t.on('state', on);
  });
}

describe('per-torrent limits, seed limits and the queue', () => {
  let dir = '';
  const torrents: Uint8Array[] = [];
  const sessions: Session[] = [];
  const SIZE = 600_000;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-limits-'));
    for (const name of ['one', 'two']) {
      await writeTree(join(dir, 'seed', name), { 'a.bin': SIZE }, name.length);
      torrents.push((await createTorrent(join(dir, 'seed', name), { pieceLength: 32768 })).bytes);
    }
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function node(name: string, options: Parameters<typeof Session.create>[0] = {}): Promise<Session> {
    const s = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, name), ...options });
    sessions.push(s);
    return s;
  }

  test("a torrent's own upload limit holds its upload to that rate", { timeout: 40_000 }, async () => {
    const LIMIT = 200_000;
    const seed = await node('seed');
    const seeded = await seed.addTorrent(torrents[0]!, { uploadRateLimit: LIMIT });
    assert.equal(seeded.limits.current.upload, LIMIT);
    const leech = await node('leech-rate');
    const t = await leech.addTorrent(torrents[0]!);
    t.addPeer('127.0.0.1', seed.port);
    await t.next('piece');
    const t0 = performance.now();
    const at0 = t.stats().downloadedBytes;
    await t.whenDone();
    const rate = (t.stats().downloadedBytes - at0) / ((performance.now() - t0) / 1000);
    assert.ok(rate <= LIMIT * 1.25, `${Math.round(rate)} B/s against a limit of ${LIMIT}`);
  });

  test('a seed ratio limit pauses the seeder once it uploaded that much', { timeout: 40_000 }, async () => {
    const seed = await node('seed');
    const seeded = await seed.addTorrent(torrents[1]!, { seedRatioLimit: 1 });
    const reached = seeded.next('seed-limit');
    const leech = await node('leech-ratio');
    const t = await leech.addTorrent(torrents[1]!);
    t.addPeer('127.0.0.1', seed.port);
    await t.whenDone();
    const e = await reached;
    assert.equal(e.reason, 'ratio');
    assert.ok(e.ratio >= 1);
    await nextState(seeded, 'paused');
    assert.equal(seeded.isPaused, true);
  });

  test('a seed idle limit pauses a seeder nobody downloads from', { timeout: 20_000 }, async () => {
    const seed = await node('seed', { seedIdleLimitMs: 1_500 });
    assert.deepEqual(seed.seedLimits, { ratio: 0, idleMs: 1_500 });
    const seeded = await seed.addTorrent(torrents[0]!);
    const e = await seeded.next('seed-limit');
    assert.equal(e.reason, 'idle');
    await nextState(seeded, 'paused');
  });

  test('with one active download, the second torrent waits queued and starts when the first is done', {
    timeout: 60_000,
  }, async () => {
    const seed = await node('seed');
    for (const b of torrents) await seed.addTorrent(b);
    const leech = await node('leech-queue', { maxActiveDownloads: 1 });
    const first = await leech.addTorrent(torrents[0]!);
    const second = await leech.addTorrent(torrents[1]!);
    assert.equal(first.state, 'downloading');
    assert.equal(second.state, 'queued');
    assert.deepEqual([leech.queuePosition(first.id), leech.queuePosition(second.id)], [0, 1]);
    first.addPeer('127.0.0.1', seed.port);
    second.addPeer('127.0.0.1', seed.port);
    const secondStarts = nextState(second, 'downloading');
    await first.whenDone();
    await secondStarts;
    await second.whenDone();
    // The queue can be reordered: the later torrent first.
    leech.setQueuePosition(second.id, 0);
    assert.deepEqual([leech.queuePosition(second.id), leech.queuePosition(first.id)], [0, 1]);
  });
});
