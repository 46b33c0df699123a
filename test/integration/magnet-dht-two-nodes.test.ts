/**
 * Issue 18, bug 2: a magnet never resolved between two Shoal nodes that bootstrap their DHTs
 * from each other. The seed announces to the only other node, the downloader, which stores it;
 * the downloader's lookups never ask the node they run on, and it did not announce either. Now
 * a magnet (and a torrent's DHT loop) also reads its own node's peer store.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { getEventListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LOOPBACK_DHT_NODE_OPTIONS } from '../../src/discovery/index.js';
import { buildMagnet, magnetFromMetainfo, parseTorrent } from '../../src/metainfo/index.js';
import { Session } from '../../src/session/index.js';
import { abortableDelay } from '../../src/session/torrent-discovery.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

/** A UDP port free right now on 127.0.0.1 (each node must name the other's before both run). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sessions: Session[] = [];
let dir = '';
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test('a magnet resolves between two nodes that only know each other on the DHT', {
  timeout: 60_000,
}, async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-magnet-dht-'));
  const rels = await writeTree(join(dir, 'seed', 'payload'), { 'a.bin': 400_000 }, 4);
  const t = await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: 32768 });
  const [portA, portB] = [await freeUdpPort(), await freeUdpPort()];
  const dht = (port: number, other: number) => ({
    port,
    bootstrap: [{ host: '127.0.0.1', port: other }],
    node: LOOPBACK_DHT_NODE_OPTIONS,
  });
  const seed = await Session.create({
    host: '127.0.0.1',
    downloadDir: join(dir, 'seed'),
    dht: dht(portA, portB),
  });
  sessions.push(seed);
  const leech = await Session.create({
    host: '127.0.0.1',
    downloadDir: join(dir, 'leech'),
    dht: dht(portB, portA),
  });
  sessions.push(leech);
  await seed.addTorrent(t.bytes);
  const link = magnetFromMetainfo(parseTorrent(t.bytes));
  const uri = buildMagnet({ infoHashV1: link.infoHashV1!, trackers: [], webSeeds: [], peers: [] });
  const torrent = await leech.addMagnet(uri);
  await torrent.whenDone();
  assert.deepEqual(
    await treeDigests(join(dir, 'leech', 'payload'), rels),
    await treeDigests(join(dir, 'seed', 'payload'), rels),
  );
});

test('a wait between DHT rounds leaves no abort listener behind', async () => {
  const ac = new AbortController();
  for (let i = 0; i < 20; i++) await abortableDelay(1, ac.signal);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});
