// shoal-test: private-netns
/**
 * Shoal's browser bundle (src/browser, built here with vite into a temp folder) in Debian's
 * Chromium (playwright-core): a Shoal page downloads from a Node Shoal seeder (v1, v2 and hybrid
 * torrents), from WebTorrent's browser build seeding in another page, and serves a second Shoal
 * page once the Node seeder is gone; and gets a libtorrent seeder's bytes through Node Shoal.
 * Every peer is found through Shoal's WebSocket tracker and talks over WebRTC (ICE bound to
 * 127.0.0.1 on the Node side; the page's side and Chromium's flags are explained in
 * test/helpers/browser-peers.ts); sha256 of every file is computed in the page (crypto.subtle).
 *
 * The marker on the first line makes scripts/run-tests.mjs run this file in a network namespace of
 * its own with only `lo` up (`unshare -rn`): Chromium would otherwise also gather on `eth0` and
 * could pair it with Node's 127.0.0.1. Every process the file starts lives there, and each test
 * asserts that every page connection selected 127.0.0.1 ↔ 127.0.0.1. Elsewhere the file skips.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from 'vite';
import { browserBundleConfig } from '../../src/browser/vite.config.js';
import { Session, type Torrent } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { startTracker, type TrackerServer } from '../../src/tracker/index.js';
import {
  addWebTorrentPage,
  BrowserPeers,
  netnsMissing,
  pageConnections,
  SHOAL_LEECH,
  SHOAL_UPLOADED,
  StaticServer,
  trackerKnows,
  WEBTORRENT_BROWSER_BUILD,
  WT_SEED,
} from '../helpers/browser-peers.js';
import { ClientGroup, libtorrentMissing, logShoalTorrent } from '../helpers/clients.js';
import { pseudoRandomBytes, treeDigests, writeTree } from '../helpers/payload.js';
import { CHROMIUM } from './dashboard-kit.js';

const TRANSFER_TIMEOUT_MS = 60_000;
const FILES = { 'a.bin': 1_200_000, 'sub/b.bin': 70_001 };

const SHOAL_PAGE = `<!doctype html><meta charset="utf-8"><title>shoal</title>
<script type="module">
import * as Shoal from '/shoal.js';
window.Shoal = Shoal;
window.ready = true;
</script>`;

interface LeechResult {
  readonly files: { path: string; sha256: string }[];
  readonly version: string;
}

function missing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found`;
  if (!existsSync(WEBTORRENT_BROWSER_BUILD)) return 'test/interop/webtorrent is not installed';
  return netnsMissing();
}

describe('Shoal’s browser bundle in Chromium', { skip: missing(), timeout: 240_000 }, () => {
  const group = new ClientGroup();
  const server = new StaticServer();
  const browsers = new BrowserPeers();
  const sessions: Session[] = [];
  let tracker: TrackerServer;
  let wsUrl = '';
  let origin = '';
  let bundleDir = '';

  before(async () => {
    bundleDir = await mkdtemp(join(tmpdir(), 'shoal-bundle-'));
    await build({ ...browserBundleConfig(bundleDir), configFile: false });
    server.files.set('/shoal.js', {
      type: 'text/javascript',
      body: await readFile(join(bundleDir, 'shoal.js')),
    });
    server.files.set('/shoal.html', { type: 'text/html', body: SHOAL_PAGE });
    await addWebTorrentPage(server);
    // A short WebSocket interval: a WebRTC connection that fails (it happens, rarely, under load)
    // is offered again at the next announce, which Node clients make at least 30 s apart.
    tracker = await startTracker({ host: '127.0.0.1', udpPort: null, ws: { intervalS: 5 } });
    wsUrl = tracker.wsAnnounceUrl as string;
    origin = await server.listen();
  });
  after(async () => {
    await browsers.close();
    await Promise.all(sessions.map((s) => s.close()));
    await server.close();
    await tracker.close();
    await group.stop();
    await rm(bundleDir, { recursive: true, force: true });
  });
  const explain = async (f: () => Promise<void>) => {
    const since = (await browsers.selectedPairs()).length;
    try {
      await group.explain(f);
      await pageConnections(browsers, since);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\npage errors: ${browsers.errors.join('\n')}\n` +
          `page console (tail):\n${browsers.console.slice(-40).join('\n')}`,
        { cause: e },
      );
    }
  };
  const nodeSeeder = async (name: string, version: 'v1' | 'v2' | 'hybrid', seed: number) => {
    const dir = await group.dir(name);
    const rels = await writeTree(join(dir, 'payload'), FILES, seed);
    const made = await createTorrent(join(dir, 'payload'), {
      version,
      pieceLength: 32768,
      trackers: [[wsUrl]],
    });
    const s = await Session.create({
      host: '127.0.0.1',
      downloadDir: dir,
      webrtc: { bindAddress: '127.0.0.1' },
    });
    sessions.push(s);
    const t: Torrent = await s.addTorrent(made.bytes);
    logShoalTorrent(t, group.log(name));
    assert.equal(t.state, 'seeding');
    await trackerKnows(tracker, t.wireInfoHash, 1);
    const want = await treeDigests(join(dir, 'payload'), rels);
    return { session: s, torrent: t, bytes: made.bytes, rels, want };
  };
  const leech = async (url: string): Promise<LeechResult> => {
    const page = await browsers.page(`${origin}/shoal.html`);
    return (await page.evaluate(
      `(${SHOAL_LEECH})(${JSON.stringify({ torrentUrl: url, timeoutMs: TRANSFER_TIMEOUT_MS })})`,
    )) as LeechResult;
  };
  const digestsOf = (r: LeechResult, rels: readonly string[]) => {
    const byPath = new Map(r.files.map((f) => [f.path, f.sha256]));
    return rels.map((rel) => byPath.get(`payload/${rel}`));
  };

  let firstPage:
    | { bytes: Uint8Array; rels: string[]; want: string[]; session: Session; wireInfoHash: Uint8Array }
    | undefined;

  test('a Shoal page downloads a v1 torrent from Node Shoal; sha256 in the page equal', async () => {
    await explain(async () => {
      const seed = await nodeSeeder('node-v1', 'v1', 61);
      server.files.set('/v1.torrent', { type: 'application/x-bittorrent', body: seed.bytes });
      const got = await leech('/v1.torrent');
      assert.equal(got.version, 'v1');
      assert.deepEqual(digestsOf(got, seed.rels), seed.want);
      assert.ok(seed.torrent.stats().totalUploaded >= 1_270_001, 'Node Shoal served the bytes');
      firstPage = { ...seed, wireInfoHash: seed.torrent.wireInfoHash };
    });
  });

  test('a second Shoal page downloads from the first once Node Shoal left the swarm', async () => {
    await explain(async () => {
      assert.ok(firstPage !== undefined, 'the previous test ran');
      await firstPage.session.close();
      const key = Buffer.from(firstPage.wireInfoHash);
      // Node Shoal announced `stopped`: the first page is the only one left.
      const deadline = performance.now() + 20_000;
      while ((tracker.ws?.swarms.peerCount(key.toString('latin1')) ?? 0) !== 1) {
        if (performance.now() > deadline) throw new Error('Node Shoal never left the swarm');
        await new Promise((r) => setTimeout(r, 50));
      }
      const got = await leech('/v1.torrent');
      assert.deepEqual(digestsOf(got, firstPage.rels), firstPage.want);
      const pages = browsers.pages();
      const uploaded = (await pages[0]?.evaluate(SHOAL_UPLOADED)) as number[];
      assert.ok((uploaded[0] ?? 0) >= 1_270_001, 'the first page served the second');
    });
  });

  test('a Shoal page downloads a v2 torrent from Node Shoal (BEP 52 piece layers)', async () => {
    await explain(async () => {
      const seed = await nodeSeeder('node-v2', 'v2', 62);
      server.files.set('/v2.torrent', { type: 'application/x-bittorrent', body: seed.bytes });
      const got = await leech('/v2.torrent');
      assert.equal(got.version, 'v2');
      assert.deepEqual(digestsOf(got, seed.rels), seed.want);
    });
  });

  test('a Shoal page downloads a hybrid torrent from Node Shoal', async () => {
    await explain(async () => {
      const seed = await nodeSeeder('node-hybrid', 'hybrid', 65);
      server.files.set('/hybrid.torrent', { type: 'application/x-bittorrent', body: seed.bytes });
      const got = await leech('/hybrid.torrent');
      assert.equal(got.version, 'hybrid');
      assert.deepEqual(digestsOf(got, seed.rels), seed.want);
    });
  });

  test('a Shoal page downloads from WebTorrent seeding in another page', async () => {
    await explain(async () => {
      const names = ['x.bin', 'y.bin'];
      const bodies = [pseudoRandomBytes(900_000, 63), pseudoRandomBytes(123_457, 64)];
      names.forEach((n, i) => {
        server.files.set(`/wt/${n}`, { type: 'application/octet-stream', body: bodies[i] as Uint8Array });
      });
      const wtPage = await browsers.page(`${origin}/wt.html`);
      const seeded = (await wtPage.evaluate(
        `(${WT_SEED})(${JSON.stringify({
          files: names.map((n) => ({ url: `/wt/${n}`, name: n })),
          name: 'payload',
          announce: [wsUrl],
          pieceLength: 32768,
        })})`,
      )) as { torrent: string; infoHash: string; sha256: string[] };
      await trackerKnows(tracker, Buffer.from(seeded.infoHash, 'hex'), 1);
      server.files.set('/wt.torrent', {
        type: 'application/x-bittorrent',
        body: Buffer.from(seeded.torrent, 'base64'),
      });
      const got = await leech('/wt.torrent');
      assert.deepEqual(digestsOf(got, names), seeded.sha256);
    });
  });

  test('libtorrent (TCP) → Node Shoal → a Shoal page (WebRTC)', { skip: libtorrentMissing() }, async () => {
    await explain(async () => {
      // python3-libtorrent 2.0 has no WebRTC: the page gets the bytes only through Node Shoal.
      const ltDir = await group.dir('lt-seed');
      const rels = await writeTree(join(ltDir, 'payload'), FILES, 66);
      const made = await createTorrent(join(ltDir, 'payload'), {
        version: 'v1',
        pieceLength: 32768,
        trackers: [[wsUrl]],
      });
      const want = await treeDigests(join(ltDir, 'payload'), rels);
      const torrentPath = join(await group.root(), 'lt.torrent');
      await writeFile(torrentPath, made.bytes);
      const lt = await group.libtorrent('libtorrent seeder', {
        torrent: torrentPath,
        saveDir: ltDir,
        seed: true,
      });
      await lt.waitFor('ready', 30_000);
      const s = await Session.create({
        host: '127.0.0.1',
        downloadDir: await group.dir('bridge'),
        webrtc: { bindAddress: '127.0.0.1' },
      });
      sessions.push(s);
      const bridge = await s.addTorrent(made.bytes);
      logShoalTorrent(bridge, group.log('shoal bridge'));
      bridge.addPeer('127.0.0.1', lt.port);
      await trackerKnows(tracker, bridge.wireInfoHash, 1);
      server.files.set('/lt.torrent', { type: 'application/x-bittorrent', body: made.bytes });
      const got = await leech('/lt.torrent');
      assert.deepEqual(digestsOf(got, rels), want);
      await lt.stop();
    });
  });
});
