/**
 * Peers that meet only through a tracker: Shoal's tracker, a Shoal seeder and Shoal leechers,
 * with no peer address given to anyone. The leechers announce over UDP, the seeder over HTTP,
 * to the same swarm.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { startTracker, type TrackerServer } from '../../src/tracker/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const sessions: Session[] = [];
let tracker: TrackerServer | undefined;
let dir = '';
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await tracker?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a seeder and two leechers find each other through the tracker alone', { timeout: 60_000 }, async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-tracker-swarm-'));
  tracker = await startTracker({ host: '127.0.0.1', httpPort: 0, udpPort: 0, intervalS: 60 });
  const rels = await writeTree(join(dir, 'seed', 'payload'), { 'a.bin': 1_500_000, 'b/c.bin': 333_333 }, 5);
  const httpT = await createTorrent(join(dir, 'seed', 'payload'), {
    pieceLength: 32768,
    trackers: [[tracker.httpAnnounceUrl!]],
    creationDate: null,
  });
  const udpT = await createTorrent(join(dir, 'seed', 'payload'), {
    pieceLength: 32768,
    trackers: [[tracker.udpAnnounceUrl!]],
    creationDate: null,
  });
  assert.deepEqual(httpT.infoHashV1, udpT.infoHashV1, 'trackers are outside the info dict');

  const seeder = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'seed') });
  sessions.push(seeder);
  await seeder.addTorrent(httpT.bytes);
  const leechers = await Promise.all(
    [0, 1].map(async (i) => {
      const s = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, `leech${i}`) });
      sessions.push(s);
      return s.addTorrent(udpT.bytes);
    }),
  );
  await Promise.all(leechers.map((t) => (t.isFinished ? undefined : t.next('done'))));
  const want = await treeDigests(join(dir, 'seed', 'payload'), rels);
  for (let i = 0; i < 2; i++)
    assert.deepEqual(await treeDigests(join(dir, `leech${i}`, 'payload'), rels), want);
  const status = leechers[0]!.trackers();
  assert.equal(status.length, 1);
  assert.equal(status[0]!.url, tracker.udpAnnounceUrl);
  assert.equal(status[0]!.lastError, undefined);
});
