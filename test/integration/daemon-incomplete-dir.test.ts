/**
 * The daemon's `incompleteDir` and `preallocation` settings (issue 18): a torrent added after they
 * are set downloads into the incomplete folder (its files reserved in full), moves to its download
 * folder once complete, and stays there across a restart; removing one with its data deletes the
 * files where they are (the incomplete folder); a folder outside the allowed ones is refused.
 * `POST /torrents/:id/move` moves a torrent's data (kept across restarts; a user's move while it
 * downloads in the incomplete folder is where it stays).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AddTorrentResult, Daemon, SettingsInfo } from '../../src/daemon/index.js';
import type { Session, Torrent } from '../../src/session/index.js';
import type { CreatedTorrent } from '../../src/storage/index.js';
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
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const put = (body: unknown): RequestInit => ({ ...json(body), method: 'PUT' });

/** Waits (bounded) until `t` is in `dir`, on the torrent's own state changes. */
async function inFolder(t: Torrent, dir: string): Promise<void> {
  const signal = AbortSignal.timeout(60_000);
  while (t.downloadDir !== dir || t.state === 'moving') await t.next('state', signal);
}

describe('daemon incomplete folder and preallocation', { timeout: 240_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let daemon: Daemon | undefined;
  let seeder: Session | undefined;
  let seedPort = 0;
  let seedDir = '';
  let stateDir = '';
  let dl = '';
  let incoming = '';
  let album: CreatedTorrent;
  let spare: CreatedTorrent;
  const files = { 'a.bin': 300 * KiB + 11, 'b/c.bin': 90 * KiB + 5 };

  const start = async () => {
    daemon = await startTestDaemon(stateDir, dl, { session: { dht: false, lsd: false } });
  };
  const add = async (t: CreatedTorrent, paused: boolean) =>
    (
      await api<AddTorrentResult>(daemon!, `/api/v1/torrents${paused ? '?paused=true' : ''}`, {
        ...json({ torrent: b64(t.bytes), peers: [{ host: '127.0.0.1', port: seedPort }] }),
        expect: 201,
      })
    ).torrent;

  /** The session's torrent once its add (storage, check) is done and it waits paused. */
  async function pausedInSession(id: string): Promise<Torrent> {
    const signal = AbortSignal.timeout(60_000);
    let t = daemon!.session.getTorrent(id);
    while (t === undefined) {
      await daemon!.session.next('torrent:added', signal);
      t = daemon!.session.getTorrent(id);
    }
    while (t.state !== 'paused') await t.next('state', signal);
    return t;
  }

  before(async () => {
    tmp = await tempDir('shoal-incomplete-');
    seedDir = join(tmp.dir, 'seed');
    stateDir = join(tmp.dir, 'state');
    dl = join(tmp.dir, 'dl');
    await mkdir(seedDir);
    await mkdir(dl);
    dl = await realpath(dl);
    incoming = join(dl, 'incoming');
    album = await makePayload(seedDir, 'album', files, { pieceLength: 16 * KiB, seed: 3 });
    spare = await makePayload(
      seedDir,
      'spare',
      { 'x.bin': 70 * KiB + 1 },
      { pieceLength: 16 * KiB, seed: 4 },
    );
    const s = await startSeeder(seedDir, album.bytes);
    seeder = s.session;
    seedPort = s.port;
    await start();
  });

  after(async () => {
    await daemon?.close().catch(() => {});
    await seeder?.close().catch(() => {});
    await tmp?.cleanup();
  });

  test('an incomplete folder outside the allowed folders is refused', async () => {
    const res = await fetch(
      `${daemon!.url}/api/v1/settings`,
      put({ incompleteDir: join(tmp.dir, 'elsewhere') }),
    );
    assert.equal(res.status, 403, await res.text());
    assert.equal((await api<SettingsInfo>(daemon!, '/api/v1/settings')).incompleteDir, null);
  });

  test('downloads in the incomplete folder, reserved in full, then moves to the download folder', async () => {
    const s = await api<SettingsInfo>(
      daemon!,
      '/api/v1/settings',
      put({ incompleteDir: incoming, preallocation: 'full' }),
    );
    assert.equal(s.incompleteDir, incoming);
    assert.equal(s.preallocation, 'full');

    const events = new SseReader(`${daemon!.url}/api/v1/events`);
    try {
      await events.ready;
      const row = await add(album, true);
      const held = await pausedInSession(row.id);
      assert.equal(held.downloadDir, incoming, 'a new torrent starts in the incomplete folder');
      for (const [rel, size] of Object.entries(files))
        assert.equal((await stat(join(incoming, 'album', rel))).size, size, `${rel} reserved in full`);

      await api(daemon!, `/api/v1/torrents/${row.id}/resume`, { method: 'POST' });
      await events.next<{ id: string }>('torrent:finished', (e) => e.id === row.id, 60_000);
      await inFolder(held, dl);
      for (const rel of Object.keys(files))
        assert.ok(
          (await readFile(join(dl, 'album', rel))).equals(await readFile(join(seedDir, 'album', rel))),
          `${rel} in the download folder equals the seeder's`,
        );
      assert.ok(!existsSync(join(incoming, 'album')), 'nothing left in the incomplete folder');
    } finally {
      events.close();
    }
  });

  test('after a restart the settings are kept and the completed torrent seeds from the download folder', async () => {
    const id = daemon!.session.torrents().find((t) => t.name === 'album')!.id;
    await daemon!.close();
    daemon = undefined;
    await start();
    const s = await api<SettingsInfo>(daemon!, '/api/v1/settings');
    assert.equal(s.incompleteDir, incoming);
    assert.equal(s.preallocation, 'full');
    const t = daemon!.session.getTorrent(id)!;
    assert.equal(t.downloadDir, dl);
    const signal = AbortSignal.timeout(60_000);
    while (t.state !== 'seeding') await t.next('state', signal);
  });

  test("move: a seeding torrent's data moves to another allowed folder and seeds from there after a restart", async () => {
    const id = daemon!.session.torrents().find((t) => t.name === 'album')!.id;
    const outside = await fetch(`${daemon!.url}/api/v1/torrents/${id}/move`, {
      ...json({ downloadDir: join(tmp.dir, 'elsewhere') }),
    });
    assert.equal(outside.status, 403, 'a folder outside the allowed ones is refused');
    const r = await api<{ torrent: { downloadDir: string } }>(daemon!, `/api/v1/torrents/${id}/move`, {
      ...json({ downloadDir: 'archive' }),
    });
    const archive = join(dl, 'archive');
    assert.equal(r.torrent.downloadDir, archive);
    const t = daemon!.session.getTorrent(id)!;
    assert.equal(t.downloadDir, archive);
    for (const rel of Object.keys(files))
      assert.ok(
        (await readFile(join(archive, 'album', rel))).equals(await readFile(join(seedDir, 'album', rel))),
        `${rel} moved whole`,
      );
    assert.ok(!existsSync(join(dl, 'album')), 'nothing left in the old folder');
    await daemon!.close();
    daemon = undefined;
    await start();
    const again = daemon!.session.getTorrent(id)!;
    assert.equal(again.downloadDir, archive, 'the new folder is kept across a restart');
    const signal = AbortSignal.timeout(60_000);
    while (again.state !== 'seeding') await again.next('state', signal);
  });

  test('move: a torrent the user moved while it downloads in the incomplete folder stays where it was put', async () => {
    await seeder!.addTorrent(spare.bytes);
    const row = await add(spare, true);
    const held = await pausedInSession(row.id);
    assert.equal(held.downloadDir, incoming);
    await api(daemon!, `/api/v1/torrents/${row.id}/move`, { ...json({ downloadDir: 'kept' }) });
    const kept = join(dl, 'kept');
    assert.equal(held.downloadDir, kept);
    await api(daemon!, `/api/v1/torrents/${row.id}/resume`, { method: 'POST' });
    await held.whenDone({ signal: AbortSignal.timeout(60_000) });
    assert.ok(
      (await readFile(join(kept, 'spare', 'x.bin'))).equals(await readFile(join(seedDir, 'spare', 'x.bin'))),
      'downloaded in the folder the user chose',
    );
    assert.equal(held.state === 'moving' ? 'moving' : held.downloadDir, kept, 'not moved back on completion');
    assert.ok(!existsSync(join(dl, 'spare')), 'not moved to the download folder');
    await api(daemon!, `/api/v1/torrents/${row.id}?deleteData=true`, { method: 'DELETE' });
  });

  test('removing a torrent with its data deletes its files in the incomplete folder', async () => {
    const row = await add(spare, true);
    await pausedInSession(row.id);
    const x = join(incoming, 'spare', 'x.bin');
    assert.equal((await stat(x)).size, 70 * KiB + 1);
    const r = await api<{ deletedFiles: number }>(daemon!, `/api/v1/torrents/${row.id}?deleteData=true`, {
      method: 'DELETE',
    });
    assert.equal(r.deletedFiles, 1);
    assert.ok(!existsSync(x), 'deleted where it was');
  });
});
