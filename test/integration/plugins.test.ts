/**
 * The connection layer's plug-in points (issue 19): a new transport and a new BEP 10 extension
 * are given to a session as options, and the torrent uses them without any change to `Torrent`.
 * Two sessions talk only through an in-memory transport (no TCP dial is ever made between
 * them), run a made-up extension that greets the other side, and complete a transfer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type ExtensionFactory, Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { MemoryNetwork } from '../../src/testing/memory-transport.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const sessions: Session[] = [];
let dir = '';
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** `x_hello`: each side sends its name once the other says it speaks the extension. */
function hello(name: string, heard: string[]): ExtensionFactory {
  return () => ({
    name: 'x_hello',
    onPeerSupports: (peer) => {
      peer.send(new TextEncoder().encode(name));
    },
    onMessage: (_peer, payload) => {
      heard.push(new TextDecoder().decode(payload));
    },
  });
}

test('a memory transport and a new extension plug in through SessionOptions alone', {
  timeout: 30_000,
}, async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-plugins-'));
  const rels = await writeTree(join(dir, 'seed', 'payload'), { 'a.bin': 700_000, 'sub/b.bin': 90_000 }, 5);
  const t = await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: 32768 });
  const net = new MemoryNetwork();
  const heardBySeed: string[] = [];
  const heardByLeech: string[] = [];
  const seed = await Session.create({
    host: '127.0.0.1',
    downloadDir: join(dir, 'seed'),
    transports: [net.transport('mem-seed')],
    extensions: [hello('seed', heardBySeed)],
  });
  sessions.push(seed);
  const seeded = await seed.addTorrent(t.bytes);
  const seedConnections: string[] = [];
  seeded.on('peer', (e) => {
    if (e.type === 'connected') seedConnections.push(e.transport ?? '?');
  });
  const leech = await Session.create({
    host: '127.0.0.1',
    downloadDir: join(dir, 'leech'),
    transports: [net.transport('mem-leech')],
    extensions: [hello('leech', heardByLeech)],
  });
  sessions.push(leech);
  const torrent = await leech.addTorrent(t.bytes);
  const done = torrent.next('done');
  torrent.addPeer('mem-seed', seed.port);
  await done;
  assert.deepEqual(
    await treeDigests(join(dir, 'leech', 'payload'), rels),
    await treeDigests(join(dir, 'seed', 'payload'), rels),
  );
  assert.deepEqual(seedConnections, ['memory'], 'the only connection is the memory one');
  assert.deepEqual(heardBySeed, ['leech']);
  assert.deepEqual(heardByLeech, ['seed']);
});
