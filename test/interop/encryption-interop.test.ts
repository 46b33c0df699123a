/**
 * Interop with encryption required (issue 19): Shoal with `encryption: 'require'` moves a
 * ~40 MiB v1 torrent to and from real clients that require MSE/PE too, each direction with
 * sha256 equal at the end, and every connection is encrypted (RC4):
 * - python3-libtorrent with out_enc_policy / in_enc_policy forced and RC4 only (both dial);
 * - Transmission with `encryption: 2` (required); it accepts only, so Shoal dials it;
 * - aria2 with `--bt-require-crypto=true` (RC4); it accepts only, so Shoal dials it;
 * - WebTorrent with its default `secure` (1: MSE, falling back to plaintext), dialling Shoal
 *   and dialled by it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type Torrent } from '../../src/session/index.js';
import {
  ClientGroup,
  type InteropTorrent,
  libtorrentMissing,
  logShoalTorrent,
  makeInteropTorrent,
  shoalDone,
} from '../helpers/clients.js';
import { treeDigests } from '../helpers/payload.js';

const missing = libtorrentMissing();
if (missing !== undefined) throw new Error(missing);
/** Bound of one transfer, start-up included (Transmission waits ~10 s before it asks for data). */
const TRANSFER_TIMEOUT_MS = 90_000;

describe('interop with encryption required', () => {
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

  /** A Shoal seeder that requires encryption, checked to be seeding. */
  async function shoalSeeder(name: string): Promise<{ session: Session; torrent: Torrent }> {
    const session = await Session.create({
      host: '127.0.0.1',
      downloadDir: fx.dataDir,
      encryption: 'require',
    });
    sessions.push(session);
    const torrent = await session.addTorrent(fx.bytes);
    logShoalTorrent(torrent, group.log(name));
    assert.equal(torrent.state, 'seeding');
    return { session, torrent };
  }

  /** A Shoal leecher that requires encryption. */
  async function shoalLeecher(name: string): Promise<{ session: Session; torrent: Torrent; dir: string }> {
    const dir = await group.dir(name.replaceAll(' ', '-'));
    const session = await Session.create({ host: '127.0.0.1', downloadDir: dir, encryption: 'require' });
    sessions.push(session);
    const torrent = await session.addTorrent(fx.bytes);
    logShoalTorrent(torrent, group.log(name));
    return { session, torrent, dir };
  }

  /** Every connection the torrent made or accepted is encrypted (resolves at the first one). */
  function firstConnection(t: Torrent): Promise<{ encrypted: boolean; client: string }> {
    return new Promise((resolve) => {
      const on = (e: { type: string; encrypted?: boolean; client?: string }) => {
        if (e.type !== 'connected') return;
        t.off('peer', on);
        resolve({ encrypted: e.encrypted === true, client: e.client ?? '' });
      };
      t.on('peer', on);
    });
  }

  async function leecherGotIt(dir: string): Promise<void> {
    assert.deepEqual(await treeDigests(join(dir, fx.name), fx.rels), fx.digests, 'files equal the originals');
  }

  test('libtorrent (RC4 forced) dials a Shoal seeder', {
    timeout: TRANSFER_TIMEOUT_MS + 15_000,
  }, async () => {
    await group.explain(async () => {
      const { session, torrent } = await shoalSeeder('shoal seeder (libtorrent)');
      const conn = firstConnection(torrent);
      const out = await group.dir('lt-leecher');
      const lt = await group.libtorrent('libtorrent leecher', {
        torrent: fx.torrentPath,
        saveDir: out,
        connect: [session.port],
        exitWhenDone: true,
        requireRc4: true,
      });
      assert.equal((await conn).encrypted, true, 'the connection is encrypted');
      await lt.waitFor('finished', TRANSFER_TIMEOUT_MS);
      assert.equal((await lt.exited).code, 0);
      await leecherGotIt(out);
    });
  });

  test('Shoal dials a libtorrent seeder (RC4 forced)', {
    timeout: TRANSFER_TIMEOUT_MS + 15_000,
  }, async () => {
    await group.explain(async () => {
      const lt = await group.libtorrent('libtorrent seeder', {
        torrent: fx.torrentPath,
        saveDir: fx.dataDir,
        seed: true,
        requireRc4: true,
      });
      await lt.waitFor('ready', 30_000);
      const { torrent, dir } = await shoalLeecher('shoal leecher (libtorrent)');
      const conn = firstConnection(torrent);
      torrent.addPeer('127.0.0.1', lt.port);
      assert.equal((await conn).encrypted, true, 'the connection is encrypted');
      await shoalDone(torrent, TRANSFER_TIMEOUT_MS);
      await leecherGotIt(dir);
      await lt.stop();
    });
  });

  test('Shoal seeds to Transmission (encryption required)', {
    timeout: TRANSFER_TIMEOUT_MS + 15_000,
  }, async () => {
    await group.explain(async () => {
      const { torrent } = await shoalSeeder('shoal seeder (transmission)');
      const out = await group.dir('tr-leecher');
      const tr = await group.transmission('transmission leecher', {
        torrent: fx.torrentPath,
        downloadDir: out,
        encryption: 2,
      });
      await tr.waitForLine((l) => l.startsWith('Progress:'), 30_000, 'start-up');
      const conn = firstConnection(torrent);
      torrent.addPeer('127.0.0.1', tr.port);
      const c = await conn;
      assert.equal(c.encrypted, true, 'the connection is encrypted');
      await tr.waitDone(TRANSFER_TIMEOUT_MS);
      await leecherGotIt(out);
      await tr.stop();
    });
  });

  test('Shoal downloads from Transmission (encryption required)', {
    timeout: TRANSFER_TIMEOUT_MS + 15_000,
  }, async () => {
    await group.explain(async () => {
      const tr = await group.transmission('transmission seeder', {
        torrent: fx.torrentPath,
        downloadDir: fx.dataDir,
        encryption: 2,
      });
      await tr.waitSeeding(30_000);
      const { torrent, dir } = await shoalLeecher('shoal leecher (transmission)');
      const conn = firstConnection(torrent);
      torrent.addPeer('127.0.0.1', tr.port);
      const c = await conn;
      assert.equal(c.encrypted, true, 'the connection is encrypted');
      assert.match(c.client, /transmission|TR/i);
      await shoalDone(torrent, TRANSFER_TIMEOUT_MS);
      await leecherGotIt(dir);
      await tr.stop();
    });
  });

  test('Shoal seeds to aria2 (crypto required)', { timeout: TRANSFER_TIMEOUT_MS + 15_000 }, async () => {
    await group.explain(async () => {
      const { torrent } = await shoalSeeder('shoal seeder (aria2)');
      const out = await group.dir('aria2-leecher');
      const aria = await group.aria2('aria2 leecher', {
        torrent: fx.torrentPath,
        downloadDir: out,
        requireCrypto: true,
      });
      await aria.waitListening(30_000);
      const conn = firstConnection(torrent);
      torrent.addPeer('127.0.0.1', aria.port);
      const c = await conn;
      assert.equal(c.encrypted, true, 'the connection is encrypted');
      assert.match(c.client, /aria2/i);
      await aria.waitDone(TRANSFER_TIMEOUT_MS);
      assert.equal((await aria.exited).code, 0);
      await leecherGotIt(out);
    });
  });

  test('Shoal downloads from aria2 (crypto required)', {
    timeout: TRANSFER_TIMEOUT_MS + 15_000,
  }, async () => {
    await group.explain(async () => {
      const aria = await group.aria2('aria2 seeder', {
        torrent: fx.torrentPath,
        downloadDir: fx.dataDir,
        checkIntegrity: true,
        requireCrypto: true,
        seed: true,
      });
      await aria.waitListening(30_000);
      const { torrent, dir } = await shoalLeecher('shoal leecher (aria2)');
      const conn = firstConnection(torrent);
      torrent.addPeer('127.0.0.1', aria.port);
      assert.equal((await conn).encrypted, true, 'the connection is encrypted');
      await shoalDone(torrent, TRANSFER_TIMEOUT_MS);
      await leecherGotIt(dir);
      await aria.stop();
    });
  });

  test('WebTorrent (default secure) dials a Shoal seeder', {
    timeout: TRANSFER_TIMEOUT_MS + 15_000,
  }, async () => {
    await group.explain(async () => {
      const { session, torrent } = await shoalSeeder('shoal seeder (webtorrent)');
      const conn = firstConnection(torrent);
      const out = await group.dir('wt-leecher');
      const wt = await group.webtorrent('webtorrent leecher', {
        torrent: fx.torrentPath,
        saveDir: out,
        connect: [session.port],
        secure: 1,
      });
      assert.equal((await conn).encrypted, true, 'the connection is encrypted');
      await wt.waitFor('finished', TRANSFER_TIMEOUT_MS);
      await leecherGotIt(out);
      await wt.stop();
    });
  });

  test('Shoal dials a WebTorrent seeder (default secure)', {
    timeout: TRANSFER_TIMEOUT_MS + 15_000,
  }, async () => {
    await group.explain(async () => {
      const wt = await group.webtorrent('webtorrent seeder', {
        torrent: fx.torrentPath,
        saveDir: fx.dataDir,
        seed: true,
        secure: 1,
      });
      await wt.waitFor('ready', 30_000);
      const { torrent, dir } = await shoalLeecher('shoal leecher (webtorrent)');
      const conn = firstConnection(torrent);
      torrent.addPeer('127.0.0.1', wt.port);
      assert.equal((await conn).encrypted, true, 'the connection is encrypted');
      await shoalDone(torrent, TRANSFER_TIMEOUT_MS);
      await leecherGotIt(dir);
      await wt.stop();
    });
  });
});
