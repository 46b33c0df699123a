/**
 * Issue 18, bug 5: the README's `await torrent.next('done')` hung forever when the data was
 * already complete, and never rejected when the torrent failed. `torrent.whenDone()` resolves at
 * once for complete data, when the download completes, and rejects when the torrent fails or is
 * closed first.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session } from '../../src/session/index.js';
import { ErrorCode, isShoalError } from '../../src/shared/errors.js';
import { createTorrent } from '../../src/storage/index.js';
import { writeTree } from '../helpers/payload.js';

describe('torrent.whenDone()', () => {
  let dir = '';
  let bytes: Uint8Array;
  const sessions: Session[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-when-done-'));
    await writeTree(join(dir, 'seed', 'payload'), { 'a.bin': 300_000 }, 9);
    bytes = (await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: 32768 })).bytes;
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  test('resolves at once when the data is already complete', { timeout: 20_000 }, async () => {
    const s = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'seed') });
    sessions.push(s);
    const t = await s.addTorrent(bytes);
    assert.equal(t.state, 'seeding');
    await t.whenDone();
  });

  test('resolves when a download completes', { timeout: 30_000 }, async () => {
    const seed = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'seed') });
    const leech = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'leech') });
    sessions.push(seed, leech);
    await seed.addTorrent(bytes);
    const t = await leech.addTorrent(bytes);
    const done = t.whenDone();
    t.addPeer('127.0.0.1', seed.port);
    await done;
    assert.equal(t.isFinished, true);
  });

  test('rejects with the error when the torrent fails (its folder cannot be made)', {
    timeout: 20_000,
  }, async () => {
    const notADir = join(dir, 'a-file');
    await writeFile(notADir, 'not a folder');
    const s = await Session.create({ host: '127.0.0.1', downloadDir: join(notADir, 'below') });
    sessions.push(s);
    const t = await s.addTorrent(bytes);
    assert.equal(t.state, 'error');
    await assert.rejects(t.whenDone(), (e: Error) => e === t.error);
  });

  test('rejects when the torrent is closed before it is done', { timeout: 20_000 }, async () => {
    const s = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'nowhere') });
    sessions.push(s);
    const t = await s.addTorrent(bytes);
    const waiting = t.whenDone();
    await s.removeTorrent(t.id);
    await assert.rejects(waiting, (e: unknown) => isShoalError(e, ErrorCode.SessionClosed));
  });
});
