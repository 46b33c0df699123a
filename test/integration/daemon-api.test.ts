/**
 * The daemon's HTTP API end to end (issue 7): a real daemon on a random loopback port, a seeder
 * session on loopback, and every endpoint — add (raw .torrent, base64 JSON, URL, magnet), list,
 * details and sub-resources, priorities, pause/resume/verify, remove (keeping and deleting
 * data), settings, statistics, Server-Sent Events, metrics, the OpenAPI document and the web UI's
 * static files. Progress is awaited through the event stream, never by sleeping.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type {
  AddTorrentResult,
  Daemon,
  FileInfo,
  NetworkInfo,
  SessionStatsInfo,
  SettingsInfo,
  TorrentDetails,
  TorrentSummary,
} from '../../src/daemon/index.js';
import { buildMagnet, magnetFromMetainfo, parseTorrent } from '../../src/metainfo/index.js';
import type { Session } from '../../src/session/index.js';
import type { CreatedTorrent } from '../../src/storage/index.js';
import { Bitfield } from '../../src/wire/index.js';
import { treeDigests } from '../helpers/payload.js';
import {
  api,
  json,
  makePayload,
  rawRequest,
  SseReader,
  startSeeder,
  startTestDaemon,
  tempDir,
} from './daemon-helpers.js';

const hex = (b: Uint8Array | undefined) => Buffer.from(b!).toString('hex');
const idOf = (t: CreatedTorrent) => hex(t.infoHashV1 ?? t.infoHashV2);

describe('daemon API', { timeout: 120_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let daemon: Daemon;
  let seeder: Session;
  let seederPort: number;
  let events: SseReader;
  let album: CreatedTorrent;
  let single: CreatedTorrent;
  let fetched: CreatedTorrent;
  let magnetic: CreatedTorrent;
  let dl: string;
  let stateDir: string;
  let http: Server | undefined;

  before(async () => {
    tmp = await tempDir();
    const seed = join(tmp.dir, 'seed');
    await mkdir(seed);
    album = await makePayload(
      seed,
      'album',
      { 'a.bin': 300_000, 'sub/b.bin': 200_000, 'c.txt': 5_000 },
      { pieceLength: 32768 },
    );
    single = await makePayload(seed, 'single.bin', { 'single.bin': 100_000 }, { seed: 7 });
    fetched = await makePayload(seed, 'fetched.bin', { 'fetched.bin': 50_000 }, { seed: 9 });
    magnetic = await makePayload(
      seed,
      'magnetic',
      { 'x.bin': 150_000, 'y.bin': 70_000 },
      { seed: 11, version: 'hybrid' },
    );
    const s = await startSeeder(seed, album.bytes);
    seeder = s.session;
    seederPort = s.port;
    await seeder.addTorrent(magnetic.bytes);
    dl = join(tmp.dir, 'dl');
    stateDir = join(tmp.dir, 'state');
    daemon = await startTestDaemon(stateDir, dl);
    events = new SseReader(`${daemon.url}/api/v1/events`);
    await events.ready;
  });

  after(async () => {
    events?.close();
    await daemon?.close();
    await seeder?.close();
    await new Promise<void>((r) => (http === undefined ? r() : http.close(() => r())));
    await tmp?.cleanup();
  });

  test('adds a torrent with a peer (JSON), downloads it and reports it finished', async () => {
    const r = await api<AddTorrentResult>(daemon, '/api/v1/torrents', {
      ...json({
        torrent: Buffer.from(album.bytes).toString('base64'),
        peers: [{ host: '127.0.0.1', port: seederPort }],
      }),
      expect: 201,
    });
    assert.equal(r.created, true);
    assert.equal(r.torrent.id, idOf(album));
    assert.equal(r.torrent.name, 'album');
    assert.equal(r.torrent.size, 505_000);
    const done = await events.next<{ id: string }>('torrent:finished', (d) => d.id === idOf(album));
    assert.equal(done.id, idOf(album));
    const { torrents } = await api<{ torrents: TorrentSummary[] }>(daemon, '/api/v1/torrents');
    const row = torrents.find((t) => t.id === idOf(album))!;
    assert.equal(row.state, 'seeding');
    assert.equal(row.progress, 1);
    assert.equal(row.doneBytes, 505_000);
    assert.equal(row.eta, 0);
    assert.ok(row.downloadedBytes >= 505_000, `downloaded ${row.downloadedBytes}`);
    assert.notEqual(row.completedAt, null);
    const rels = ['a.bin', 'sub/b.bin', 'c.txt'];
    assert.deepEqual(
      await treeDigests(join(dl, 'album'), rels),
      await treeDigests(join(tmp.dir, 'seed', 'album'), rels),
    );
  });

  test('adding the same torrent again changes nothing (200, created: false)', async () => {
    const res = await rawRequest(daemon.url, {
      method: 'POST',
      path: '/api/v1/torrents',
      headers: { 'content-type': 'application/x-bittorrent' },
      body: album.bytes,
    });
    assert.equal(res.status, 200);
    assert.equal((res.json() as AddTorrentResult).created, false);
    const { torrents } = await api<{ torrents: TorrentSummary[] }>(daemon, '/api/v1/torrents');
    assert.equal(torrents.filter((t) => t.id === idOf(album)).length, 1);
  });

  test('details: files with progress and priority, peers, trackers, the piece bitfield', async () => {
    const d = await api<TorrentDetails>(daemon, `/api/v1/torrents/${idOf(album)}`);
    assert.equal(d.version, 'v1');
    assert.equal(d.pieceLength, 32768);
    assert.match(d.magnet ?? '', /^magnet:\?xt=urn:btih:/);
    assert.deepEqual(d.files.map((f) => [f.path, f.length, f.progress, f.priority]).sort(), [
      ['album/a.bin', 300_000, 1, 1],
      ['album/c.txt', 5_000, 1, 1],
      ['album/sub/b.bin', 200_000, 1, 1],
    ]);
    assert.ok(d.files.every((f) => f.streamUrl === `/stream/${d.id}/${f.index}`));
    const bits = Bitfield.fromWire(Buffer.from(d.pieces.bitfield, 'base64'), d.pieces.pieceCount);
    assert.equal(bits.count(), d.pieceCount);
    assert.equal(d.pieces.haveCount, d.pieceCount);
    assert.deepEqual(d.trackers, []);
    assert.ok(Array.isArray(d.peers));
    for (const p of d.peers) assert.match(p.address, /^127\.0\.0\.1:\d+$/);
    const files = await api<{ files: FileInfo[] }>(daemon, `/api/v1/torrents/${d.id}/files`);
    assert.deepEqual(files.files, d.files);
    const pieces = await api<{ bitfield: string }>(daemon, `/api/v1/torrents/${d.id}/pieces`);
    assert.equal(pieces.bitfield, d.pieces.bitfield);
    assert.deepEqual(await api(daemon, `/api/v1/torrents/${d.id}/trackers`), { trackers: [] });
    const peers = await api<{ peers: unknown[] }>(daemon, `/api/v1/torrents/${d.id}/peers`);
    assert.ok(Array.isArray(peers.peers));
    // The v2 hash of a hybrid or the id in upper case find the torrent too.
    await api(daemon, `/api/v1/torrents/${d.id.toUpperCase()}`);
  });

  test('file priorities: some files, then all, kept in the state', async () => {
    const id = idOf(album);
    const mark = events.events.length;
    const one = await api<{ files: FileInfo[] }>(daemon, `/api/v1/torrents/${id}/files`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ files: [0], priority: 0 }),
    });
    assert.equal(one.files.find((f) => f.index === 0)!.priority, 0);
    await events.nextAfter<{ id: string }>(mark, 'torrent:updated', (e) => e.id === id);
    const all = await api<{ files: FileInfo[] }>(daemon, `/api/v1/torrents/${id}/files`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ priorities: [2, 1, 1] }),
    });
    assert.deepEqual(
      all.files.map((f) => f.priority),
      [2, 1, 1],
    );
    const state = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8'));
    assert.deepEqual(state.torrents.find((t: { id: string }) => t.id === id).filePriorities, [2, 1, 1]);
  });

  test('pause, resume and verify', async () => {
    const id = idOf(album);
    const pausing = events.events.length;
    const p = await api<{ torrent: TorrentSummary }>(daemon, `/api/v1/torrents/${id}/pause`, {
      method: 'POST',
    });
    assert.equal(p.torrent.state, 'paused');
    assert.equal(p.torrent.progress, 1, 'a paused torrent keeps showing its progress');
    assert.equal(daemon.session.getTorrent(id)?.state, 'paused', 'the session holds it, paused');
    assert.equal(daemon.session.connectionCount, 0, 'a paused torrent has no connections');
    await events.nextAfter<{ id: string }>(pausing, 'torrent:paused', (e) => e.id === id);
    // Pausing twice is harmless: no second event.
    const again = events.events.length;
    await api(daemon, `/api/v1/torrents/${id}/pause`, { method: 'POST' });
    const resuming = events.events.length;
    const r = await api<{ torrent: TorrentSummary }>(daemon, `/api/v1/torrents/${id}/resume`, {
      method: 'POST',
    });
    assert.notEqual(r.torrent.state, 'paused');
    await events.nextAfter<{ id: string }>(resuming, 'torrent:resumed', (e) => e.id === id);
    // Events come in order: a second torrent:paused would be before the torrent:resumed.
    assert.deepEqual(
      events.events.slice(again).filter((e) => e.event === 'torrent:paused'),
      [],
      'the second pause sent no event',
    );
    assert.equal(daemon.session.getTorrent(id)?.isPaused, false);
    const before = events.events.length;
    await api(daemon, `/api/v1/torrents/${id}/verify`, { method: 'POST' });
    await events.nextAfter<{ id: string }>(before, 'torrent:checking', (e) => e.id === id);
    // A snapshot after the check began (an older one shows it seeding from before the verify).
    const checking = events.events.findIndex(
      (e, i) => i >= before && e.event === 'torrent:checking' && (e.data as { id: string }).id === id,
    );
    const after = await events.nextAfter<{ torrents: TorrentSummary[] }>(checking + 1, 'snapshot', (s) =>
      s.torrents.some((t) => t.id === id && t.state === 'seeding' && t.progress === 1),
    );
    assert.ok(after.torrents.length >= 1);
  });

  test('adds a raw .torrent paused; the session holds it paused', async () => {
    const res = await rawRequest(daemon.url, {
      method: 'POST',
      path: '/api/v1/torrents?paused=true&downloadDir=singles',
      headers: { 'content-type': 'application/x-bittorrent' },
      body: single.bytes,
    });
    assert.equal(res.status, 201, res.body.toString());
    const t = (res.json() as AddTorrentResult).torrent;
    // Its data is checked (the session holds it), then it waits paused.
    assert.ok(t.state === 'paused' || t.state === 'checking', t.state);
    assert.equal(t.downloadDir, join(dl, 'singles'));
    const held = daemon.session.getTorrent(t.id);
    assert.ok(held?.isPaused, 'in the session, paused');
    // A snapshot sent while the add was in flight already says paused (from the record), so wait on
    // the session's own torrent: its check ends paused.
    const signal = AbortSignal.timeout(30_000);
    while (held?.state !== 'paused') await held?.next('state', signal);
    assert.equal(held?.state, 'paused');
    // ...and a snapshot read after that check says paused too (not one of those older ones).
    const checked = events.events.length;
    await events.nextAfter<{ torrents: TorrentSummary[] }>(checked, 'snapshot', (s) =>
      s.torrents.some((x) => x.id === t.id && x.state === 'paused'),
    );
    assert.ok(existsSync(join(stateDir, 'torrents', `${t.id}.torrent`)));
  });

  test('adds a torrent from an http URL', async () => {
    http = createServer((req, res) => {
      if (req.url === '/f.torrent')
        res.writeHead(200, { 'content-type': 'application/x-bittorrent' }).end(fetched.bytes);
      else if (req.url === '/moved') res.writeHead(302, { location: '/f.torrent' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => http!.listen(0, '127.0.0.1', r));
    const port = (http.address() as { port: number }).port;
    const r = await api<AddTorrentResult>(daemon, '/api/v1/torrents', {
      ...json({ url: `http://127.0.0.1:${port}/moved`, paused: true }),
      expect: 201,
    });
    assert.equal(r.torrent.id, idOf(fetched));
    assert.equal(r.torrent.name, 'fetched.bin');
  });

  test('adds a hybrid magnet: metadata from the peer, then the download', async () => {
    const m = parseTorrent(magnetic.bytes);
    const magnet = `${buildMagnet(magnetFromMetainfo(m))}&x.pe=127.0.0.1:${seederPort}`;
    const r = await api<AddTorrentResult>(daemon, '/api/v1/torrents', { ...json({ magnet }), expect: 201 });
    const id = idOf(magnetic);
    assert.equal(r.torrent.id, id);
    assert.ok(['metadata', 'downloading', 'checking', 'seeding'].includes(r.torrent.state), r.torrent.state);
    await events.next<{ id: string }>('torrent:metadata', (e) => e.id === id);
    await events.next<{ id: string }>('torrent:finished', (e) => e.id === id);
    const d = await api<TorrentDetails>(daemon, `/api/v1/torrents/${hex(magnetic.infoHashV2)}`);
    assert.equal(d.id, id, 'the v2 hash of a hybrid finds it too');
    assert.equal(d.version, 'hybrid');
    assert.equal(d.progress, 1);
    assert.ok(existsSync(join(stateDir, 'torrents', `${id}.torrent`)), 'the fetched metadata is stored');
    const rels = ['x.bin', 'y.bin'];
    assert.deepEqual(
      await treeDigests(join(dl, 'magnetic'), rels),
      await treeDigests(join(tmp.dir, 'seed', 'magnetic'), rels),
    );
  });

  test('settings and statistics', async () => {
    const s0 = await api<SettingsInfo>(daemon, '/api/v1/settings');
    assert.equal(s0.downloadDir, dl);
    assert.deepEqual(s0.allowedDirs, [dl]);
    assert.equal(s0.peerPort, daemon.session.port);
    const s1 = await api<SettingsInfo>(daemon, '/api/v1/settings', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uploadRateLimit: 5_000_000 }),
    });
    assert.equal(s1.uploadRateLimit, 5_000_000);
    assert.equal(s1.downloadRateLimit, 0);
    await events.next<SettingsInfo>('settings:changed', (e) => e.uploadRateLimit === 5_000_000);
    const state = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8'));
    assert.equal(state.settings.uploadRateLimit, 5_000_000);
    const st = await api<SessionStatsInfo>(daemon, '/api/v1/stats');
    assert.equal(st.torrentCount, 4);
    assert.equal(st.torrentsByState.paused, 2);
    assert.equal(st.torrentsByState.seeding, 2, JSON.stringify(st.torrentsByState));
    assert.ok(st.sessionDownloadedBytes >= 505_000 + 220_000);
    assert.equal(st.dhtNodes, null);
    assert.equal(st.version, '0.1.0');
    // Port mapping is off and no peer has voted through BEP 10 `yourip` yet.
    const net = await api<NetworkInfo>(daemon, '/api/v1/network');
    assert.deepEqual(net, {
      externalAddress: null,
      externalAddressSource: null,
      externalAddress6: null,
      externalPort: st.peerPort,
      portMapping: null,
    });
  });

  test('Prometheus metrics', async () => {
    const res = await fetch(`${daemon.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const line of [
      'shoal_torrents{state="seeding"} 2',
      'shoal_torrents{state="paused"} 2',
      '# TYPE shoal_downloaded_bytes_total counter',
      '# TYPE shoal_download_rate_bytes gauge',
      '# TYPE shoal_hash_failures gauge',
      '# TYPE shoal_connections gauge',
      'shoal_sse_clients 1',
    ]) {
      assert.ok(text.includes(line), `missing ${line}`);
    }
    assert.match(text, /^shoal_peers \d+$/m);
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
  });

  test('the event stream sends snapshots with stats and every torrent', async () => {
    const snap = await events.next<{ stats: SessionStatsInfo; torrents: TorrentSummary[] }>(
      'snapshot',
      (s) => s.torrents.length === 4,
    );
    assert.equal(snap.stats.torrentCount, 4);
    assert.ok(events.events.some((e) => e.event === 'torrent:added'));
  });

  test('the OpenAPI document describes every route', async () => {
    const doc = await api<{
      openapi: string;
      paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown> };
    }>(daemon, '/api/v1/openapi.json');
    assert.equal(doc.openapi, '3.1.0');
    const ops = Object.entries(doc.paths).flatMap(([p, m]) =>
      Object.keys(m).map((k) => `${k.toUpperCase()} ${p}`),
    );
    for (const op of [
      'GET /api/v1/torrents',
      'POST /api/v1/torrents',
      'GET /api/v1/torrents/{id}',
      'DELETE /api/v1/torrents/{id}',
      'GET /api/v1/torrents/{id}/files',
      'PATCH /api/v1/torrents/{id}/files',
      'GET /api/v1/torrents/{id}/peers',
      'POST /api/v1/torrents/{id}/peers',
      'GET /api/v1/torrents/{id}/trackers',
      'GET /api/v1/torrents/{id}/pieces',
      'POST /api/v1/torrents/{id}/pause',
      'POST /api/v1/torrents/{id}/resume',
      'POST /api/v1/torrents/{id}/verify',
      'GET /api/v1/settings',
      'PUT /api/v1/settings',
      'GET /api/v1/stats',
      'GET /api/v1/network',
      'GET /api/v1/events',
      'GET /api/v1/openapi.json',
      'GET /api/v1/auth',
      'POST /api/v1/auth',
      'DELETE /api/v1/auth',
      'GET /metrics',
      'GET /stream/{id}/{file}',
    ]) {
      assert.ok(ops.includes(op), `OpenAPI lacks ${op}`);
    }
    for (const name of [
      'TorrentSummary',
      'TorrentDetails',
      'Error',
      'AddTorrentRequest',
      'Settings',
      'SessionStats',
    ])
      assert.ok(doc.components.schemas[name] !== undefined, `no component ${name}`);
    const list = doc.paths['/api/v1/torrents']!.get!;
    assert.deepEqual(list.responses['200'], {
      description: 'the torrents',
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: {
              torrents: { type: 'array', items: { $ref: '#/components/schemas/TorrentSummary' } },
            },
          },
        },
      },
    });
  });

  test('remove keeps the data; remove with deleteData deletes only the torrent files', async () => {
    const keep = idOf(fetched);
    const r1 = await api<{ id: string; deletedFiles: number }>(daemon, `/api/v1/torrents/${keep}`, {
      method: 'DELETE',
    });
    assert.deepEqual(r1, { id: keep, deletedFiles: 0, skippedFiles: [] });
    await events.next<{ id: string }>('torrent:removed', (e) => e.id === keep);
    assert.ok(!existsSync(join(stateDir, 'torrents', `${keep}.torrent`)));
    await api(daemon, `/api/v1/torrents/${keep}`, { expect: 404 });

    const id = idOf(album);
    await writeFile(join(dl, 'album', 'mine.txt'), 'not part of the torrent');
    const r2 = await api<{ deletedFiles: number }>(daemon, `/api/v1/torrents/${id}?deleteData=true`, {
      method: 'DELETE',
    });
    assert.equal(r2.deletedFiles, 3);
    assert.ok(!existsSync(join(dl, 'album', 'a.bin')));
    assert.ok(!existsSync(join(dl, 'album', 'sub')), 'a folder left empty is removed');
    assert.ok(existsSync(join(dl, 'album', 'mine.txt')), "the user's own file stays");
    assert.ok(!existsSync(join(stateDir, 'resume', `${id}.resume`)));
    assert.equal(daemon.session.getTorrent(id), undefined);
    const state = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8'));
    assert.deepEqual(
      state.torrents.map((t: { id: string }) => t.id).sort(),
      [idOf(single), idOf(magnetic)].sort(),
    );
  });

  test('auth status, and the placeholder page when no web UI is built', async () => {
    assert.deepEqual(await api(daemon, '/api/v1/auth'), { required: false, authenticated: false });
    const res = await fetch(`${daemon.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await res.text(), /\/api\/v1\/openapi\.json/);
    const nf = await fetch(`${daemon.url}/api/v1/nope`);
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { error: { code: string } }).error.code, 'SHOAL_ERR_API_NOT_FOUND');
  });
});

describe('daemon web UI files', { timeout: 30_000 }, () => {
  test('serves the built dashboard, with client-side routes and no way out of the web root', async () => {
    const tmp = await tempDir();
    const web = join(tmp.dir, 'web');
    await mkdir(join(web, 'assets'), { recursive: true });
    await writeFile(join(web, 'index.html'), '<!doctype html><title>ui</title>');
    await writeFile(join(web, 'assets', 'app.js'), 'console.log(1)');
    await writeFile(join(tmp.dir, 'secret.txt'), 'TOP-SECRET-CONTENT');
    const d = await startTestDaemon(join(tmp.dir, 'state'), join(tmp.dir, 'dl'), { webRoot: web });
    try {
      const index = await fetch(`${d.url}/`);
      assert.equal(index.status, 200);
      assert.equal(await index.text(), '<!doctype html><title>ui</title>');
      assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
      const js = await fetch(`${d.url}/assets/app.js`);
      assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.match(js.headers.get('cache-control') ?? '', /immutable/);
      const route = await fetch(`${d.url}/torrents/abc`);
      assert.equal(
        await route.text(),
        '<!doctype html><title>ui</title>',
        'client-side routes get index.html',
      );
      for (const path of [
        '/../secret.txt',
        '/%2e%2e/secret.txt',
        '/assets/..%2f..%2fsecret.txt',
        '/missing.js',
      ]) {
        const res = await rawRequest(d.url, { path });
        assert.equal(res.status, 404, `${path} → ${res.status}`);
        assert.ok(!res.body.toString().includes('TOP-SECRET-CONTENT'), path);
      }
    } finally {
      await d.close();
      await tmp.cleanup();
    }
  });
});
