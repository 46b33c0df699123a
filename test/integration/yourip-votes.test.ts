/**
 * BEP 10 `yourip` over real connections on loopback: four peers from distinct addresses say they
 * see the node at one address, and `session.externalAddress()` becomes it; then as many lying
 * peers, agreeing on another address, cannot move it (a majority is needed, not a tie).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Session, type Torrent } from '../../src/session/index.js';
import { YOURIP_VOTES_NEEDED } from '../../src/shared/limits.js';
import { createTorrent } from '../../src/storage/index.js';
import { EXTENDED_HANDSHAKE_ID, ExtensionName, encodeExtendedHandshake } from '../../src/wire/index.js';
import { writeTree } from '../helpers/payload.js';
import { ScriptedPeer } from '../helpers/scripted-peer.js';

const STEP_MS = 5_000;
let dir = '';
let node: Session;
let torrent: Torrent;
const peers: ScriptedPeer[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-yourip-'));
  await writeTree(join(dir, 'seed'), { 'a.bin': 50_000 }, 5);
  const t = await createTorrent(join(dir, 'seed', 'a.bin'), { version: 'v1', pieceLength: 16 * 1024 });
  node = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'seed'), hashThreads: 1 });
  torrent = await node.addTorrent(t.bytes);
});
after(async () => {
  for (const p of peers) p.close();
  await node.close();
  await rm(dir, { recursive: true, force: true });
});

/** A peer from `local` whose extended handshake says it sees us at `yourIp`; resolves once the node read it. */
async function claim(local: string, yourIp: readonly number[]): Promise<void> {
  const p = await ScriptedPeer.dial('127.0.0.1', node.port, { infoHash: torrent.wireInfoHash }, local);
  peers.push(p);
  p.sendHandshake();
  await p.handshake(STEP_MS);
  p.send({
    type: 'extended',
    extId: EXTENDED_HANDSHAKE_ID,
    payload: encodeExtendedHandshake({
      extensions: new Map([[ExtensionName.UtMetadata, 7]]),
      yourIp: Uint8Array.from(yourIp),
    }),
  });
  await p.roundTrip(STEP_MS); // a barrier: the handshake before it was read
}

test('yourip votes elect the external address; as many lying peers cannot move it', {
  timeout: 30_000,
}, async () => {
  assert.equal(node.externalAddress(), undefined);
  for (let i = 0; i < YOURIP_VOTES_NEEDED - 1; i++) await claim(`127.0.0.${20 + i}`, [203, 0, 113, 50]);
  assert.equal(node.externalAddress(), undefined, 'one vote short');
  await claim(`127.0.0.${20 + YOURIP_VOTES_NEEDED}`, [203, 0, 113, 50]);
  assert.equal(node.externalAddress(), '203.0.113.50');
  for (let i = 0; i < YOURIP_VOTES_NEEDED; i++) await claim(`127.0.0.${40 + i}`, [192, 0, 2, 66]);
  assert.equal(node.externalAddress(), '203.0.113.50');
});
