/**
 * `shoal daemon` as a real process (issue 18, "Everyday use"): one daemon per state folder (a
 * second is refused while the first runs; a lock left by a killed daemon is taken over), logs
 * that are readable lines on a terminal and JSON lines in a pipe, `--log-level`, and a
 * read-only download folder reported as such (at start and when a torrent is added there).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTorrent } from '../../src/storage/index.js';
import { CLI_MAIN, type ShoalChild, spawnShoal } from '../helpers/cli.js';
import { writeTree } from '../helpers/payload.js';

/** Flags that keep a daemon on loopback, on free ports, without a dashboard. */
const LOCAL = [
  '--port',
  '0',
  '--peer-port',
  '0',
  '--peer-host',
  '127.0.0.1',
  '--no-dht',
  '--no-lsd',
  '--no-web',
];

const listening = (c: ShoalChild) => c.waitFor(/listening on (http:\/\/\S+)/, 'stdout');

describe('shoal daemon: one daemon per state folder', { timeout: 120_000 }, () => {
  let dir = '';
  const children: ShoalChild[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-daemon-lock-'));
  });
  after(async () => {
    for (const c of children) await c.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const daemon = (...args: string[]) => {
    const c = spawnShoal([
      'daemon',
      '--state',
      join(dir, 'state'),
      '--download-dir',
      join(dir, 'dl'),
      ...LOCAL,
      ...args,
    ]);
    children.push(c);
    return c;
  };

  test('a second daemon on the same state folder is refused and changes nothing', async () => {
    const first = daemon();
    await listening(first);
    const lock = join(dir, 'state', 'lock');
    assert.equal((await readFile(lock, 'utf8')).trim(), String(first.pid));
    const stateBefore = await readFile(join(dir, 'state', 'state.json'), 'utf8');

    const second = daemon();
    const { code } = await second.exited;
    assert.equal(code, 1, second.stdout + second.stderr);
    assert.match(
      second.stderr,
      new RegExp(
        `^shoal: error: cannot start the daemon: the state folder .*state is in use by pid ${first.pid} .*\\(SHOAL_ERR_DAEMON_STATE\\)$`,
        'm',
      ),
    );
    assert.equal(await readFile(join(dir, 'state', 'state.json'), 'utf8'), stateBefore);
    assert.equal((await readFile(lock, 'utf8')).trim(), String(first.pid), 'the lock is still the first one');

    // A crash: the lock stays behind, naming a pid that no longer runs.
    first.kill('SIGKILL');
    await first.exited;
    assert.equal((await readFile(lock, 'utf8')).trim(), String(first.pid));
    const third = daemon();
    await listening(third);
    assert.equal((await readFile(lock, 'utf8')).trim(), String(third.pid), 'the stale lock was taken over');
    third.kill('SIGTERM');
    assert.equal((await third.exited).code, 0, third.stderr);
    assert.equal(existsSync(lock), false, 'a clean stop releases the lock');
  });
});

describe('shoal daemon: logs', { timeout: 120_000 }, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-daemon-logs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('in a pipe: JSON lines; --log-level warn leaves out the info records', async () => {
    const c = spawnShoal(['daemon', '--state', join(dir, 's1'), '--download-dir', join(dir, 'd1'), ...LOCAL]);
    try {
      await listening(c);
      await c.waitFor(/"msg":"shoal daemon started"/);
      for (const line of c.stderr.trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), line);
    } finally {
      c.kill('SIGTERM');
      await c.exited;
    }
    const quiet = spawnShoal([
      'daemon',
      '--state',
      join(dir, 's2'),
      '--download-dir',
      join(dir, 'd2'),
      '--log-level',
      'warn',
      ...LOCAL,
    ]);
    try {
      await listening(quiet);
    } finally {
      quiet.kill('SIGTERM');
      await quiet.exited;
    }
    assert.doesNotMatch(quiet.stderr, /shoal daemon started/);
  });

  test('on a terminal: readable lines, no JSON', async () => {
    const state = join(dir, 'tty');
    // util-linux `script` gives the daemon a pseudo-terminal; its output comes back on our pipe.
    const cmd = [
      process.execPath,
      '--import',
      import.meta.resolve('tsx'),
      CLI_MAIN,
      'daemon',
      '--state',
      state,
      '--download-dir',
      join(dir, 'dtty'),
      ...LOCAL,
    ]
      .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
      .join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env: { ...process.env, NODE_OPTIONS: '', TERM: 'xterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const started = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start within 30 s:\n${output}`)), 30_000);
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        output += s;
        if (/shoal daemon started/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    try {
      await started;
    } finally {
      // The daemon's pid is in its lock file; stop exactly that process.
      const pid = Number((await readFile(join(state, 'lock'), 'utf8').catch(() => '')).trim());
      if (pid > 0) process.kill(pid, 'SIGTERM');
      else child.kill('SIGKILL');
    }
    assert.equal(await exited, 0, output);
    assert.match(output, /^\d\d:\d\d:\d\d INFO {2}shoal daemon started url=http:\/\/127\.0\.0\.1:\d+ /m);
    assert.doesNotMatch(output, /\{"level":/, 'no JSON on a terminal');
  });
});

/** True when this process may make a mount namespace (root, with unshare). */
function canUnshare(): boolean {
  return (
    process.getuid?.() === 0 &&
    spawnSync('unshare', ['-m', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0
  );
}

describe('shoal daemon: a read-only download folder is said plainly', { timeout: 120_000 }, () => {
  let dir = '';
  let torrent = '';
  const children: ShoalChild[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-daemon-ro-'));
    await writeTree(join(dir, 'src', 'r'), { 'r.bin': 4000 }, 5);
    torrent = join(dir, 'r.torrent');
    await writeFile(torrent, (await createTorrent(join(dir, 'src', 'r'), { threads: 1 })).bytes);
    await mkdir(join(dir, 'ro'), { recursive: true });
  });
  after(async () => {
    for (const c of children) await c.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Runs `shoal <args>` where `<dir>/ro` is read-only: as root, in a mount namespace of its own
   * with a read-only tmpfs there (EROFS); otherwise with the folder's write bits removed (EACCES).
   */
  function withReadOnly(args: readonly string[]): ShoalChild {
    const ro = join(dir, 'ro');
    let c: ShoalChild;
    if (canUnshare()) {
      const quoted = [process.execPath, '--import', import.meta.resolve('tsx'), CLI_MAIN, ...args]
        .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
        .join(' ');
      c = spawnShoal([], {
        command: ['unshare', '-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs '${ro}' && exec ${quoted}`],
      });
    } else {
      spawnSync('chmod', ['0555', ro]);
      c = spawnShoal(args);
    }
    children.push(c);
    return c;
  }

  test('at start: the daemon refuses a read-only download folder with EROFS/EACCES, not ENOENT', async () => {
    const c = withReadOnly([
      'daemon',
      '--state',
      join(dir, 's1'),
      '--download-dir',
      join(dir, 'ro', 'dl'),
      ...LOCAL,
    ]);
    const { code } = await c.exited;
    assert.equal(code, 1, c.stdout + c.stderr);
    assert.match(
      c.stderr,
      /^shoal: error: cannot start the daemon: cannot use the download folder .*ro\/dl: (the file system is read-only \(EROFS\)|permission denied \(EACCES\))/m,
    );
    assert.doesNotMatch(c.stderr, /ENOENT/);
  });

  test('on add: a torrent added into a read-only allowed folder gets a 409 that says so', async () => {
    const state = join(dir, 's2');
    const c = withReadOnly([
      'daemon',
      '--state',
      state,
      '--download-dir',
      join(dir, 'rw'),
      '--allow-dir',
      join(dir, 'ro'),
      ...LOCAL,
    ]);
    const [, url] = await listening(c);
    const add = spawnShoal([
      'add',
      torrent,
      '--download-dir',
      join(dir, 'ro'),
      '--url',
      url!,
      '--state',
      state,
    ]);
    children.push(add);
    const { code } = await add.exited;
    assert.equal(code, 1, add.stdout + add.stderr);
    assert.match(
      add.stderr,
      /^shoal: error: .*r\.torrent: cannot download into .*ro: (the file system is read-only \(EROFS\)|permission denied \(EACCES\)) \(SHOAL_ERR_DAEMON_STATE\)$/m,
    );
    c.kill('SIGTERM');
    assert.equal((await c.exited).code, 0, c.stderr);
  });
});

describe('shoal daemon --low-memory', { timeout: 120_000 }, () => {
  let dir = '';
  const children: ShoalChild[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-daemon-lowmem-'));
  });
  after(async () => {
    for (const c of children) await c.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts a daemon and reads `hashThreads` from its stats, the API and the metrics. */
  async function hashThreads(name: string, ...args: string[]): Promise<{ api: number; metric: number }> {
    const c = spawnShoal([
      'daemon',
      '--state',
      join(dir, name),
      '--download-dir',
      join(dir, `${name}-dl`),
      ...LOCAL,
      ...args,
    ]);
    children.push(c);
    const [, url] = await listening(c);
    const stats = (await (await fetch(`${url}/api/v1/stats`)).json()) as { hashThreads: number };
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const metric = /^shoal_hash_threads (\d+)$/m.exec(metrics);
    assert.ok(metric !== null, metrics);
    c.kill('SIGTERM');
    assert.equal((await c.exited).code, 0, c.stderr);
    return { api: stats.hashThreads, metric: Number(metric[1]) };
  }

  test('by default a hash thread is up from the start; with --low-memory none is', async () => {
    const normal = await hashThreads('default');
    assert.ok(normal.api >= 1, `hash threads by default: ${normal.api}`);
    assert.equal(normal.metric, normal.api);
    assert.deepEqual(await hashThreads('lean', '--low-memory'), { api: 0, metric: 0 });
  });
});
