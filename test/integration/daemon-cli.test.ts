/**
 * The CLI remote commands (`shoal add|list|pause|resume|verify|remove`, issue 7) as child
 * processes against a real daemon: adding a file, a magnet and a URL, listing as a table and as
 * JSON, naming torrents by id prefix or name, removing with `--delete-data`, the token read from
 * the state folder, and clear one-line errors (unknown torrent, no daemon running).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { AddTorrentResult, Daemon, TorrentSummary } from '../../src/daemon/index.js';
import { buildMagnet, magnetFromMetainfo, parseTorrent } from '../../src/metainfo/index.js';
import type { CreatedTorrent } from '../../src/storage/index.js';
import { makePayload, SseReader, startTestDaemon, tempDir } from './daemon-helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const TSX = import.meta.resolve('tsx');
/** The remote commands in a program of their own, with runCli's error handling (until program.ts wires them). */
const CHILD_SCRIPT = [
  `import { Command, CommanderError } from ${JSON.stringify(import.meta.resolve('commander'))};`,
  `import { registerRemoteCommands } from ${JSON.stringify(pathToFileURL(join(ROOT, 'src/cli/commands/remote.ts')).href)};`,
  `import { describeError } from ${JSON.stringify(pathToFileURL(join(ROOT, 'src/cli/output.ts')).href)};`,
  "const program = new Command('shoal');",
  'program.exitOverride();',
  'registerRemoteCommands(program);',
  'try {',
  "  await program.parseAsync(process.argv.slice(2), { from: 'user' });",
  '} catch (e) {',
  "  if (!(e instanceof CommanderError)) process.stderr.write('shoal: error: ' + describeError(e) + '\\n');",
  '  process.exitCode = e instanceof CommanderError ? e.exitCode : 1;',
  '}',
].join('\n');

const hex = (b: Uint8Array | undefined) => Buffer.from(b!).toString('hex');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('shoal remote commands', { timeout: 300_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let daemon: Daemon;
  let script: string;
  let state: string;
  let one: CreatedTorrent;
  let two: CreatedTorrent;
  let dl: string;

  before(async () => {
    tmp = await tempDir();
    script = join(tmp.dir, 'shoal-remote.mts');
    await writeFile(script, CHILD_SCRIPT);
    dl = join(tmp.dir, 'dl');
    await mkdir(dl, { recursive: true });
    // `one` is complete in the download folder already: the daemon seeds it.
    one = await makePayload(dl, 'one', { 'f1.bin': 40_000, 'f2.bin': 20_000 }, { seed: 2 });
    const src = join(tmp.dir, 'src');
    await mkdir(src);
    two = await makePayload(src, 'two.bin', { 'two.bin': 30_000 }, { seed: 4 });
    await writeFile(join(tmp.dir, 'one.torrent'), one.bytes);
    state = join(tmp.dir, 'state');
    // A token is required: the commands find it in the state folder.
    daemon = await startTestDaemon(state, dl, { requireToken: true });
  });

  after(async () => {
    await daemon?.close();
    await tmp?.cleanup();
  });

  const shoal = (...args: string[]): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', TSX, script, ...args], {
        cwd: ROOT,
        env: { ...process.env, NODE_OPTIONS: '', SHOAL_URL: '', SHOAL_TOKEN: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        stdout += s;
      });
      child.stderr.setEncoding('utf8').on('data', (s: string) => {
        stderr += s;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('error', reject);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  const remote = (...args: string[]) => shoal(...args, '--url', daemon.url, '--state', state);

  test('add a file, a magnet and list them', async () => {
    const events = new SseReader(`${daemon.url}/api/v1/events?token=${daemon.token}`);
    await events.ready;
    try {
      const a = await remote('add', join(tmp.dir, 'one.torrent'), '--json');
      assert.equal(a.code, 0, a.stderr);
      const added = JSON.parse(a.stdout) as AddTorrentResult;
      assert.equal(added.created, true);
      assert.equal(added.torrent.id, hex(one.infoHashV1));
      const magnet = buildMagnet(magnetFromMetainfo(parseTorrent(two.bytes)));
      const m = await remote('add', magnet, '--paused');
      assert.equal(m.code, 0, m.stderr);
      assert.match(m.stdout, new RegExp(`^added: ${hex(two.infoHashV1).slice(0, 8)}  two\\.bin$`, 'm'));
      const again = await remote('add', join(tmp.dir, 'one.torrent'));
      assert.match(again.stdout, /^already there: /m);
      await events.next<{ torrents: TorrentSummary[] }>('snapshot', (s) =>
        s.torrents.some((t) => t.id === hex(one.infoHashV1) && t.state === 'seeding'),
      );
    } finally {
      events.close();
    }
    const list = await remote('list', '--json');
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as TorrentSummary[];
    assert.deepEqual(rows.map((r) => [r.name, r.state]).sort(), [
      ['one', 'seeding'],
      ['two.bin', 'paused'],
    ]);
    const table = await remote('list');
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+STATE\s+DONE\s+SIZE\s+DOWN\s+UP\s+PEERS\s+RATIO\s+ETA\s+NAME$/);
    assert.ok(
      lines.some((l) => /^[0-9a-f]{8}\s+seeding\s+100\.0%\s+58\.6 KiB\s.*\sone$/.test(l)),
      table.stdout,
    );
    assert.ok(
      lines.some((l) => /\spaused\s.*\stwo\.bin$/.test(l)),
      table.stdout,
    );
  });

  test('pause, resume and verify by id prefix or name', async () => {
    const id = hex(one.infoHashV1);
    const p = await remote('pause', id.slice(0, 6));
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, new RegExp(`^paused: ${id.slice(0, 8)}  one  \\(paused\\)$`, 'm'));
    const r = await remote('resume', 'one', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as TorrentSummary).id, id);
    const v = await remote('verify', id);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^verifying: /m);
  });

  test('remove with --delete-data deletes the files', async () => {
    assert.ok(existsSync(join(dl, 'one', 'f1.bin')));
    const r = await remote('remove', 'one', '--delete-data');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^removed: [0-9a-f]{8}, 2 files deleted$/m);
    assert.ok(!existsSync(join(dl, 'one')));
    const list = JSON.parse((await remote('list', '--json')).stdout) as TorrentSummary[];
    assert.deepEqual(
      list.map((t) => t.name),
      ['two.bin'],
    );
  });

  test('errors are one clear line with exit code 1', async () => {
    const unknown = await remote('pause', 'nothing-like-this');
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /^shoal: error: no torrent matches "nothing-like-this" .*\(SHOAL_ERR_API_NOT_FOUND\)\n$/,
    );
    const noToken = await shoal('list', '--url', daemon.url, '--state', join(tmp.dir, 'nowhere'));
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /requires its token.*SHOAL_ERR_API_UNAUTHORIZED/);
    const withToken = await shoal(
      'list',
      '--url',
      daemon.url,
      '--state',
      join(tmp.dir, 'nowhere'),
      '--token',
      daemon.token,
    );
    assert.equal(withToken.code, 0, withToken.stderr);
    const down = await shoal('list', '--url', 'http://127.0.0.1:9', '--state', state);
    assert.equal(down.code, 1);
    assert.match(
      down.stderr,
      /cannot reach the Shoal daemon at http:\/\/127\.0\.0\.1:9 .*is `shoal daemon` running\?/,
    );
    const missing = await remote('add', join(tmp.dir, 'missing.torrent'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT/);
  });
});
