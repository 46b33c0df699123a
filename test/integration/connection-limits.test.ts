/**
 * Connection bounds of a torrent (src/session/torrent.ts): at most `maxConnectionsPerTorrent`
 * peers (default MAX_CONNECTIONS_PER_TORRENT) plus `incomingConnectionSlack` peers that dialled
 * us (default INCOMING_CONNECTION_SLACK) — one more is dropped without a handshake, and a freed
 * place is given again — and one connection per peer: a second connection from the same address
 * with the same peer id, opened by the same end, is refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type Torrent } from '../../src/session/index.js';
import { INCOMING_CONNECTION_SLACK, MAX_CONNECTIONS_PER_TORRENT } from '../../src/shared/limits.js';
import { createTorrent } from '../../src/storage/index.js';
import { writeTree } from '../helpers/payload.js';
import { ScriptedPeer, scriptedPeerId, within } from '../helpers/scripted-peer.js';

const LOCAL = '127.0.0.1';
const STEP_MS = 5_000;
const LIMIT = 2;
const SLACK = 1;

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
      incomingConnectionSlack: SLACK,
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
      assert.equal(s.options.incomingConnectionSlack, INCOMING_CONNECTION_SLACK);
    } finally {
      await s.close();
    }
  });

  test('one incoming peer more than the limit plus the slack is dropped without a handshake; a freed place is given again', async () => {
    const first = await knock();
    const second = await knock();
    await first.handshake(STEP_MS);
    await second.handshake(STEP_MS);
    // At the limit: a peer that dials us still gets one of the SLACK places.
    const third = await knock();
    await third.handshake(STEP_MS);
    assert.equal(seeded.peers().length, LIMIT + SLACK);
    const fourth = await knock();
    await within(fourth.closed, STEP_MS, 'the peer over the limit and the slack is dropped');
    assert.equal(fourth.remoteHandshake, undefined, 'no handshake for the peer over the limit');
    const left = departures(1);
    first.close();
    await left;
    const fifth = await knock();
    await fifth.handshake(STEP_MS);
    const gone = departures(3);
    second.close();
    third.close();
    fifth.close();
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
