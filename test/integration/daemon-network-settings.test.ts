/**
 * The daemon's network settings and peer visibility (issues 17 item 3, 18, 19), with real peers
 * on 127.0.0.0/8:
 * - encryption `require`: a plaintext-only seeder is refused, an MSE-capable one serves, and the
 *   peer log shows the encrypted connection (transport, encryption) and the refusal's reason;
 * - a peer that sends corrupt data (alone, from 127.0.0.2) is banned with its evidence: the ban
 *   is in `GET /api/v1/bans`, in the torrent's peer log with the hash failure, on the event
 *   stream, and in the daemon's log at `warn`;
 * - the IP blocklist: a file put in force refuses its addresses; a bad path is refused and
 *   changes nothing; reloading a rewritten file lets the peer serve;
 * - the SOCKS5 proxy setting: stored with its password, never shown back, kept for the same
 *   user when left out, and taken by the session at the next start.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type {
  AddTorrentResult,
  BanInfo,
  Daemon,
  PeerEventInfo,
  SettingsInfo,
  TorrentSummary,
} from '../../src/daemon/index.js';
import { Session } from '../../src/session/index.js';
import type { CreatedTorrent } from '../../src/storage/index.js';
import { listenCorruptSeeder, type ScriptedServer } from '../helpers/scripted-peer.js';
import { api, json, makePayload, SseReader, startTestDaemon, tempDir } from './daemon-helpers.js';

const KiB = 1024;
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const put = (body: unknown): RequestInit => ({ ...json(body), method: 'PUT' });

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

describe('daemon network settings and peer visibility', { timeout: 180_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let daemon: Daemon;
  let events: SseReader;
  let seedDir = '';
  let stateDir = '';
  let dl = '';
  const sessions: Session[] = [];
  const servers: ScriptedServer[] = [];
  const logs: LogLine[] = [];
  const payloads = new Map<string, CreatedTorrent>();

  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line));
        done();
      },
    }),
  );

  async function seederOn(host: string, encryption: 'disabled' | 'enabled', torrent: CreatedTorrent) {
    const s = await Session.create({ host, downloadDir: seedDir, hashThreads: 1, encryption });
    sessions.push(s);
    const t = await s.addTorrent(torrent.bytes);
    assert.equal(t.state, 'seeding');
    return s;
  }

  async function start(): Promise<void> {
    daemon = await startTestDaemon(stateDir, dl, {
      logger,
      settings: { encryption: 'require' },
      session: { dht: false, lsd: false },
    });
    events = new SseReader(`${daemon.url}/api/v1/events`);
    await events.ready;
  }

  const add = async (t: CreatedTorrent, peers: { host: string; port: number }[]) =>
    (
      await api<AddTorrentResult>(daemon, '/api/v1/torrents', {
        ...json({ torrent: b64(t.bytes), peers }),
        expect: 201,
      })
    ).torrent;
  const peerLog = async (id: string) =>
    (await api<{ entries: PeerEventInfo[] }>(daemon, `/api/v1/torrents/${id}/peer-log`)).entries;
  const seeding = (id: string) =>
    events.next<{ torrents: TorrentSummary[] }>(
      'snapshot',
      (s) => s.torrents.some((t) => t.id === id && t.state === 'seeding'),
      60_000,
    );

  before(async () => {
    tmp = await tempDir('shoal-netset-');
    seedDir = join(tmp.dir, 'seed');
    stateDir = join(tmp.dir, 'state');
    dl = join(tmp.dir, 'dl');
    await mkdir(seedDir);
    for (const [name, seed] of [
      ['cipher', 3],
      ['tainted', 5],
      ['fenced', 7],
    ] as const)
      payloads.set(
        name,
        await makePayload(seedDir, name, { 'data.bin': 300 * KiB + 11 }, { pieceLength: 16 * KiB, seed }),
      );
    await start();
  });

  after(async () => {
    events?.close();
    await daemon?.close();
    for (const s of sessions) await s.close();
    for (const s of servers) await s.close();
    await tmp?.cleanup();
  });

  test('encryption require: a plaintext-only peer is refused, an MSE peer serves encrypted', async () => {
    assert.equal((await api<SettingsInfo>(daemon, '/api/v1/settings')).encryption, 'require');
    assert.equal(daemon.session.encryption, 'require');
    const t = payloads.get('cipher')!;
    const plain = await seederOn('127.0.0.1', 'disabled', t);
    const mse = await seederOn('127.0.0.1', 'enabled', t);
    const row = await add(t, [
      { host: '127.0.0.1', port: plain.port },
      { host: '127.0.0.1', port: mse.port },
    ]);
    await seeding(row.id);
    const log = await peerLog(row.id);
    const viaMse = log.find((e) => e.type === 'connected' && e.address === `127.0.0.1:${mse.port}`);
    assert.ok(viaMse !== undefined, JSON.stringify(log));
    assert.equal(viaMse.encrypted, true);
    assert.equal(viaMse.transport, 'tcp');
    assert.ok(
      !log.some((e) => e.type === 'connected' && e.address === `127.0.0.1:${plain.port}`),
      'the plaintext-only peer never connected',
    );
    const refused = log.find((e) => e.address === `127.0.0.1:${plain.port}`);
    assert.ok(refused?.reason, `the plaintext peer's failure has a reason: ${JSON.stringify(log)}`);

    const s = await api<SettingsInfo>(daemon, '/api/v1/settings', put({ encryption: 'prefer' }));
    assert.equal(s.encryption, 'prefer');
    assert.equal(daemon.session.encryption, 'prefer');
    await api(daemon, '/api/v1/settings', { ...put({ encryption: 'rot13' }), expect: 400 });
    assert.equal(daemon.session.encryption, 'prefer');
  });

  test('a peer sending corrupt pieces is banned with its evidence: API, peer log, events, log', async () => {
    // The scripted peer speaks no MSE: dial plaintext first.
    await api(daemon, '/api/v1/settings', put({ encryption: 'enabled' }));
    const t = payloads.get('tainted')!;
    const corrupt = await listenCorruptSeeder('127.0.0.2', {
      infoHash: t.infoHashV1!,
      pieceCount: t.pieceCount,
    });
    servers.push(corrupt);
    const row = await add(t, [{ host: '127.0.0.2', port: corrupt.port }]);
    const banned = await events.next<{ id: string; address: string; reason: string }>(
      'peer:banned',
      (e) => e.id === row.id,
      60_000,
    );
    assert.equal(banned.address, '127.0.0.2');
    assert.match(banned.reason, /sole-sender/);
    const { bans } = await api<{ bans: BanInfo[] }>(daemon, '/api/v1/bans');
    const ban = bans.find((b) => b.address === '127.0.0.2');
    assert.ok(ban !== undefined, JSON.stringify(bans));
    assert.ok(ban.reason.length > 0);
    assert.ok(Math.abs(ban.at - Date.now()) < 60_000, 'stamped with wall-clock time');
    const log = await peerLog(row.id);
    const failed = log.find((e) => e.type === 'hash-failed');
    assert.ok(failed !== undefined && /127\.0\.0\.2/.test(failed.address), JSON.stringify(log));
    assert.match(failed.reason ?? '', /failed its hash check/);
    assert.ok(log.some((e) => e.type === 'banned' && e.address === '127.0.0.2'));
    const warned = logs.filter((l) => l.level === 40);
    assert.ok(
      warned.some(
        (l) => l.msg === 'peer banned' && l.address === '127.0.0.2' && typeof l.evidence === 'string',
      ),
      JSON.stringify(warned),
    );
    assert.ok(warned.some((l) => l.msg === 'piece failed its hash check' && l.id === row.id));
  });

  test('the IP blocklist refuses its addresses; a bad path changes nothing; a reload lets them in', async () => {
    const t = payloads.get('fenced')!;
    const fenced = await seederOn('127.0.0.3', 'enabled', t);
    const list = join(tmp.dir, 'blocklist.txt');
    await writeFile(list, '# test list\n127.0.0.3/32\n');
    const s = await api<SettingsInfo>(daemon, '/api/v1/settings', put({ blocklistPath: list }));
    assert.equal(s.blocklistPath, list);
    assert.equal(s.blocklist.ranges, 1);
    assert.equal(s.blocklist.error, null);
    assert.ok(s.blocklist.loadedAt !== null);
    const row = await add(t, [{ host: '127.0.0.3', port: fenced.port }]);
    const refused = (await peerLog(row.id)).find((e) => e.type === 'refused');
    assert.match(refused?.reason ?? '', /blocklist/);

    const missing = await fetch(
      `${daemon.url}/api/v1/settings`,
      put({ blocklistPath: join(tmp.dir, 'none.p2p') }),
    );
    assert.equal(missing.status, 400);
    assert.match(((await missing.json()) as { error: { message: string } }).error.message, /blocklist/);
    const kept = await api<SettingsInfo>(daemon, '/api/v1/settings');
    assert.equal(kept.blocklistPath, list, 'a refused change changes nothing');
    assert.equal(kept.blocklist.ranges, 1);

    await writeFile(list, '203.0.113.0/24\n');
    const reloaded = await api<SettingsInfo['blocklist']>(daemon, '/api/v1/blocklist/reload', {
      method: 'POST',
    });
    assert.equal(reloaded.ranges, 1);
    assert.equal(daemon.session.pool.isBlocked('127.0.0.3'), false);
    await api(daemon, `/api/v1/torrents/${row.id}/peers`, {
      ...json({ host: '127.0.0.3', port: fenced.port }),
      expect: 204,
    });
    await seeding(row.id);
    const cleared = await api<SettingsInfo>(daemon, '/api/v1/settings', put({ blocklistPath: null }));
    assert.equal(cleared.blocklist.ranges, 0);
    await api(daemon, '/api/v1/blocklist/reload', { method: 'POST', expect: 409 });
  });

  test('the proxy: stored with its password, never shown back, applied at the next start', async () => {
    const seen: string[] = [];
    const set = async (proxy: unknown, expect = 200) => {
      const res = await fetch(`${daemon.url}/api/v1/settings`, put({ proxy }));
      const text = await res.text();
      seen.push(text);
      assert.equal(res.status, expect, text);
      return JSON.parse(text) as SettingsInfo;
    };
    const s1 = await set({ host: '127.0.0.1', port: 1080, username: 'alice', password: 's3cret-pw' });
    assert.deepEqual(s1.proxy, {
      host: '127.0.0.1',
      port: 1080,
      username: 'alice',
      hasPassword: true,
      onlyProxy: true,
    });
    assert.equal(s1.restartRequired, true, 'the session takes a proxy at start');
    const s2 = await set({ host: '127.0.0.1', port: 1081, username: 'alice' });
    assert.equal(s2.proxy?.port, 1081);
    assert.equal(s2.proxy?.hasPassword, true, 'left out for the same user: the stored one stays');
    await set({ host: '127.0.0.1', port: 1081, username: 'bob' }, 400);
    await set({ host: '127.0.0.1', port: 0 }, 400);
    seen.push(JSON.stringify(await api(daemon, '/api/v1/settings')));
    const changed = await events.next<SettingsInfo>('settings:changed', (e) => e.proxy?.port === 1081);
    seen.push(JSON.stringify(changed));
    for (const text of seen) assert.ok(!text.includes('s3cret-pw'), `the password was sent back: ${text}`);
    const state = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8'));
    assert.equal(state.settings.proxy.password, 's3cret-pw', 'kept for the next start');

    events.close();
    await daemon.close();
    await start();
    assert.equal(daemon.session.options.proxy?.port, 1081);
    assert.equal(daemon.session.options.proxy?.password, 's3cret-pw');
    const after = await api<SettingsInfo>(daemon, '/api/v1/settings');
    assert.equal(after.restartRequired, false);
    assert.equal(after.encryption, 'require', 'the setting given at start is over the saved one');
    const none = await set(null);
    assert.equal(none.proxy, null);
    assert.equal(none.restartRequired, true);
  });
});
