/**
 * Interop (issue 4): a torrent moves from a python3-libtorrent seeder to a Shoal leecher where
 * the only way to meet is Shoal's tracker — over HTTP and over UDP. Nobody is given the other's
 * address: libtorrent announces as a seeder, Shoal announces, gets libtorrent from the reply,
 * dials it and downloads.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { startTracker, type TrackerServer } from '../../src/tracker/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const PY = '/usr/bin/python3';
const SEEDER_PY = `
import sys, time, json
import libtorrent as lt
torrent, save, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ses = lt.session({
    "listen_interfaces": "127.0.0.1:%d" % port,
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "enable_incoming_utp": False, "enable_outgoing_utp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": lt.alert.category_t.tracker_notification | lt.alert.category_t.error_notification,
})
p = lt.add_torrent_params()
p.ti = lt.torrent_info(torrent)
p.save_path = save
p.flags |= lt.torrent_flags.seed_mode
h = ses.add_torrent(p)
while True:
    for a in ses.pop_alerts():
        if isinstance(a, lt.tracker_reply_alert):
            print(json.dumps({"t": "tracker_reply"}), flush=True)
        elif isinstance(a, lt.tracker_error_alert):
            print(json.dumps({"t": "tracker_error", "msg": a.message()}), flush=True)
    time.sleep(0.1)
`;

const procs: ChildProcess[] = [];
const sessions: Session[] = [];
const trackers: TrackerServer[] = [];
const dirs: string[] = [];
after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(trackers.map((t) => t.close()));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const net = await import('node:net');
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as import('node:net').AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('libtorrent seeder → Shoal leecher through the Shoal tracker only', () => {
  for (const proto of ['http', 'udp'] as const) {
    test(`over ${proto.toUpperCase()}`, { timeout: 120_000 }, async () => {
      const dir = await mkdtemp(join(tmpdir(), `shoal-lt-tracker-${proto}-`));
      dirs.push(dir);
      const tracker = await startTracker({ host: '127.0.0.1', httpPort: 0, udpPort: 0, intervalS: 30 });
      trackers.push(tracker);
      const url = proto === 'http' ? tracker.httpAnnounceUrl! : tracker.udpAnnounceUrl!;
      const rels = await writeTree(
        join(dir, 'seed', 'payload'),
        { 'a.bin': 3_000_000, 'd/b.bin': 1_000_000 },
        11,
      );
      const t = await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: 65536, trackers: [[url]] });
      const torrentPath = join(dir, 'x.torrent');
      await writeFile(torrentPath, t.bytes);
      const script = join(dir, 'seeder.py');
      await writeFile(script, SEEDER_PY);

      const ltPort = await freePort();
      let out = '';
      const seeder = spawn(PY, [script, torrentPath, join(dir, 'seed'), String(ltPort)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      procs.push(seeder);
      seeder.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      seeder.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      // Wait until libtorrent has announced, so the tracker knows it.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`libtorrent never announced:\n${out}`)), 30_000);
        seeder.stdout.on('data', () => {
          if (out.includes('tracker_reply')) {
            clearTimeout(timer);
            resolve();
          }
        });
        seeder.once('exit', (code) => reject(new Error(`libtorrent exited ${code}:\n${out}`)));
      });

      const leecher = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'leech') });
      sessions.push(leecher);
      const torrent = await leecher.addTorrent(t.bytes);
      await torrent.next('done');
      assert.deepEqual(
        await treeDigests(join(dir, 'leech', 'payload'), rels),
        await treeDigests(join(dir, 'seed', 'payload'), rels),
        out,
      );
      seeder.kill('SIGKILL');
    });
  }
});
