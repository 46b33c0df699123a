/**
 * Trackerless (issue 5): Shoal nodes find each other and the torrent's metadata with nothing but
 * an info-hash — through the DHT (a local testnet, never the public routers) and through local
 * service discovery (BEP 14, over loopback unicast).
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createDhtTestnet, type DhtTestnet, LOOPBACK_DHT_NODE_OPTIONS } from '../../src/discovery/index.js';
import { buildMagnet, magnetFromMetainfo, parseTorrent } from '../../src/metainfo/index.js';
import { Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const sessions: Session[] = [];
const testnets: DhtTestnet[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(testnets.map((t) => t.close()));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function payload() {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-trackerless-'));
  dirs.push(dir);
  const rels = await writeTree(join(dir, 'seed', 'payload'), { 'a.bin': 1_200_000, 'b/c.bin': 50_000 }, 8);
  const t = await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: 32768 });
  const link = magnetFromMetainfo(parseTorrent(t.bytes));
  const bare = buildMagnet({ infoHashV1: link.infoHashV1!, trackers: [], webSeeds: [], peers: [] });
  return { dir, rels, t, bare };
}

test('a magnet holding only the info-hash is fetched through the DHT', { timeout: 90_000 }, async () => {
  const net = await createDhtTestnet({ size: 6 });
  testnets.push(net);
  const { dir, rels, t, bare } = await payload();
  const dht = { bootstrap: net.bootstrap, node: LOOPBACK_DHT_NODE_OPTIONS };
  const seeder = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'seed'), dht });
  sessions.push(seeder);
  await seeder.addTorrent(t.bytes);
  const leecher = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'leech'), dht });
  sessions.push(leecher);
  assert.ok(leecher.dhtPort > 0);
  const torrent = await leecher.addMagnet(bare);
  if (!torrent.isFinished) await torrent.next('done');
  assert.deepEqual(
    await treeDigests(join(dir, 'leech', 'payload'), rels),
    await treeDigests(join(dir, 'seed', 'payload'), rels),
  );
  assert.ok((leecher.dhtStats()?.nodes ?? 0) > 0, 'the leecher has a routing table');
});

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('local service discovery introduces peers of the same torrent', { timeout: 60_000 }, async () => {
  const { dir, rels, t } = await payload();
  const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
  const seeder = await Session.create({
    host: '127.0.0.1',
    downloadDir: join(dir, 'seed'),
    lsd: { multicast: false, port: pa, unicastTargets: [{ host: '127.0.0.1', port: pb }] },
  });
  sessions.push(seeder);
  const leecher = await Session.create({
    host: '127.0.0.1',
    downloadDir: join(dir, 'leech'),
    lsd: { multicast: false, port: pb, unicastTargets: [{ host: '127.0.0.1', port: pa }] },
  });
  sessions.push(leecher);
  await seeder.addTorrent(t.bytes);
  const torrent = await leecher.addTorrent(t.bytes);
  await torrent.next('done');
  assert.deepEqual(
    await treeDigests(join(dir, 'leech', 'payload'), rels),
    await treeDigests(join(dir, 'seed', 'payload'), rels),
  );
});

test('a magnet with only a tracker (tr=) finds the seeder through the tracker', {
  timeout: 60_000,
}, async () => {
  const { startTracker } = await import('../../src/tracker/index.js');
  const tracker = await startTracker({ host: '127.0.0.1', httpPort: 0, udpPort: 0, intervalS: 60 });
  try {
    const { dir, rels, t } = await payload();
    const withTracker = await createTorrent(join(dir, 'seed', 'payload'), {
      pieceLength: 32768,
      trackers: [[tracker.udpAnnounceUrl!]],
    });
    assert.deepEqual(withTracker.infoHashV1, t.infoHashV1);
    const seeder = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'seed') });
    sessions.push(seeder);
    await seeder.addTorrent(withTracker.bytes);
    const leecher = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'leech') });
    sessions.push(leecher);
    const magnet = buildMagnet({
      infoHashV1: t.infoHashV1!,
      trackers: [tracker.udpAnnounceUrl!],
      webSeeds: [],
      peers: [],
    });
    const torrent = await leecher.addMagnet(magnet);
    assert.deepEqual(torrent.metainfo.trackers, [[tracker.udpAnnounceUrl]]);
    if (!torrent.isFinished) await torrent.next('done');
    assert.deepEqual(
      await treeDigests(join(dir, 'leech', 'payload'), rels),
      await treeDigests(join(dir, 'seed', 'payload'), rels),
    );
  } finally {
    await tracker.close();
  }
});
