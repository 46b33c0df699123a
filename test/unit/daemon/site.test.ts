/**
 * The gateway's pieces without a network: `/site/` path parsing (traversal refused), the security
 * hook letting cross-site reads through for gateway routes only, the bound on gateway answers in
 * flight (MAX_CONCURRENT_SITE_RESPONSES) and on followed feeds (MAX_FOLLOWED_FEEDS), with stub
 * followers and torrents.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import { FeedManager } from '../../../src/daemon/feeds.js';
import { checkRequest, type SecurityPolicy } from '../../../src/daemon/http/security.js';
import { SiteService, siteSegments } from '../../../src/daemon/http/site.js';
import type { FeedFollower, Session, Torrent } from '../../../src/session/index.js';
import { isShoalError } from '../../../src/shared/errors.js';
import { MAX_CONCURRENT_SITE_RESPONSES, MAX_FOLLOWED_FEEDS } from '../../../src/shared/limits.js';

const KEY = 'ab'.repeat(32);

test('siteSegments: key and decoded segments; traversal and encoded slashes refused', () => {
  assert.deepEqual(siteSegments(`/site/${KEY}`), { key: KEY, segments: [] });
  assert.deepEqual(siteSegments(`/site/${KEY.toUpperCase()}/`), { key: KEY, segments: [''] });
  assert.deepEqual(siteSegments(`/site/${KEY}/www/a%20b/c.html?x=1`), {
    key: KEY,
    segments: ['www', 'a b', 'c.html'],
  });
  for (const bad of [
    `/site/${KEY}/../x`,
    `/site/${KEY}/%2e%2e/x`,
    `/site/${KEY}/a%2Fb`,
    `/site/${KEY}/a%00b`,
    `/site/${KEY}/%E0%A4%A`,
    '/site/abc/',
    `/sites/${KEY}/`,
  ]) {
    assert.equal(siteSegments(bad), undefined, bad);
  }
});

test('cross-site reads pass only where the route allows them, and only GET/HEAD', () => {
  const policy: SecurityPolicy = {
    token: 't'.repeat(43),
    requireToken: false,
    allowedHosts: [],
    publicBind: false,
  };
  const facts = (method: string, allowsCrossSiteReads: boolean) => ({
    method,
    url: '/site/x',
    headers: { host: '127.0.0.1:9080', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' },
    isOpen: false,
    allowsCrossSiteReads,
  });
  assert.deepEqual(checkRequest(facts('GET', true), policy), { authenticated: false });
  assert.deepEqual(checkRequest(facts('HEAD', true), policy), { authenticated: false });
  assert.throws(
    () => checkRequest(facts('GET', false), policy),
    (e) => isShoalError(e),
  );
  assert.throws(
    () => checkRequest(facts('POST', true), policy),
    (e) => isShoalError(e),
  );
  const token = { ...policy, requireToken: true };
  assert.throws(
    () => checkRequest(facts('GET', true), token),
    (e) => isShoalError(e),
    'the token is still needed',
  );
});

/** A torrent with one file whose reads never end (an answer stays in flight). */
function stubTorrent(): Torrent {
  return {
    id: 'cd'.repeat(20),
    name: 'site',
    metainfo: { isSingleFile: false },
    files: () => [{ index: 0, metainfoIndex: 0, path: ['index.html'], length: 10, offset: 0 }],
    createReadStream: () => new Readable({ read() {} }),
  } as unknown as Torrent;
}

function get(port: number, path: string): Promise<{ status: number; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) =>
      resolve({ status: res.statusCode ?? 0, destroy: () => req.destroy() }),
    );
    req.on('error', reject);
    req.end();
  });
}

test(`at most MAX_CONCURRENT_SITE_RESPONSES (${MAX_CONCURRENT_SITE_RESPONSES}) gateway answers at once`, async () => {
  const follower = { currentTorrent: stubTorrent, pendingTorrent: () => undefined, current: () => undefined };
  const feeds = {
    site: (_k: string, segments: string[]) => ({ follower, path: segments, base: `/site/${KEY}/` }),
  } as unknown as FeedManager;
  const site = new SiteService(feeds);
  const app = Fastify();
  app.get('/site/:key/*', (req, reply) => site.handle(req, reply));
  app.setErrorHandler((err, _req, reply) => {
    reply.code((err as { details?: { status?: number } }).details?.status ?? 500).send({});
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const open: { destroy(): void }[] = [];
  try {
    for (let i = 0; i < MAX_CONCURRENT_SITE_RESPONSES; i++) {
      const r = await get(port, `/site/${KEY}/index.html`);
      assert.equal(r.status, 200);
      open.push(r);
    }
    assert.equal(site.active, MAX_CONCURRENT_SITE_RESPONSES);
    const refused = await get(port, `/site/${KEY}/index.html`);
    assert.equal(refused.status, 503);
    open.push(refused);
  } finally {
    for (const r of open) r.destroy();
    await app.close();
  }
});

test(`at most MAX_FOLLOWED_FEEDS (${MAX_FOLLOWED_FEEDS}) feeds`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-feedmax-'));
  const closed: FeedFollower[] = [];
  const session = {
    follow: async () =>
      ({
        magnet: '',
        highestSeq: 0n,
        current: () => undefined,
        pending: () => undefined,
        versions: () => [],
        on() {},
        close: async function (this: FeedFollower) {
          closed.push(this);
        },
      }) as unknown as FeedFollower,
  } as unknown as Session;
  const feeds = new FeedManager({
    session,
    stateDir: dir,
    downloadDir: dir,
    roots: [dir],
    log: pino({ level: 'silent' }),
  });
  try {
    const key = (i: number) => i.toString(16).padStart(64, '0');
    for (let i = 0; i < MAX_FOLLOWED_FEEDS; i++) await feeds.follow({ feed: key(i) });
    assert.equal(feeds.list().length, MAX_FOLLOWED_FEEDS);
    await assert.rejects(
      feeds.follow({ feed: key(MAX_FOLLOWED_FEEDS) }),
      (e) => isShoalError(e) && /at most/.test((e as Error).message),
    );
    assert.equal((await feeds.follow({ feed: key(0) })).id, key(0), 'one already followed is still answered');
    // A restart restores the same list.
    await feeds.close();
    const again = new FeedManager({
      session,
      stateDir: dir,
      downloadDir: dir,
      roots: [dir],
      log: pino({ level: 'silent' }),
    });
    await again.restore();
    assert.equal(again.list().length, MAX_FOLLOWED_FEEDS);
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
