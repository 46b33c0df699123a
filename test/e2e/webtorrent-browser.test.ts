// shoal-test: private-netns
/**
 * WebTorrent's own browser build in Debian's Chromium (playwright-core) and a Node Shoal node,
 * over WebRTC data channels found through Shoal's WebSocket tracker (Node's ICE bound to
 * 127.0.0.1; the page's addresses: test/helpers/browser-peers.ts): the page
 * downloads what Node Shoal seeds (sha256 computed in the page with crypto.subtle), and the page
 * seeds what Node Shoal downloads. The page is served by a small HTTP server the test starts.
 *
 * Chromium on loopback needs `--disable-features=WebRtcHideLocalIpsWithMdns` (else its host
 * candidates are `*.local` mDNS names nothing here resolves), `--allow-loopback-in-peer-connection`
 * and the microphone permission (else it gathers no loopback candidate at all); the page hands out
 * 127.0.0.1 candidates only. See test/helpers/browser-peers.ts.
 *
 * The marker on the first line makes scripts/run-tests.mjs run this file in a network namespace of
 * its own with only `lo` up (`unshare -rn`): Chromium would otherwise also gather on `eth0` and
 * could pair it with Node's 127.0.0.1. Every process the file starts lives there, and each test
 * asserts that every page connection selected 127.0.0.1 ↔ 127.0.0.1. Elsewhere the file skips.
 *
 * A WebSocket tracker relays a browser's offers only to peers it already knows, so the seeder,
 * whichever side it is, announces before the leecher joins.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type Torrent } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { startTracker, type TrackerServer } from '../../src/tracker/index.js';
import {
  addWebTorrentPage,
  BrowserPeers,
  netnsMissing,
  pageConnections,
  StaticServer,
  trackerKnows,
  WEBTORRENT_BROWSER_BUILD,
  WT_LEECH,
  WT_SEED,
} from '../helpers/browser-peers.js';
import { ClientGroup, libtorrentMissing, logShoalTorrent, shoalDone } from '../helpers/clients.js';
import { pseudoRandomBytes, treeDigests, writeTree } from '../helpers/payload.js';
import { CHROMIUM } from './dashboard-kit.js';

const TRANSFER_TIMEOUT_MS = 60_000;
const FILES = { 'a.bin': 1_500_000, 'b.bin': 333_333 };

function missing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found`;
  if (!existsSync(WEBTORRENT_BROWSER_BUILD)) return 'test/interop/webtorrent is not installed';
  return netnsMissing();
}

/** Transports of the peers `t` logs as connected. */
function transports(t: Torrent): Set<string> {
  const kinds = new Set<string>();
  t.on('peer', (e) => {
    if (e.type === 'connected' && e.transport !== undefined) kinds.add(e.transport);
  });
  return kinds;
}

describe('WebTorrent in Chromium ↔ Node Shoal over WebRTC', { skip: missing(), timeout: 180_000 }, () => {
  const group = new ClientGroup();
  const server = new StaticServer();
  const browsers = new BrowserPeers();
  const sessions: Session[] = [];
  let tracker: TrackerServer;
  let wsUrl = '';
  let origin = '';

  before(async () => {
    // A short WebSocket interval: a WebRTC connection that fails (it happens, rarely, under load)
    // is offered again at the next announce, which Node clients make at least 30 s apart.
    tracker = await startTracker({ host: '127.0.0.1', udpPort: null, ws: { intervalS: 5 } });
    wsUrl = tracker.wsAnnounceUrl as string;
    await addWebTorrentPage(server);
    origin = await server.listen();
  });
  after(async () => {
    await browsers.close();
    await Promise.all(sessions.map((s) => s.close()));
    await server.close();
    await tracker.close();
    await group.stop();
  });
  const shoal = async (name: string, dir: string, torrent: Uint8Array) => {
    const s = await Session.create({
      host: '127.0.0.1',
      downloadDir: dir,
      webrtc: { bindAddress: '127.0.0.1' },
    });
    sessions.push(s);
    assert.equal(s.webrtcEnabled, true, 'node-datachannel loads');
    const t = await s.addTorrent(torrent);
    logShoalTorrent(t, group.log(name));
    return t;
  };
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

  test('the page downloads from a Node Shoal seeder; sha256 computed in the page equal', async () => {
    await explain(async () => {
      const seedDir = await group.dir('seed');
      const rels = await writeTree(join(seedDir, 'payload'), FILES, 41);
      const made = await createTorrent(join(seedDir, 'payload'), {
        version: 'v1',
        pieceLength: 32768,
        trackers: [[wsUrl]],
      });
      const want = await treeDigests(join(seedDir, 'payload'), rels);
      const seeder = await shoal('shoal seeder', seedDir, made.bytes);
      assert.equal(seeder.state, 'seeding');
      const kinds = transports(seeder);
      await trackerKnows(tracker, seeder.wireInfoHash, 1);
      server.files.set('/a.torrent', { type: 'application/x-bittorrent', body: made.bytes });
      const page = await browsers.page(`${origin}/wt.html`);
      const got = (await page.evaluate(
        `(${WT_LEECH})(${JSON.stringify({
          torrentUrl: '/a.torrent',
          timeoutMs: TRANSFER_TIMEOUT_MS,
        })})`,
      )) as { files: { path: string; sha256: string }[] };
      const byPath = new Map(got.files.map((f) => [f.path, f.sha256]));
      assert.deepEqual(
        rels.map((r) => byPath.get(`payload/${r}`)),
        want,
        'sha256 in the page equals the seeded files',
      );
      assert.deepEqual([...kinds], ['webrtc']);
      assert.equal(seeder.stats().totalUploaded >= 1_833_333, true, 'Shoal served the bytes');
    });
  });

  test('the page seeds and Node Shoal downloads from it', async () => {
    await explain(async () => {
      const names = Object.keys(FILES);
      const bodies = names.map((n, i) => pseudoRandomBytes(FILES[n as keyof typeof FILES], 77 + i));
      names.forEach((n, i) => {
        server.files.set(`/f/${n}`, { type: 'application/octet-stream', body: bodies[i] as Uint8Array });
      });
      const page = await browsers.page(`${origin}/wt.html`);
      const seeded = (await page.evaluate(
        `(${WT_SEED})(${JSON.stringify({
          files: names.map((n) => ({ url: `/f/${n}`, name: n })),
          name: 'browser-payload',
          announce: [wsUrl],
          pieceLength: 32768,
        })})`,
      )) as { torrent: string; infoHash: string; sha256: string[] };
      const torrentBytes = Buffer.from(seeded.torrent, 'base64');
      await trackerKnows(tracker, Buffer.from(seeded.infoHash, 'hex'), 1);
      const out = await group.dir('shoal-leecher');
      const leecher = await shoal('shoal leecher', out, torrentBytes);
      const kinds = transports(leecher);
      await shoalDone(leecher, TRANSFER_TIMEOUT_MS);
      const got = await treeDigests(join(out, 'browser-payload'), names);
      assert.deepEqual(got, seeded.sha256, 'Node Shoal’s files equal the page’s (sha256)');
      assert.deepEqual(
        got,
        bodies.map((b) => createHash('sha256').update(b).digest('hex')),
        'and the served bytes',
      );
      assert.deepEqual([...kinds], ['webrtc']);
    });
  });

  test('bridging: libtorrent (TCP) → Node Shoal → the page (WebRTC); sha256 in the page equal', {
    skip: libtorrentMissing(),
  }, async () => {
    await explain(async () => {
      // python3-libtorrent 2.0 has no WebRTC: the page can only get the bytes through Shoal.
      const ltDir = await group.dir('lt-seed');
      const rels = await writeTree(join(ltDir, 'payload'), FILES, 53);
      const made = await createTorrent(join(ltDir, 'payload'), {
        version: 'v1',
        pieceLength: 32768,
        trackers: [[wsUrl]],
      });
      const want = await treeDigests(join(ltDir, 'payload'), rels);
      const torrentPath = join(await group.root(), 'bridge.torrent');
      await writeFile(torrentPath, made.bytes);
      const lt = await group.libtorrent('libtorrent seeder', {
        torrent: torrentPath,
        saveDir: ltDir,
        seed: true,
      });
      await lt.waitFor('ready', 30_000);
      const bridge = await shoal('shoal bridge', await group.dir('bridge'), made.bytes);
      const kinds = transports(bridge);
      bridge.addPeer('127.0.0.1', lt.port);
      await trackerKnows(tracker, bridge.wireInfoHash, 1);
      server.files.set('/bridge.torrent', { type: 'application/x-bittorrent', body: made.bytes });
      const page = await browsers.page(`${origin}/wt.html`);
      const got = (await page.evaluate(
        `(${WT_LEECH})(${JSON.stringify({
          torrentUrl: '/bridge.torrent',
          timeoutMs: TRANSFER_TIMEOUT_MS,
        })})`,
      )) as { files: { path: string; sha256: string }[] };
      const byPath = new Map(got.files.map((f) => [f.path, f.sha256]));
      assert.deepEqual(
        rels.map((r) => byPath.get(`payload/${r}`)),
        want,
        'the page has the libtorrent seeder’s files (sha256)',
      );
      await shoalDone(bridge, TRANSFER_TIMEOUT_MS);
      assert.deepEqual([...kinds].sort(), ['tcp', 'webrtc'], 'Shoal bridged a TCP peer and a WebRTC peer');
      await lt.stop();
    });
  });
});
