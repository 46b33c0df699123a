/**
 * Interop: a ~40 MiB multi-file v1 torrent created by Shoal moves from Shoal to aria2 1.36 on
 * 127.0.0.1, with sha256 equal at the end.
 *
 * aria2 finds BitTorrent peers only through trackers or the DHT (there is no flag to make it
 * dial a given peer) but accepts incoming connections, so the Shoal seeder dials it. aria2
 * runs with `--seed-time=0` and exits on its own once every piece is verified.
 *
 * aria2 announces new pieces in mid-connection with its whole BITFIELD (or HAVE ALL once
 * complete) whenever that is shorter than the HAVE messages it replaces
 * (DefaultBtInteractive::checkHave: `5 + bitfield length <= 9 × new pieces`). It does so most
 * reliably right after connecting when it already holds pieces: its first message is a
 * BITFIELD, and the pieces it had count as new for the next check, so a second BITFIELD
 * follows within milliseconds. The second test starts aria2 with one file of the torrent
 * already in place (`--check-integrity`), three times, and checks that Shoal keeps the
 * connection every time.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session } from '../../src/session/index.js';
import {
  aria2Missing,
  ClientGroup,
  INTEROP_FILES,
  type InteropTorrent,
  logShoalTorrent,
  makeInteropTorrent,
} from '../helpers/clients.js';
import { treeDigests } from '../helpers/payload.js';

// CI installs the client (.ci/run); without it this suite fails loudly rather than skipping.
const missing = aria2Missing();
if (missing !== undefined) throw new Error(missing);
/** Bound of one transfer, start-up included (seen: ~5 s). */
const TRANSFER_TIMEOUT_MS = 60_000;
const PAYLOAD_BYTES = Object.values(INTEROP_FILES).reduce((a, b) => a + b, 0);
/** aria2 leechers started with part of the data in the second test. */
const PREFILLED_ROUNDS = 3;

describe('swarm interop with aria2', () => {
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

  test('Shoal seeds to an aria2 leecher', { timeout: TRANSFER_TIMEOUT_MS + 15_000 }, async () => {
    await group.explain(async () => {
      const log = group.log('shoal seeder');
      const seeder = await Session.create({ host: '127.0.0.1', port: 0, downloadDir: fx.dataDir });
      sessions.push(seeder);
      const st = await seeder.addTorrent(fx.bytes);
      logShoalTorrent(st, log);
      assert.equal(st.state, 'seeding', 'Shoal verified the seed data');

      const out = await group.dir('aria2-leecher');
      const aria = await group.aria2('aria2 leecher', { torrent: fx.torrentPath, downloadDir: out });
      await aria.waitListening(30_000);
      const connected = st.next('peer');
      st.addPeer('127.0.0.1', aria.port);
      const first = await connected;
      assert.equal(first.type, 'connected', 'Shoal connected to aria2');
      assert.match(first.client ?? '', /aria2/i, 'the peer id names aria2');
      await aria.waitDone(TRANSFER_TIMEOUT_MS);
      const exit = await aria.exited;
      assert.equal(exit.code, 0, 'aria2 reports success');
      assert.ok(
        aria.lines.some((l) => /\|OK\s*\|/.test(l)),
        'aria2 lists the download as OK',
      );

      assert.deepEqual(
        await treeDigests(join(out, fx.name), fx.rels),
        fx.digests,
        'files equal the originals',
      );
      // aria2's only source was Shoal (the digests prove the bytes came from it); blocks in flight
      // on a connection that closed are not counted as uploaded, so only check it counted some.
      assert.ok(st.stats().uploadedBytes > PAYLOAD_BYTES / 2, 'Shoal counted the upload');
      await seeder.close();
      assert.equal(seeder.connectionCount, 0);
    });
  });

  test('Shoal keeps its connection to aria2 when aria2 sends BITFIELD in place of HAVEs', {
    timeout: TRANSFER_TIMEOUT_MS + 15_000,
  }, async () => {
    await group.explain(async () => {
      const log = group.log('shoal seeder (aria2 with part of the data)');
      const seeder = await Session.create({ host: '127.0.0.1', port: 0, downloadDir: fx.dataDir });
      sessions.push(seeder);
      const st = await seeder.addTorrent(fx.bytes);
      logShoalTorrent(st, log);
      const deadline = performance.now() + TRANSFER_TIMEOUT_MS;
      for (let round = 1; round <= PREFILLED_ROUNDS; round++) {
        const events: { type: string; reason?: string }[] = [];
        const onPeer = (e: { type: string; reason?: string }) => events.push(e);
        st.on('peer', onPeer);
        const out = await group.dir(`aria2-prefilled-${round}`);
        await mkdir(join(out, fx.name), { recursive: true });
        await copyFile(join(fx.dataDir, fx.name, 'big.bin'), join(out, fx.name, 'big.bin'));
        const aria = await group.aria2(`aria2 leecher with big.bin (round ${round})`, {
          torrent: fx.torrentPath,
          downloadDir: out,
          checkIntegrity: true,
        });
        await aria.waitListening(30_000);
        st.addPeer('127.0.0.1', aria.port);
        await aria.waitDone(Math.max(1, deadline - performance.now()));
        // What happened while aria2 downloaded (once done, either side may hang up;
        // 'redundant' — both complete — is the one legitimate reason to).
        const dropped = events.filter((e) => e.type === 'disconnected' && e.reason !== 'redundant');
        st.off('peer', onPeer);
        assert.equal((await aria.exited).code, 0, 'aria2 reports success');
        assert.deepEqual(
          await treeDigests(join(out, fx.name), fx.rels),
          fx.digests,
          'files equal the originals',
        );
        assert.deepEqual(
          dropped,
          [],
          `round ${round}: Shoal must take a BITFIELD / HAVE ALL after the first message as HAVEs, not close the connection`,
        );
      }
      await seeder.close();
    });
  });
});
