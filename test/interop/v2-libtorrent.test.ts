/**
 * Interop (issue 6): v2-only and hybrid torrents (BEP 52) between Shoal and python3-libtorrent 2.0
 * on 127.0.0.1, in both directions, from the .torrent file and from a v2 magnet link (piece
 * layers then come over the wire with hash requests), with sha256 equal at the end.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildMagnet, magnetFromMetainfo, parseTorrent } from '../../src/metainfo/index.js';
import { Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { ClientGroup, libtorrentMissing, logShoalTorrent, shoalDone } from '../helpers/clients.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const missing = libtorrentMissing();
if (missing !== undefined) throw new Error(missing);
const TIMEOUT_MS = 60_000;
const FILES = { 'video.bin': 9_000_000, 'docs/readme.txt': 12_345, 'docs/data.bin': 3_100_000, empty: 0 };

for (const version of ['v2', 'hybrid'] as const) {
  describe(`${version} torrents with python3-libtorrent`, () => {
    const group = new ClientGroup();
    const sessions: Session[] = [];
    let dataDir = '';
    let torrentPath = '';
    let bytes: Uint8Array = new Uint8Array();
    let rels: string[] = [];
    let digests: string[] = [];
    let magnet = '';

    before(async () => {
      const root = await group.root();
      dataDir = join(root, 'seed');
      rels = (await writeTree(join(dataDir, 'payload'), FILES, 41)).filter(
        (r) => FILES[r as keyof typeof FILES] > 0,
      );
      const t = await createTorrent(join(dataDir, 'payload'), { version, pieceLength: 256 * 1024 });
      bytes = t.bytes;
      torrentPath = join(root, 'payload.torrent');
      await writeFile(torrentPath, bytes);
      digests = await treeDigests(join(dataDir, 'payload'), rels);
      // Only the hashes: the v2 (and for hybrids the v1) info-hash, nothing else.
      const link = magnetFromMetainfo(parseTorrent(bytes));
      magnet = buildMagnet({
        ...(link.infoHashV1 ? { infoHashV1: link.infoHashV1 } : {}),
        infoHashV2: link.infoHashV2!,
        trackers: [],
        webSeeds: [],
        peers: [],
      });
    });
    after(async () => {
      await Promise.all(sessions.map((s) => s.close()));
      await group.stop();
    });

    for (const how of ['torrent', 'magnet'] as const) {
      test(`Shoal seeds, libtorrent downloads from the ${how}`, {
        timeout: TIMEOUT_MS + 15_000,
      }, async () => {
        await group.explain(async () => {
          const seeder = await Session.create({ host: '127.0.0.1', downloadDir: dataDir });
          sessions.push(seeder);
          const st = await seeder.addTorrent(bytes);
          logShoalTorrent(st, group.log(`shoal seeder (${how})`));
          assert.equal(st.state, 'seeding');
          const out = await group.dir(`lt-leech-${how}`);
          const lt = await group.libtorrent(`libtorrent leecher (${how})`, {
            torrent: torrentPath,
            ...(how === 'magnet' ? { magnet } : {}),
            saveDir: out,
            connect: [seeder.port],
            exitWhenDone: true,
          });
          await lt.waitFor('finished', TIMEOUT_MS);
          assert.equal((await lt.exited).code, 0);
          assert.deepEqual(await treeDigests(join(out, 'payload'), rels), digests);
          await seeder.close();
        });
      });

      test(`libtorrent seeds, Shoal downloads from the ${how}`, {
        timeout: TIMEOUT_MS + 15_000,
      }, async () => {
        await group.explain(async () => {
          const lt = await group.libtorrent(`libtorrent seeder (${how})`, {
            torrent: torrentPath,
            saveDir: dataDir,
            seed: true,
          });
          await lt.waitFor('ready', 30_000);
          const out = await group.dir(`shoal-leech-${how}`);
          const leecher = await Session.create({ host: '127.0.0.1', downloadDir: out });
          sessions.push(leecher);
          let t: Awaited<ReturnType<Session['addTorrent']>>;
          if (how === 'torrent') {
            t = await leecher.addTorrent(bytes);
            t.addPeer('127.0.0.1', lt.port);
          } else {
            const adding = leecher.addMagnet(magnet);
            leecher.pendingMagnets()[0]!.addPeer('127.0.0.1', lt.port);
            t = await adding;
          }
          logShoalTorrent(t, group.log(`shoal leecher (${how})`));
          await shoalDone(t, TIMEOUT_MS);
          assert.equal(t.stats().hashFailures, 0);
          if (how === 'magnet') {
            assert.deepEqual(
              t.pieceLayers(),
              new Map(parseTorrent(bytes).pieceLayers),
              'layers fetched from libtorrent',
            );
          }
          await leecher.close();
          assert.deepEqual(await treeDigests(join(out, 'payload'), rels), digests);
          await lt.stop();
        });
      });
    }
  });
}
