/**
 * The daemon's feeds and gateway (issue 22): a publisher session and a daemon on an 8-node
 * loopback DHT. Following through `POST /api/v1/feeds`; the gateway `/site/<key>/<salt>/…` with
 * index.html, redirects to the folder form, content types, Range, HEAD, ETag revalidation and its
 * sandbox headers; cross-site reads allowed for `/site/` only; malformed and traversing paths
 * refused; an update seen after `POST …/check`; the versions listed with when each was seen; a
 * daemon restart that serves the current version at once; unfollow with deleteData.
 */
import assert from 'node:assert/strict';
import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FeedJson } from '../../src/daemon/feeds.js';
import type { Daemon } from '../../src/daemon/index.js';
import {
  createDhtKeyPair,
  createDhtTestnet,
  type DhtTestnet,
  LOOPBACK_DHT_NODE_OPTIONS,
} from '../../src/discovery/index.js';
import { type FeedFollower, type FeedPublication, Session } from '../../src/session/index.js';
import { toHex } from '../../src/shared/hash.js';
import { writeTree } from '../helpers/payload.js';
import { api, json, rawRequest, startTestDaemon, tempDir } from './daemon-helpers.js';

const TIMEOUT_MS = 30_000;

/** Resolves once the follower's current version is `seq` (at once if it already is). */
function switchedTo(f: FeedFollower, seq: bigint): Promise<void> {
  if (f.current()?.seq === seq) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`version ${seq} not current within ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
    const on = (e: { seq: bigint }) => {
      if (e.seq !== seq) return;
      clearTimeout(timer);
      f.off('version:switched', on);
      resolve();
    };
    f.on('version:switched', on);
  });
}

describe('daemon feeds and the /site gateway', { timeout: 180_000 }, () => {
  let net: DhtTestnet;
  let tmp: { dir: string; cleanup(): Promise<void> };
  let publisher: Session;
  let daemon: Daemon | undefined;
  let pub: FeedPublication | undefined;
  const keyPair = createDhtKeyPair();
  const salt = new TextEncoder().encode('www');
  const key = toHex(keyPair.publicKey);
  let siteDir = '';
  let feedId = '';

  const startDaemon = () =>
    startTestDaemon(join(tmp.dir, 'state'), join(tmp.dir, 'downloads'), {
      session: { dht: { bootstrap: net.bootstrap, node: LOOPBACK_DHT_NODE_OPTIONS } },
    });
  const publish = async () => {
    await pub?.close();
    pub = await publisher.publish({ dir: siteDir, keyPair, salt, reputIntervalMs: 0 });
    return pub;
  };
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    rawRequest(daemon!.url, { path, headers, method });

  before(async () => {
    net = await createDhtTestnet({ size: 8 });
    tmp = await tempDir('shoal-daemon-feeds-');
    siteDir = join(tmp.dir, 'pub', 'site');
    await writeTree(siteDir, { 'data.bin': 100_000 }, 5);
    await writeFile(
      join(siteDir, 'index.html'),
      '<!doctype html><title>v1</title><link rel="stylesheet" href="css/style.css">',
    );
    await writeTree(siteDir, { 'css/style.css': 300, 'docs/index.html': 200, 'old.txt': 50 }, 9);
    publisher = await Session.create({
      host: '127.0.0.1',
      hashThreads: 1,
      dht: { bootstrap: net.bootstrap, node: LOOPBACK_DHT_NODE_OPTIONS },
    });
    await publish();
    daemon = await startDaemon();
  });
  after(async () => {
    await daemon?.close();
    await publisher?.close();
    await net?.close();
    await tmp?.cleanup();
  });

  test('follow through the API; the gateway serves the site', async () => {
    const f0 = await api<FeedJson>(daemon!, '/api/v1/feeds', { ...json({ feed: pub!.magnet }), expect: 201 });
    feedId = f0.id;
    assert.equal(f0.id, `${key}-${toHex(salt)}`);
    assert.equal(f0.saltText, 'www');
    assert.equal(f0.sitePath, `/site/${key}/www/`);
    assert.equal(f0.dir, join(daemon!.manager.downloadDir, 'feeds', f0.id));
    // Following again answers the same feed.
    const again = await api<FeedJson>(daemon!, '/api/v1/feeds', {
      ...json({ feed: key, salt: 'www' }),
      expect: 201,
    });
    assert.equal(again.id, f0.id);
    await switchedTo(daemon!.feeds.follower(feedId)!, 1n);

    const root = await get(`/site/${key}/www/`);
    assert.equal(root.status, 200);
    assert.equal(root.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(root.headers['content-security-policy'], 'sandbox allow-scripts');
    assert.equal(root.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.equal(root.headers['cache-control'], 'no-cache');
    assert.ok(root.body.equals(await readFile(join(siteDir, 'index.html'))));
    const etag = root.headers.etag as string;
    assert.equal((await get(`/site/${key}/www/`, { 'if-none-match': etag })).status, 304);

    const redirect = await get(`/site/${key}/www`);
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, `/site/${key}/www/`);
    const folder = await get(`/site/${key}/www/docs`);
    assert.equal(folder.status, 301);
    assert.equal(folder.headers.location, `/site/${key}/www/docs/`);
    const docs = await get(`/site/${key}/www/docs/`);
    assert.ok(docs.body.equals(await readFile(join(siteDir, 'docs/index.html'))));
    const css = await get(`/site/${key}/www/css/style.css`);
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');

    const data = await readFile(join(siteDir, 'data.bin'));
    const part = await get(`/site/${key}/www/data.bin`, { range: 'bytes=40000-40099' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 40000-40099/${data.length}`);
    assert.ok(part.body.equals(data.subarray(40000, 40100)));
    assert.equal((await get(`/site/${key}/www/data.bin`, { range: 'bytes=200000-' })).status, 416);
    const head = await get(`/site/${key}/www/data.bin`, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(data.length));
    assert.equal(head.body.length, 0);

    assert.equal((await get(`/site/${key}/www/missing.html`)).status, 404);
    assert.equal((await get(`/site/${key}/other/`)).status, 404, 'no unsalted feed of this key');
    assert.equal((await get(`/site/${'ab'.repeat(32)}/`)).status, 404, 'an unknown key');
    assert.equal((await get(`/site/${key}/www/%2e%2e/%2e%2e/api/v1/feeds`)).status, 400);
    assert.equal((await get(`/site/${key}/www/a%2Fb`)).status, 400);
  });

  test('a sandboxed page may load its files cross-site; the API may not be read so', async () => {
    const crossSite = {
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'no-cors',
      'sec-fetch-dest': 'style',
    };
    assert.equal((await get(`/site/${key}/www/css/style.css`, crossSite)).status, 200);
    assert.equal((await get('/api/v1/feeds', crossSite)).status, 403);
    assert.equal(
      (await get(`/site/${key}/www/`, { origin: 'null' })).status,
      403,
      'Origin: null is still refused',
    );
  });

  test('an update: check now, the new version is served, versions are listed', async () => {
    await writeFile(join(siteDir, 'index.html'), '<!doctype html><title>v2</title>');
    await unlink(join(siteDir, 'old.txt'));
    const before = await get(`/site/${key}/www/`);
    const p2 = await publish();
    assert.equal(p2.seq, 2n);
    const follower = daemon!.feeds.follower(feedId)!;
    const switched = switchedTo(follower, 2n);
    await api(daemon!, `/api/v1/feeds/${feedId}/check`, { method: 'POST' });
    await switched;
    const root = await get(`/site/${key}/www/`);
    assert.equal(root.body.toString(), '<!doctype html><title>v2</title>');
    assert.notEqual(root.headers.etag, before.headers.etag);
    assert.equal((await get(`/site/${key}/www/old.txt`)).status, 404);
    const f = await api<FeedJson>(daemon!, `/api/v1/feeds/${feedId}`);
    assert.equal(f.current?.seq, '2');
    assert.equal(f.pending, null);
    assert.deepEqual(
      f.versions.map((v) => [v.seq, v.infoHash]),
      [
        ['1', f.versions[0]!.infoHash],
        ['2', toHex(p2.infoHash)],
      ],
    );
    for (const v of f.versions) {
      assert.ok(v.seenAt > 0 && v.switchedAt !== null && v.switchedAt >= v.seenAt);
    }
    assert.equal(f.current?.removedFiles, 1);
    assert.equal(f.current?.reusedFiles, 3, 'data.bin, css/style.css, docs/index.html');
  });

  test('a restarted daemon serves the current version at once; unfollow deletes its folder', async () => {
    await daemon!.close();
    daemon = await startDaemon();
    const list = await api<{ feeds: FeedJson[] }>(daemon, '/api/v1/feeds');
    assert.equal(list.feeds.length, 1);
    assert.equal(list.feeds[0]!.current?.seq, '2');
    const root = await get(`/site/${key}/www/`);
    assert.equal(root.body.toString(), '<!doctype html><title>v2</title>');
    const dir = list.feeds[0]!.dir;
    await api(daemon, `/api/v1/feeds/${feedId}?deleteData=true`, { method: 'DELETE', expect: 204 });
    await assert.rejects(stat(dir), { code: 'ENOENT' });
    assert.equal((await get(`/site/${key}/www/`)).status, 404);
    assert.deepEqual((await api<{ feeds: FeedJson[] }>(daemon, '/api/v1/feeds')).feeds, []);
  });

  test('bad follow requests get 400', async () => {
    await api(daemon!, '/api/v1/feeds', {
      ...json({ feed: 'magnet:?xt=urn:btih:' + '0'.repeat(40) }),
      expect: 400,
    });
    await api(daemon!, '/api/v1/feeds', { ...json({ feed: 'zz' }), expect: 400 });
    await api(daemon!, '/api/v1/feeds', { ...json({ feed: key, salt: 'x'.repeat(65) }), expect: 400 });
    await api(daemon!, '/api/v1/feeds', { ...json({ feed: key, dir: '../../etc' }), expect: 400 });
    await api(daemon!, `/api/v1/feeds/${'cd'.repeat(32)}`, { expect: 404 });
  });
});
