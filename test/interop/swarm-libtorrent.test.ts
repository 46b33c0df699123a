/**
 * Interop: a ~40 MiB multi-file v1 torrent created by Shoal moves between Shoal and
 * python3-libtorrent 2.0 on 127.0.0.1, in both directions, with sha256 equal at the end.
 *
 * - Shoal → libtorrent: a Shoal session seeds; a libtorrent peer (its own process,
 *   test/interop/py/lt_peer.py) dials it with `connect_peer` and exits once libtorrent has
 *   verified every piece.
 * - libtorrent → Shoal: libtorrent checks and seeds the data; a Shoal session dials it with
 *   `addPeer` and downloads until its `done` event.
 *
 * On failure the assertion message carries everything libtorrent printed and Shoal's peer
 * events.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session } from '../../src/session/index.js';
import {
  ClientGroup,
  INTEROP_FILES,
  type InteropTorrent,
  libtorrentMissing,
  logShoalTorrent,
  makeInteropTorrent,
  shoalDone,
} from '../helpers/clients.js';
import { treeDigests } from '../helpers/payload.js';

// CI installs the client (.ci/run); without it this suite fails loudly rather than skipping.
const missing = libtorrentMissing();
if (missing !== undefined) throw new Error(missing);
/** Bound of one transfer, start-up included (seen: ~3 s). */
const TRANSFER_TIMEOUT_MS = 60_000;
const PAYLOAD_BYTES = Object.values(INTEROP_FILES).reduce((a, b) => a + b, 0);

describe('swarm interop with python3-libtorrent', () => {
  const group = new ClientGroup();
  const sessions: Session[] = [];
  let fx: InteropTorrent;

  before(async () => {
    fx = await makeInteropTorrent(await group.root());
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await group.stop();
  });

  test('Shoal seeds to a libtorrent leecher', { timeout: TRANSFER_TIMEOUT_MS + 15_000 }, async () => {
    await group.explain(async () => {
      const log = group.log('shoal seeder');
      const seeder = await Session.create({ host: '127.0.0.1', port: 0, downloadDir: fx.dataDir });
      sessions.push(seeder);
      const st = await seeder.addTorrent(fx.bytes);
      logShoalTorrent(st, log);
      assert.equal(st.state, 'seeding', 'Shoal verified the seed data');

      const out = await group.dir('lt-leecher');
      const lt = await group.libtorrent('libtorrent leecher', {
        torrent: fx.torrentPath,
        saveDir: out,
        connect: [seeder.port],
        exitWhenDone: true,
      });
      const finished = await lt.waitFor('finished', TRANSFER_TIMEOUT_MS);
      const exit = await lt.exited;
      assert.equal(exit.code, 0, 'libtorrent exited cleanly');
      assert.ok(Number(finished.downloaded) >= PAYLOAD_BYTES, 'libtorrent got the whole payload');
      assert.deepEqual(
        await treeDigests(join(out, fx.name), fx.rels),
        fx.digests,
        'files equal the originals',
      );
      assert.ok(st.stats().uploadedBytes >= PAYLOAD_BYTES, 'Shoal uploaded the whole payload');
      await seeder.close();
      assert.equal(seeder.connectionCount, 0);
    });
  });

  test('Shoal downloads from a libtorrent seeder', { timeout: TRANSFER_TIMEOUT_MS + 15_000 }, async () => {
    await group.explain(async () => {
      const lt = await group.libtorrent('libtorrent seeder', {
        torrent: fx.torrentPath,
        saveDir: fx.dataDir,
        seed: true,
      });
      await lt.waitFor('ready', 30_000);

      const log = group.log('shoal leecher');
      const out = await group.dir('shoal-leecher');
      const leecher = await Session.create({ host: '127.0.0.1', port: 0, downloadDir: out });
      sessions.push(leecher);
      const t = await leecher.addTorrent(fx.bytes);
      logShoalTorrent(t, log);
      const connected = t.next('peer');
      t.addPeer('127.0.0.1', lt.port);
      const first = await connected;
      assert.equal(first.type, 'connected');
      assert.match(first.client ?? '', /libtorrent|LT/i, 'the peer id names libtorrent');
      await shoalDone(t, TRANSFER_TIMEOUT_MS);

      const s = t.stats();
      assert.equal(s.haveCount, s.pieceCount);
      assert.equal(s.leftBytes, 0);
      assert.equal(s.hashFailures, 0);
      await leecher.close();
      assert.deepEqual(
        await treeDigests(join(out, fx.name), fx.rels),
        fx.digests,
        'files equal the originals',
      );
      await lt.stop();
    });
  });
});
