/**
 * One Shoal node as the HTTP origin of another: daemon A serves a torrent's files in the BEP 19
 * layout (`/webseed/<id>/…`, src/daemon/http/routes-webseed.ts); daemon B downloads them through
 * a web seed added with the API, with no peer at all, and lists it as a source. Only verified
 * bytes are served; private torrents are not; at most MAX_WEB_SEED_SERVE_REQUESTS at once.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AddTorrentResult, TorrentDetails, WebSeedApiInfo } from '../../src/daemon/api-types.js';
import type { Daemon } from '../../src/daemon/index.js';
import { MAX_WEB_SEED_SERVE_REQUESTS, WEB_SEED_SERVE_RETRY_S } from '../../src/shared/limits.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';
import { api, json, rawRequest, startTestDaemon, tempDir } from './daemon-helpers.js';

const FILES: Record<string, number> = { 'a.bin': 3_000_000, 'sub dir/ü b.bin': 700_001, 'sub dir/empty': 0 };

describe('the daemon as a BEP 19 origin', { timeout: 120_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let a: Daemon;
  let b: Daemon;
  let torrent: Uint8Array;
  let id = '';

  before(async () => {
    tmp = await tempDir('shoal-ws-daemon-');
    await writeTree(join(tmp.dir, 'a', 'pack'), FILES, 8);
    torrent = (await createTorrent(join(tmp.dir, 'a', 'pack'), { threads: 1, pieceLength: 65536 })).bytes;
    a = await startTestDaemon(join(tmp.dir, 'a-state'), join(tmp.dir, 'a'));
    b = await startTestDaemon(join(tmp.dir, 'b-state'), join(tmp.dir, 'b'), { session: { listen: false } });
    const r = await api<AddTorrentResult>(a, '/api/v1/torrents', {
      ...json({ torrent: Buffer.from(torrent).toString('base64') }),
      expect: 201,
    });
    id = r.torrent.id;
    // A checks the data it already has, then seeds.
    const t = a.session.getTorrent(id)!;
    if (t.state !== 'seeding')
      await new Promise<void>((resolve) => {
        const onState = (e: { state: string }) => {
          if (e.state !== 'seeding') return;
          t.off('state', onState);
          resolve();
        };
        t.on('state', onState);
      });
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await tmp?.cleanup();
  });

  test('files in the BEP 19 layout, with ranges; an empty file; unknown paths are 404', async () => {
    const whole = await rawRequest(a.url, { path: `/webseed/${id}/pack/a.bin` });
    assert.equal(whole.status, 200, whole.body.toString());
    assert.equal(whole.body.length, 3_000_000);
    const part = await rawRequest(a.url, {
      path: `/webseed/${id}/pack/sub%20dir/%C3%BC%20b.bin`,
      headers: { range: 'bytes=100-199' },
    });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], 'bytes 100-199/700001');
    assert.equal(part.body.length, 100);
    const empty = await rawRequest(a.url, { path: `/webseed/${id}/pack/sub%20dir/empty` });
    assert.equal(empty.status, 200);
    assert.equal(empty.body.length, 0);
    assert.equal((await rawRequest(a.url, { path: `/webseed/${id}/pack/nope.bin` })).status, 404);
    assert.equal((await rawRequest(a.url, { path: `/webseed/${'0'.repeat(40)}/pack/a.bin` })).status, 404);
  });

  test('daemon B downloads from daemon A through a web seed added with the API, no peer at all', async () => {
    const r = await api<AddTorrentResult>(b, '/api/v1/torrents', {
      ...json({ torrent: Buffer.from(torrent).toString('base64') }),
      expect: 201,
    });
    const added = await api<{ webSeeds: WebSeedApiInfo[] }>(
      b,
      `/api/v1/torrents/${r.torrent.id}/web-seeds`,
      json({ url: `${a.url}/webseed/${id}/` }),
    );
    assert.equal(added.webSeeds.length, 1);
    await b.session.getTorrent(id)!.whenDone();
    const rels = Object.keys(FILES).map((f) => join('pack', f));
    assert.deepEqual(
      await treeDigests(join(tmp.dir, 'b'), rels),
      await treeDigests(join(tmp.dir, 'a'), rels),
    );
    const d = await api<TorrentDetails>(b, `/api/v1/torrents/${id}`);
    assert.equal(d.peers.length, 0);
    assert.equal(d.webSeeds[0]?.url, `${a.url}/webseed/${id}/`);
    assert.equal(d.webSeeds[0]?.downloadedBytes, 3_700_001);
    assert.equal(d.webSeeds[0]?.errors, 0);
    const bad = await api<{ error: { code: string } }>(b, `/api/v1/torrents/${id}/web-seeds`, {
      ...json({ url: 'gopher://x/' }),
      expect: 400,
    });
    assert.equal(bad.error.code, 'SHOAL_ERR_API_BAD_REQUEST');
  });

  test('bytes not verified yet: 503 with Retry-After; a private torrent: 404', async () => {
    await mkdir(join(tmp.dir, 'c', 'pack'), { recursive: true });
    await writeTree(join(tmp.dir, 'c', 'other'), { 'x.bin': 100_000 }, 9);
    const other = (await createTorrent(join(tmp.dir, 'c', 'other'), { threads: 1 })).bytes;
    const priv = (await createTorrent(join(tmp.dir, 'c', 'other'), { threads: 1, isPrivate: true })).bytes;
    // `other`'s data is not where A downloads: nothing of it is verified.
    const r = await api<AddTorrentResult>(a, '/api/v1/torrents', {
      ...json({ torrent: Buffer.from(other).toString('base64') }),
      expect: 201,
    });
    const busy = await rawRequest(a.url, { path: `/webseed/${r.torrent.id}/other/x.bin` });
    assert.equal(busy.status, 503);
    assert.equal(busy.headers['retry-after'], String(WEB_SEED_SERVE_RETRY_S));
    const p = await api<AddTorrentResult>(a, '/api/v1/torrents', {
      ...json({ torrent: Buffer.from(priv).toString('base64') }),
      expect: 201,
    });
    assert.equal((await rawRequest(a.url, { path: `/webseed/${p.torrent.id}/other/x.bin` })).status, 404);
  });

  test(`at most MAX_WEB_SEED_SERVE_REQUESTS (${MAX_WEB_SEED_SERVE_REQUESTS}) answers at once`, async () => {
    const u = new URL(a.url);
    const held: { destroy(): void }[] = [];
    try {
      // Requests whose bodies are not read stay open (the socket buffers fill up).
      await Promise.all(
        Array.from(
          { length: MAX_WEB_SEED_SERVE_REQUESTS },
          () =>
            new Promise<void>((resolve, reject) => {
              const req = request(
                { host: u.hostname, port: u.port, path: `/webseed/${id}/pack/a.bin` },
                (res) => {
                  assert.equal(res.statusCode, 200);
                  res.pause();
                  resolve();
                },
              );
              req.on('error', reject);
              req.end();
              held.push(req);
            }),
        ),
      );
      const over = await rawRequest(a.url, {
        path: `/webseed/${id}/pack/a.bin`,
        headers: { range: 'bytes=0-9' },
      });
      assert.equal(over.status, 503);
      assert.match(over.body.toString(), /at most 32 web seed requests at once/);
    } finally {
      for (const r of held) r.destroy();
    }
    // Once they are gone, answers come again.
    for (;;) {
      const again = await rawRequest(a.url, {
        path: `/webseed/${id}/pack/a.bin`,
        headers: { range: 'bytes=0-9' },
      });
      if (again.status === 206) break;
      await new Promise((r) => setImmediate(r));
    }
  });
});
