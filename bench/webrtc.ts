/**
 * `node --import tsx bench/webrtc.ts [MiB] [runs]` — how fast does a torrent move over WebRTC on
 * loopback, Shoal → Shoal beside WebTorrent → WebTorrent, with the CPU each pair spent?
 *
 * One v1 torrent of MiB (default 256) pseudo-random bytes, 1 MiB pieces, whose only tracker is
 * Shoal's WebSocket tracker (ws://127.0.0.1); every peer binds ICE to 127.0.0.1, so the data
 * channel is the only path (no TCP address is known to anyone). Each run (default 1):
 *
 *   - Shoal → Shoal: a seeder and a leecher Session in this process (node-datachannel); time
 *     from the leecher's addTorrent to its `done`; CPU is this process's (both ends, the
 *     tracker, and libdatachannel's threads);
 *   - WebTorrent → WebTorrent: two test/interop/webtorrent/wt_peer.mjs processes (WebTorrent 3,
 *     webrtc-polyfill on node-datachannel 0.33.4); time from the leecher's `added` to
 *     `finished`; CPU is both processes' (/proc/PID/stat). webrtc-polyfill never reports the end
 *     of ICE gathering, so WebTorrent waits 5 s before its offer: included, as users see it.
 *
 * Prints one line per run and a Markdown table of the medians. Exits with process.exit: a
 * process whose Shoal sessions connected to each other over WebRTC can stay alive after they
 * closed (see the report of the WebRTC branch).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Session } from '../src/session/index.js';
import { createTorrent } from '../src/storage/index.js';
import { startTracker } from '../src/tracker/index.js';
import { pseudoRandomBytes } from '../test/helpers/payload.js';
import { onInterrupt, removeOnInterrupt, stopOnInterrupt, throwIfInterrupted } from './interrupt.js';

const MIB = Number(process.argv[2] ?? 256);
const RUNS = Number(process.argv[3] ?? 1);
const WT_PEER = join(import.meta.dirname, '..', 'test', 'interop', 'webtorrent', 'wt_peer.mjs');
const RTC = { bindAddress: '127.0.0.1' } as const;

interface Figure {
  readonly seconds: number;
  readonly cpuSeconds: number;
}

const root = await mkdtemp(join(tmpdir(), 'shoal-bench-webrtc-'));
const undoRoot = removeOnInterrupt(root);
const tracker = await startTracker({ host: '127.0.0.1', udpPort: null });
const seedDir = join(root, 'seed');
await mkdir(join(seedDir, 'payload'), { recursive: true });
await writeFile(join(seedDir, 'payload', 'data.bin'), pseudoRandomBytes(MIB * 1024 * 1024, 5));
const made = await createTorrent(join(seedDir, 'payload'), {
  version: 'v1',
  pieceLength: 1024 * 1024,
  trackers: [[tracker.wsAnnounceUrl as string]],
});
const torrentPath = join(root, 'payload.torrent');
await writeFile(torrentPath, made.bytes);

async function shoalRun(run: number): Promise<Figure> {
  const seeder = await Session.create({ host: '127.0.0.1', downloadDir: seedDir, webrtc: RTC });
  const leecher = await Session.create({
    host: '127.0.0.1',
    downloadDir: join(root, `shoal-${run}`),
    webrtc: RTC,
  });
  // Closed before their folder is removed, so that no write of theirs makes it again.
  const undo = onInterrupt(async () => {
    await Promise.all([seeder.close(), leecher.close()]);
  });
  await seeder.addTorrent(made.bytes);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const t = await leecher.addTorrent(made.bytes);
  await t.next('done');
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all([seeder.close(), leecher.close()]);
  undo();
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** A wt_peer.mjs process and its JSON lines. */
function wtPeer(args: string[]): {
  proc: ChildProcess;
  line: (t: string) => Promise<Record<string, unknown>>;
} {
  throwIfInterrupted();
  const proc = stopOnInterrupt(
    spawn(process.execPath, [WT_PEER, ...args, '--webrtc'], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const waiters: { t: string; resolve: (v: Record<string, unknown>) => void }[] = [];
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (l) => {
    const m = JSON.parse(l) as Record<string, unknown>;
    if (m.t === 'error') throw new Error(`wt_peer: ${String(m.msg)}`);
    for (const w of waiters.filter((x) => x.t === m.t)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  return { proc, line: (t) => new Promise((resolve) => waiters.push({ t, resolve })) };
}

function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks of 10 ms
}

async function webtorrentRun(run: number): Promise<Figure> {
  const port = (n: number) => String(20000 + ((process.pid * 7 + run * 2 + n) % 20000));
  const seed = wtPeer(['--torrent', torrentPath, '--save', seedDir, '--port', port(0), '--seed']);
  await seed.line('ready');
  const leech = wtPeer(['--torrent', torrentPath, '--save', join(root, `wt-${run}`), '--port', port(1)]);
  await leech.line('added');
  const t0 = performance.now();
  const cpu0 = cpuOf(seed.proc.pid as number) + cpuOf(leech.proc.pid as number);
  await leech.line('finished');
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuOf(seed.proc.pid as number) + cpuOf(leech.proc.pid as number) - cpu0;
  for (const p of [seed.proc, leech.proc]) p.stdin?.end();
  await Promise.all([seed.proc, leech.proc].map((p) => new Promise((r) => p.once('exit', r))));
  return { seconds, cpuSeconds: cpu };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rows: { name: string; figs: Figure[] }[] = [
  { name: 'Shoal → Shoal', figs: [] },
  { name: 'WebTorrent → WebTorrent', figs: [] },
];
try {
  for (let run = 0; run < RUNS; run++) {
    const s = await shoalRun(run);
    rows[0]?.figs.push(s);
    console.log(
      `run ${run + 1} Shoal → Shoal: ${(MIB / s.seconds).toFixed(1)} MiB/s, CPU ${s.cpuSeconds.toFixed(1)} s`,
    );
    const w = await webtorrentRun(run);
    rows[1]?.figs.push(w);
    console.log(
      `run ${run + 1} WebTorrent → WebTorrent: ${(MIB / w.seconds).toFixed(1)} MiB/s, CPU ${w.cpuSeconds.toFixed(1)} s`,
    );
  }
  console.log(
    `\n| ${MIB} MiB over WebRTC, loopback | MiB/s | seconds | CPU s (both ends) |\n|---|---|---|---|`,
  );
  for (const r of rows) {
    const secs = median(r.figs.map((f) => f.seconds));
    const cpu = median(r.figs.map((f) => f.cpuSeconds));
    console.log(`| ${r.name} | ${(MIB / secs).toFixed(1)} | ${secs.toFixed(1)} | ${cpu.toFixed(1)} |`);
  }
} finally {
  await tracker.close();
  await rm(root, { recursive: true, force: true });
  undoRoot();
}
process.exit(0);
