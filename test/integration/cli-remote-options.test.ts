/**
 * The remote verbs for a daemon's queue, limits and settings (issue 18), the real `shoal` CLI as
 * child processes against an in-process daemon: `shoal settings` shows and changes the settings
 * (never printing a proxy password), `shoal set` a torrent's own limits and seed limits,
 * `shoal queue` its place, `shoal peer log` its peer events, `shoal bans` and
 * `shoal blocklist reload`; wrong values are refused in one line.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type {
  AddTorrentResult,
  Daemon,
  PeerEventInfo,
  SettingsInfo,
  TorrentDetails,
} from '../../src/daemon/index.js';
import type { Session } from '../../src/session/index.js';
import type { CreatedTorrent } from '../../src/storage/index.js';
import { runShoal } from '../helpers/cli.js';
import {
  api,
  json,
  makePayload,
  SseReader,
  startSeeder,
  startTestDaemon,
  tempDir,
} from './daemon-helpers.js';

const KiB = 1024;
const idOf = (t: CreatedTorrent) => Buffer.from(t.infoHashV1!).toString('hex');

describe('shoal set, queue, settings, peer log, bans, blocklist reload', { timeout: 300_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let daemon: Daemon;
  let seeder: Session;
  let events: SseReader;
  const torrents: CreatedTorrent[] = [];

  const shoal = (...args: string[]) => runShoal([...args, '--url', daemon.url]);

  before(async () => {
    tmp = await tempDir('shoal-cli-opts-');
    const seed = join(tmp.dir, 'seed');
    await mkdir(seed);
    for (const [name, n] of [
      ['first', 1],
      ['second', 2],
    ] as const)
      torrents.push(
        await makePayload(seed, name, { 'f.bin': 100 * KiB + n }, { pieceLength: 16 * KiB, seed: n }),
      );
    const s = await startSeeder(seed, torrents[0]!.bytes);
    seeder = s.session;
    daemon = await startTestDaemon(join(tmp.dir, 'state'), join(tmp.dir, 'dl'), {
      session: { dht: false, lsd: false },
    });
    events = new SseReader(`${daemon.url}/api/v1/events`);
    await events.ready;
    for (const t of torrents)
      await api<AddTorrentResult>(daemon, '/api/v1/torrents', {
        ...json({
          torrent: Buffer.from(t.bytes).toString('base64'),
          peers: [{ host: '127.0.0.1', port: seeder.port }],
        }),
        expect: 201,
      });
  });

  after(async () => {
    events?.close();
    await daemon?.close();
    await seeder?.close();
    await tmp?.cleanup();
  });

  test('shoal settings shows and changes the settings; the proxy password is never printed', async () => {
    const watch = join(tmp.dir, 'watch');
    await mkdir(watch);
    const r = await shoal(
      'settings',
      '--max-active-downloads',
      '3',
      '--max-active-seeds',
      '2',
      '--encryption',
      'prefer',
      '--seed-ratio',
      '1.5',
      '--seed-idle',
      '45',
      '--upload-limit',
      '1m',
      '--watch-dir',
      watch,
      '--watch-action',
      'delete',
      '--proxy',
      'socks5://alice:hunter2@127.0.0.1:1080',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as SettingsInfo;
    assert.equal(s.maxActiveDownloads, 3);
    assert.equal(s.maxActiveSeeds, 2);
    assert.equal(s.encryption, 'prefer');
    assert.equal(s.seedRatioLimit, 1.5);
    assert.equal(s.seedIdleLimitMinutes, 45);
    assert.equal(s.uploadRateLimit, 1024 * KiB);
    assert.equal(s.watchDir, watch);
    assert.equal(s.watchDirAction, 'delete');
    assert.deepEqual(s.proxy, {
      host: '127.0.0.1',
      port: 1080,
      username: 'alice',
      hasPassword: true,
      onlyProxy: true,
    });
    assert.deepEqual(daemon.session.queueLimits, { downloads: 3, seeds: 2 });
    assert.equal(daemon.session.encryption, 'prefer');
    assert.deepEqual(daemon.session.seedLimits, { ratio: 1.5, idleMs: 45 * 60_000 });

    const text = await shoal('settings');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^max active downloads +3$/m);
    assert.match(text.stdout, /^encryption +prefer$/m);
    assert.match(
      text.stdout,
      /^proxy +socks5:\/\/alice:\*\*\*@127\.0\.0\.1:1080 \(a change applies at the next start\)$/m,
    );
    assert.match(text.stdout, new RegExp(`^watch folder +${watch} \\(added files deleted\\)$`, 'm'));
    for (const out of [r.stdout, text.stdout])
      assert.ok(!out.includes('hunter2'), 'the password is not printed');

    const off = await shoal(
      'settings',
      '--proxy',
      'none',
      '--watch-dir',
      'none',
      '--max-active-downloads',
      '0',
    );
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /^proxy +none$/m);
    assert.match(off.stdout, /^max active downloads +no limit$/m);

    const bad = await shoal('settings', '--encryption', 'rot13');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^shoal: error: .*expected one of disabled, enabled, prefer, require/m);
    const missing = await shoal('settings', '--watch-dir', join(tmp.dir, 'nowhere'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^shoal: error: cannot watch .*nowhere: no such folder/m);
  });

  test("shoal set changes a torrent's own limits and seed limits; global goes back to the daemon's", async () => {
    const id = idOf(torrents[0]!);
    const r = await shoal(
      'set',
      id.slice(0, 8),
      '--download-limit',
      '500k',
      '--priority',
      'high',
      '--seed-ratio',
      '2',
      '--seed-idle',
      '30',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^set: [0-9a-f]{8} {2}first {2}\(down 500 KiB\/s, up unlimited, priority high, seed ratio 2, seed idle 30 min\)$/m,
    );
    const d = await api<TorrentDetails>(daemon, `/api/v1/torrents/${id}`);
    assert.deepEqual(d.options, {
      downloadLimit: 500 * KiB,
      uploadLimit: 0,
      priority: 'high',
      seedRatioLimit: 2,
      seedIdleLimitMinutes: 30,
    });
    assert.deepEqual(daemon.session.getTorrent(id)!.limits.current, {
      download: 500 * KiB,
      upload: 0,
      priority: 'high',
    });
    const g = await shoal('set', 'first', '--seed-ratio', 'global');
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /seed ratio global/);
    assert.equal((await api<TorrentDetails>(daemon, `/api/v1/torrents/${id}`)).options.seedRatioLimit, null);
    const none = await shoal('set', id);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^shoal: error: give at least one of/m);
    const wrong = await shoal('set', id, '--priority', 'urgent');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /expected one of low, normal, high/);
  });

  test('shoal queue moves a torrent; a wrong place is refused', async () => {
    const [a, b] = torrents.map(idOf) as [string, string];
    const r = await shoal('queue', b.slice(0, 6), 'top');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^queue: [0-9a-f]{8} {2}second {2}now at position 0 \(first\)/m);
    assert.equal(daemon.manager.get(b)!.queuePosition, 0);
    assert.equal(daemon.manager.get(a)!.queuePosition, 1);
    const j = await shoal('queue', b, '1', '--json');
    assert.equal(JSON.parse(j.stdout).queuePosition, 1);
    const bad = await shoal('queue', b, 'sideways');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^shoal: error: where to move it: up, down, top, bottom or a position/m);
  });

  test("shoal move moves a torrent's data to another allowed folder; one outside them is refused", async () => {
    const b = idOf(torrents[1]!);
    const r = await shoal('move', 'second', 'moved');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^moved: [0-9a-f]{8} {2}second {2}now in \S+\/dl\/moved {2}\(/m);
    assert.ok(daemon.session.getTorrent(b)!.downloadDir.endsWith('/dl/moved'));
    assert.ok(daemon.manager.get(b)!.record.downloadDir.endsWith('/dl/moved'), 'kept in the record');
    const bad = await shoal('move', 'second', tmp.dir);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /outside the allowed folders/);
  });

  test('shoal peer log prints the peer events; shoal bans; shoal blocklist reload', async () => {
    const id = idOf(torrents[0]!);
    await events.next<{ torrents: { id: string; state: string }[] }>('snapshot', (s) =>
      s.torrents.some((t) => t.id === id && t.state === 'seeding'),
    );
    const r = await shoal('peer', 'log', 'first');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d peer connected 127\\.0\\.0\\.1:${seeder.port} Shoal \\S+ \\(tcp, (encrypted|plaintext)\\)$`,
        'm',
      ),
    );
    const j = await shoal('peer', 'log', id, '--json');
    const entries = JSON.parse(j.stdout) as PeerEventInfo[];
    assert.ok(entries.some((e) => e.type === 'connected' && e.transport === 'tcp'));
    const bans = await shoal('bans');
    assert.equal(bans.code, 0, bans.stderr);
    assert.equal(bans.stdout.trim(), 'no bans');
    const reload = await shoal('blocklist', 'reload');
    assert.equal(reload.code, 1);
    assert.match(reload.stderr, /^shoal: error: no blocklist is set/m);
    const list = join(tmp.dir, 'list.p2p');
    await writeFile(list, 'test range:203.0.113.0-203.0.113.255\nnot a line\n');
    assert.equal((await shoal('settings', '--blocklist', list)).code, 0);
    const ok = await shoal('blocklist', 'reload');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), `blocklist reloaded: ${list} (1 ranges, 1 malformed lines skipped)`);
  });
});
