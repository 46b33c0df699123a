/**
 * Interop over uTP through Shoal's whole stack: a Session with `transportPolicy: 'utp-only'` (TCP
 * neither listened on nor dialled) moves the ~40 MiB interop torrent to and from
 * python3-libtorrent restricted to uTP (TCP off both ways), so no TCP fallback can hide a
 * failure; and downloads it from a Transmission 3.00 seeder over uTP (libutp). sha256 of every
 * file equal at the end.
 *
 * - Shoal → libtorrent: the libtorrent leecher dials the Shoal seeder's port (UDP side) and exits
 *   once it has verified every piece. libtorrent opens with MSE, which Shoal's inbound stage
 *   takes over uTP as over TCP.
 * - libtorrent → Shoal: the Shoal leecher dials the libtorrent seeder.
 * - Transmission → Shoal: Transmission (uTP on) seeds; the Shoal leecher dials it over uTP.
 *
 * On failure the assertion message carries every client's output and Shoal's peer events.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type Torrent } from '../../src/session/index.js';
import {
  ClientGroup,
  INTEROP_FILES,
  type InteropTorrent,
  libtorrentMissing,
  logShoalTorrent,
  makeInteropTorrent,
  shoalDone,
  transmissionMissing,
} from '../helpers/clients.js';
import { treeDigests } from '../helpers/payload.js';

const missing = libtorrentMissing() ?? transmissionMissing();
if (missing !== undefined) throw new Error(missing);
/** Bound of one transfer, start-up included (Transmission alone waits ~15 s before requesting). */
const TRANSFER_TIMEOUT_MS = 120_000;
const PAYLOAD_BYTES = Object.values(INTEROP_FILES).reduce((a, b) => a + b, 0);

/** The transport of the torrent's first connection. */
function firstTransport(t: Torrent): Promise<string | undefined> {
  return new Promise((resolve) => {
    const on = (e: Parameters<Parameters<Torrent['on']>[1]>[0]) => {
      const entry = e as { type: string; transport?: string };
      if (entry.type !== 'connected') return;
      t.off('peer', on);
      resolve(entry.transport);
    };
    t.on('peer', on);
  });
}

describe('uTP interop through the session (libtorrent uTP only, Transmission)', () => {
  const group = new ClientGroup();
  const sessions: Session[] = [];
  let fx: InteropTorrent;

  before(async () => {
    fx = await makeInteropTorrent(await group.root(), 23);
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await group.stop();
  });

  test('Shoal seeds to a uTP-only libtorrent leecher', {
    timeout: TRANSFER_TIMEOUT_MS + 15_000,
  }, async () => {
    await group.explain(async () => {
      const log = group.log('shoal seeder (utp-only)');
      const seeder = await Session.create({
        host: '127.0.0.1',
        downloadDir: fx.dataDir,
        transportPolicy: 'utp-only',
      });
      sessions.push(seeder);
      const st = await seeder.addTorrent(fx.bytes);
      logShoalTorrent(st, log);
      const transport = firstTransport(st);
      const out = await group.dir('lt-leecher');
      const lt = await group.libtorrent('libtorrent leecher (uTP only)', {
        torrent: fx.torrentPath,
        saveDir: out,
        connect: [seeder.port],
        exitWhenDone: true,
        utpOnly: true,
      });
      const finished = await lt.waitFor('finished', TRANSFER_TIMEOUT_MS);
      assert.equal((await lt.exited).code, 0, 'libtorrent exited cleanly');
      assert.equal(await transport, 'utp');
      assert.ok(Number(finished.downloaded) >= PAYLOAD_BYTES, 'libtorrent got the whole payload');
      assert.deepEqual(await treeDigests(join(out, fx.name), fx.rels), fx.digests, 'files equal');
      assert.ok(st.stats().uploadedBytes >= PAYLOAD_BYTES, 'Shoal uploaded the whole payload');
    });
  });

  test('Shoal downloads from a uTP-only libtorrent seeder', {
    timeout: TRANSFER_TIMEOUT_MS + 15_000,
  }, async () => {
    await group.explain(async () => {
      const lt = await group.libtorrent('libtorrent seeder (uTP only)', {
        torrent: fx.torrentPath,
        saveDir: fx.dataDir,
        seed: true,
        utpOnly: true,
      });
      await lt.waitFor('ready', 30_000);
      const log = group.log('shoal leecher (utp-only)');
      const out = await group.dir('shoal-from-lt');
      const leecher = await Session.create({
        host: '127.0.0.1',
        downloadDir: out,
        transportPolicy: 'utp-only',
      });
      sessions.push(leecher);
      const t = await leecher.addTorrent(fx.bytes);
      logShoalTorrent(t, log);
      const transport = firstTransport(t);
      t.addPeer('127.0.0.1', lt.port);
      assert.equal(await transport, 'utp');
      await shoalDone(t, TRANSFER_TIMEOUT_MS);
      assert.equal(t.stats().hashFailures, 0);
      await leecher.close();
      assert.deepEqual(await treeDigests(join(out, fx.name), fx.rels), fx.digests, 'files equal');
      await lt.stop();
    });
  });

  test('Shoal downloads from a Transmission seeder over uTP', {
    timeout: TRANSFER_TIMEOUT_MS + 30_000,
  }, async () => {
    await group.explain(async () => {
      const tr = await group.transmission('transmission seeder (uTP on)', {
        torrent: fx.torrentPath,
        downloadDir: fx.dataDir,
        utp: true,
      });
      await tr.waitSeeding(60_000);
      const log = group.log('shoal leecher from transmission (utp-only)');
      const out = await group.dir('shoal-from-tr');
      const leecher = await Session.create({
        host: '127.0.0.1',
        downloadDir: out,
        transportPolicy: 'utp-only',
      });
      sessions.push(leecher);
      const t = await leecher.addTorrent(fx.bytes);
      logShoalTorrent(t, log);
      const transport = firstTransport(t);
      t.addPeer('127.0.0.1', tr.port);
      assert.equal(await transport, 'utp');
      await shoalDone(t, TRANSFER_TIMEOUT_MS);
      assert.equal(t.stats().hashFailures, 0);
      await leecher.close();
      assert.deepEqual(await treeDigests(join(out, fx.name), fx.rels), fx.digests, 'files equal');
    });
  });
});
