/**
 * Shoal in one namespace of the BEP 55 holepunching test (run by `ip netns exec`): one torrent,
 * uTP first, no trackers / DHT / LSD, on a fixed port. Prints one JSON line per event on stdout:
 * {"t":"ready","port":N}, {"t":"peer",...peer log entry}, {"t":"done"}, {"t":"dial",...},
 * {"t":"peers",...}. Commands on stdin, one a line:
 * - `add HOST PORT`: adds the address to the torrent;
 * - `dial HOST PORT`: adds it and reports {"t":"dial","connected":bool,"failures":N} once the
 *   first dial to it ended (the pool's record of it, polled every 100 ms, for at most 30 s);
 * - `known HOST PORT`: reports {"t":"known","source":S} once the torrent knows the address
 *   (polled every 100 ms, for at most 90 s);
 * - `peers`: prints the connected peers (address, transport, bytes), the known addresses and
 *   the torrent's downloaded total.
 * End of stdin closes the session and exits.
 *
 * Usage: holepunch-node.ts --torrent T --data DIR --port P [--priorities 1,0,...]
 * (`--priorities`: file priorities by file index, 0 = skip).
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Session } from '../../../src/session/index.js';

const { values } = parseArgs({
  options: {
    torrent: { type: 'string' },
    data: { type: 'string' },
    port: { type: 'string' },
    priorities: { type: 'string' },
  },
});
const out = (t: string, o: object = {}) => process.stdout.write(`${JSON.stringify({ t, ...o })}\n`);

const session = await Session.create({
  host: '0.0.0.0',
  port: Number(values.port),
  downloadDir: values.data!,
  trackers: false,
  dht: false,
  lsd: false,
  utp: true,
  transportPolicy: 'utp-first',
});
session.on('warning', (w) => out('warning', w));
const torrent = await session.addTorrent(await readFile(values.torrent!), {
  downloadDir: values.data!,
  ...(values.priorities !== undefined ? { filePriorities: values.priorities.split(',').map(Number) } : {}),
});
torrent.on('peer', (e) => out('peer', e));
void torrent.whenDone().then(
  () => out('done'),
  () => {},
);
out('ready', { port: session.port });

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, host, port] = line.trim().split(/\s+/);
  if (cmd === 'add' || cmd === 'dial') torrent.addPeer(host!, Number(port), 'user');
  if (cmd === 'dial') {
    const started = performance.now();
    const timer = setInterval(() => {
      const k = torrent.knownPeers().find((p) => p.host === host && p.port === Number(port));
      const ended = k !== undefined && (k.failures > 0 || k.state === 'connected');
      if (!ended && performance.now() - started < 30_000) return;
      clearInterval(timer);
      out('dial', { connected: k?.state === 'connected', failures: k?.failures ?? -1 });
    }, 100);
  }
  if (cmd === 'known') {
    const started = performance.now();
    const timer = setInterval(() => {
      const k = torrent.knownPeers().find((p) => p.host === host && p.port === Number(port));
      if (k === undefined && performance.now() - started < 90_000) return;
      clearInterval(timer);
      out('known', { source: k?.source });
    }, 100);
  }
  if (cmd === 'peers')
    out('peers', {
      peers: torrent.peers().map((p) => ({
        address: p.address,
        transport: p.transport,
        outgoing: p.outgoing,
        downloadedBytes: p.downloadedBytes,
        uploadedBytes: p.uploadedBytes,
      })),
      known: torrent.knownPeers(),
      totalDownloaded: torrent.stats().totalDownloaded,
    });
});
rl.on('close', async () => {
  await session.close();
  out('closed');
  process.exit(0);
});
