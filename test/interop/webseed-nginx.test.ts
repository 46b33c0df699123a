/**
 * Interop: nginx (Debian `nginx`) as a BEP 19 web seed, started by the test on 127.0.0.1 with a
 * config it writes (test/helpers/nginx.ts) and always stopped.
 *
 * - A single-file and a multi-file torrent (nested folders, non-ASCII names, an empty file)
 *   download from nginx alone, no peer at all, over HTTP and over HTTPS (a self-signed
 *   certificate made with `openssl`, trusted through `webSeeds.caFile`); sha256 equal.
 * - nginx serving a corrupted copy of one file: the web seed is banned on the evidence (sole
 *   sender of the failed piece), with the reason in the peer log; an honest nginx completes.
 * - Together: nginx, a python3-libtorrent seeder and two Shoal leechers complete; the bytes that
 *   came from the origin are counted (Shoal's web seed figures and nginx's access log agree).
 */
import assert from 'node:assert/strict';
import { cp, mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type SessionOptions, type Torrent } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import {
  ClientGroup,
  INTEROP_FILES,
  type InteropTorrent,
  libtorrentMissing,
  logShoalTorrent,
  makeInteropTorrent,
  shoalDone,
} from '../helpers/clients.js';
import { Nginx, nginxMissing } from '../helpers/nginx.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

// CI installs nginx and libtorrent (.ci/run); without them this suite fails loudly rather than skipping.
for (const missing of [nginxMissing(), libtorrentMissing()])
  if (missing !== undefined) throw new Error(missing);

const TRANSFER_TIMEOUT_MS = 60_000;
const MULTI: Record<string, number> = {
  'big.bin': 6_000_003,
  'nested/deeper/mid.bin': 1_048_577,
  'nested/Ünïcödé — файл #1 (ok).bin': 333_333,
  'nested/empty.bin': 0,
  'tail.bin': 9_999,
};

describe('web seeds from nginx', () => {
  const group = new ClientGroup();
  const sessions: Session[] = [];
  const servers: Nginx[] = [];
  let root = '';
  let single: Uint8Array;
  let multi: Uint8Array;
  let multiRels: string[];
  let multiDigests: string[];
  let singleDigest: string[];
  let nginx: Nginx;

  before(async () => {
    root = await group.dir('www');
    await writeTree(root, { 'single file.iso': 12_345_679 }, 21);
    await writeTree(join(root, 'multi'), MULTI, 22);
    await writeFile(join(root, 'multi', 'nested', 'empty.bin'), '');
    single = (await createTorrent(join(root, 'single file.iso'), { pieceLength: 256 * 1024 })).bytes;
    multi = (await createTorrent(join(root, 'multi'), { pieceLength: 64 * 1024 })).bytes;
    multiRels = Object.keys(MULTI).map((r) => join('multi', r));
    multiDigests = await treeDigests(root, multiRels);
    singleDigest = await treeDigests(root, ['single file.iso']);
    nginx = await Nginx.start({ root, tls: true });
    servers.push(nginx);
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(servers.map((n) => n.stop()));
    await group.stop();
  });

  async function leecher(name: string, o: SessionOptions = {}): Promise<Session> {
    const s = await Session.create({ host: '127.0.0.1', downloadDir: await group.dir(name), ...o });
    sessions.push(s);
    return s;
  }
  async function download(
    name: string,
    bytes: Uint8Array,
    url: string,
    o: SessionOptions = {},
  ): Promise<Torrent> {
    const s = await leecher(name, { listen: false, ...o });
    const t = await s.addTorrent(bytes, { webSeeds: [url] });
    logShoalTorrent(t, group.log(name));
    await shoalDone(t, TRANSFER_TIMEOUT_MS);
    assert.equal(t.stats().peerCount, 0, 'no peer at all');
    return t;
  }

  for (const scheme of ['http', 'https'] as const) {
    test(`a single-file torrent from nginx alone over ${scheme}`, {
      timeout: TRANSFER_TIMEOUT_MS + 10_000,
    }, async () => {
      await group.explain(async () => {
        const url = scheme === 'http' ? nginx.url : nginx.httpsUrl;
        const name = `single-${scheme}`;
        const t = await download(name, single, url, { webSeeds: { caFile: nginx.caFile! } });
        assert.deepEqual(
          await treeDigests(join(await group.root(), name), ['single file.iso']),
          singleDigest,
        );
        assert.equal(t.webSeeds()[0]?.downloadedBytes, 12_345_679);
        assert.equal(t.webSeeds()[0]?.errors, 0);
      });
    });

    test(`a multi-file torrent (nested, non-ASCII, empty file) from nginx alone over ${scheme}`, {
      timeout: TRANSFER_TIMEOUT_MS + 10_000,
    }, async () => {
      await group.explain(async () => {
        const url = scheme === 'http' ? nginx.url : nginx.httpsUrl;
        const name = `multi-${scheme}`;
        await download(name, multi, url, { webSeeds: { caFile: nginx.caFile! } });
        assert.deepEqual(await treeDigests(join(await group.root(), name), multiRels), multiDigests);
      });
    });
  }

  test('HTTPS with a certificate nobody vouches for is refused', { timeout: 30_000 }, async () => {
    const s = await leecher('untrusted', { listen: false, webSeeds: { maxFailures: 1 } });
    const t = await s.addTorrent(single, { webSeeds: [nginx.httpsUrl] });
    await new Promise<void>((resolve) => {
      const check = () => {
        if (t.webSeeds()[0]?.state !== 'dropped') return;
        t.off('peer', check);
        resolve();
      };
      t.on('peer', check);
      check();
    });
    assert.match(t.webSeeds()[0]?.reason ?? '', /self[- ]signed certificate/i);
    assert.equal(t.stats().haveCount, 0);
  });

  test('nginx serving a corrupted copy: banned on the evidence; an honest origin completes', {
    timeout: TRANSFER_TIMEOUT_MS + 10_000,
  }, async () => {
    await group.explain(async () => {
      const bad = join(root, 'bad');
      await mkdir(bad, { recursive: true });
      await cp(join(root, 'multi'), join(bad, 'multi'), { recursive: true });
      const f = await open(join(bad, 'multi', 'nested', 'deeper', 'mid.bin'), 'r+');
      await f.write(Buffer.alloc(1000, 0xee), 0, 1000, 500_000);
      await f.close();
      const s = await leecher('corrupt', { listen: false });
      const t = await s.addTorrent(multi, { webSeeds: [`${nginx.url}bad/`] });
      logShoalTorrent(t, group.log('corrupt'));
      const banned = await new Promise<string>((resolve) => {
        t.on('peer', (e) => {
          if (e.type === 'banned') resolve(e.reason ?? '');
        });
      });
      assert.match(banned, /^sole-sender: sole sender of piece \d+, which failed its hash check$/);
      assert.equal(t.webSeeds()[0]?.state, 'dropped');
      t.addWebSeed(nginx.url);
      await shoalDone(t, TRANSFER_TIMEOUT_MS);
      assert.deepEqual(await treeDigests(join(await group.root(), 'corrupt'), multiRels), multiDigests);
    });
  });

  test('nginx, a libtorrent seeder and two Shoal leechers complete; bytes from the origin counted', {
    timeout: TRANSFER_TIMEOUT_MS * 2,
  }, async () => {
    await group.explain(async () => {
      const fx: InteropTorrent = await makeInteropTorrent(await group.dir('together'));
      // nginx serves the same payload (the torrent's folder is `payload`).
      const origin = await Nginx.start({ root: fx.dataDir, limitRate: '8m' });
      servers.push(origin);
      const lt = await group.libtorrent('libtorrent seeder', {
        torrent: fx.torrentPath,
        saveDir: fx.dataDir,
        seed: true,
      });
      await lt.waitFor('ready', TRANSFER_TIMEOUT_MS);
      const a = await leecher('leecher-a');
      const b = await leecher('leecher-b');
      const ta = await a.addTorrent(fx.bytes, { webSeeds: [origin.url] });
      const tb = await b.addTorrent(fx.bytes, { webSeeds: [origin.url] });
      logShoalTorrent(ta, group.log('leecher a'));
      logShoalTorrent(tb, group.log('leecher b'));
      for (const t of [ta, tb]) t.addPeer('127.0.0.1', lt.port);
      ta.addPeer('127.0.0.1', b.port);
      await Promise.all([shoalDone(ta, TRANSFER_TIMEOUT_MS), shoalDone(tb, TRANSFER_TIMEOUT_MS)]);
      for (const n of ['leecher-a', 'leecher-b'])
        assert.deepEqual(await treeDigests(join(await group.root(), n, fx.name), fx.rels), fx.digests);
      const payload = Object.values(INTEROP_FILES).reduce((x, y) => x + y, 0);
      const fromOrigin = ta.webSeeds()[0]!.downloadedBytes + tb.webSeeds()[0]!.downloadedBytes;
      const fromPeers = ta.stats().downloadedBytes + tb.stats().downloadedBytes - fromOrigin;
      const log = await origin.accessLog();
      const served = log.reduce((sum, e) => sum + e.bytes, 0);
      group.log('together')(
        `origin gave ${fromOrigin} bytes, peers ${fromPeers}; nginx logged ${served} bytes in ${log.length} requests`,
      );
      assert.ok(fromOrigin > 0, 'the origin took part');
      assert.ok(fromPeers > 0, 'the peers took part');
      assert.ok(fromOrigin + fromPeers >= 2 * payload);
      // nginx sent at least what Shoal used (cancelled or cut-off tails may add a little).
      assert.ok(served >= fromOrigin, `nginx logged ${served} bytes, Shoal counted ${fromOrigin}`);
      assert.ok(
        served <= fromOrigin + 64 * 1024 * 1024,
        `nginx logged ${served} bytes, Shoal counted ${fromOrigin}`,
      );
    });
  });
});
