/**
 * `shoal download` and `shoal seed` as child processes (issue 18, "Everyday use"): exit codes of
 * an interrupted download (SIGINT 130, SIGTERM 143, also while a magnet's metadata is fetched),
 * argument checks that run before anything is created, one file numbering for `info` and
 * `--only` (padding files not counted), unselected files kept out of sight, the progress
 * output on a terminal and in a pipe, and `--log-level`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import { Session } from '../../src/session/index.js';
import { toHex } from '../../src/shared/hash.js';
import { createTorrent } from '../../src/storage/index.js';
import { CLI_MAIN, runShoal, spawnShoal } from '../helpers/cli.js';
import { writeTree } from '../helpers/payload.js';

/** Flags that keep a child on loopback: no DHT, no LSD, no tracker in the torrents. */
const OFFLINE = ['--no-dht', '--no-lsd', '--port', '0'];

describe('shoal download: interruption and exit codes', { timeout: 300_000 }, () => {
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

/** A seeder session on 127.0.0.1 serving `torrent` from `dataDir`. */
async function seeder(dataDir: string, torrent: Uint8Array): Promise<Session> {
  const session = await Session.create({ host: '127.0.0.1', downloadDir: dataDir, hashThreads: 1 });
  const t = await session.addTorrent(torrent);
  assert.equal(t.state, 'seeding');
  return session;
}

describe('shoal info / download --only: one file numbering, unselected files out of sight', {
  timeout: 300_000,
}, () => {
  let dir = '';
  let seed: Session | undefined;
  const SIZES: Record<string, number> = {
    'a.bin': 40_000,
    'b.bin': 30_000,
    'c.bin': 20_000,
    'd.bin': 10_000,
    'e.bin': 5_000,
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-cli-only-'));
    await writeTree(join(dir, 'src', 'five'), SIZES, 31);
  });
  after(async () => {
    await seed?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('hybrid: info numbers the files 0-4 (padding not counted) and --only 2 --only 4 fetches c and e', async () => {
    const torrentPath = join(dir, 'five-hybrid.torrent');
    const c = await runShoal([
      'create',
      join(dir, 'src', 'five'),
      '--hybrid',
      '--piece-length',
      '16k',
      '-o',
      torrentPath,
    ]);
    assert.equal(c.code, 0, c.stderr);
    const m = parseTorrent(new Uint8Array(await readFile(torrentPath)));
    assert.ok(
      m.files.some((f) => f.isPadding),
      'the hybrid torrent has padding files',
    );

    const info = await runShoal(['info', torrentPath, '--json']);
    assert.equal(info.code, 0, info.stderr);
    const files = (JSON.parse(info.stdout) as { files: { index: number; path: string }[] }).files;
    assert.deepEqual(
      files.map((f) => [f.index, f.path]),
      Object.keys(SIZES).map((name, i) => [i, `five/${name}`]),
    );
    const text = await runShoal(['info', torrentPath]);
    assert.match(text.stdout, /^ +2 +19\.5 KiB +five\/c\.bin/m, 'the text form shows the numbers too');

    seed = await seeder(join(dir, 'src'), new Uint8Array(await readFile(torrentPath)));
    const out = join(dir, 'out-hybrid');
    const r = await runShoal(
      [
        'download',
        torrentPath,
        '-o',
        out,
        '--only',
        '2',
        '--only',
        '4',
        '--peer',
        `127.0.0.1:${seed.port}`,
        ...OFFLINE,
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(join(out, 'five'))).sort(), ['c.bin', 'e.bin']);
    assert.deepEqual(
      await readFile(join(out, 'five', 'c.bin')),
      await readFile(join(dir, 'src', 'five', 'c.bin')),
    );
    assert.deepEqual(
      await readFile(join(out, 'five', 'e.bin')),
      await readFile(join(dir, 'src', 'five', 'e.bin')),
    );
    assert.match(
      r.stdout,
      /^complete: five \(24\.4 KiB: 2 of 5 files selected\)/m,
      'the summary counts what was selected',
    );

    const bad = await runShoal([
      'download',
      torrentPath,
      '-o',
      join(dir, 'never'),
      '--only',
      '5',
      ...OFFLINE,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^shoal: error: --only 5: no such file; five has 5 files, numbered 0-4/m);
    assert.equal(existsSync(join(dir, 'never')), false, 'nothing was created');
    await seed.close();
    seed = undefined;
  });

  test('v1: the unselected neighbours of a selected file are not created; selecting them later completes them', async () => {
    const torrentPath = join(dir, 'five-v1.torrent');
    const c = await runShoal([
      'create',
      join(dir, 'src', 'five'),
      '--v1',
      '--piece-length',
      '16k',
      '-o',
      torrentPath,
    ]);
    assert.equal(c.code, 0, c.stderr);
    const bytes = new Uint8Array(await readFile(torrentPath));
    const m = parseTorrent(bytes);
    seed = await seeder(join(dir, 'src'), bytes);
    const out = join(dir, 'out-v1');
    // b.bin (40000..70000) shares its first piece with a.bin and its last with c.bin.
    const r = await runShoal(
      ['download', torrentPath, '-o', out, '--only', '1', '--peer', `127.0.0.1:${seed.port}`, ...OFFLINE],
      { timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(join(out, 'five')), ['b.bin'], 'no a.bin or c.bin of zeros beside b.bin');
    assert.deepEqual(
      await readFile(join(out, 'five', 'b.bin')),
      await readFile(join(dir, 'src', 'five', 'b.bin')),
    );
    assert.match(r.stdout, /^complete: five \(29\.3 KiB: 1 of 5 files selected\)/m);
    const parts = join(out, '.shoal', `${toHex(m.infoHashV1!)}.parts`);
    assert.ok(
      (await stat(parts)).size <= 2 * (16 * 1024 + 8),
      'the shared pieces wait in the hidden parts file',
    );

    // Now everything: the bytes waiting in the parts file are moved into place, the rest fetched.
    const all = await runShoal(
      ['download', torrentPath, '-o', out, '--peer', `127.0.0.1:${seed.port}`, ...OFFLINE],
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(all.code, 0, all.stderr);
    for (const name of Object.keys(SIZES))
      assert.deepEqual(
        await readFile(join(out, 'five', name)),
        await readFile(join(dir, 'src', 'five', name)),
        name,
      );
    assert.equal(existsSync(parts), false, 'the parts file is gone once every file is selected');
    await seed.close();
    seed = undefined;
  });
});

describe('shoal download: argument checks before anything is created', { timeout: 300_000 }, () => {
  let dir = '';
  let torrentPath = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-cli-args-'));
    await writeTree(join(dir, 'src', 'x'), { 'x.bin': 5000 }, 9);
    torrentPath = join(dir, 'x.torrent');
    await writeFile(torrentPath, (await createTorrent(join(dir, 'src', 'x'), { threads: 1 })).bytes);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a malformed --peer fails at once with its own code, and no output folder is made', async () => {
    for (const bad of ['notapeer', '127.0.0.1:0', '::1:6881', '[::1]', 'host:99999']) {
      const out = join(dir, 'out');
      const r = await runShoal(['download', torrentPath, '-o', out, '--peer', bad, ...OFFLINE]);
      assert.equal(r.code, 1, bad);
      assert.match(
        r.stderr,
        /^shoal: error: --peer .* is not a peer address: .*\(SHOAL_ERR_PEER_ADDRESS_INVALID\)$/m,
        bad,
      );
      assert.equal(existsSync(out), false, `${bad}: the output folder was not created`);
    }
  });

  test('an IPv6 --peer in brackets is accepted', async () => {
    // Checked before --only, so the --only error shows the peer passed.
    const r = await runShoal([
      'download',
      torrentPath,
      '-o',
      join(dir, 'v6'),
      '--peer',
      '[::1]:6881',
      '--only',
      '9',
      ...OFFLINE,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^shoal: error: --only 9: no such file/m);
  });

  test('-o /proc/x fails once with a clear error instead of spinning', async () => {
    const t0 = performance.now();
    const r = await runShoal(['download', torrentPath, '-o', '/proc/x/y', ...OFFLINE], { timeoutMs: 20_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^shoal: error: cannot download into \/proc\/x\/y: .*\(ENOENT\)/m);
    assert.ok(performance.now() - t0 < 15_000);
  });

  test('a .torrent that does not parse is named with what is wrong', async () => {
    const cut = join(dir, 'cut.torrent');
    await writeFile(cut, (await readFile(torrentPath)).subarray(0, 50));
    const notOne = join(dir, 'notes.torrent');
    await writeFile(notOne, 'shopping list: milk, bread\n');
    const a = await runShoal(['info', cut]);
    assert.equal(a.code, 1);
    assert.match(
      a.stderr,
      new RegExp(`^shoal: error: ${cut}: truncated: .*\\(SHOAL_ERR_BENCODE_UNEXPECTED_END\\)$`, 'm'),
    );
    const b = await runShoal(['download', notOne, '-o', join(dir, 'o2'), ...OFFLINE]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, new RegExp(`^shoal: error: ${notOne}: not a torrent file`, 'm'));
  });

  test('every error line has one format: shoal: error: <message>', async () => {
    const runs = [
      await runShoal(['info']), // commander: missing argument
      await runShoal(['download', torrentPath, '--bogus']), // commander: unknown option
      await runShoal(['tracker', '--no-http', '--no-udp']),
      await runShoal(['download', torrentPath, '-o', join(dir, 'o3'), '--log-level', 'loud']),
    ];
    for (const r of runs) {
      assert.equal(r.code === 0, false);
      assert.match(r.stderr, /^shoal: error: \S/, r.stderr);
      assert.doesNotMatch(r.stderr, /^(error|Error):/m, r.stderr);
    }
  });
});

describe('shoal download / seed: progress and log levels', { timeout: 300_000 }, () => {
  let dir = '';
  let torrentPath = '';
  let seed: Session | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-cli-progress-'));
    await writeTree(join(dir, 'src', 'p'), { 'p.bin': 300_000 }, 13);
    torrentPath = join(dir, 'p.torrent');
    await writeFile(torrentPath, (await createTorrent(join(dir, 'src', 'p'), { threads: 1 })).bytes);
    seed = await seeder(join(dir, 'src'), new Uint8Array(await readFile(torrentPath)));
  });
  after(async () => {
    await seed?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the progress bar's first frame shows figures, not placeholders", async () => {
    // A real terminal: util-linux `script` gives the command a pseudo-terminal.
    const cmd = [
      process.execPath,
      '--import',
      import.meta.resolve('tsx'),
      CLI_MAIN,
      'download',
      torrentPath,
      '-o',
      join(dir, 'tty'),
      '--peer',
      `127.0.0.1:${seed!.port}`,
      ...OFFLINE,
    ]
      .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
      .join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env: { ...process.env, NODE_OPTIONS: '', TERM: 'xterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      output += s;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, output);
    assert.match(output, /p \[[░█]+\] \d+%/, 'a bar was drawn');
    assert.doesNotMatch(output, /\{(down|up|peers|eta_h)\}/, 'no frame shows a placeholder');
    assert.match(output, /complete: p \(/);
  });

  test('seed in a pipe prints a line when something changes, not every 2 s', async () => {
    const child = spawnShoal(['seed', torrentPath, join(dir, 'src'), ...OFFLINE]);
    try {
      await child.waitFor(/seeding p on port \d+/, 'stdout');
      await child.waitFor(/\] seeding p 100\.0%/);
      // Nothing happens to an idle seed: no second line within 4.5 s (the old code printed one every 2 s).
      await assert.rejects(
        child.waitFor(/\] seeding p[^\n]*\n[^\n]*\] seeding p/, 'stderr', 4_500),
        /within 4500 ms/,
      );
    } finally {
      await child.stop();
    }
  });

  test('--log-level warn hides status lines and progress; debug shows peers', async () => {
    const quiet = await runShoal(
      [
        'download',
        torrentPath,
        '-o',
        join(dir, 'quiet'),
        '--peer',
        `127.0.0.1:${seed!.port}`,
        '--log-level',
        'warn',
        ...OFFLINE,
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '', 'nothing on stderr at warn when all goes well');
    assert.match(quiet.stdout, /^complete: p /m);
    const loud = await runShoal(
      [
        'download',
        torrentPath,
        '-o',
        join(dir, 'loud'),
        '--peer',
        `127.0.0.1:${seed!.port}`,
        '--log-level',
        'debug',
        ...OFFLINE,
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(loud.code, 0, loud.stderr);
    assert.match(loud.stderr, /^\d\d:\d\d:\d\d peer connected 127\.0\.0\.1:\d+/m);
  });
});
