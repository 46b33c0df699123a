/**
 * Child process of test/integration/webrtc-swarm.test.ts: a WebSocket tracker and Shoal sessions
 * on 127.0.0.1 (ICE bound to loopback), one scenario per run (argv[2]: `rtc` or `hybrid`). Prints
 * one JSON line with what the test asserts, closes everything, and must then exit by itself
 * (the parent checks that closing Shoal lets a process that used WebRTC end).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session, type Torrent } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { startTracker } from '../../src/tracker/index.js';
import { treeDigests, writeTree } from './payload.js';

const FILES = { 'a.bin': 2_000_000, 'b/c.bin': 345_678 };
const scenario = process.argv[2] ?? 'rtc';
// The parent test names the folder and removes it: it kills this process once it has answered.
const dir = process.argv[3] ?? (await mkdtemp(join(tmpdir(), 'shoal-webrtc-')));
// A short WebSocket interval (clients clamp it to WS_MIN_ANNOUNCE_INTERVAL_S, 30 s): a WebRTC
// connection that fails is offered again within 30 s, not 120 s.
const tracker = await startTracker({ host: '127.0.0.1', udpPort: null, ws: { intervalS: 5 } });
/** Past this, the child reports what it sees instead of waiting for the parent's timeout. */
const DEADLINE_MS = 200_000;
const sessions: Session[] = [];
const session = async (name: string, webrtc: boolean) => {
  const s = await Session.create({
    host: '127.0.0.1',
    downloadDir: join(dir, name),
    maxConnectionsPerAddress: 100,
    webrtc: webrtc ? { bindAddress: '127.0.0.1' } : false,
  });
  sessions.push(s);
  return s;
};
/** Transports of the peers `t` logged as connected. */
const seen = (t: Torrent) => {
  const kinds = new Set<string>();
  t.on('peer', (e) => {
    if (e.type === 'connected' && e.transport !== undefined) kinds.add(e.transport);
  });
  return kinds;
};
try {
  const rels = await writeTree(join(dir, 'seed', 'payload'), FILES, 11);
  const t = await createTorrent(join(dir, 'seed', 'payload'), {
    version: 'v1',
    pieceLength: 32768,
    trackers: [[tracker.wsAnnounceUrl as string]],
  });
  const seeder = await session('seed', true);
  const st = await seeder.addTorrent(t.bytes);
  const seederKinds = seen(st);
  const rtc = await session('rtc', true);
  const rt = await rtc.addTorrent(t.bytes);
  const rtcKinds = seen(rt);
  const waits = [rt.next('done')];
  if (scenario === 'hybrid') {
    const tcp = await session('tcp', false);
    const tt = await tcp.addTorrent(t.bytes);
    tt.addPeer('127.0.0.1', seeder.port);
    waits.push(tt.next('done'));
  }
  const torrents = [st, rt];
  let deadline: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(waits),
    new Promise((_, reject) => {
      deadline = setTimeout(() => {
        const peers = torrents.map((x) => x.peers().map((p) => `${p.transport}:${p.address}`));
        const relayed = `${tracker.ws?.swarms.relayedOffers} offers, ${tracker.ws?.swarms.relayedAnswers} answers`;
        reject(
          new Error(`not done in ${DEADLINE_MS} ms: peers ${JSON.stringify(peers)}, relayed ${relayed}`),
        );
      }, DEADLINE_MS);
    }),
  ]).finally(() => clearTimeout(deadline));
  const want = await treeDigests(join(dir, 'seed', 'payload'), rels);
  const got = await treeDigests(join(dir, 'rtc', 'payload'), rels);
  const gotTcp = scenario === 'hybrid' ? await treeDigests(join(dir, 'tcp', 'payload'), rels) : want;
  const result = {
    webrtcEnabled: seeder.webrtcEnabled && rtc.webrtcEnabled,
    equal: JSON.stringify(got) === JSON.stringify(want) && JSON.stringify(gotTcp) === JSON.stringify(want),
    sha256: got,
    seederTransports: [...seederKinds].sort(),
    leecherTransports: [...rtcKinds].sort(),
    relayedOffers: tracker.ws?.swarms.relayedOffers ?? 0,
    relayedAnswers: tracker.ws?.swarms.relayedAnswers ?? 0,
  };
  await Promise.all(sessions.map((s) => s.close()));
  await tracker.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: (e as Error).stack })}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
