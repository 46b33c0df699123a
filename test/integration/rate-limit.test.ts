/**
 * Global rate limits hold on a real transfer: with a limit of R bytes/s (and a burst of at most
 * one second; it is 100 ms now, RATE_LIMIT_BURST_MS), moving P bytes takes at least (P − R) / R
 * seconds.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const sessions: Session[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const PAYLOAD = 4 * 1024 * 1024;
const RATE = 1024 * 1024;

for (const side of ['download', 'upload'] as const) {
  test(`the ${side} limit bounds the transfer rate`, { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), `shoal-rate-${side}-`));
    dirs.push(dir);
    const rels = await writeTree(join(dir, 'seed', 'p'), { 'x.bin': PAYLOAD }, 21);
    const t = await createTorrent(join(dir, 'seed', 'p'), { pieceLength: 65536 });
    const seeder = await Session.create({
      host: '127.0.0.1',
      downloadDir: join(dir, 'seed'),
      ...(side === 'upload' ? { uploadRateLimit: RATE } : {}),
    });
    sessions.push(seeder);
    await seeder.addTorrent(t.bytes);
    const leecher = await Session.create({
      host: '127.0.0.1',
      downloadDir: join(dir, 'leech'),
      ...(side === 'download' ? { downloadRateLimit: RATE } : {}),
    });
    sessions.push(leecher);
    const torrent = await leecher.addTorrent(t.bytes);
    const t0 = performance.now();
    torrent.addPeer('127.0.0.1', seeder.port);
    await torrent.next('done');
    const secs = (performance.now() - t0) / 1000;
    assert.ok(
      secs >= (PAYLOAD - RATE) / RATE - 0.2,
      `${PAYLOAD} bytes at ${RATE}/s took only ${secs.toFixed(2)} s`,
    );
    assert.deepEqual(
      await treeDigests(join(dir, 'leech', 'p'), rels),
      await treeDigests(join(dir, 'seed', 'p'), rels),
    );
  });
}
