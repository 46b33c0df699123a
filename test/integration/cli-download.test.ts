/**
 * `shoal download` and `shoal seed` as child processes (issue 18, "Everyday use"): exit codes of
 * an interrupted download (SIGINT 130, SIGTERM 143, also while a magnet's metadata is fetched),
 * argument checks that run before anything is created, and the progress output.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTorrent } from '../../src/storage/index.js';
import { runShoal, spawnShoal } from '../helpers/cli.js';
import { writeTree } from '../helpers/payload.js';

/** Flags that keep a child on loopback: no DHT, no LSD, no tracker in the torrents. */
const OFFLINE = ['--no-dht', '--no-lsd', '--port', '0'];

describe('shoal download: interruption and exit codes', { timeout: 120_000 }, () => {
  let dir = '';
  let torrentPath = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-cli-dl-'));
    await writeTree(join(dir, 'src', 'lonely'), { 'a.bin': 100_000 }, 7);
    const t = await createTorrent(join(dir, 'src', 'lonely'), { threads: 1 });
    torrentPath = join(dir, 'lonely.torrent');
    await writeFile(torrentPath, t.bytes);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`${signal} while downloading exits ${code} and says it was interrupted`, async () => {
      // No peer has the torrent: the download can only end by the signal.
      const child = spawnShoal(['download', torrentPath, '-o', join(dir, `out-${signal}`), ...OFFLINE]);
      try {
        await child.waitFor(/listening on port \d+/);
        child.kill(signal);
        const { code: exit } = await child.exited;
        assert.equal(exit, code, child.stderr);
        assert.match(child.stderr, new RegExp(`interrupted \\(${signal}\\)`));
      } finally {
        await child.stop();
      }
    });

    test(`${signal} while fetching a magnet's metadata exits ${code}`, async () => {
      const magnet = `magnet:?xt=urn:btih:${'ab'.repeat(20)}&dn=nowhere`;
      const child = spawnShoal(['download', magnet, '-o', join(dir, `mag-${signal}`), ...OFFLINE]);
      try {
        await child.waitFor(/fetching metadata/);
        child.kill(signal);
        const { code: exit } = await child.exited;
        assert.equal(exit, code, child.stderr);
        assert.match(child.stderr, new RegExp(`interrupted \\(${signal}\\) while fetching metadata`));
      } finally {
        await child.stop();
      }
    });
  }

  test('a finished download exits 0', async () => {
    await mkdir(join(dir, 'done'), { recursive: true });
    await writeTree(join(dir, 'done', 'lonely'), { 'a.bin': 100_000 }, 7);
    const r = await runShoal(['download', torrentPath, '-o', join(dir, 'done'), ...OFFLINE]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^complete: lonely/m);
    assert.equal(existsSync(join(dir, 'done', 'lonely', 'a.bin')), true);
  });
});
