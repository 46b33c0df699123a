import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = join(ROOT, 'src/cli/main.ts');
// Resolved here so the CLI child finds tsx whatever its working directory.
const TSX = import.meta.resolve('tsx');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function shoal(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, MAIN, ...args],
      { cwd, timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('shoal create / info', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-cli-'));
    await mkdir(join(dir, 'data', 'nested', 'deeper'), { recursive: true });
    await writeFile(
      join(dir, 'data', 'a.bin'),
      createHash('sha512').update('a').digest().subarray(0, 40).toString('hex').repeat(3000),
    );
    await writeFile(join(dir, 'data', 'nested', 'deeper', 'ünïcødé.txt'), 'hello');
    await writeFile(join(dir, 'data', 'empty'), '');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const version of ['v1', 'v2', 'hybrid'] as const) {
    test(`create --${version} then info --json agree`, async () => {
      const out = join(dir, `${version}.torrent`);
      const c = await shoal(
        ['create', 'data', `--${version}`, '-o', out, '-t', 'http://127.0.0.1:1/announce', '--json'],
        dir,
      );
      assert.equal(c.code, 0, c.stderr);
      const created = JSON.parse(c.stdout) as { infoHashV1: string | null; infoHashV2: string | null };
      const m = parseTorrent(new Uint8Array(await readFile(out)));
      assert.equal(m.version, version);
      const i = await shoal(['info', out, '--json'], dir);
      assert.equal(i.code, 0, i.stderr);
      const info = JSON.parse(i.stdout) as {
        infoHashV1: string | null;
        infoHashV2: string | null;
        files: { path: string; length: number }[];
        trackers: string[][];
        magnet: string;
      };
      assert.equal(info.infoHashV1, created.infoHashV1);
      assert.equal(info.infoHashV2, created.infoHashV2);
      assert.deepEqual(
        info.files.map((f) => [f.path, f.length]),
        [
          ['data/a.bin', 240000],
          ['data/empty', 0],
          ['data/nested/deeper/ünïcødé.txt', 5],
        ],
      );
      assert.deepEqual(info.trackers, [['http://127.0.0.1:1/announce']]);
      assert.match(info.magnet, /^magnet:\?xt=urn:bt/);
    });
  }

  test('info reads magnet links', async () => {
    const r = await shoal(
      ['info', 'magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=x', '--json'],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).magnet.infoHashV1, 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a');
  });

  test('errors are one clear line and a non-zero exit', async () => {
    const missing = await shoal(['info', 'nope.torrent'], dir);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^shoal: error: cannot read nope\.torrent/);
    assert.equal(missing.stderr.trim().split('\n').length, 1);

    const badMagnet = await shoal(['info', 'magnet:?xt=urn:btih:1234'], dir);
    assert.equal(badMagnet.code, 1);
    assert.match(badMagnet.stderr, /SHOAL_ERR_MAGNET_INVALID/);

    const badPiece = await shoal(['create', 'data', '--piece-length', '1000', '-o', 'x.torrent'], dir);
    assert.equal(badPiece.code, 1);
    assert.match(badPiece.stderr, /power of two/);
    assert.ok(!(await readdir(dir)).includes('x.torrent'), 'nothing written on error');

    const exists = await shoal(['create', 'data', '-o', 'v1.torrent'], dir);
    assert.equal(exists.code, 1);
    assert.match(exists.stderr, /already exists/);
  });

  test('malicious torrents are refused with a clear error', async () => {
    const fixtures = join(ROOT, 'test/fixtures/torrents/malicious');
    for (const name of [
      'path-traversal-dotdot.torrent',
      'absolute-path.torrent',
      'huge-declared-length.torrent',
    ]) {
      const r = await shoal(['info', join(fixtures, name)], dir);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, /^shoal: error: .*\(SHOAL_ERR_/, name);
    }
  });
});
