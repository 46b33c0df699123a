import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildMagnet, magnetFromMetainfo, parseTorrent } from '../../src/metainfo/index.js';
import { Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

describe('magnet links between Shoal nodes', () => {
  const sessions: Session[] = [];
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  for (const version of ['v1', 'v2', 'hybrid'] as const) {
    test(`a ${version} magnet with only the info-hash and x.pe fetches metadata then data`, {
      timeout: 60_000,
    }, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'shoal-magnet-'));
      dirs.push(dir);
      const rels = await writeTree(
        join(dir, 'seed', 'payload'),
        { 'x.bin': 900_000, 'sub/y.bin': 70_000 },
        3,
      );
      const t = await createTorrent(join(dir, 'seed', 'payload'), { version, pieceLength: 16384 });
      const seeder = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'seed') });
      sessions.push(seeder);
      await seeder.addTorrent(t.bytes);

      const leecher = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'leech') });
      sessions.push(leecher);
      const link = magnetFromMetainfo(parseTorrent(t.bytes));
      const uri = buildMagnet({
        ...(link.infoHashV1 ? { infoHashV1: link.infoHashV1 } : {}),
        ...(link.infoHashV2 ? { infoHashV2: link.infoHashV2 } : {}),
        trackers: [],
        webSeeds: [],
        peers: [{ host: '127.0.0.1', port: seeder.port }],
      });
      const torrent = await leecher.addMagnet(uri);
      assert.equal(torrent.metainfo.name, 'payload');
      assert.equal(torrent.id, Buffer.from((t.infoHashV1 ?? t.infoHashV2)!).toString('hex'));
      if (!torrent.isFinished) await torrent.next('done');
      if (version !== 'v1') {
        // The piece layers came over the wire (BEP 52 hash requests) and match the torrent's.
        const full = parseTorrent(t.bytes);
        assert.deepEqual(torrent.pieceLayers(), new Map(full.pieceLayers));
      }
      assert.deepEqual(
        await treeDigests(join(dir, 'leech', 'payload'), rels),
        await treeDigests(join(dir, 'seed', 'payload'), rels),
      );
    });
  }

  test('a peer added to a pending magnet is handed to the torrent once the metadata is in', {
    timeout: 60_000,
  }, async () => {
    // The fetcher's pool owner forgets its addresses when it closes; the torrent must still get
    // them, or it has no one to download from (CI caught this against libtorrent).
    const dir = await mkdtemp(join(tmpdir(), 'shoal-magnet-'));
    dirs.push(dir);
    const rels = await writeTree(join(dir, 'seed', 'payload'), { 'x.bin': 300_000 }, 5);
    const t = await createTorrent(join(dir, 'seed', 'payload'), { version: 'hybrid', pieceLength: 16384 });
    const seeder = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'seed') });
    sessions.push(seeder);
    await seeder.addTorrent(t.bytes);
    const leecher = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'leech') });
    sessions.push(leecher);
    const link = magnetFromMetainfo(parseTorrent(t.bytes));
    const adding = leecher.addMagnet(
      buildMagnet({ ...link, trackers: [], webSeeds: [], peers: [] }),
    );
    leecher.pendingMagnets()[0]!.addPeer('127.0.0.1', seeder.port);
    const torrent = await adding;
    assert.deepEqual(
      torrent.knownPeers().map((p) => p.port),
      [seeder.port],
      'the address learned while fetching metadata',
    );
    if (!torrent.isFinished) await torrent.next('done');
    assert.deepEqual(
      await treeDigests(join(dir, 'leech', 'payload'), rels),
      await treeDigests(join(dir, 'seed', 'payload'), rels),
    );
  });

  test('a magnet can be cancelled while no peer has the metadata', { timeout: 20_000 }, async () => {
    const s = await Session.create({ host: '127.0.0.1' });
    sessions.push(s);
    const ac = new AbortController();
    const p = s.addMagnet(`magnet:?xt=urn:btih:${'ab'.repeat(20)}`, { signal: ac.signal });
    assert.equal(s.pendingMagnets().length, 1);
    ac.abort();
    await assert.rejects(p);
    assert.equal(s.pendingMagnets().length, 0);
  });
});
