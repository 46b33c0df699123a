/**
 * The watch folder's bound: with more .torrent files than MAX_WATCH_PENDING_FILES appearing at
 * once, no more than that many are followed at a time, and every file is still taken by later
 * scans. A real folder; the add is a stub.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { WatchFolder } from '../../../src/daemon/watch-folder.js';
import { MAX_WATCH_PENDING_FILES } from '../../../src/shared/limits.js';

test('the watch folder follows at most MAX_WATCH_PENDING_FILES files at once, and takes them all', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-watch-unit-'));
  const total = MAX_WATCH_PENDING_FILES + 40;
  let folder: WatchFolder | undefined;
  try {
    await Promise.all(
      Array.from({ length: total }, (_, i) => writeFile(join(dir, `t${i}.torrent`), `torrent ${i}`)),
    );
    const added = new Set<string>();
    let most = 0;
    const all = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${added.size} of ${total} taken`)), 30_000);
      void WatchFolder.open(
        { add: async (bytes) => Buffer.from(bytes).toString('utf8'), log: pino({ level: 'silent' }) },
        { dir, action: 'delete' },
      ).then((w) => {
        folder = w;
        w.on('file:settling', () => {
          most = Math.max(most, w.pendingCount);
        });
        w.on('file:added', (e) => {
          added.add(e.id);
          if (added.size === total) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    });
    await all;
    assert.equal(most, MAX_WATCH_PENDING_FILES, 'the bound was reached and never crossed');
    assert.deepEqual(await readdir(dir), [], 'every file was taken (and deleted)');
  } finally {
    await folder?.close();
    await rm(dir, { recursive: true, force: true });
  }
});
