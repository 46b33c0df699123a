/**
 * `npm run bench:tracker` — UDP announce throughput, latency and memory of Shoal's tracker beside
 * opentracker, measured in the same run by the same load generator.
 *
 * Each run starts a tracker in its own process on 127.0.0.1 (Shoal's compiled to plain
 * JavaScript, as the published CLI runs it; opentracker with a whitelist of the 10,000 bench
 * info-hashes, which this Debian build requires), then runs bench/tracker-load.ts in its own
 * process: 100,000 peers over 10,000 torrents announce once, then 200,000 announces of random
 * peers are measured with 32 requests in flight (throughput; latency with queueing), then
 * announces arrive at a fixed rate (BENCH_RATE per second, default 10,000, for 5 s: latency at a
 * given load, from each request's due time — the p99 the issue's target is about), then 20,000
 * one at a time (service latency). The tracker's peak RSS (VmHWM) is read before it is stopped. Runs alternate between the trackers (RUNS each, default 3) so that noise from
 * other work on the machine spreads evenly; the table gives medians.
 *
 * Environment: BENCH_RUNS (runs per tracker, default 3), BENCH_REQUESTS (measured announces,
 * default 200000), BENCH_RATE (offered announces per second of the fixed-rate phase, default
 * 10000).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeOnInterrupt, stopOnInterrupt, throwIfInterrupted } from './interrupt.js';
import { transpileTree, tsFilesUnder } from './transpile.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILD = join(ROOT, 'node_modules', '.cache', 'shoal-bench-tracker');
const OPENTRACKER = '/usr/bin/opentracker';
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200_000);
const TORRENTS = 10_000;
const PEERS = 100_000;
const WINDOW = 32;
const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const RATE_SECONDS = 5;
/** Announces sent one at a time. */
const SINGLE = 20_000;

interface LoadResult {
  populate: { perSecond: number; lost: number };
  measure: { perSecond: number; p50Ms: number; p99Ms: number; maxMs: number; lost: number };
  /** p99 and p999 are null (JSON of Infinity) when more than that share was lost. */
  paced: {
    p50Ms: number;
    p99Ms: number | null;
    p999Ms: number | null;
    lost: number;
    generatorLateMs: number;
  };
  single: { p50Ms: number; p99Ms: number };
}
interface RunResult extends LoadResult {
  peakRssMb: number;
  /** The tracker's CPU time (user + system) over the whole load run, per announce, in µs. */
  cpuUsPerAnnounce: number;
}

/** Transpiles src/ and the two bench children to JavaScript (no type check) under BUILD. */
function build(): void {
  rmSync(BUILD, { recursive: true, force: true });
  const files = [
    ...tsFilesUnder(join(ROOT, 'src')),
    join(ROOT, 'bench', 'tracker-server.ts'),
    join(ROOT, 'bench', 'tracker-load.ts'),
  ];
  transpileTree(files, ROOT, BUILD);
  writeFileSync(join(BUILD, 'package.json'), '{"type":"module"}\n');
}

async function freePort(kind: 'tcp' | 'udp'): Promise<number> {
  if (kind === 'udp') {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    const p = s.address().port;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    return p;
  }
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return p;
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function peakRssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((resolve) => p.once('exit', resolve));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

async function startShoal(): Promise<{ proc: ChildProcess; udpPort: number }> {
  throwIfInterrupted();
  const proc = stopOnInterrupt(
    spawn(process.execPath, [join(BUILD, 'bench', 'tracker-server.js')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('Shoal tracker did not start')), 15_000);
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(t);
        resolve(out);
      }
    });
  });
  return { proc, udpPort: (JSON.parse(line) as { udpPort: number }).udpPort };
}

async function startOpentracker(
  dir: string,
  whitelist: string,
): Promise<{ proc: ChildProcess; udpPort: number }> {
  const udpPort = await freePort('udp');
  const httpPort = await freePort('tcp');
  throwIfInterrupted();
  const proc = stopOnInterrupt(
    spawn(OPENTRACKER, ['-i', '127.0.0.1', '-p', String(httpPort), '-P', String(udpPort), '-w', whitelist], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  return { proc, udpPort };
}

/** Runs the load generator; asynchronously, so that an interrupt can stop it. */
function load(udpPort: number): Promise<LoadResult> {
  throwIfInterrupted();
  return new Promise((resolve, reject) => {
    const args = [
      join(BUILD, 'bench', 'tracker-load.js'),
      '--port',
      String(udpPort),
      '--torrents',
      String(TORRENTS),
      '--peers',
      String(PEERS),
      '--requests',
      String(REQUESTS),
      '--window',
      String(WINDOW),
      '--rate',
      String(RATE),
      '--rate-seconds',
      String(RATE_SECONDS),
      '--single',
      String(SINGLE),
    ];
    stopOnInterrupt(
      execFile(process.execPath, args, { encoding: 'utf8', timeout: 240_000 }, (e, stdout, stderr) => {
        try {
          const last = stdout.trim().split('\n').at(-1) ?? '';
          const parsed = JSON.parse(last || '{}') as LoadResult & { error?: string };
          if (e !== null || parsed.error !== undefined) {
            throw new Error(`load generator failed (${e?.code ?? 0}): ${parsed.error ?? stderr}`);
          }
          resolve(parsed);
        } catch (err) {
          reject(err);
        }
      }),
    );
  });
}

const inf = (x: number | null): number => x ?? Number.POSITIVE_INFINITY;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

build();
const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-tracker-'));
const undoDir = removeOnInterrupt(dir);
chmodSync(dir, 0o755); // opentracker reads its whitelist after dropping root privileges
const whitelist = join(dir, 'whitelist.txt');
let wl = '';
for (let i = 0; i < TORRENTS; i++)
  wl += `${createHash('sha1').update(`shoal-bench-torrent-${i}`).digest('hex')}\n`;
writeFileSync(whitelist, wl);

const trackers = existsSync(OPENTRACKER) ? (['shoal', 'opentracker'] as const) : (['shoal'] as const);
const results: Record<string, RunResult[]> = { shoal: [], opentracker: [] };
const load0 = loadavg()[0]!;
try {
  for (let run = 1; run <= RUNS; run++) {
    for (const name of trackers) {
      const t = name === 'shoal' ? await startShoal() : await startOpentracker(dir, whitelist);
      try {
        const cpu0 = cpuSeconds(t.proc.pid!);
        const r = await load(t.udpPort);
        const rss = peakRssMb(t.proc.pid!);
        const announces = PEERS + REQUESTS + RATE * RATE_SECONDS + SINGLE;
        const cpuUs = ((cpuSeconds(t.proc.pid!) - cpu0) * 1e6) / announces;
        results[name]!.push({ ...r, peakRssMb: rss, cpuUsPerAnnounce: cpuUs });
        console.error(
          `run ${run} ${name}: ${r.measure.perSecond.toFixed(0)}/s p50 ${r.measure.p50Ms.toFixed(2)} ms ` +
            `p99 ${r.measure.p99Ms.toFixed(2)} ms, lost ${r.measure.lost}; at ${RATE}/s p50 ` +
            `${r.paced.p50Ms.toFixed(3)} ms p99 ${inf(r.paced.p99Ms).toFixed(3)} ms p99.9 ` +
            `${inf(r.paced.p999Ms).toFixed(3)} ms, lost ${r.paced.lost}, generator late ≤ ` +
            `${r.paced.generatorLateMs.toFixed(1)} ms; CPU ${cpuUs.toFixed(1)} µs/announce; one at a time p50 ` +
            `${r.single.p50Ms.toFixed(3)} ms p99 ${r.single.p99Ms.toFixed(3)} ms; peak RSS ${rss.toFixed(0)} MB`,
        );
      } finally {
        await stop(t.proc);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  undoDir();
}

const row = (name: string, rs: RunResult[]): string =>
  `| ${name} | ${median(rs.map((r) => r.populate.perSecond)).toFixed(0)} | ${median(rs.map((r) => r.measure.perSecond)).toFixed(0)} | ` +
  `${median(rs.map((r) => r.measure.p50Ms)).toFixed(2)} | ${median(rs.map((r) => r.measure.p99Ms)).toFixed(2)} | ` +
  `${median(rs.map((r) => r.paced.p50Ms)).toFixed(3)} | ${median(rs.map((r) => inf(r.paced.p99Ms))).toFixed(3)} | ` +
  `${median(rs.map((r) => inf(r.paced.p999Ms))).toFixed(3)} | ` +
  `${median(rs.map((r) => r.single.p50Ms)).toFixed(3)} | ${median(rs.map((r) => r.single.p99Ms)).toFixed(3)} | ` +
  `${median(rs.map((r) => r.cpuUsPerAnnounce)).toFixed(1)} | ${median(rs.map((r) => r.peakRssMb)).toFixed(0)} |`;
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `\nUDP tracker announces, ${TORRENTS} torrents / ${PEERS} peers, ${REQUESTS} measured announces, window ${WINDOW}, median of ${RUNS}`,
);
console.log(
  `${new Date().toISOString().slice(0, 10)}, ${cpu} × ${cpus().length}, node ${process.version}, load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}\n`,
);
console.log(
  `| tracker | populate announces/s | announces/s (window ${WINDOW}) | p50 ms | p99 ms | at ${RATE}/s p50 ms | p99 ms | p99.9 ms | 1-at-a-time p50 ms | 1-at-a-time p99 ms | tracker CPU µs/announce | peak RSS MB |`,
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const name of trackers) console.log(row(name, results[name]!));
if (trackers.length === 2) {
  const s = median(results.shoal!.map((r) => r.measure.perSecond));
  const o = median(results.opentracker!.map((r) => r.measure.perSecond));
  const p99 = median(results.shoal!.map((r) => r.measure.p99Ms));
  const p99paced = median(results.shoal!.map((r) => inf(r.paced.p99Ms)));
  const p99single = median(results.shoal!.map((r) => r.single.p99Ms));
  const rss = median(results.shoal!.map((r) => r.peakRssMb));
  console.log(
    `\nShoal / opentracker throughput: ${(s / o).toFixed(2)} (target ≥ 0.5) ${s / o >= 0.5 ? 'ok' : 'MISSED'}`,
  );
  console.log(
    `Shoal p99 at ${RATE} announces/s: ${p99paced.toFixed(3)} ms (target < 5) ${p99paced < 5 ? 'ok' : 'MISSED'}`,
  );
  console.log(
    `Shoal p99 in the closed loop (window ${WINDOW}, queueing in the generator's window included): ${p99.toFixed(2)} ms`,
  );
  console.log(
    `Shoal p99 one at a time: ${p99single.toFixed(3)} ms (target < 5) ${p99single < 5 ? 'ok' : 'MISSED'}`,
  );
  const cs = median(results.shoal!.map((r) => r.cpuUsPerAnnounce));
  const co = median(results.opentracker!.map((r) => r.cpuUsPerAnnounce));
  console.log(
    `Tracker CPU per announce, Shoal / opentracker: ${cs.toFixed(1)} / ${co.toFixed(1)} µs (capacity ratio when the generator is not the limit ≈ ${(co / cs).toFixed(2)})`,
  );
  console.log(`Shoal peak RSS: ${rss.toFixed(0)} MB (target < 200) ${rss < 200 ? 'ok' : 'MISSED'}`);
}
