/**
 * The daemon and its remote commands in everyday use (issue 18): `shoal add` with a bad file
 * among good ones adds the good ones and names the bad one; peers named with `shoal add --peer`
 * or `shoal peer add` are kept across restarts; the file numbering of the API and `/stream`
 * leaves padding files out (and ignores an invalid Range); a torrent's row goes away only once its
 * removal is complete.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Daemon, FileInfo, TorrentDetails, TorrentSummary } from '../../src/daemon/index.js';
import { parseTorrent } from '../../src/metainfo/index.js';
import { toHex } from '../../src/shared/hash.js';
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

const hex = (b: Uint8Array | undefined) => toHex(b!);

describe('daemon: everyday use', { timeout: 180_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let state = '';
  let dl = '';
  let daemon: Daemon | undefined;
  let seeder: Awaited<ReturnType<typeof startSeeder>> | undefined;
  let one: CreatedTorrent;
  let two: CreatedTorrent;
  let three: CreatedTorrent;

  before(async () => {
    tmp = await tempDir();
    state = join(tmp.dir, 'state');
    dl = join(tmp.dir, 'dl');
    const src = join(tmp.dir, 'src');
    await mkdir(src, { recursive: true });
    one = await makePayload(src, 'one', { 'a.bin': 50_000, 'b.bin': 20_000 }, { seed: 2 });
    two = await makePayload(src, 'two', { 'c.bin': 30_000 }, { seed: 3 });
    three = await makePayload(
      src,
      'three',
      { 'x.bin': 20_000, 'y.bin': 20_000, 'z.bin': 7_000 },
      { seed: 4, version: 'hybrid', pieceLength: 16 * 1024 },
    );
    for (const [name, t] of [
      ['one', one],
      ['two', two],
      ['three', three],
    ] as const)
      await writeFile(join(tmp.dir, `${name}.torrent`), t.bytes);
    await writeFile(join(tmp.dir, 'bad.torrent'), 'not a torrent at all\n');
    seeder = await startSeeder(src, one.bytes);
    await seeder.session.addTorrent(two.bytes);
    await seeder.session.addTorrent(three.bytes);
    daemon = await startTestDaemon(state, dl, { session: { dht: false, lsd: false } });
  });

  after(async () => {
    await daemon?.close();
    await seeder?.session.close();
    await tmp?.cleanup();
  });

  const remote = (...args: string[]) => runShoal([...args, '--url', daemon!.url, '--state', state]);

  test('add a.torrent bad.torrent c.torrent: the good ones are added, the bad one named, exit 1', async () => {
    const r = await remote(
      'add',
      join(tmp.dir, 'one.torrent'),
      join(tmp.dir, 'bad.torrent'),
      join(tmp.dir, 'nowhere.torrent'),
      join(tmp.dir, 'two.torrent'),
      '--paused',
      '--peer',
      `127.0.0.1:${seeder!.port}`,
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`^added: ${hex(one.infoHashV1).slice(0, 8)}  one$`, 'm'));
    assert.match(r.stdout, new RegExp(`^added: ${hex(two.infoHashV1).slice(0, 8)}  two$`, 'm'));
    assert.match(
      r.stderr,
      /^shoal: error: .*bad\.torrent: the \.torrent is not usable: not a torrent file.*\(SHOAL_ERR_BENCODE_INVALID_BYTE\)$/m,
    );
    assert.match(r.stderr, /^shoal: error: .*nowhere\.torrent: cannot read .*ENOENT/m);
    assert.match(r.stderr, /^shoal: 2 of 4 could not be added$/m);
    const { torrents } = await api<{ torrents: TorrentSummary[] }>(daemon!, '/api/v1/torrents');
    assert.deepEqual(torrents.map((t) => t.name).sort(), ['one', 'two']);
  });

  test('peers from add --peer and peer add are kept across a restart and used at once', async () => {
    const three1 = hex(three.infoHashV1);
    const a = await remote('add', join(tmp.dir, 'three.torrent'), '--paused');
    assert.equal(a.code, 0, a.stderr);
    const p = await remote('peer', 'add', three1.slice(0, 8), `127.0.0.1:${seeder!.port}`);
    assert.equal(p.code, 0, p.stderr);
    assert.match(
      p.stdout,
      new RegExp(`^peer added: 127\\.0\\.0\\.1:${seeder!.port} to ${three1.slice(0, 8)}$`, 'm'),
    );
    const bad = await remote('peer', 'add', three1.slice(0, 8), 'notapeer');
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^shoal: error: peer "notapeer" is not a peer address: .*\(SHOAL_ERR_PEER_ADDRESS_INVALID\)$/m,
    );

    // Restart: no tracker, no DHT, no LSD — only the kept peers can be found.
    await daemon!.close();
    const saved = JSON.parse(await readFile(join(state, 'state.json'), 'utf8')) as {
      torrents: { id: string; peers?: { host: string; port: number }[] }[];
    };
    for (const id of [hex(one.infoHashV1), hex(two.infoHashV1), three1])
      assert.deepEqual(
        saved.torrents.find((t) => t.id === id)?.peers,
        [{ host: '127.0.0.1', port: seeder!.port }],
        id,
      );
    daemon = await startTestDaemon(state, dl, { session: { dht: false, lsd: false } });
    const events = new SseReader(`${daemon.url}/api/v1/events`);
    await events.ready;
    try {
      for (const id of [hex(one.infoHashV1), three1]) {
        const r = await remote('resume', id);
        assert.equal(r.code, 0, r.stderr);
        await events.next<{ id: string }>('torrent:finished', (e) => e.id === id, 60_000);
      }
    } finally {
      events.close();
    }
    assert.deepEqual(
      await readFile(join(dl, 'one', 'a.bin')),
      await readFile(join(tmp.dir, 'src', 'one', 'a.bin')),
    );
  });

  test('the API numbers files without padding, and /stream/<id>/<n> serves file n', async () => {
    const id = hex(three.infoHashV1);
    const m = parseTorrent(three.bytes);
    assert.ok(
      m.files.some((f) => f.isPadding),
      'the hybrid torrent has padding files',
    );
    const d = await api<TorrentDetails>(daemon!, `/api/v1/torrents/${id}`);
    assert.deepEqual(
      d.files.map((f) => [f.index, f.path, f.streamUrl]),
      ['x.bin', 'y.bin', 'z.bin'].map((n, i) => [i, `three/${n}`, `/stream/${id}/${i}`]),
    );
    const res = await fetch(`${daemon!.url}/stream/${id}/2`, { signal: AbortSignal.timeout(20_000) });
    assert.equal(res.status, 200);
    assert.deepEqual(
      Buffer.from(await res.arrayBuffer()),
      await readFile(join(tmp.dir, 'src', 'three', 'z.bin')),
    );
    // An invalid Range is ignored (RFC 9110): the whole file, 200; only a valid unsatisfiable one is 416.
    const ignored = await fetch(`${daemon!.url}/stream/${id}/2`, {
      headers: { range: 'bytes=abc' },
      signal: AbortSignal.timeout(20_000),
    });
    assert.equal(ignored.status, 200);
    assert.equal(Buffer.from(await ignored.arrayBuffer()).length, 7_000);
    const past = await fetch(`${daemon!.url}/stream/${id}/2`, {
      headers: { range: 'bytes=7000-' },
      signal: AbortSignal.timeout(20_000),
    });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), 'bytes */7000');
    await past.arrayBuffer();
    const patched = await api<{ files: FileInfo[] }>(daemon!, `/api/v1/torrents/${id}/files`, {
      ...json({ files: [2], priority: 0 }),
      method: 'PATCH',
    });
    assert.deepEqual(
      patched.files.map((f) => f.priority),
      [1, 1, 0],
    );
  });

  test('remove with delete: the torrent leaves the list only once its files are gone', async () => {
    const id = hex(two.infoHashV1);
    // Added by the first test; added here when run alone.
    await api(daemon!, '/api/v1/torrents', json({ torrent: Buffer.from(two.bytes).toString('base64') }));
    await api(daemon!, `/api/v1/torrents/${id}/peers`, {
      ...json({ host: '127.0.0.1', port: seeder!.port }),
      expect: 204,
    });
    const r = await remote('resume', id);
    assert.equal(r.code, 0, r.stderr);
    const events = new SseReader(`${daemon!.url}/api/v1/events`);
    await events.ready;
    try {
      await events.next<{ torrents: TorrentSummary[] }>('snapshot', (s) =>
        s.torrents.some((t) => t.id === id && t.state === 'seeding'),
      );
      const file = join(dl, 'two', 'c.bin');
      assert.equal(existsSync(file), true);
      const manager = daemon!.manager;
      let filesAtRemoved: boolean | undefined;
      manager.once('torrent:removed', () => {
        filesAtRemoved = existsSync(file);
      });
      const removing = manager.remove(id, true);
      // Still listed while its files are being deleted (the dashboard's row stays until then)...
      assert.ok(
        manager.list().some((e) => e.id === id),
        'listed until the removal is complete',
      );
      // ...but no longer addressable: a second remove, a resume, get 404.
      assert.equal(manager.get(id), undefined);
      const report = await removing;
      assert.equal(report.deleted, 1);
      assert.equal(filesAtRemoved, false, 'torrent:removed comes after the files are gone');
      assert.equal(
        manager.list().some((e) => e.id === id),
        false,
      );
      const gone = await events.next<{ torrents: TorrentSummary[] }>(
        'snapshot',
        (s) => !s.torrents.some((t) => t.id === id),
      );
      assert.ok(gone.torrents.length >= 1);
    } finally {
      events.close();
    }
  });
});
