/**
 * The daemon's queue and per-torrent options (issue 18), with real torrents moving on 127.0.0.1:
 * - with `maxActiveDownloads: 1` one torrent downloads and the others wait `queued`; moving one
 *   to the top starts it and holds the other back; the session's queue follows the daemon's
 *   order; raising the limit lets every one finish; the order survives a restart;
 * - a torrent's own limits, bandwidth priority and seed limits are set through the API, reach the
 *   library's torrent, are kept in state.json and come back after a restart;
 * - a seeding torrent whose own ratio limit is reached pauses itself, and stays paused (its
 *   record says so, and the event says why).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type {
  AddTorrentResult,
  Daemon,
  SettingsInfo,
  TorrentDetails,
  TorrentSummary,
} from '../../src/daemon/index.js';
import { Session } from '../../src/session/index.js';
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
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const idOf = (t: CreatedTorrent) => Buffer.from(t.infoHashV1!).toString('hex');
const put = (body: unknown): RequestInit => ({ ...json(body), method: 'PUT' });
const patch = (body: unknown): RequestInit => ({ ...json(body), method: 'PATCH' });

describe('daemon queue and per-torrent options', { timeout: 180_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let daemon: Daemon;
  let events: SseReader;
  let seeder: Awaited<ReturnType<typeof startSeeder>>['session'] | undefined;
  const extra: Session[] = [];
  let seedDir = '';
  let stateDir = '';
  let dl = '';
  const payloads: CreatedTorrent[] = [];

  async function start(): Promise<void> {
    daemon = await startTestDaemon(stateDir, dl, { settings: { maxActiveDownloads: 1 } });
    events = new SseReader(`${daemon.url}/api/v1/events`);
    await events.ready;
  }

  async function stop(): Promise<void> {
    events.close();
    await daemon.close();
  }

  const list = async () => (await api<{ torrents: TorrentSummary[] }>(daemon, '/api/v1/torrents')).torrents;
  const row = async (id: string) => (await list()).find((t) => t.id === id)!;
  const snapshotWhere = (pred: (rows: Map<string, TorrentSummary>) => boolean) =>
    events.next<{ torrents: TorrentSummary[] }>(
      'snapshot',
      (s) => pred(new Map(s.torrents.map((t) => [t.id, t]))),
      60_000,
    );

  before(async () => {
    tmp = await tempDir('shoal-queue-');
    seedDir = join(tmp.dir, 'seed');
    stateDir = join(tmp.dir, 'state');
    dl = join(tmp.dir, 'dl');
    await mkdir(seedDir);
    for (const name of ['alpha', 'bravo', 'charlie'])
      payloads.push(
        await makePayload(
          seedDir,
          name,
          { 'a.bin': 400 * KiB + 1, 'b.bin': 200 * KiB },
          {
            pieceLength: 32 * KiB,
            seed: name.length * 7 + name.charCodeAt(0),
          },
        ),
      );
    // A seeder slow enough that a download is still running while the queue is looked at.
    const s = await startSeeder(seedDir, payloads[0]!.bytes, { uploadRateLimit: 192 * KiB });
    seeder = s.session;
    for (const p of payloads.slice(1)) await seeder.addTorrent(p.bytes);
    await start();
  });

  after(async () => {
    events?.close();
    await daemon?.close();
    await seeder?.close();
    for (const s of extra) await s.close();
    await tmp?.cleanup();
  });

  test('one download at a time: the others wait queued, in queue order', async () => {
    const s = await api<SettingsInfo>(daemon, '/api/v1/settings');
    assert.equal(s.maxActiveDownloads, 1, 'the setting given at start');
    assert.equal(s.maxActiveSeeds, 0);
    for (const p of payloads) {
      const r = await api<AddTorrentResult>(daemon, '/api/v1/torrents', {
        ...json({ torrent: b64(p.bytes), peers: [{ host: '127.0.0.1', port: seeder!.port }] }),
        expect: 201,
      });
      assert.equal(r.torrent.queuePosition, payloads.indexOf(p));
    }
    const [a, b, c] = payloads.map(idOf) as [string, string, string];
    await snapshotWhere(
      (m) =>
        m.get(a)?.state === 'downloading' && m.get(b)?.state === 'queued' && m.get(c)?.state === 'queued',
    );
    assert.equal(daemon.session.getTorrent(b)?.state, 'queued', 'the library holds it back');
    assert.equal(daemon.session.getTorrent(b)?.stats().downloadedBytes, 0);
    assert.deepEqual(
      [a, b, c].map((id) => daemon.session.queuePosition(id)),
      [0, 1, 2],
    );
  });

  test('moving a torrent to the top starts it and holds the first one back', async () => {
    const [a, b, c] = payloads.map(idOf) as [string, string, string];
    const mark = events.events.length;
    const moved = await api<{ torrent: TorrentSummary }>(daemon, `/api/v1/torrents/${c}/queue`, {
      ...json({ move: 'top' }),
    });
    assert.equal(moved.torrent.queuePosition, 0);
    await events.nextAfter<{ id: string }>(mark, 'torrent:updated', (e) => e.id === c);
    await snapshotWhere((m) => m.get(c)?.state === 'downloading' && m.get(a)?.state === 'queued');
    assert.deepEqual(
      [c, a, b].map((id) => daemon.session.queuePosition(id)),
      [0, 1, 2],
      "the session's queue follows the daemon's",
    );
    await api(daemon, `/api/v1/torrents/${a}/queue`, json({ move: 'down' }));
    assert.deepEqual(
      (await list()).sort((x, y) => x.queuePosition - y.queuePosition).map((t) => t.id),
      [c, b, a],
    );
    await api(daemon, `/api/v1/torrents/${a}/queue`, json({ position: 99 }));
    assert.equal((await row(a)).queuePosition, 2, 'a position past the end is the last place');
    await api(daemon, `/api/v1/torrents/${a}/queue`, { ...json({ move: 'sideways' }), expect: 400 });
    await api(daemon, `/api/v1/torrents/${a}/queue`, { ...json({}), expect: 400 });
  });

  test('raising the limit lets every torrent run and finish; the order is kept in state.json', async () => {
    const ids = payloads.map(idOf);
    const held = ids.filter((id) => daemon.session.getTorrent(id)?.state === 'queued');
    assert.ok(held.length >= 1, 'under the limit of 1, some torrent still waits');
    const s = await api<SettingsInfo>(daemon, '/api/v1/settings', put({ maxActiveDownloads: 0 }));
    assert.equal(s.maxActiveDownloads, 0);
    assert.equal(daemon.session.queueLimits.downloads, 0);
    // The waiting ones start at once, not one after another as the running one finishes.
    for (const id of held) assert.notEqual(daemon.session.getTorrent(id)?.state, 'queued', id);
    await snapshotWhere((m) => ids.every((id) => m.get(id)?.state === 'seeding'));
    for (const p of payloads) {
      const name = p.name;
      assert.deepEqual(
        await treeDigests(join(dl, name), ['a.bin', 'b.bin']),
        await treeDigests(join(seedDir, name), ['a.bin', 'b.bin']),
        `${name} downloaded intact`,
      );
    }
    const state = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8'));
    assert.equal(state.settings.maxActiveDownloads, 0);
    const [a, b, c] = ids as [string, string, string];
    const pos = (id: string) => state.torrents.find((t: { id: string }) => t.id === id).queuePosition;
    assert.deepEqual([pos(c), pos(b), pos(a)], [0, 1, 2]);
  });

  test("a torrent's own limits, priority and seed limits reach the library and are kept", async () => {
    const a = idOf(payloads[0]!);
    // The previous test moved `a` in the queue: its torrent:updated events are older than this one.
    const mark = events.events.length;
    const d = await api<TorrentDetails>(
      daemon,
      `/api/v1/torrents/${a}`,
      patch({
        downloadLimit: 100_000,
        uploadLimit: 50_000,
        priority: 'high',
        seedRatioLimit: 2.5,
        seedIdleLimitMinutes: 30,
      }),
    );
    assert.deepEqual(d.options, {
      downloadLimit: 100_000,
      uploadLimit: 50_000,
      priority: 'high',
      seedRatioLimit: 2.5,
      seedIdleLimitMinutes: 30,
    });
    await events.nextAfter<{ id: string }>(mark, 'torrent:updated', (e) => e.id === a);
    const t = daemon.session.getTorrent(a)!;
    assert.deepEqual(t.limits.current, { download: 100_000, upload: 50_000, priority: 'high' });
    assert.deepEqual(t.seedLimits.current(), { ratio: 2.5, idleMs: 30 * 60_000 });
    // Back to the daemon's ratio; the rest is left as it is.
    const d2 = await api<TorrentDetails>(daemon, `/api/v1/torrents/${a}`, patch({ seedRatioLimit: null }));
    assert.equal(d2.options.seedRatioLimit, null);
    assert.equal(d2.options.priority, 'high');
    await api(daemon, '/api/v1/settings', put({ seedRatioLimit: 4 }));
    assert.equal(t.seedLimits.current().ratio, 4, "the daemon's setting applies to it now");
    for (const bad of [
      { priority: 'urgent' },
      { downloadLimit: -1 },
      { seedRatioLimit: 'x' },
      { what: 1 },
      {},
    ])
      await api(daemon, `/api/v1/torrents/${a}`, { ...patch(bad), expect: 400 });

    await stop();
    await start();
    await daemon.restored;
    const back = daemon.session.getTorrent(a)!;
    assert.deepEqual(back.limits.current, { download: 100_000, upload: 50_000, priority: 'high' });
    assert.deepEqual(back.seedLimits.current(), { ratio: 4, idleMs: 30 * 60_000 });
    const details = await api<TorrentDetails>(daemon, `/api/v1/torrents/${a}`);
    assert.equal(details.options.seedIdleLimitMinutes, 30);
    const [, b, c] = payloads.map(idOf) as [string, string, string];
    assert.deepEqual(
      (await list()).sort((x, y) => x.queuePosition - y.queuePosition).map((x) => x.id),
      [c, b, a],
      'the queue order came back',
    );
    assert.deepEqual(
      [c, b, a].map((id) => daemon.session.queuePosition(id)),
      [0, 1, 2],
    );
  });

  test('a seeding torrent pauses at its own ratio limit, and stays paused', async () => {
    const c = idOf(payloads[2]!);
    await snapshotWhere((m) => m.get(c)?.state === 'seeding');
    const mark = events.events.length;
    await api(daemon, `/api/v1/torrents/${c}`, patch({ seedRatioLimit: 0.3 }));
    // A newcomer downloads from the daemon until the daemon has given 0.3 of the torrent.
    const leecher = await Session.create({
      host: '127.0.0.1',
      downloadDir: join(tmp.dir, 'leech'),
      hashThreads: 1,
      dht: false,
      lsd: false,
    });
    extra.push(leecher);
    const lt = await leecher.addTorrent(payloads[2]!.bytes);
    lt.addPeer('127.0.0.1', daemon.session.port);
    const paused = await events.nextAfter<{ id: string; reason?: string }>(
      mark,
      'torrent:paused',
      (e) => e.id === c,
      60_000,
    );
    assert.match(paused.reason ?? '', /seed ratio/);
    const r = await row(c);
    assert.equal(r.state, 'paused');
    assert.ok(r.uploadedBytes >= 0.3 * r.size, `uploaded ${r.uploadedBytes} of ${r.size}`);
    const state = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8'));
    assert.equal(state.torrents.find((t: { id: string }) => t.id === c).paused, true);
    await api(daemon, `/api/v1/torrents/${c}/resume`, { method: 'POST' });
  });
});
