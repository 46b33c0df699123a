/**
 * Web seeds against a Node HTTP origin (test/helpers/web-origin.ts): downloads with no peer at
 * all (BEP 19 single- and multi-file, BEP 17), the parallel-request bound, and origins that
 * misbehave — each ends with the right bytes from an honest source and the bad origin dropped
 * with its reason.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import { type PeerLogEntry, Session, type SessionOptions, type Torrent } from '../../src/session/index.js';
import { ErrorCode, isShoalError } from '../../src/shared/errors.js';
import {
  MAX_WEB_SEED_FAILURES,
  MAX_WEB_SEED_REDIRECTS,
  MAX_WEB_SEEDS_PER_TORRENT,
  WEB_SEED_CONNECTIONS,
} from '../../src/shared/limits.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';
import { type OriginFault, WebOrigin } from '../helpers/web-origin.js';

/** Resolves with the peer log entry that says the web seed `url` was dropped or banned. */
function dropped(t: Torrent, url: string, timeoutMs: number): Promise<PeerLogEntry> {
  const seen = t.peerLog().find((e) => isDrop(e, url));
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      t.off('peer', onPeer);
      reject(new Error(`web seed ${url} not dropped in ${timeoutMs} ms: ${JSON.stringify(t.webSeeds())}`));
    }, timeoutMs);
    const onPeer = (e: PeerLogEntry) => {
      if (!isDrop(e, url)) return;
      clearTimeout(timer);
      t.off('peer', onPeer);
      resolve(e);
    };
    t.on('peer', onPeer);
  });
}
function isDrop(e: PeerLogEntry, url: string): boolean {
  return (
    e.address === url &&
    (e.type === 'banned' || (e.type === 'disconnected' && /dropped/.test(e.reason ?? '')))
  );
}

const MULTI: Record<string, number> = {
  'a.bin': 700_001,
  'dir/sub/b.bin': 300_000,
  'dir/ünï cödé #1.bin': 123_457,
  'empty.bin': 0,
  'z.bin': 40_000,
};

describe('web seeds (BEP 19, BEP 17) from a Node origin', () => {
  let dir = '';
  let singleTorrent: Uint8Array;
  let multiTorrent: Uint8Array;
  const sessions: Session[] = [];
  const origins: WebOrigin[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-webseed-'));
    await writeTree(join(dir, 'src'), { 'single.bin': 1_500_000 }, 3);
    await writeTree(join(dir, 'src', 'multi'), MULTI, 5);
    await writeFile(join(dir, 'src', 'multi', 'empty.bin'), '');
    singleTorrent = (await createTorrent(join(dir, 'src', 'single.bin'), { pieceLength: 32768 })).bytes;
    multiTorrent = (await createTorrent(join(dir, 'src', 'multi'), { pieceLength: 65536 })).bytes;
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(origins.map((o) => o.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function session(name: string, o: SessionOptions = {}): Promise<Session> {
    const s = await Session.create({ host: '127.0.0.1', listen: false, downloadDir: join(dir, name), ...o });
    sessions.push(s);
    return s;
  }
  async function origin(o: Parameters<typeof WebOrigin.start>[0]): Promise<WebOrigin> {
    const w = await WebOrigin.start(o);
    origins.push(w);
    return w;
  }

  test('a single-file torrent from the origin alone', { timeout: 30_000 }, async () => {
    const w = await origin({ root: join(dir, 'src') });
    const s = await session('single');
    const t = await s.addTorrent(singleTorrent, { webSeeds: [w.url] });
    await t.whenDone();
    assert.deepEqual(
      await treeDigests(join(dir, 'single'), ['single.bin']),
      await treeDigests(join(dir, 'src'), ['single.bin']),
    );
    const [ws] = t.webSeeds();
    assert.equal(ws?.downloadedBytes, 1_500_000);
    assert.ok(w.requests.length < 20, `${w.requests.length} requests for 46 pieces: ranges span pieces`);
  });

  test('a multi-file torrent (nested folders, non-ASCII names, an empty file)', {
    timeout: 30_000,
  }, async () => {
    const w = await origin({ root: join(dir, 'src') });
    const s = await session('multi');
    const t = await s.addTorrent(multiTorrent);
    t.addWebSeed(w.url);
    await t.whenDone();
    const rels = Object.keys(MULTI).map((r) => join('multi', r));
    assert.deepEqual(await treeDigests(join(dir, 'multi'), rels), await treeDigests(join(dir, 'src'), rels));
  });

  test('BEP 17 httpseeds: pieces from a seed script', { timeout: 30_000 }, async () => {
    const m = parseTorrent(multiTorrent);
    const w = await origin({ root: join(dir, 'src'), bep17: m });
    const s = await session('bep17');
    const t = await s.addTorrent({ ...m, httpSeeds: [`${w.url}seed`] });
    await t.whenDone();
    const rels = Object.keys(MULTI).map((r) => join('multi', r));
    assert.deepEqual(await treeDigests(join(dir, 'bep17'), rels), await treeDigests(join(dir, 'src'), rels));
    assert.equal(t.webSeeds()[0]?.protocol, 'bep17');
    assert.ok(
      w.requests.every((r) => /info_hash=(%[0-9A-F]{2}){20}&piece=\d+/.test(r.path)),
      w.requests[0]?.path,
    );
  });

  test(`at most WEB_SEED_CONNECTIONS (${WEB_SEED_CONNECTIONS}) requests in flight, or the option's`, {
    timeout: 30_000,
  }, async () => {
    const w = await origin({ root: join(dir, 'src') });
    const t = await (await session('bound4')).addTorrent(singleTorrent, { webSeeds: [w.url] });
    await t.whenDone();
    assert.equal(w.maxInFlight, WEB_SEED_CONNECTIONS);
    const w2 = await origin({ root: join(dir, 'src') });
    const t2 = await (await session('bound2', { webSeeds: { connections: 2 } })).addTorrent(singleTorrent, {
      webSeeds: [w2.url],
    });
    await t2.whenDone();
    assert.equal(w2.maxInFlight, 2);
  });

  test(`redirects: ${MAX_WEB_SEED_REDIRECTS} are followed, one more drops the origin`, {
    timeout: 30_000,
  }, async () => {
    const w = await origin({ root: join(dir, 'src'), redirects: true });
    const s = await session('redirects');
    const t = await s.addTorrent(singleTorrent, { webSeeds: [`${w.url}r/${MAX_WEB_SEED_REDIRECTS + 1}/`] });
    const e = await dropped(t, `${w.url}r/${MAX_WEB_SEED_REDIRECTS + 1}/`, 10_000);
    assert.match(e.reason ?? '', /more than 5 redirects/);
    t.addWebSeed(`${w.url}r/${MAX_WEB_SEED_REDIRECTS - 1}/`);
    await t.whenDone();
    assert.deepEqual(
      await treeDigests(join(dir, 'redirects'), ['single.bin']),
      await treeDigests(join(dir, 'src'), ['single.bin']),
    );
  });

  /** A bad origin alone until it is dropped, then an honest one: the right bytes, and why. */
  async function badThenHonest(
    name: string,
    fault: OriginFault,
    why: RegExp,
    o: SessionOptions = {},
  ): Promise<void> {
    const bad = await origin({ root: join(dir, 'src'), fault });
    const honest = await origin({ root: join(dir, 'src') });
    const s = await session(name, { webSeeds: { maxFailures: 2, retryBaseMs: 50, ...o.webSeeds } });
    const t = await s.addTorrent(singleTorrent, { webSeeds: [bad.url] });
    const e = await dropped(t, bad.url, 15_000);
    assert.match(e.reason ?? '', why);
    assert.equal(t.webSeeds()[0]?.state, 'dropped');
    t.addWebSeed(honest.url);
    await t.whenDone();
    assert.deepEqual(
      await treeDigests(join(dir, name), ['single.bin']),
      await treeDigests(join(dir, 'src'), ['single.bin']),
    );
    assert.equal(t.state, 'seeding');
  }

  test('an origin answering 503 with Retry-After is waited for, then dropped', {
    timeout: 30_000,
  }, async () => {
    const t0 = performance.now();
    await badThenHonest(
      'busy',
      'busy',
      /2 failed requests in a row; the last: .*HTTP 503 \(retry after 1 s\)/,
    );
    assert.ok(performance.now() - t0 >= 1000, 'Retry-After: 1 was honoured (not the 50 ms back-off)');
  });
  test('an origin redirecting in a loop is dropped at once', { timeout: 30_000 }, () =>
    badThenHonest('loop', 'redirect-loop', /more than 5 redirects/),
  );
  test('an origin closing mid-body', { timeout: 30_000 }, () =>
    badThenHonest('midbody', 'close-mid-body', /connection (closed|lost) after \d+ of \d+ bytes/),
  );
  test('a wrong Content-Length', { timeout: 30_000 }, () =>
    badThenHonest('length', 'wrong-content-length', /Content-Length \d+, expected \d+/),
  );
  test('a wrong Content-Range', { timeout: 30_000 }, () =>
    badThenHonest('range', 'wrong-content-range', /Content-Range bytes \d+-\d+\/\d+, expected bytes/),
  );
  test('an origin that stalls (WEB_SEED_IDLE_TIMEOUT_MS, here 300 ms)', { timeout: 30_000 }, () =>
    badThenHonest('stall', 'stall', /nothing received for 300 ms/, { webSeeds: { idleTimeoutMs: 300 } }),
  );
  test('a 503 with a long body: the body is not read whole', { timeout: 30_000 }, () =>
    badThenHonest('longbody', 'busy-long-body', /HTTP 503/),
  );

  test(`MAX_WEB_SEED_FAILURES (${MAX_WEB_SEED_FAILURES}) failures in a row drop an origin`, {
    timeout: 30_000,
  }, async () => {
    const bad = await origin({ root: join(dir, 'src'), fault: 'close-mid-body' });
    const s = await session('failures', { webSeeds: { retryBaseMs: 20, connections: 1 } });
    const t = await s.addTorrent(singleTorrent, { webSeeds: [bad.url] });
    const e = await dropped(t, bad.url, 15_000);
    assert.match(
      e.reason ?? '',
      new RegExp(`^web seed dropped: ${MAX_WEB_SEED_FAILURES} failed requests in a row`),
    );
    assert.equal(bad.requests.length, MAX_WEB_SEED_FAILURES);
    assert.equal(t.webSeeds()[0]?.errors, MAX_WEB_SEED_FAILURES);
  });

  test('an origin serving a corrupted copy is banned on the evidence; an honest one completes', {
    timeout: 30_000,
  }, async () => {
    const corrupt = join(dir, 'corrupt-root');
    await cp(join(dir, 'src', 'multi'), join(corrupt, 'multi'), { recursive: true });
    const f = await open(join(corrupt, 'multi', 'dir', 'sub', 'b.bin'), 'r+');
    await f.write(Buffer.from('this is not the torrent’s data'), 0, undefined, 150_000);
    await f.close();
    const bad = await origin({ root: corrupt });
    const honest = await origin({ root: join(dir, 'src') });
    const s = await session('corrupt');
    const t = await s.addTorrent(multiTorrent, { webSeeds: [bad.url] });
    const e = await dropped(t, bad.url, 15_000);
    assert.equal(e.type, 'banned');
    assert.match(e.reason ?? '', /^sole-sender: sole sender of piece \d+, which failed its hash check/);
    assert.ok(t.stats().hashFailures >= 1);
    t.addWebSeed(honest.url);
    await t.whenDone();
    const rels = Object.keys(MULTI).map((r) => join('multi', r));
    assert.deepEqual(
      await treeDigests(join(dir, 'corrupt'), rels),
      await treeDigests(join(dir, 'src'), rels),
    );
  });

  test(`at most MAX_WEB_SEEDS_PER_TORRENT (${MAX_WEB_SEEDS_PER_TORRENT}) web seeds; bad URLs refused`, {
    timeout: 30_000,
  }, async () => {
    const s = await session('many');
    const urls = Array.from({ length: MAX_WEB_SEEDS_PER_TORRENT + 3 }, (_, i) => `http://127.0.0.1:9/m${i}/`);
    const warnings: string[] = [];
    const m = { ...parseTorrent(singleTorrent), webSeeds: urls };
    const t = await s.addTorrent(m, { paused: true });
    t.on('warning', (w) => warnings.push(w.message));
    assert.equal(t.webSeeds().length, MAX_WEB_SEEDS_PER_TORRENT, 'the torrent’s extra ones are ignored');
    assert.throws(
      () => t.addWebSeed('http://127.0.0.1:9/one-more/'),
      (e: unknown) => isShoalError(e, ErrorCode.SessionInvalidArgument),
    );
    t.addWebSeed(urls[0]!); // already there: nothing happens
    assert.equal(t.webSeeds().length, MAX_WEB_SEEDS_PER_TORRENT);
    assert.throws(
      () => t.addWebSeed('ftp://127.0.0.1/x'),
      (e: unknown) => isShoalError(e, ErrorCode.WebSeedBadUrl),
    );
    await assert.rejects(s.addTorrent(multiTorrent, { webSeeds: ['not a url'] }), (e: unknown) =>
      isShoalError(e, ErrorCode.WebSeedBadUrl),
    );
    assert.ok(
      t.webSeeds().every((w) => w.state === 'idle' && w.requestsInFlight === 0),
      'a paused torrent fetches nothing',
    );
  });

  test('onlyBelowPeerRate: beside a peer fast enough, the origin is spared', {
    timeout: 60_000,
  }, async (tc) => {
    // A peer giving 8 MB/s; the origin (loopback, unthrottled) is faster still.
    const seeder = await Session.create({
      host: '127.0.0.1',
      downloadDir: join(dir, 'src'),
      uploadRateLimit: 8_000_000,
    });
    sessions.push(seeder);
    const big = await writeTree(join(dir, 'src', 'big'), { 'big.bin': 24_000_000 }, 12);
    const bytes = (await createTorrent(join(dir, 'src', 'big'), { pieceLength: 262144 })).bytes;
    await seeder.addTorrent(bytes);
    const w = await origin({ root: join(dir, 'src') });
    const fromOrigin: Record<string, number> = {};
    for (const [name, rate] of [
      ['spared', 2_000_000],
      ['always', 0],
    ] as const) {
      const s = await session(`below-${name}`, { listen: false, webSeeds: { onlyBelowPeerRate: rate } });
      const t = await s.addTorrent(bytes, { webSeeds: [w.url] });
      t.addPeer('127.0.0.1', seeder.port);
      await t.whenDone();
      const rels = big.map((r) => join('big', r));
      assert.deepEqual(
        await treeDigests(join(dir, `below-${name}`), rels),
        await treeDigests(join(dir, 'src'), rels),
      );
      fromOrigin[name] = t.webSeeds()[0]!.downloadedBytes;
      await s.close();
    }
    const why = `the origin gave ${fromOrigin.spared} bytes with the setting, ${fromOrigin.always} without`;
    tc.diagnostic(why);
    assert.ok(fromOrigin.spared! < 0.1 * 24_000_000, why);
    assert.ok(fromOrigin.always! > 3 * fromOrigin.spared!, why);
  });
});
