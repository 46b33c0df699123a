/**
 * Child process of test/integration/webrtc-lazy.test.ts: a session with WebRTC on (the default)
 * adds a torrent with only an HTTP tracker, then one with a `ws://` tracker, and reports whether
 * node-datachannel's native library is mapped into the process after each (from
 * /proc/self/maps), in the folder argv[2] that the parent made and removes. Prints one JSON line;
 * the parent kills it by PID, because node-datachannel can keep a process alive after it was used
 * (see webrtc-swarm.test.ts).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { startTracker } from '../../src/tracker/index.js';
import { writeTree } from './payload.js';

const mapped = () => readFileSync('/proc/self/maps', 'utf8').includes('node_datachannel');
const dir = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'shoal-webrtc-lazy-')));
const tracker = await startTracker({ host: '127.0.0.1', udpPort: null });
try {
  await writeTree(join(dir, 'a'), { 'a.bin': 40_000 }, 1);
  await writeTree(join(dir, 'b'), { 'b.bin': 40_000 }, 2);
  const plain = await createTorrent(join(dir, 'a'), { trackers: [[tracker.httpAnnounceUrl as string]] });
  const rtc = await createTorrent(join(dir, 'b'), { trackers: [[tracker.wsAnnounceUrl as string]] });
  const session = await Session.create({ host: '127.0.0.1', downloadDir: dir, dht: false, lsd: false });
  const enabled = session.webrtcEnabled;
  const a = await session.addTorrent(plain.bytes);
  await a.whenDone();
  const afterPlain = mapped();
  await session.addTorrent(rtc.bytes);
  // The torrent's WebSocket client connects once the library loaded: the tracker sees it.
  const ws = tracker.ws;
  if (ws === undefined) throw new Error('the tracker has no WebSocket side');
  const deadline = Date.now() + 20_000;
  while (ws.socketCount === 0) {
    if (Date.now() > deadline) throw new Error('no WebSocket tracker connection in 20 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  const afterWs = mapped();
  await session.close();
  await tracker.close();
  process.stdout.write(`${JSON.stringify({ enabled, afterPlain, afterWs })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: (e as Error).stack })}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
