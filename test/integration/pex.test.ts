/**
 * Peer exchange (BEP 11): a node that only knows the seeder learns the other leechers from the
 * seeder's PEX message and connects to them. Private torrents never use PEX.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Session, type Torrent } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { writeTree } from '../helpers/payload.js';

const sessions: Session[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Resolves when `torrent` is connected to a peer listening on `port`. */
function connectedTo(torrent: Torrent, port: number, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => torrent.peers().some((p) => p.address.endsWith(`:${port}`));
    if (check()) return resolve();
    const timer = setTimeout(() => {
      torrent.off('peer', on);
      reject(new Error(`not connected to :${port} after ${ms} ms`));
    }, ms);
    const on = () => {
      if (!check()) return;
      clearTimeout(timer);
      torrent.off('peer', on);
      resolve();
    };
    torrent.on('peer', on);
  });
}

async function swarm(isPrivate: boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-pex-'));
  dirs.push(dir);
  // Enough data that nobody finishes (and drops the others) before the test looks.
  await writeTree(join(dir, 'seed', 'payload'), { 'big.bin': 24_000_000 }, 4);
  const t = await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: 262144, isPrivate });
  const make = async (name: string) => {
    const s = await Session.create({
      host: '127.0.0.1',
      downloadDir: join(dir, name),
      downloadRateLimit: 200_000,
    });
    sessions.push(s);
    return { s, t: await s.addTorrent(t.bytes) };
  };
  const seeder = await make('seed');
  const a = await make('a');
  const b = await make('b');
  a.t.addPeer('127.0.0.1', seeder.s.port);
  b.t.addPeer('127.0.0.1', seeder.s.port);
  // Wait until the seeder sees both (their listen ports are known from the BEP 10 `p` field).
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('seeder did not see both leechers')), 15_000);
    const on = () => {
      if (seeder.t.peers().length >= 2) {
        clearTimeout(timer);
        seeder.t.off('peer', on);
        resolve();
      }
    };
    seeder.t.on('peer', on);
    on();
  });
  const c = await make('c');
  c.t.addPeer('127.0.0.1', seeder.s.port);
  return { seeder, a, b, c };
}

test('a newcomer learns the other peers from the seeder through PEX', { timeout: 60_000 }, async () => {
  const { a, b, c } = await swarm(false);
  await connectedTo(c.t, a.s.port, 20_000);
  await connectedTo(c.t, b.s.port, 20_000);
});

test('private torrents do not exchange peers', { timeout: 60_000 }, async () => {
  const { seeder, a, c } = await swarm(true);
  await connectedTo(c.t, seeder.s.port, 20_000);
  await assert.rejects(connectedTo(c.t, a.s.port, 3_000), /not connected/);
});
