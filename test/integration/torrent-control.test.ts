/**
 * The library's control of one torrent (issue 18): pause and resume, adding paused, a recheck
 * that finds damage on disk and repairs it, and a read stream of a file that fetches the pieces
 * it needs first.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type Torrent } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

describe('torrent control: pause, resume, recheck, read streams', () => {
  let dir = '';
  let bytes: Uint8Array;
  let rels: string[];
  const sessions: Session[] = [];
  const PIECE = 32768;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-control-'));
    rels = await writeTree(join(dir, 'seed', 'payload'), { 'a.bin': 1_500_000, 'b.bin': 400_000 }, 41);
    bytes = (await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: PIECE })).bytes;
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function node(name: string, options: Parameters<typeof Session.create>[0] = {}): Promise<Session> {
    const s = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, name), ...options });
    sessions.push(s);
    return s;
  }

  function nextState(t: Torrent, state: string): Promise<void> {
    return new Promise((resolve) => {
      const on = (e: { state: string }) => {
        if (e.state !== state) return;
        t.off('state', on);
        resolve();
      };
      t.on('state', on);
    });
  }

  test('pause closes every connection and stops; resume finishes the download', {
    timeout: 40_000,
  }, async () => {
    const seed = await node('seed', { uploadRateLimit: 400_000 });
    const seeded = await seed.addTorrent(bytes);
    const leech = await node('leech-pause');
    const t = await leech.addTorrent(bytes);
    t.addPeer('127.0.0.1', seed.port);
    await t.next('piece');
    const closed = seeded.next('peer');
    await t.pause();
    assert.equal(t.state, 'paused');
    assert.equal(t.isPaused, true);
    assert.equal(t.peers().length, 0);
    const e = await closed;
    assert.equal(e.type, 'disconnected', 'the seeder saw the connection close');
    const haveAtPause = t.stats().haveCount;
    const bytesAtPause = t.stats().downloadedBytes;
    assert.ok(haveAtPause < t.stats().pieceCount, 'paused mid-download');
    // A paused torrent refuses the seeder's dial.
    const refusedDial = seeded.next('peer');
    seeded.addPeer('127.0.0.1', leech.port);
    assert.equal((await refusedDial).type, 'refused');
    assert.equal(t.stats().downloadedBytes, bytesAtPause, 'nothing more arrived while paused');
    t.resume();
    assert.equal(t.state, 'downloading');
    await t.whenDone();
    assert.deepEqual(
      await treeDigests(join(dir, 'leech-pause', 'payload'), rels),
      await treeDigests(join(dir, 'seed', 'payload'), rels),
    );
  });

  test('a torrent added paused connects to nobody until resumed', { timeout: 30_000 }, async () => {
    const seed = await node('seed');
    const seeded = await seed.addTorrent(bytes);
    const leech = await node('leech-added-paused');
    const t = await leech.addTorrent(bytes, { paused: true });
    assert.equal(t.state, 'paused');
    t.addPeer('127.0.0.1', seed.port);
    const connected = seeded.next('peer');
    t.resume();
    assert.equal((await connected).type, 'connected');
    await t.whenDone();
  });

  test('recheck finds a damaged piece on disk and the torrent fetches it again', {
    timeout: 40_000,
  }, async () => {
    const seed = await node('seed');
    await seed.addTorrent(bytes);
    const leech = await node('leech-recheck');
    const t = await leech.addTorrent(bytes);
    t.addPeer('127.0.0.1', seed.port);
    await t.whenDone();
    const file = join(dir, 'leech-recheck', 'payload', 'a.bin');
    const fh = await open(file, 'r+');
    await fh.write(Buffer.alloc(100, 0x42), 0, 100, PIECE * 3 + 10); // inside piece 3
    await fh.close();
    const checking = nextState(t, 'checking');
    const rechecked = t.recheck();
    await checking;
    await rechecked;
    assert.equal(t.checkProgress, 1);
    assert.equal(t.stats().haveCount, t.stats().pieceCount - 1, 'exactly the damaged piece is missing');
    assert.equal(t.bitfield().get(3), false);
    assert.equal(t.state, 'downloading');
    await t.whenDone();
    assert.deepEqual(
      await treeDigests(join(dir, 'leech-recheck', 'payload'), rels),
      await treeDigests(join(dir, 'seed', 'payload'), rels),
    );
  });

  test('a read stream of a range fetches what it needs first and returns the right bytes', {
    timeout: 40_000,
  }, async () => {
    const seed = await node('seed', { uploadRateLimit: 600_000 });
    await seed.addTorrent(bytes);
    const leech = await node('leech-stream');
    const t = await leech.addTorrent(bytes);
    const files = t.files();
    assert.deepEqual(
      files.map((f) => [f.index, f.path.at(-1), f.length]),
      [
        [0, 'a.bin', 1_500_000],
        [1, 'b.bin', 400_000],
      ],
    );
    t.addPeer('127.0.0.1', seed.port);
    const start = 1_000_000;
    const end = 1_234_566;
    const chunks: Buffer[] = [];
    for await (const c of t.createReadStream(0, { start, end })) chunks.push(c as Buffer);
    const got = Buffer.concat(chunks);
    const want = (await readFile(join(dir, 'seed', 'payload', 'a.bin'))).subarray(start, end + 1);
    assert.equal(got.length, end - start + 1);
    assert.equal(
      createHash('sha256').update(got).digest('hex'),
      createHash('sha256').update(want).digest('hex'),
    );
    assert.ok(t.stats().haveCount < t.stats().pieceCount, 'the range came before the whole torrent');
    assert.throws(() => t.createReadStream(2), /has no file 2/);
    assert.throws(() => t.createReadStream(1, { start: 0, end: 400_000 }), /outside file 1/);
  });
});
