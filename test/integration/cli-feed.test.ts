/**
 * `shoal key generate`, `shoal publish` and `shoal follow` as processes, for what fails before
 * any network: the key file (0600, never overwritten, refused when others may read it), the DHT
 * being required, a feed argument that is neither a BEP 46 link nor a key. Each exits 1 with one
 * clear line. (The working paths are in test/e2e/site-gateway.test.ts and feeds-crash.test.ts.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const TSX = import.meta.resolve('tsx');

function shoal(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shoal ${args.join(' ')}: no exit within 30 s`));
    }, 30_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('shoal key / publish / follow: bad input', { timeout: 120_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-cli-feed-'));
    await mkdir(join(dir, 'site'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('key generate writes a 0600 key once', async () => {
    const key = join(dir, 'feed.key');
    const r = await shoal(['key', 'generate', key]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^[0-9a-f]{64}\n$/);
    assert.match(r.err, new RegExp(`magnet:\\?xs=urn:btpk:${r.out.trim()}`));
    assert.equal((await stat(key)).mode & 0o777, 0o600);
    assert.equal((JSON.parse(await readFile(key, 'utf8')) as { publicKey: string }).publicKey, r.out.trim());
    const again = await shoal(['key', 'generate', key]);
    assert.equal(again.code, 1);
    assert.match(
      again.err,
      /^shoal: error: .*already exists; a key file is never overwritten.*SHOAL_ERR_FEED_KEY/,
    );
  });

  test('publish needs the DHT and a private key file', async () => {
    const key = join(dir, 'feed.key');
    const noDht = await shoal(['publish', join(dir, 'site'), '--key', key, '--no-dht']);
    assert.equal(noDht.code, 1);
    assert.match(noDht.err, /publishing needs the DHT/);
    await chmod(key, 0o644);
    const open = await shoal([
      'publish',
      join(dir, 'site'),
      '--key',
      key,
      '--no-lsd',
      '--dht-bootstrap',
      '127.0.0.1:9',
    ]);
    assert.equal(open.code, 1);
    assert.match(open.err, /mode 0644: others may read the secret key; run chmod 600/);
  });

  test('follow refuses what is not a feed', async () => {
    const r = await shoal(['follow', 'zz', '-o', join(dir, 'out'), '--no-lsd']);
    assert.equal(r.code, 1);
    assert.match(r.err, /neither a BEP 46 magnet link .* nor a public key/);
    const v1 = await shoal([
      'follow',
      `magnet:?xt=urn:btih:${'0'.repeat(40)}`,
      '-o',
      join(dir, 'out'),
      '--no-lsd',
    ]);
    assert.equal(v1.code, 1);
    assert.match(v1.err, /no xs=urn:btpk public key/);
  });
});
