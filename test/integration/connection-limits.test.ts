/**
 * Connection bounds of a torrent (src/session/torrent.ts): at most `maxConnectionsPerTorrent`
 * peers (default MAX_CONNECTIONS_PER_TORRENT) — one more is dropped without a handshake, and a
 * freed place is given again — and one connection per peer: a second connection from the same
 * address with the same peer id, opened by the same end, is refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type Torrent } from '../../src/session/index.js';
import { MAX_CONNECTIONS_PER_TORRENT } from '../../src/shared/limits.js';
import { createTorrent } from '../../src/storage/index.js';
import { writeTree } from '../helpers/payload.js';
import { ScriptedPeer, scriptedPeerId, within } from '../helpers/scripted-peer.js';

const LOCAL = '127.0.0.1';
const STEP_MS = 5_000;
const LIMIT = 2;

describe('connection limits per torrent', { timeout: 60_000 }, () => {
  let dir = '';
  let seeder: Session;
  let seeded: Torrent;
  const peers: ScriptedPeer[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-conn-limits-'));
    await writeTree(join(dir, 'seed', 'payload'), { 'a.bin': 100_000 }, 3);
    const t = await createTorrent(join(dir, 'seed', 'payload'), { version: 'v1', pieceLength: 32 * 1024 });
    seeder = await Session.create({
      host: LOCAL,
      downloadDir: join(dir, 'seed'),
      hashThreads: 1,
      maxConnectionsPerTorrent: LIMIT,
    });
    seeded = await seeder.addTorrent(t.bytes);
    assert.equal(seeded.state, 'seeding');
  });

  after(async () => {
    for (const p of peers) p.close();
    await seeder.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A scripted peer that dials the seeder and sends its handshake. */
  async function knock(peerId = scriptedPeerId()): Promise<ScriptedPeer> {
    const p = await ScriptedPeer.dial(LOCAL, seeder.port, { infoHash: seeded.wireInfoHash, peerId });
    peers.push(p);
    p.sendHandshake();
    return p;
  }

  /** Resolves once the seeder saw `n` peers leave (listening from now on). */
  function departures(n: number): Promise<void> {
    return within(
      new Promise<void>((resolve) => {
        let seen = 0;
        const on = (e: { type: string }) => {
          if (e.type === 'disconnected' && ++seen === n) {
            seeded.off('peer', on);
            resolve();
          }
        };
        seeded.on('peer', on);
      }),
      STEP_MS,
      `${n} departures`,
    );
  }

  test(`the default is MAX_CONNECTIONS_PER_TORRENT (${MAX_CONNECTIONS_PER_TORRENT})`, async () => {
    const s = await Session.create({ host: LOCAL, downloadDir: dir, hashThreads: 1 });
    try {
      assert.equal(s.options.maxConnectionsPerTorrent, MAX_CONNECTIONS_PER_TORRENT);
    } finally {
      await s.close();
    }
  });

  test('one peer more than the limit is dropped without a handshake; a freed place is given again', async () => {
    const first = await knock();
    const second = await knock();
    await first.handshake(STEP_MS);
    await second.handshake(STEP_MS);
    const third = await knock();
    await within(third.closed, STEP_MS, 'the peer over the limit is dropped');
    assert.equal(third.remoteHandshake, undefined, 'no handshake for the peer over the limit');
    const left = departures(1);
    first.close();
    await left;
    const fourth = await knock();
    await fourth.handshake(STEP_MS);
    const gone = departures(2);
    second.close();
    fourth.close();
    await gone;
    assert.equal(seeded.peers().length, 0);
  });

  test('a second connection from the same peer (same address and id) is refused', async () => {
    const id = scriptedPeerId();
    const a = await knock(id);
    await a.handshake(STEP_MS);
    const b = await knock(id);
    await within(b.closed, STEP_MS, 'the duplicate is dropped');
    assert.equal(b.remoteHandshake, undefined);
    assert.equal(a.isClosed, false, 'the first connection stays');
    a.close();
  });
});
