/**
 * Interop: python3-libtorrent 2.0 and Transmission 3.00 announce to Shoal's tracker (HTTP and
 * UDP), find each other through it, and complete a transfer of a 4 MiB v1 torrent created by
 * libtorrent; the downloaded file's sha256 must equal the original's.
 *
 * Transmission 3.00 ignores tracker peers on 127.0.0.0/8 (its "martian" filter) but accepts
 * incoming connections, so in every pairing with Transmission the libtorrent side is the one
 * that learns the other's address from the tracker and dials:
 *  1. libtorrent seeder → libtorrent leecher (the leecher learns the seeder from the tracker);
 *  2. libtorrent seeder → Transmission leecher (the seeder re-announces after Transmission did
 *     and dials the address the tracker returned);
 *  3. Transmission seeder → libtorrent leecher (the leecher learns Transmission from the tracker;
 *     the other peers are stopped first, so Transmission is the only source).
 * Nobody is told another peer's address except by the tracker (no connect_peer).
 * Each libtorrent peer runs in its own Python process (libtorrent shares UDP tracker
 * connection ids between sessions of one process).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fromHex } from '../../src/shared/hash.js';
import { infoHashKey, startTracker, type TrackerServer } from '../../src/tracker/index.js';

const PY = '/usr/bin/python3';
const TRANSMISSION = '/usr/bin/transmission-cli';

const PEER_PY = String.raw`
import json, os, queue, sys, threading, time
import libtorrent as lt

def out(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()

role = sys.argv[1]
if role == "make":
    data, torrent, tracker = sys.argv[2], sys.argv[3], sys.argv[4]
    fs = lt.file_storage()
    lt.add_files(fs, data)
    ct = lt.create_torrent(fs, 256 * 1024, flags=lt.create_torrent.v1_only)
    ct.add_tracker(tracker)
    lt.set_piece_hashes(ct, os.path.dirname(data))
    with open(torrent, "wb") as f:
        f.write(lt.bencode(ct.generate()))
    out(t="made", info_hash=str(lt.torrent_info(torrent).info_hashes().v1))
    sys.exit(0)

torrent, save, port = sys.argv[2], sys.argv[3], int(sys.argv[4])
ses = lt.session({
    "listen_interfaces": "127.0.0.1:%d" % port,
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "enable_incoming_utp": False, "enable_outgoing_utp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": lt.alert.category_t.status_notification | lt.alert.category_t.tracker_notification
        | lt.alert.category_t.error_notification | lt.alert.category_t.connect_notification,
})
params = lt.add_torrent_params()
params.ti = lt.torrent_info(torrent)
params.save_path = save
if role == "seed":
    params.flags |= lt.torrent_flags.seed_mode
h = ses.add_torrent(params)

cmds = queue.Queue()
def reader():
    for line in sys.stdin:
        cmds.put(line.strip())
    cmds.put("quit")
threading.Thread(target=reader, daemon=True).start()

# Alerts are popped from this (the session's) thread only: wait_for_alert from another
# thread crashed python3-libtorrent 2.0.8 now and then.
last = 0
while True:
    try:
        c = cmds.get_nowait()
        if c == "quit":
            break
        if c == "reannounce":
            h.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
    except queue.Empty:
        pass
    for a in ses.pop_alerts():
        if isinstance(a, lt.tracker_reply_alert):
            out(t="tracker_reply", peers=a.num_peers)
        elif isinstance(a, lt.tracker_error_alert):
            out(t="tracker_error", msg=a.message())
        elif isinstance(a, lt.peer_connect_alert):
            out(t="peer_connect", port=a.endpoint[1])
        elif isinstance(a, lt.torrent_finished_alert):
            out(t="finished")
        elif isinstance(a, (lt.torrent_error_alert, lt.listen_failed_alert)):
            out(t="error", msg=a.message())
    now = time.time()
    if now - last > 1:
        s = h.status()
        out(t="status", progress=s.progress, seeding=s.is_seeding, peers=s.num_peers)
        last = now
    time.sleep(0.05)
`;

interface Line {
  t: string;
  [k: string]: unknown;
}

const dirs: string[] = [];
const procs: ChildProcess[] = [];
after(async () => {
  await Promise.all(procs.map(stop));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Stops a child: SIGTERM, then SIGKILL after 5 s. */
async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Resolves when `cond()` holds, checking every 100 ms; rejects after `ms`. */
async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function ltPeer(script: string, args: string[]) {
  const p = spawn(PY, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  procs.push(p);
  const lines: Line[] = [];
  let buf = '';
  let err = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)) as Line);
      buf = buf.slice(i + 1);
    }
  });
  p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return {
    p,
    lines,
    stderr: () => err,
    has: (pred: (l: Line) => boolean) => lines.some(pred),
    send: (cmd: string) => p.stdin.write(`${cmd}\n`),
  };
}

function transmission(root: string, name: string, torrent: string, downloadDir: string, port: number) {
  const cfg = join(root, `${name}-cfg`);
  mkdirSync(cfg, { recursive: true });
  mkdirSync(downloadDir, { recursive: true });
  writeFileSync(
    join(cfg, 'settings.json'),
    JSON.stringify({
      'dht-enabled': false,
      'lpd-enabled': false,
      'utp-enabled': false,
      'pex-enabled': false,
      'port-forwarding-enabled': false,
      'bind-address-ipv4': '127.0.0.1',
      'rpc-enabled': false,
      'blocklist-enabled': false,
      'incomplete-dir-enabled': false,
    }),
  );
  const marker = join(root, `${name}.done`);
  const script = join(root, `${name}.sh`);
  writeFileSync(script, `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
  const p = spawn(
    TRANSMISSION,
    ['-g', cfg, '-w', downloadDir, '-p', String(port), '-M', '-f', script, torrent],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  procs.push(p);
  return { p, done: () => existsSync(marker) };
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Ports of the peers the tracker holds for a torrent, and whether each is a seeder. */
function swarm(tracker: TrackerServer, infoHashHex: string): { port: number; isSeed: boolean }[] {
  const out: { port: number; isSeed: boolean }[] = [];
  tracker.core.state.sample(
    infoHashKey(fromHex(infoHashHex)!),
    4,
    1000,
    { family: 6, ip4: 0, port: 0 },
    (p) => out.push({ port: p.port, isSeed: p.isSeed }),
  );
  return out;
}

describe('libtorrent and Transmission meet through the Shoal tracker', {}, () => {
  for (const proto of ['http', 'udp'] as const) {
    test(`over ${proto.toUpperCase()}`, { timeout: 300_000 }, async () => {
      const root = mkdtempSync(join(tmpdir(), `shoal-tracker-interop-${proto}-`));
      dirs.push(root);
      const script = join(root, 'peer.py');
      writeFileSync(script, PEER_PY);
      const seedDir = join(root, 'seed');
      mkdirSync(seedDir);
      const data = randomBytes(4 * 1024 * 1024);
      writeFileSync(join(seedDir, 'data.bin'), data);
      const want = createHash('sha256').update(data).digest('hex');
      const tracker = await startTracker({ host: '127.0.0.1', intervalS: 30 });
      const running: ChildProcess[] = [];
      try {
        const url = proto === 'http' ? tracker.httpAnnounceUrl! : tracker.udpAnnounceUrl!;
        const torrent = join(root, 'data.torrent');
        const made = ltPeer(script, ['make', join(seedDir, 'data.bin'), torrent, url]);
        await new Promise((resolve) => made.p.once('exit', resolve));
        const infoHash = made.lines.find((l) => l.t === 'made')?.info_hash as string;
        assert.match(infoHash, /^[0-9a-f]{40}$/, made.stderr());

        // 1. libtorrent seeder, then a libtorrent leecher that finds it through the tracker.
        const sPort = await freePort();
        const seeder = ltPeer(script, ['seed', torrent, seedDir, String(sPort)]);
        running.push(seeder.p);
        await waitUntil(
          () => swarm(tracker, infoHash).some((p) => p.port === sPort && p.isSeed),
          30_000,
          'seeder announce',
        );
        const lDir = join(root, 'lt-leech');
        mkdirSync(lDir);
        const lPort = await freePort();
        const leecher = ltPeer(script, ['leech', torrent, lDir, String(lPort)]);
        running.push(leecher.p);
        await waitUntil(() => leecher.has((l) => l.t === 'finished'), 60_000, 'libtorrent leecher to finish');
        assert.ok(
          leecher.has((l) => l.t === 'tracker_reply' && (l.peers as number) >= 1),
          'the tracker gave it a peer',
        );
        assert.equal(sha256File(join(lDir, 'data.bin')), want);

        // 2. A Transmission leecher announces; the seeder re-announces, learns it and dials it.
        {
          const tPort = await freePort();
          const tDir = join(root, 'tr-leech');
          const tr = transmission(root, 'tr-leech', torrent, tDir, tPort);
          running.push(tr.p);
          await waitUntil(
            () => swarm(tracker, infoHash).some((p) => p.port === tPort),
            30_000,
            'Transmission announce',
          );
          seeder.send('reannounce');
          await waitUntil(tr.done, 90_000, 'Transmission leecher to finish');
          assert.ok(
            seeder.has((l) => l.t === 'peer_connect' && l.port === tPort),
            'the seeder dialled Transmission',
          );
          assert.equal(sha256File(join(tDir, 'data.bin')), want);

          // 3. Only a Transmission seeder is left; a new libtorrent leecher finds it through the tracker.
          for (const p of running.splice(0)) await stop(p);
          const t2Port = await freePort();
          const t2Dir = join(root, 'tr-seed');
          mkdirSync(t2Dir);
          writeFileSync(join(t2Dir, 'data.bin'), data);
          const trSeed = transmission(root, 'tr-seed', torrent, t2Dir, t2Port);
          running.push(trSeed.p);
          await waitUntil(
            () => swarm(tracker, infoHash).some((p) => p.port === t2Port && p.isSeed),
            60_000,
            'Transmission seeder announce',
          );
          const l2Dir = join(root, 'lt-leech-2');
          mkdirSync(l2Dir);
          const l2 = ltPeer(script, ['leech', torrent, l2Dir, String(await freePort())]);
          running.push(l2.p);
          await waitUntil(
            () => l2.has((l) => l.t === 'finished'),
            90_000,
            'libtorrent leecher (from Transmission) to finish',
          );
          assert.ok(
            l2.has((l) => l.t === 'peer_connect' && l.port === t2Port),
            'it connected to Transmission',
          );
          assert.equal(sha256File(join(l2Dir, 'data.bin')), want);
        }
        const s = tracker.stats();
        assert.equal(proto === 'http' ? s.requests.httpAnnounces > 0 : s.requests.udpAnnounces > 0, true);
        assert.ok(s.completed >= 1, 'completed events were counted');
      } finally {
        await Promise.all(running.map(stop));
        await tracker.close();
      }
    });
  }
});
