/**
 * `shoal download -v` and `shoal seed -v` print the peer log as it happens (issue 17 item 3), and
 * `--encryption` picks the MSE/PE policy (issue 19); the real CLI as a child process, peers on
 * 127.0.0.0/8:
 * - `--encryption require` against a plaintext-only seeder and an MSE one: the MSE connection is
 *   printed with its client, transport and encryption; the plaintext one never connects;
 * - a peer that sends corrupt pieces (alone on 127.0.0.2) is printed as a hash failure naming it
 *   and a ban with its evidence, and the download completes from an honest seeder;
 * - `seed -v` prints the leecher that connects to it;
 * - a wrong `--encryption` is refused in one line.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session } from '../../src/session/index.js';
import type { CreatedTorrent } from '../../src/storage/index.js';
import { runShoal, type ShoalChild, spawnShoal } from '../helpers/cli.js';
import { treeDigests } from '../helpers/payload.js';
import { listenCorruptSeeder, type ScriptedServer } from '../helpers/scripted-peer.js';
import { makePayload, tempDir } from './daemon-helpers.js';

const KiB = 1024;
const OFFLINE = ['--no-dht', '--no-lsd', '--port', '0'];

describe('shoal download/seed -v: the peer log as it happens; --encryption', { timeout: 300_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let seedDir = '';
  let torrent: CreatedTorrent;
  let torrentPath = '';
  const sessions: Session[] = [];
  const servers: ScriptedServer[] = [];
  const children: ShoalChild[] = [];

  async function seeder(encryption: 'disabled' | 'enabled'): Promise<Session> {
    const s = await Session.create({ host: '127.0.0.1', downloadDir: seedDir, hashThreads: 1, encryption });
    sessions.push(s);
    await s.addTorrent(torrent.bytes);
    return s;
  }

  before(async () => {
    tmp = await tempDir('shoal-cli-peerlog-');
    seedDir = join(tmp.dir, 'seed');
    await mkdir(seedDir);
    torrent = await makePayload(
      seedDir,
      'logbook',
      { 'pages.bin': 256 * KiB + 3 },
      { pieceLength: 16 * KiB, seed: 9 },
    );
    torrentPath = join(tmp.dir, 'logbook.torrent');
    await writeFile(torrentPath, torrent.bytes);
  });

  after(async () => {
    for (const c of children) await c.stop();
    for (const s of sessions) await s.close();
    for (const s of servers) await s.close();
    await tmp?.cleanup();
  });

  test('--encryption require -v: the encrypted connection is printed, the plaintext peer never connects', async () => {
    const plain = await seeder('disabled');
    const mse = await seeder('enabled');
    const out = join(tmp.dir, 'enc');
    const r = await runShoal([
      'download',
      torrentPath,
      '-o',
      out,
      '-v',
      '--encryption',
      'require',
      '--peer',
      `127.0.0.1:${plain.port}`,
      '--peer',
      `127.0.0.1:${mse.port}`,
      ...OFFLINE,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `\\d\\d:\\d\\d:\\d\\d peer connected 127\\.0\\.0\\.1:${mse.port} Shoal \\S+ \\(tcp, encrypted\\)`,
      ),
    );
    assert.doesNotMatch(r.stderr, new RegExp(`peer connected 127\\.0\\.0\\.1:${plain.port}`));
    assert.match(
      r.stderr,
      new RegExp(`peer \\w+ 127\\.0\\.0\\.1:${plain.port}: \\S`),
      'its failure, with a reason',
    );
    assert.deepEqual(
      await treeDigests(join(out, 'logbook'), ['pages.bin']),
      await treeDigests(join(seedDir, 'logbook'), ['pages.bin']),
    );
  });

  test('-v prints the hash failure and the ban of a corrupt peer, with the evidence', async () => {
    const honest = await seeder('enabled');
    const corrupt = await listenCorruptSeeder(
      '127.0.0.2',
      { infoHash: torrent.infoHashV1!, pieceCount: torrent.pieceCount },
      0x5a,
    );
    servers.push(corrupt);
    const out = join(tmp.dir, 'ban');
    // The corrupt peer first and alone, so the piece it sends is its own; the honest one next.
    const child = spawnShoal([
      'download',
      torrentPath,
      '-o',
      out,
      '-v',
      '--peer',
      `127.0.0.2:${corrupt.port}`,
      ...OFFLINE,
    ]);
    children.push(child);
    await child.waitFor(/peer banned 127\.0\.0\.2: sole-sender: \S/);
    assert.match(child.stderr, /peer hash failed: piece \d+ failed its hash check \(sent by 127\.0\.0\.2\)/);
    assert.match(child.stderr, /peer connected 127\.0\.0\.2:\d+ .*\(tcp, plaintext\)/);
    const again = await runShoal([
      'download',
      torrentPath,
      '-o',
      out,
      '-v',
      '--peer',
      `127.0.0.1:${honest.port}`,
      ...OFFLINE,
    ]);
    child.kill('SIGTERM');
    await child.exited;
    assert.equal(again.code, 0, again.stderr);
  });

  test('seed -v prints the leecher that connects', async () => {
    const child = spawnShoal(['seed', torrentPath, seedDir, '-v', ...OFFLINE]);
    children.push(child);
    const m = await child.waitFor(/seeding logbook on port (\d+)/, 'stdout');
    const leecher = await Session.create({
      host: '127.0.0.1',
      downloadDir: join(tmp.dir, 'leech'),
      hashThreads: 1,
    });
    sessions.push(leecher);
    const t = await leecher.addTorrent(torrent.bytes);
    t.addPeer('127.0.0.1', Number(m[1]));
    await t.whenDone();
    await child.waitFor(/peer connected 127\.0\.0\.1:\d+ Shoal \S+ \(tcp, (encrypted|plaintext)\)/);
    child.kill('SIGTERM');
    assert.equal((await child.exited).code, 0);
  });

  test('a wrong --encryption is refused in one line', async () => {
    const r = await runShoal([
      'download',
      torrentPath,
      '-o',
      join(tmp.dir, 'x'),
      '--encryption',
      'rot13',
      ...OFFLINE,
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^shoal: error: .*--encryption.*expected one of disabled, enabled, prefer, require/m,
    );
  });
});
