/**
 * `npm run bench:api` — the daemon with 1,000 torrents: latency of the list endpoint, idle CPU
 * and memory.
 *
 * The daemon runs in its own process from compiled JavaScript (src/ is transpiled to
 * node_modules/.cache/shoal-bench-api/, as the published CLI runs it) on 127.0.0.1, with a fresh
 * state folder. 1,000 tiny files (1–4 KiB, distinct content) are made into 1,000 torrents and
 * added through the API as raw .torrent uploads; the daemon checks each against the file on disk
 * and seeds it. Then, with every torrent seeding:
 * - `GET /api/v1/torrents` is timed (BENCH_REQUESTS, default 500, one at a time over a kept-alive
 *   connection, after 50 warm-up requests): p50, p99, max, answer size;
 * - the daemon is left idle for BENCH_IDLE_S seconds (default 10) after a 5 s settle, and its CPU
 *   time (utime + stime from /proc/<pid>/stat) over that window is reported as % of one core;
 * - its RSS (VmRSS) and peak RSS (VmHWM) are read from /proc/<pid>/status;
 * - it is stopped with SIGTERM and started again on the same state: the time until all 1,000 are
 *   seeding again is the restore time.
 * Targets (issue 7): list p99 < 20 ms, idle CPU < 2 % of a core, RSS < 300 MB.
 *
 * Environment: BENCH_TORRENTS (default 1000), BENCH_REQUESTS (default 500), BENCH_IDLE_S (default 10).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeOnInterrupt, stopOnInterrupt, throwIfInterrupted } from './interrupt.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILD = join(ROOT, 'node_modules', '.cache', 'shoal-bench-api');
const TORRENTS = Number(process.env.BENCH_TORRENTS ?? 1000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 500);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 10);
const CLK_TCK = 100;

// ------------------------------------------------------------------ child: the daemon

async function child(stateDir: string, downloadDir: string): Promise<void> {
  const { startDaemon } = (await import(
    new URL('../src/daemon/index.js', import.meta.url).href
  )) as typeof import('../src/daemon/index.js');
  const d = await startDaemon({
    stateDir,
    downloadDir,
    port: 0,
    peerHost: '127.0.0.1',
    webRoot: false,
    logLevel: 'warn',
  });
  process.stdout.write(`URL ${d.url}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await d.close();
  process.exit(0);
}

// ------------------------------------------------------------------ parent

async function build(): Promise<void> {
  // Imported here only: the daemon child runs this file's JavaScript and must not load TypeScript.
  const { transpileTree, tsFilesUnder } = await import('./transpile.js');
  rmSync(BUILD, { recursive: true, force: true });
  const bench = ['api.ts', 'interrupt.ts'].map((f) => join(ROOT, 'bench', f));
  transpileTree([...tsFilesUnder(join(ROOT, 'src')), ...bench], ROOT, BUILD);
  writeFileSync(join(BUILD, 'package.json'), '{"type":"module"}\n');
}

function startChild(stateDir: string, downloadDir: string): Promise<{ proc: ChildProcess; url: string }> {
  throwIfInterrupted();
  const proc = stopOnInterrupt(
    spawn(process.execPath, [join(BUILD, 'bench', 'api.js'), '--child', stateDir, downloadDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '' },
    }),
  );
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /URL (\S+)/.exec(out);
      if (m !== null) resolve({ proc, url: m[1]! });
    });
    proc.once('exit', (code) => reject(new Error(`daemon exited with ${code}`)));
  });
}

function procStat(pid: number): { cpuTicks: number; rssMb: number; hwmMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { cpuTicks, rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitAllSeeding(url: string, count: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const s = (await (await fetch(`${url}/api/v1/stats`)).json()) as { torrentsByState: { seeding: number } };
    if (s.torrentsByState.seeding >= count) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`only ${s.torrentsByState.seeding}/${count} seeding`);
    await sleep(100);
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  console.log(`building… (${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)})`);
  await build();
  const { createTorrent, HashPool } = (await import(
    join(BUILD, 'src', 'storage', 'index.js')
  )) as typeof import('../src/storage/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-api-'));
  const undoDir = removeOnInterrupt(dir);
  const state = join(dir, 'state');
  const dl = join(dir, 'dl');
  mkdirSync(dl, { recursive: true });
  let proc: ChildProcess | undefined;
  try {
    console.log(`making ${TORRENTS} torrents of tiny files…`);
    const pool = new HashPool({ threads: 1 });
    const torrents: Uint8Array[] = [];
    for (let i = 0; i < TORRENTS; i++) {
      const file = join(dl, `file-${String(i).padStart(4, '0')}.bin`);
      const body = Buffer.alloc(1024 + ((i * 37) % 3072));
      body.write(`shoal bench file ${i} `.repeat(8));
      writeFileSync(file, body);
      torrents.push((await createTorrent(file, { hashPool: pool, creationDate: null })).bytes);
    }
    await pool.destroy();

    let child = await startChild(state, dl);
    proc = child.proc;
    console.log(`daemon at ${child.url} (pid ${proc.pid}); adding ${TORRENTS} torrents…`);
    const tAdd = performance.now();
    const CONCURRENCY = 8;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < torrents.length; i = next++) {
          const res = await fetch(`${child.url}/api/v1/torrents`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-bittorrent' },
            body: torrents[i]!,
          });
          if (res.status !== 201) throw new Error(`add ${i}: HTTP ${res.status} ${await res.text()}`);
        }
      }),
    );
    const addMs = performance.now() - tAdd;
    const seedMs = await waitAllSeeding(child.url, TORRENTS, 120_000);
    console.log(`added in ${(addMs / 1000).toFixed(1)} s; all seeding ${(seedMs / 1000).toFixed(1)} s later`);

    // List latency.
    const lat: number[] = [];
    let bytes = 0;
    let listCpu0 = 0;
    for (let i = 0; i < 50 + REQUESTS; i++) {
      if (i === 50) listCpu0 = procStat(proc.pid!).cpuTicks;
      const t0 = performance.now();
      const res = await fetch(`${child.url}/api/v1/torrents`);
      const body = await res.arrayBuffer();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`list: HTTP ${res.status}`);
      if (i >= 50) lat.push(ms);
      bytes = body.byteLength;
    }
    const listCpuMs = ((procStat(proc.pid!).cpuTicks - listCpu0) / CLK_TCK / REQUESTS) * 1000;
    lat.sort((a, b) => a - b);

    // Idle CPU and memory.
    await sleep(5_000);
    const s0 = procStat(proc.pid!);
    const t0 = performance.now();
    await sleep(IDLE_S * 1000);
    const s1 = procStat(proc.pid!);
    const idleCpu = ((s1.cpuTicks - s0.cpuTicks) / CLK_TCK / ((performance.now() - t0) / 1000)) * 100;

    // Restart on the same state.
    proc.kill('SIGTERM');
    await new Promise((r) => proc!.once('exit', r));
    const tRestart = performance.now();
    child = await startChild(state, dl);
    proc = child.proc;
    await waitAllSeeding(child.url, TORRENTS, 120_000);
    const restoreMs = performance.now() - tRestart;
    const after = procStat(proc.pid!);

    const ok = (v: boolean) => (v ? 'yes' : '**no**');
    console.log('');
    console.log(
      `load average during the run: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} (${cpus().length} cores)`,
    );
    console.log(`| ${TORRENTS} torrents seeding | value | target | met |`);
    console.log('|---|---|---|---|');
    console.log(`| list p50 | ${pct(lat, 50).toFixed(2)} ms | | |`);
    console.log(`| list p99 | ${pct(lat, 99).toFixed(2)} ms | < 20 ms | ${ok(pct(lat, 99) < 20)} |`);
    console.log(`| list max | ${lat[lat.length - 1]!.toFixed(2)} ms | | |`);
    console.log(`| list CPU time (daemon) | ${listCpuMs.toFixed(1)} ms per request | | |`);
    console.log(`| list answer size | ${(bytes / 1024).toFixed(0)} KiB | | |`);
    console.log(
      `| idle CPU (${IDLE_S} s) | ${idleCpu.toFixed(2)} % of a core | < 2 % | ${ok(idleCpu < 2)} |`,
    );
    console.log(`| RSS (idle) | ${s1.rssMb.toFixed(0)} MB | < 300 MB | ${ok(s1.rssMb < 300)} |`);
    console.log(`| peak RSS | ${s1.hwmMb.toFixed(0)} MB | | |`);
    console.log(`| add ${TORRENTS} (API, 8 at a time) | ${(addMs / 1000).toFixed(1)} s | | |`);
    console.log(`| restart until all seeding | ${(restoreMs / 1000).toFixed(1)} s | | |`);
    console.log(`| RSS after restart | ${after.rssMb.toFixed(0)} MB | | |`);
    proc.kill('SIGTERM');
    await new Promise((r) => proc!.once('exit', r));
    proc = undefined;
  } finally {
    if (proc !== undefined && proc.exitCode === null) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    undoDir();
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!);
else await main();
