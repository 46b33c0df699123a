/**
 * Interop (issue 6): one swarm for a hybrid torrent (BEP 52 + v1, padding files per BEP 47) where
 * a v1-only client (WebTorrent 3, which hashes and verifies with SHA-1 only and keeps the padding
 * files as ordinary files) and a v2-capable python3-libtorrent 2.0 peer download side by side with
 * a Shoal leecher from a Shoal seeder, and everyone completes with sha256 equal to the original.
 *
 * The Shoal seeder's upload is capped so the leechers must trade pieces among themselves:
 * WebTorrent speaks the v1 info-hash and SHA-1, libtorrent and Shoal also have the v2 hashes, and the
 * same pieces pass between both worlds.
 *
 * The Debian v1-only clients cannot join a hybrid swarm at all, whoever made the torrent
 * (libtorrent's hybrids too): Transmission 3.00 refuses any info dictionary with a `file tree`
 * ("Error parsing .torrent file"), and aria2 1.36 mis-parses the empty key of the v2 file tree
 * and derives a wrong v1 info-hash (aria2 issue #1903), even from a magnet link after fetching the
 * metadata. Their v1 interop is covered by swarm-transmission / swarm-aria2.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import { Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import {
  ClientGroup,
  libtorrentMissing,
  logShoalTorrent,
  shoalDone,
  webtorrentMissing,
} from '../helpers/clients.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

// CI installs the clients (.ci/run); without them this suite fails loudly rather than skipping.
for (const missing of [libtorrentMissing(), webtorrentMissing()]) {
  if (missing !== undefined) throw new Error(missing);
}
/** Bound of the whole swarm run (seen: ~10 s). */
const TIMEOUT_MS = 90_000;
/** Odd sizes, so the v1 view needs padding files between them. */
const FILES = { 'film.bin': 9_500_001, 'extras/cut.bin': 4_200_000, 'extras/notes.txt': 7_777 };
const PAYLOAD_BYTES = Object.values(FILES).reduce((a, b) => a + b, 0);
/** The seeder alone would need ~20 s to send each of the 3 leechers a copy at this rate. */
const SEEDER_UPLOAD_BYTES_PER_S = 2 * 1024 * 1024;
const LEECHERS = 3;

describe('a hybrid swarm: WebTorrent (v1 only), libtorrent (v2) and Shoal', () => {
  const group = new ClientGroup();
  const sessions: Session[] = [];
  let dataDir = '';
  let torrentPath = '';
  let bytes: Uint8Array = new Uint8Array();
  let rels: string[] = [];
  let digests: string[] = [];

  before(async () => {
    const root = await group.root();
    dataDir = join(root, 'seed');
    rels = await writeTree(join(dataDir, 'payload'), FILES, 77);
    const t = await createTorrent(join(dataDir, 'payload'), {
      version: 'hybrid',
      pieceLength: 256 * 1024,
    });
    bytes = t.bytes;
    torrentPath = join(root, 'payload.torrent');
    await writeFile(torrentPath, bytes);
    digests = await treeDigests(join(dataDir, 'payload'), rels);
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await group.stop();
  });

  test('every peer completes with identical files', { timeout: TIMEOUT_MS + 20_000 }, async () => {
    await group.explain(async () => {
      const meta = parseTorrent(bytes);
      assert.equal(meta.version, 'hybrid');
      assert.ok(
        meta.files.some((f) => f.isPadding),
        'the v1 view has padding files the v1 clients must handle',
      );

      const seeder = await Session.create({
        host: '127.0.0.1',
        downloadDir: dataDir,
        uploadRateLimit: SEEDER_UPLOAD_BYTES_PER_S,
      });
      sessions.push(seeder);
      const st = await seeder.addTorrent(bytes);
      logShoalTorrent(st, group.log('shoal seeder'));
      assert.equal(st.state, 'seeding');

      const wtDir = await group.dir('webtorrent');
      const wt = await group.webtorrent('webtorrent (v1 only)', {
        torrent: torrentPath,
        saveDir: wtDir,
        connect: [seeder.port],
      });
      const added = await wt.waitFor('added', 30_000);
      assert.equal(added.infoHash, Buffer.from(meta.infoHashV1!).toString('hex'), 'WebTorrent: v1 hash');

      const ltDir = await group.dir('libtorrent');
      const lt = await group.libtorrent('libtorrent (v2)', {
        torrent: torrentPath,
        saveDir: ltDir,
        connect: [seeder.port, wt.port],
        exitWhenDone: false,
      });

      const shoalDir = await group.dir('shoal-leecher');
      const leecher = await Session.create({ host: '127.0.0.1', downloadDir: shoalDir });
      sessions.push(leecher);
      const lt2 = await leecher.addTorrent(bytes);
      logShoalTorrent(lt2, group.log('shoal leecher'));
      for (const port of [seeder.port, lt.port, wt.port]) lt2.addPeer('127.0.0.1', port);

      await Promise.all([
        wt.waitFor('finished', TIMEOUT_MS),
        lt.waitFor('finished', TIMEOUT_MS),
        shoalDone(lt2, TIMEOUT_MS),
      ]);
      assert.equal(lt2.stats().hashFailures, 0, 'no bad piece reached the Shoal leecher');
      for (const [who, dir] of [
        ['webtorrent', wtDir],
        ['libtorrent', ltDir],
        ['shoal', shoalDir],
      ] as const) {
        assert.deepEqual(await treeDigests(join(dir, 'payload'), rels), digests, `${who}'s files`);
      }
      // Without trading between leechers the seeder would have sent every one a full copy.
      const seeded = st.stats().totalUploaded;
      assert.ok(
        seeded < (LEECHERS - 1) * PAYLOAD_BYTES,
        `the leechers traded pieces: the seeder sent ${seeded} bytes for ${LEECHERS} × ${PAYLOAD_BYTES}`,
      );
    });
  });
});
