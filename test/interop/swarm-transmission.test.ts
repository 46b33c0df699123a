/**
 * Interop: a ~40 MiB multi-file v1 torrent created by Shoal moves between Shoal and
 * Transmission 3.00 (transmission-cli) on 127.0.0.1, in both directions, with sha256 equal at
 * the end.
 *
 * Transmission only accepts connections on loopback (it drops tracker peers at 127.0.0.0/8),
 * so Shoal dials it in both directions with `addPeer`. Transmission waits for a ~10 s timer
 * before it requests anything: each transfer takes ~15–25 s.
 *
 * - Shoal → Transmission: Shoal seeds; Transmission downloads until its finish script runs
 *   (it has verified every piece).
 * - Transmission → Shoal: Transmission checks the data and seeds; Shoal downloads until `done`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session } from '../../src/session/index.js';
import {
  ClientGroup,
  INTEROP_FILES,
  type InteropTorrent,
  logShoalTorrent,
  makeInteropTorrent,
  shoalDone,
  transmissionMissing,
} from '../helpers/clients.js';
import { treeDigests } from '../helpers/payload.js';

// CI installs the client (.ci/run); without it this suite fails loudly rather than skipping.
const missing = transmissionMissing();
if (missing !== undefined) throw new Error(missing);
/** Bound of one transfer, start-up included (seen: ~20 s). */
const TRANSFER_TIMEOUT_MS = 90_000;
const PAYLOAD_BYTES = Object.values(INTEROP_FILES).reduce((a, b) => a + b, 0);

describe('swarm interop with Transmission', () => {
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

  test('Shoal seeds to a Transmission leecher', { timeout: TRANSFER_TIMEOUT_MS + 15_000 }, async () => {
    await group.explain(async () => {
      const log = group.log('shoal seeder');
      const seeder = await Session.create({ host: '127.0.0.1', port: 0, downloadDir: fx.dataDir });
      sessions.push(seeder);
      const st = await seeder.addTorrent(fx.bytes);
      logShoalTorrent(st, log);
      assert.equal(st.state, 'seeding', 'Shoal verified the seed data');

      const out = await group.dir('transmission-leecher');
      const tr = await group.transmission('transmission leecher', {
        torrent: fx.torrentPath,
        downloadDir: out,
      });
      // It listens once it printed its first progress line.
      await tr.waitForLine((l) => l.startsWith('Progress:'), 30_000, 'start-up');
      const connected = st.next('peer');
      st.addPeer('127.0.0.1', tr.port);
      const first = await connected;
      assert.equal(first.type, 'connected', 'Shoal connected to Transmission');
      await tr.waitDone(TRANSFER_TIMEOUT_MS);

      assert.deepEqual(
        await treeDigests(join(out, fx.name), fx.rels),
        fx.digests,
        'files equal the originals',
      );
      assert.ok(st.stats().uploadedBytes >= PAYLOAD_BYTES, 'Shoal uploaded the whole payload');
      await tr.stop();
      await seeder.close();
      assert.equal(seeder.connectionCount, 0);
    });
  });

  test('Shoal downloads from a Transmission seeder', { timeout: TRANSFER_TIMEOUT_MS + 15_000 }, async () => {
    await group.explain(async () => {
      const tr = await group.transmission('transmission seeder', {
        torrent: fx.torrentPath,
        downloadDir: fx.dataDir,
      });
      await tr.waitSeeding(30_000);

      const log = group.log('shoal leecher');
      const out = await group.dir('shoal-leecher');
      const leecher = await Session.create({ host: '127.0.0.1', port: 0, downloadDir: out });
      sessions.push(leecher);
      const t = await leecher.addTorrent(fx.bytes);
      logShoalTorrent(t, log);
      const connected = t.next('peer');
      t.addPeer('127.0.0.1', tr.port);
      const first = await connected;
      assert.equal(first.type, 'connected', 'Shoal connected to Transmission');
      assert.match(first.client ?? '', /transmission|TR/i, 'the peer id names Transmission');
      await shoalDone(t, TRANSFER_TIMEOUT_MS);

      const s = t.stats();
      assert.equal(s.haveCount, s.pieceCount);
      assert.equal(s.hashFailures, 0);
      await leecher.close();
      assert.deepEqual(
        await treeDigests(join(out, fx.name), fx.rels),
        fx.digests,
        'files equal the originals',
      );
      await tr.stop();
    });
  });
});
