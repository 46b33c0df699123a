/**
 * Interop (issue 5): no tracker anywhere. python3-libtorrent sessions and Shoal nodes form one
 * DHT on 127.0.0.1 (bootstrapped to a Shoal DHT testnet); a torrent seeded by libtorrent is
 * fetched by Shoal from a magnet link holding only the info-hash, and a torrent seeded by Shoal
 * is fetched by libtorrent the same way.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createDhtTestnet, type DhtTestnet, LOOPBACK_DHT_NODE_OPTIONS } from '../../src/discovery/index.js';
import { buildMagnet, magnetFromMetainfo, parseTorrent } from '../../src/metainfo/index.js';
import { Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const PY = '/usr/bin/python3';
const SCRIPT = new URL('./py/lt_dht_peer.py', import.meta.url).pathname;
const procs: ChildProcess[] = [];
const sessions: Session[] = [];
const nets: DhtTestnet[] = [];
const dirs: string[] = [];
after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(nets.map((n) => n.close()));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Starts the libtorrent peer; resolves its output log and a promise of its `finished` line. */
function ltPeer(args: string[]) {
  const p = spawn(PY, [SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  procs.push(p);
  let log = '';
  let onFinished: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    onFinished = resolve;
  });
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    log += d;
    if (log.includes('"t": "finished"')) onFinished();
  });
  p.stderr.setEncoding('utf8').on('data', (d: string) => {
    log += d;
  });
  return { p, finished, log: () => log };
}

function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what()}`)), ms);
    }),
  ]);
}

describe('magnet links over a shared DHT with libtorrent, no tracker', () => {
  test('libtorrent seeds, Shoal fetches from an info-hash-only magnet', { timeout: 120_000 }, async () => {
    const net = await createDhtTestnet({ size: 4 });
    nets.push(net);
    const dir = await mkdtemp(join(tmpdir(), 'shoal-lt-dht-a-'));
    dirs.push(dir);
    const rels = await writeTree(
      join(dir, 'seed', 'payload'),
      { 'a.bin': 2_000_000, 'b/c.bin': 300_000 },
      31,
    );
    const t = await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: 65536 });
    const torrentPath = join(dir, 'x.torrent');
    await writeFile(torrentPath, t.bytes);
    const boot = net.bootstrap.map((b) => `--bootstrap=${b.host}:${b.port}`);
    const seeder = ltPeer([
      '--port',
      String(await freePort()),
      '--save',
      join(dir, 'seed'),
      '--seed',
      torrentPath,
      ...boot,
    ]);

    const leecher = await Session.create({
      host: '127.0.0.1',
      downloadDir: join(dir, 'leech'),
      dht: { bootstrap: net.bootstrap, node: LOOPBACK_DHT_NODE_OPTIONS },
    });
    sessions.push(leecher);
    const link = magnetFromMetainfo(parseTorrent(t.bytes));
    const magnet = buildMagnet({ infoHashV1: link.infoHashV1!, trackers: [], webSeeds: [], peers: [] });
    const torrent = await within(leecher.addMagnet(magnet), 90_000, seeder.log);
    if (!torrent.isFinished) await within(torrent.next('done'), 60_000, seeder.log);
    assert.deepEqual(
      await treeDigests(join(dir, 'leech', 'payload'), rels),
      await treeDigests(join(dir, 'seed', 'payload'), rels),
    );
    seeder.p.stdin?.end();
  });

  test('Shoal seeds, libtorrent fetches from an info-hash-only magnet', { timeout: 120_000 }, async () => {
    const net = await createDhtTestnet({ size: 4 });
    nets.push(net);
    const dir = await mkdtemp(join(tmpdir(), 'shoal-lt-dht-b-'));
    dirs.push(dir);
    const rels = await writeTree(
      join(dir, 'seed', 'payload'),
      { 'a.bin': 2_000_000, 'b/c.bin': 300_000 },
      32,
    );
    const t = await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: 65536 });
    const seeder = await Session.create({
      host: '127.0.0.1',
      downloadDir: join(dir, 'seed'),
      dht: { bootstrap: net.bootstrap, node: LOOPBACK_DHT_NODE_OPTIONS },
    });
    sessions.push(seeder);
    await seeder.addTorrent(t.bytes);
    const link = magnetFromMetainfo(parseTorrent(t.bytes));
    const magnet = buildMagnet({ infoHashV1: link.infoHashV1!, trackers: [], webSeeds: [], peers: [] });
    const boot = net.bootstrap.map((b) => `--bootstrap=${b.host}:${b.port}`);
    const leecher = ltPeer([
      '--port',
      String(await freePort()),
      '--save',
      join(dir, 'leech'),
      '--magnet',
      magnet,
      ...boot,
    ]);
    await within(leecher.finished, 100_000, leecher.log);
    assert.deepEqual(
      await treeDigests(join(dir, 'leech', 'payload'), rels),
      await treeDigests(join(dir, 'seed', 'payload'), rels),
    );
    leecher.p.stdin?.end();
  });
});
