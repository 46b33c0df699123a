/**
 * A node started with default options listens dual-stack (issue 19): a peer on ::1 and a peer on
 * 127.0.0.1 both dial it and download, and its peer log shows each address as its own (IPv4 peers
 * as dotted quads, not IPv4-mapped IPv6).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const sessions: Session[] = [];
let dir = '';
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test('default options accept an inbound peer on ::1 and one on 127.0.0.1', { timeout: 40_000 }, async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-dual-stack-'));
  const rels = await writeTree(join(dir, 'seed', 'payload'), { 'a.bin': 500_000 }, 31);
  const t = await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: 32768 });
  // Default options: no host given (the listener is `::`, dual-stack).
  const seed = await Session.create({ downloadDir: join(dir, 'seed') });
  sessions.push(seed);
  const seeded = await seed.addTorrent(t.bytes);
  const seen: string[] = [];
  seeded.on('peer', (e) => {
    if (e.type === 'connected') seen.push(e.address);
  });
  const want = await treeDigests(join(dir, 'seed', 'payload'), rels);
  for (const [name, host] of [
    ['v6', '::1'],
    ['v4', '127.0.0.1'],
  ] as const) {
    const leech = await Session.create({ host, downloadDir: join(dir, name) });
    sessions.push(leech);
    const lt = await leech.addTorrent(t.bytes);
    const done = lt.whenDone();
    lt.addPeer(host, seed.port);
    await done;
    assert.deepEqual(await treeDigests(join(dir, name, 'payload'), rels), want);
  }
  assert.equal(seen.length, 2);
  assert.match(seen[0]!, /^\[?::1\]?:\d+$/, `the IPv6 peer: ${seen[0]}`);
  assert.match(seen[1]!, /^127\.0\.0\.1:\d+$/, `the IPv4 peer, as a dotted quad: ${seen[1]}`);
});
