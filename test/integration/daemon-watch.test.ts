/**
 * The daemon's watch folder, with a real folder and real files: a .torrent already there at start
 * is added, renamed `.added` and downloads from a seeder on 127.0.0.1; a file written in two steps
 * is read only once complete; a file that is no torrent is renamed `.invalid` with the reason in
 * the event and the log; with `watchDirAction: delete` the file goes; a watch folder that is no
 * folder is refused and changes nothing; `null` stops watching.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { Daemon, SettingsInfo, TorrentSummary } from '../../src/daemon/index.js';
import type { DaemonEvents } from '../../src/daemon/torrent-manager.js';
import type { Session } from '../../src/session/index.js';
import type { CreatedTorrent } from '../../src/storage/index.js';
import { treeDigests } from '../helpers/payload.js';
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
const put = (body: unknown): RequestInit => ({ ...json(body), method: 'PUT' });

describe('daemon watch folder', { timeout: 120_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let daemon: Daemon;
  let events: SseReader;
  let seeder: Session;
  let watch = '';
  let seedDir = '';
  let dl = '';
  const payloads: CreatedTorrent[] = [];
  const logs: { level: number; msg: string; reason?: string; file?: string }[] = [];

  /** Resolves with the manager's next `watch:*` event about `file` (subscribed before the check). */
  function outcome(file: string): Promise<{ kind: 'added' | 'invalid'; reason?: string; id?: string }> {
    return new Promise((resolve, reject) => {
      const m = daemon.manager;
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no outcome for ${file} within 20 s`));
      }, 20_000);
      timer.unref();
      const onAdded = (e: DaemonEvents['watch:added']) => {
        if (e.file !== file) return;
        done();
        resolve({ kind: 'added', id: e.id });
      };
      const onInvalid = (e: DaemonEvents['watch:invalid']) => {
        if (e.file !== file) return;
        done();
        resolve({ kind: 'invalid', reason: e.reason });
      };
      const done = () => {
        clearTimeout(timer);
        m.off('watch:added', onAdded);
        m.off('watch:invalid', onInvalid);
      };
      m.on('watch:added', onAdded);
      m.on('watch:invalid', onInvalid);
    });
  }

  before(async () => {
    tmp = await tempDir('shoal-watch-');
    watch = join(tmp.dir, 'watch');
    seedDir = join(tmp.dir, 'seed');
    dl = join(tmp.dir, 'dl');
    await mkdir(watch);
    await mkdir(seedDir);
    for (const [name, seed] of [
      ['early', 1],
      ['halves', 2],
      ['gone', 3],
    ] as const)
      payloads.push(
        await makePayload(seedDir, name, { 'x.bin': 200 * KiB + seed }, { pieceLength: 16 * KiB, seed }),
      );
    const s = await startSeeder(seedDir, payloads[0]!.bytes);
    seeder = s.session;
    // Dropped before the daemon starts: the first scan finds it.
    await writeFile(join(watch, 'early.torrent'), payloads[0]!.bytes);
  });

  after(async () => {
    events?.close();
    await daemon?.close();
    await seeder?.close();
    await tmp?.cleanup();
  });

  test('a .torrent already in the folder at start is added, renamed .added, and downloads', async () => {
    daemon = await startTestDaemon(join(tmp.dir, 'state'), dl, {
      settings: { watchDir: watch },
      logger: pino(
        { level: 'info' },
        new Writable({
          write(chunk: Buffer, _e, done) {
            for (const l of chunk.toString('utf8').split('\n')) if (l !== '') logs.push(JSON.parse(l));
            done();
          },
        }),
      ),
    });
    events = new SseReader(`${daemon.url}/api/v1/events`);
    await events.ready;
    const id = idOf(payloads[0]!);
    const pending = outcome('early.torrent');
    pending.catch(() => {}); // not awaited when the file was taken already
    const got = existsSync(join(watch, 'early.torrent.added')) ? { kind: 'added', id } : await pending;
    assert.deepEqual(got, { kind: 'added', id });
    assert.deepEqual((await readdir(watch)).sort(), ['early.torrent.added']);
    const s = await api<SettingsInfo>(daemon, '/api/v1/settings');
    assert.equal(s.watchDir, watch);
    assert.equal(s.watchDirAction, 'rename');
    await api(daemon, `/api/v1/torrents/${id}/peers`, {
      ...json({ host: '127.0.0.1', port: seeder.port }),
      expect: 204,
    });
    await events.next<{ torrents: TorrentSummary[] }>('snapshot', (x) =>
      x.torrents.some((t) => t.id === id && t.state === 'seeding'),
    );
    assert.deepEqual(
      await treeDigests(join(dl, 'early'), ['x.bin']),
      await treeDigests(join(seedDir, 'early'), ['x.bin']),
    );
  });

  test('a file written in two steps is read only once it is complete', async () => {
    const bytes = payloads[1]!.bytes;
    const half = Math.floor(bytes.length / 2);
    const folder = daemon.manager.watchFolder!;
    const result = outcome('halves.torrent');
    const seen = new Promise<void>((resolve) => {
      const on = (e: { file: string }) => {
        if (e.file !== 'halves.torrent') return;
        folder.off('file:settling', on);
        resolve();
      };
      folder.on('file:settling', on);
    });
    const fh = await open(join(watch, 'halves.torrent'), 'w');
    try {
      await fh.write(bytes.subarray(0, half));
      await fh.sync();
      await seen; // the watch folder has looked at the half-written file
      await fh.write(bytes.subarray(half));
    } finally {
      await fh.close();
    }
    assert.deepEqual(await result, { kind: 'added', id: idOf(payloads[1]!) });
    assert.ok(existsSync(join(watch, 'halves.torrent.added')));
    assert.ok(!existsSync(join(watch, 'halves.torrent.invalid')));
    const { torrents } = await api<{ torrents: TorrentSummary[] }>(daemon, '/api/v1/torrents');
    assert.ok(torrents.some((t) => t.id === idOf(payloads[1]!)));
  });

  test('a file that is no torrent is renamed .invalid; the reason is in the event and the log', async () => {
    const result = outcome('junk.torrent');
    await writeFile(join(watch, 'junk.torrent'), 'this is not bencode');
    const got = await result;
    assert.equal(got.kind, 'invalid');
    assert.match(got.reason ?? '', /not usable/);
    const sse = await events.next<{ file: string; reason: string }>(
      'watch:invalid',
      (e) => e.file === 'junk.torrent',
    );
    assert.equal(sse.reason, got.reason);
    assert.ok(existsSync(join(watch, 'junk.torrent.invalid')));
    assert.ok(!existsSync(join(watch, 'junk.torrent')));
    assert.ok(
      logs.some((l) => l.level === 40 && /renamed \.invalid/.test(l.msg) && l.reason === got.reason),
      'logged with its reason',
    );
  });

  test('with watchDirAction delete the added file goes; a non-folder is refused; null stops watching', async () => {
    const s = await api<SettingsInfo>(daemon, '/api/v1/settings', put({ watchDirAction: 'delete' }));
    assert.equal(s.watchDirAction, 'delete');
    const result = outcome('gone.torrent');
    await writeFile(join(watch, 'gone.torrent'), payloads[2]!.bytes);
    assert.deepEqual(await result, { kind: 'added', id: idOf(payloads[2]!) });
    assert.ok(!existsSync(join(watch, 'gone.torrent')));
    assert.ok(!existsSync(join(watch, 'gone.torrent.added')));

    for (const dir of [join(tmp.dir, 'no-such-folder'), join(watch, 'early.torrent.added'), 'relative']) {
      const res = await fetch(`${daemon.url}/api/v1/settings`, put({ watchDir: dir }));
      assert.equal(res.status, 400, dir);
    }
    assert.equal((await api<SettingsInfo>(daemon, '/api/v1/settings')).watchDir, watch, 'unchanged');
    const off = await api<SettingsInfo>(daemon, '/api/v1/settings', put({ watchDir: null }));
    assert.equal(off.watchDir, null);
    assert.equal(daemon.manager.watchFolder, undefined);
  });
});
