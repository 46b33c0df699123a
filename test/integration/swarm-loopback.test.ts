import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session as S, type Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const FILES = { 'a.bin': 3_000_000, 'nested/b.bin': 1_234_567, 'nested/deep/c.bin': 700_001, 'empty.txt': 0 };

describe('Shoal to Shoal on loopback', () => {
  let dir = '';
  const sessions: Session[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-swarm-'));
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  test('1 seeder and 5 leechers all complete with identical files', { timeout: 60_000 }, async () => {
    const rels = await writeTree(join(dir, 'seed', 'payload'), FILES, 7);
    const t = await createTorrent(join(dir, 'seed', 'payload'), { version: 'v1', pieceLength: 32768 });
    const seeder = await S.create({
      host: '127.0.0.1',
      maxConnectionsPerAddress: 100,
      downloadDir: join(dir, 'seed'),
    });
    sessions.push(seeder);
    const st = await seeder.addTorrent(t.bytes);
    assert.equal(st.state, 'seeding', 'the seeder verified its data');

    const leechers: Session[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await S.create({
        host: '127.0.0.1',
        maxConnectionsPerAddress: 100,
        downloadDir: join(dir, `leech${i}`),
      });
      sessions.push(s);
      leechers.push(s);
    }
    const torrents = await Promise.all(leechers.map((s) => s.addTorrent(t.bytes)));
    const done = torrents.map((tt) => tt.next('done'));
    torrents.forEach((tt, i) => {
      tt.addPeer('127.0.0.1', seeder.port);
      // Each leecher also knows the others, so pieces flow between leechers too.
      for (let j = 0; j < i; j++) tt.addPeer('127.0.0.1', leechers[j]!.port);
    });
    await Promise.all(done);

    const want = await treeDigests(join(dir, 'seed', 'payload'), rels);
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await treeDigests(join(dir, `leech${i}`, 'payload'), rels), want, `leecher ${i}`);
      const s = torrents[i]!.stats();
      assert.equal(s.haveCount, s.pieceCount);
      assert.equal(s.leftBytes, 0);
    }
    const uploadedByLeechers = torrents.reduce((n, tt) => n + tt.stats().uploadedBytes, 0);
    assert.ok(uploadedByLeechers > 0, 'leechers served each other');

    await Promise.all(sessions.map((s) => s.close()));
    for (const s of sessions) assert.equal(s.connectionCount, 0, 'no socket left open');
  });
});

describe('lowMemory: no hash thread', () => {
  let dir = '';
  const sessions: Session[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-lowmem-'));
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  test('a v1 download completes, checked on libuv and written from the main thread; the default leecher runs one', {
    timeout: 60_000,
  }, async () => {
    const rels = await writeTree(join(dir, 'seed', 'payload'), FILES, 11);
    const t = await createTorrent(join(dir, 'seed', 'payload'), { version: 'v1', pieceLength: 32768 });
    const seeder = await S.create({ host: '127.0.0.1', downloadDir: join(dir, 'seed'), lowMemory: true });
    sessions.push(seeder);
    assert.equal((await seeder.addTorrent(t.bytes)).state, 'seeding');
    const want = await treeDigests(join(dir, 'seed', 'payload'), rels);
    for (const lowMemory of [true, false]) {
      const out = join(dir, `leech-${lowMemory}`);
      const s = await S.create({ host: '127.0.0.1', downloadDir: out, lowMemory });
      sessions.push(s);
      const tt = await s.addTorrent(t.bytes);
      const done = tt.next('done');
      tt.addPeer('127.0.0.1', seeder.port);
      await done;
      assert.deepEqual(await treeDigests(join(out, 'payload'), rels), want, `lowMemory ${lowMemory}`);
      assert.equal(s.hashPool.storeOnThreads, !lowMemory);
      if (lowMemory) assert.equal(s.hashPool.liveThreads, 0, 'no hash thread was started');
      else assert.ok(s.hashPool.liveThreads >= 1, 'the default leecher checks and writes on a hash thread');
    }
  });
});
