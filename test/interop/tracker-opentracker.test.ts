/**
 * Interop: Shoal's tracker client announces to and scrapes opentracker (Debian build) over HTTP
 * and UDP, and gets the peer that another client — python3-libtorrent, in its own process —
 * announced there. This opentracker build serves whitelisted info-hashes only (`-w FILE`).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type AnnounceRequest,
  httpAnnounce,
  httpScrape,
  TrackerError,
  UdpTrackerSocket,
} from '../../src/discovery/index.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { fromHex } from '../../src/shared/hash.js';

const OPENTRACKER = '/usr/bin/opentracker';
const PY = '/usr/bin/python3';

/** Makes a v1 torrent of one file announcing to `tracker`, then announces it (as a leecher) until stdin closes. */
const LT_PY = `
import json, os, sys, time
import libtorrent as lt
data, torrent, tracker, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
fs = lt.file_storage()
lt.add_files(fs, data)
ct = lt.create_torrent(fs, 16 * 1024, flags=lt.create_torrent.v1_only)
ct.add_tracker(tracker)
lt.set_piece_hashes(ct, os.path.dirname(data))
with open(torrent, "wb") as f:
    f.write(lt.bencode(ct.generate()))
ti = lt.torrent_info(torrent)
print(json.dumps({"t": "made", "info_hash": str(ti.info_hashes().v1)}), flush=True)
ses = lt.session({
    "listen_interfaces": "127.0.0.1:%d" % port,
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "alert_mask": lt.alert.category_t.tracker_notification | lt.alert.category_t.error_notification,
})
params = lt.add_torrent_params()
params.ti = ti
params.save_path = os.path.join(os.path.dirname(torrent), "empty-" + str(port))
h = ses.add_torrent(params)
import select
while True:
    for a in ses.pop_alerts():
        if isinstance(a, lt.tracker_reply_alert):
            print(json.dumps({"t": "tracker_reply", "peers": a.num_peers}), flush=True)
        elif isinstance(a, lt.tracker_error_alert):
            print(json.dumps({"t": "tracker_error", "msg": a.message()}), flush=True)
    r, _, _ = select.select([sys.stdin], [], [], 0.1)
    if r and sys.stdin.readline() == "":
        break
`;

const dir = mkdtempSync(join(tmpdir(), 'shoal-opentracker-'));
// opentracker drops root privileges (to `nobody`) before it reads the whitelist.
chmodSync(dir, 0o755);
const procs: ChildProcess[] = [];
after(async () => {
  for (const p of procs) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  rmSync(dir, { recursive: true, force: true });
});

async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts a libtorrent peer announcing a fresh torrent; resolves with its info-hash once it got a tracker reply. */
async function libtorrentAnnouncer(name: string, trackerUrl: string, port: number) {
  const sub = join(dir, name);
  mkdirSync(sub);
  writeFileSync(join(sub, 'data.bin'), Buffer.alloc(64 * 1024, name));
  const script = join(dir, 'lt.py');
  writeFileSync(script, LT_PY);
  const p = spawn(PY, [script, join(sub, 'data.bin'), join(sub, 'data.torrent'), trackerUrl, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  procs.push(p);
  const lines: { t: string; [k: string]: unknown }[] = [];
  let buf = '';
  let err = '';
  p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  await waitUntil(
    () => lines.some((l) => l.t === 'made'),
    30_000,
    `libtorrent ${name} to make its torrent: ${err}`,
  );
  return {
    p,
    lines,
    infoHash: fromHex(lines.find((l) => l.t === 'made')!.info_hash as string)!,
    err: () => err,
  };
}

const req = (infoHash: Uint8Array, n: number, over: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash,
  peerId: new Uint8Array(20).fill(n),
  port: 40_000 + n,
  uploaded: 0,
  downloaded: 0,
  left: 1000,
  event: 'started',
  ...over,
});

describe('Shoal client ↔ opentracker', () => {
  let httpUrl = '';
  let udpUrl = '';
  const whitelist = join(dir, 'whitelist.txt');
  let udp: UdpTrackerSocket;
  let ot: ChildProcess;

  before(async () => {
    const httpPort = await freeTcpPort();
    const udpPort = await freeUdpPort();
    httpUrl = `http://127.0.0.1:${httpPort}/announce`;
    udpUrl = `udp://127.0.0.1:${udpPort}/announce`;
    writeFileSync(whitelist, `${'ab'.repeat(20)}\n`);
    udp = new UdpTrackerSocket({ bindV4: '127.0.0.1', retransmitBaseMs: 500 });
  });
  after(async () => {
    await udp?.close();
  });

  /** (Re)starts opentracker: it reads its whitelist at start. */
  async function startOpentracker(): Promise<void> {
    if (ot !== undefined && ot.exitCode === null) {
      const exited = new Promise((resolve) => ot.once('exit', resolve));
      ot.kill('SIGTERM');
      await exited;
    }
    const [, hp] = httpUrl.match(/:(\d+)\//)!;
    const [, up] = udpUrl.match(/:(\d+)\//)!;
    // The whitelist path must be absolute (a relative one was not found once it had started).
    ot = spawn(OPENTRACKER, ['-i', '127.0.0.1', '-p', hp!, '-P', up!, '-w', whitelist], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    procs.push(ot);
    await waitUntil(
      () =>
        httpAnnounce(httpUrl, req(fromHex('ab'.repeat(20))!, 99), {
          timeoutMs: 500,
        }).then(
          () => true,
          () => false,
        ),
      15_000,
      'opentracker to listen and load its whitelist',
    );
  }

  for (const proto of ['http', 'udp'] as const) {
    test(`over ${proto.toUpperCase()}: announce gets libtorrent's peer, scrape counts, stopped leaves`, {
      timeout: 90_000,
    }, async () => {
      const url = proto === 'http' ? httpUrl : udpUrl;
      const ltPort = await freeTcpPort();
      // libtorrent makes its torrent; the whitelist gets its hash; opentracker (re)starts with it.
      const lt = await libtorrentAnnouncer(`lt-${proto}`, url, ltPort);
      writeFileSync(whitelist, `${'ab'.repeat(20)}\n${Buffer.from(lt.infoHash).toString('hex')}\n`, {
        flag: 'w',
      });
      await startOpentracker();
      const announce = (r: AnnounceRequest) =>
        proto === 'http' ? httpAnnounce(url, r) : udp.announce(url, r);
      const scrape = (h: Uint8Array) => (proto === 'http' ? httpScrape(url, [h]) : udp.scrape(url, [h]));
      // libtorrent retries its announce until opentracker is up and has the hash.
      await waitUntil(
        () =>
          announce(req(lt.infoHash, 1)).then(
            (r) => r.peers.some((p) => p.port === ltPort),
            () => false,
          ),
        60_000,
        `libtorrent's peer (port ${ltPort}) at opentracker; libtorrent said ${JSON.stringify(lt.lines.slice(-3))}`,
      );
      const seen = await announce(req(lt.infoHash, 2, { left: 0 }));
      assert.ok(seen.peers.some((p) => p.port === ltPort && p.host === '127.0.0.1'));
      assert.ok(
        seen.peers.some((p) => p.port === 40_001),
        'and the other Shoal announce',
      );
      assert.ok(seen.interval > 0);
      const [counts] = await scrape(lt.infoHash);
      assert.deepEqual(counts && [counts.complete, counts.incomplete], [1, 2]);
      await announce(req(lt.infoHash, 1, { event: 'stopped' }));
      const [after] = await scrape(lt.infoHash);
      assert.deepEqual(after && [after.complete, after.incomplete], [1, 1]);
      // A hash outside the whitelist: HTTP gets opentracker's failure reason; UDP gets a
      // truncated announce reply, which the client refuses as a bad response.
      const other = new Uint8Array(20).fill(0xcd);
      if (proto === 'http') {
        await assert.rejects(announce(req(other, 3)), (e: unknown) => {
          assert.ok(e instanceof TrackerError && e.code === ErrorCode.TrackerFailure);
          assert.match(e.details.failureReason ?? '', /not authorized/);
          return true;
        });
      } else {
        await assert.rejects(
          announce(req(other, 3)),
          (e: unknown) => e instanceof TrackerError && e.code === ErrorCode.TrackerBadResponse,
        );
      }
      lt.p.stdin?.end();
    });
  }
});
