/**
 * `shoal download --web-seed URL` (repeatable) as a child process: the files come from an HTTP
 * origin alone, and a URL that cannot be a web seed is refused before anything is created.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTorrent } from '../../src/storage/index.js';
import { runShoal } from '../helpers/cli.js';
import { treeDigests, writeTree } from '../helpers/payload.js';
import { WebOrigin } from '../helpers/web-origin.js';

const OFFLINE = ['--no-dht', '--no-lsd', '--port', '0'];

describe('shoal download --web-seed', { timeout: 120_000 }, () => {
  let dir = '';
  let torrentPath = '';
  let origin: WebOrigin;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-cli-ws-'));
    await writeTree(join(dir, 'www', 'pack'), { 'a.bin': 400_000, 'sub/b.bin': 123_456 }, 4);
    const t = await createTorrent(join(dir, 'www', 'pack'), { threads: 1, pieceLength: 32768 });
    torrentPath = join(dir, 'pack.torrent');
    await writeFile(torrentPath, t.bytes);
    origin = await WebOrigin.start({ root: join(dir, 'www') });
  });
  after(async () => {
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('downloads from the origin alone (a dead origin beside it does not hold it up)', async () => {
    const out = join(dir, 'out');
    const r = await runShoal([
      'download',
      torrentPath,
      '-o',
      out,
      '--web-seed',
      'http://127.0.0.1:9/nothing-here/',
      '--web-seed',
      origin.url,
      ...OFFLINE,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rels = ['pack/a.bin', 'pack/sub/b.bin'];
    assert.deepEqual(await treeDigests(out, rels), await treeDigests(join(dir, 'www'), rels));
    assert.ok(origin.requests.length > 0);
  });

  test('a URL that cannot be a web seed is a usage error, and nothing is created', async () => {
    const out = join(dir, 'never');
    const r = await runShoal([
      'download',
      torrentPath,
      '-o',
      out,
      '--web-seed',
      'ftp://127.0.0.1/x',
      ...OFFLINE,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /--web-seed ftp:\/\/127\.0\.0\.1\/x: ftp: is not http: or https:/);
    assert.equal(existsSync(out), false);
  });
});
