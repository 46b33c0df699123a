/**
 * A leecher whose hash checks fall behind the network stops reading its peers instead of sending
 * the next pieces to disk block by block (VERIFY_BACKLOG_SHARE).
 *
 * The leecher's hash pool holds every piece check until as many are waiting as the bound allows
 * (12 of the 16 one-MiB assembly buffers). At that moment the torrent must already have paused
 * its peers; the checks then go ahead, and the download finishes without any piece having been
 * spilled to disk, with the bytes equal to the seeder's.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Session, type Torrent, verifyBacklogLimit } from '../../src/session/index.js';
import { MAX_PENDING_WRITE_BYTES } from '../../src/shared/limits.js';
import { createTorrent, HashPool } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const MiB = 1024 * 1024;
const PIECE = MiB;
const PAYLOAD = 40 * MiB;

/** A hash pool that holds piece-buffer checks until `gateAt` of them wait, then lets all go. */
class GatedHashPool extends HashPool {
  readonly #held: (() => void)[] = [];
  #open = false;
  maxWaiting = 0;
  readonly gateAt: number;
  readonly onGate: () => void;

  constructor(gateAt: number, onGate: () => void) {
    super({ threads: 2 });
    this.gateAt = gateAt;
    this.onGate = onGate;
  }

  override async hashPieceBuffer(
    ...args: Parameters<HashPool['hashPieceBuffer']>
  ): ReturnType<HashPool['hashPieceBuffer']> {
    if (!this.#open) {
      await new Promise<void>((resolve) => {
        this.#held.push(resolve);
        this.maxWaiting = Math.max(this.maxWaiting, this.#held.length);
        if (this.#held.length === this.gateAt) {
          this.onGate();
          this.#open = true;
          for (const go of this.#held.splice(0)) go();
        }
      });
    }
    return super.hashPieceBuffer(...args);
  }
}

const sessions: Session[] = [];
const pools: HashPool[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(pools.map((p) => p.destroy()));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('a hash backlog pauses the peers instead of spilling pieces to disk', { timeout: 60_000 }, async () => {
  const slots = MAX_PENDING_WRITE_BYTES / PIECE;
  const limit = verifyBacklogLimit(slots);
  assert.ok(limit > 1 && limit < slots, `limit ${limit} of ${slots} slots`);

  const dir = await mkdtemp(join(tmpdir(), 'shoal-backlog-'));
  dirs.push(dir);
  const rels = await writeTree(join(dir, 'seed', 'p'), { 'x.bin': PAYLOAD }, 5);
  const t = await createTorrent(join(dir, 'seed', 'p'), { version: 'v1', pieceLength: PIECE });
  const seeder = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'seed') });
  sessions.push(seeder);
  await seeder.addTorrent(t.bytes);

  let torrent: Torrent | undefined;
  const atGate: { paused?: boolean; spilled?: number } = {};
  const pool = new GatedHashPool(limit, () => {
    const s = torrent!.stats();
    atGate.paused = s.readingPaused;
    atGate.spilled = s.spilledPieces;
  });
  pools.push(pool);
  const leecher = await Session.create({
    host: '127.0.0.1',
    downloadDir: join(dir, 'leech'),
    hashPool: pool,
  });
  sessions.push(leecher);
  torrent = await leecher.addTorrent(t.bytes);
  torrent.addPeer('127.0.0.1', seeder.port);
  await torrent.next('done');

  assert.equal(atGate.paused, true, 'peers were still read with the hash backlog at its bound');
  assert.equal(atGate.spilled, 0);
  assert.equal(pool.maxWaiting, limit);
  const s = torrent.stats();
  assert.equal(s.spilledPieces, 0, 'pieces went to disk unverified');
  assert.equal(s.readingPaused, false);
  assert.deepEqual(
    await treeDigests(join(dir, 'leech', 'p'), rels),
    await treeDigests(join(dir, 'seed', 'p'), rels),
  );
});
