/**
 * `npm run bench:transfer` — how fast does a torrent move over loopback, and what does the
 * downloading side cost?
 *
 * One file (1 GiB of random bytes by default, generated once under bench/.data/transfer/ and
 * reused) moves from one seeder to one leecher on 127.0.0.1, as up to three single-file torrents
 * of that same file, all made by Shoal's `createTorrent` with 1 MiB pieces and kept beside it:
 * v1, v2 (BEP 52; the piece layers are in the .torrent, so no hash requests are needed) and
 * hybrid. For each torrent version, four pairs are measured in the same run:
 *
 *   Shoal → Shoal, libtorrent → Shoal, Shoal → libtorrent, libtorrent → libtorrent (the anchor).
 *
 * By default every pair runs for every version (3 versions × 4 pairs × 3 runs = 36 transfers of
 * 1 GiB, ~10 s each at ~100 MB/s; 8 minutes in all, seeders' start-up checks included, on a
 * loaded 2-core machine), because the cross pairs show which side of a v2 transfer costs what. Narrow it
 * with --versions and --pairs. The figures that issue 6 asks for are the ratios within one run:
 * Shoal v2 / Shoal v1 and Shoal hybrid / Shoal v1 (Shoal → Shoal), the same for libtorrent
 * (libtorrent → libtorrent), printed under the table with the verdict on the target (Shoal's v2
 * throughput within 10 % of its own v1 figure).
 *
 * Shoal runs as the published CLI does (`shoal seed`, `shoal download`, from JavaScript compiled
 * here into node_modules/.cache/shoal-bench-transfer, under plain `node`, with `--no-dht
 * --no-lsd` so that nothing leaves the loopback interface); libtorrent is
 * python3-libtorrent through test/interop/py/lt_peer.py. Every leecher is its own process, run
 * under bench/py/measure_peer.py, which reports its CPU time (user + system, all threads, from
 * wait4) and its peak RSS (ru_maxrss) and peak RssAnon (sampled; libtorrent maps the file it
 * downloads, so its RSS counts file pages too). One seeder per implementation and torrent
 * version (up to six processes, all serving the same payload file) stays up for the whole run,
 * each started once with a full check of its data; each run gets a fresh download folder,
 * deleted afterwards. Runs go round-robin — round, then pair, then version — so that noise from
 * other work on the machine spreads evenly and the v1, v2 and hybrid runs of a pair, whose
 * ratio is the point, follow each other closely.
 *
 * Throughput = payload bytes / (leecher done − leecher started), where "started" is the line the
 * leecher prints once its torrent is added, just before it dials the seeder (Shoal: "listening
 * on port", libtorrent: "added"), and "done" the line it prints once every piece is verified.
 * MB = 10^6 bytes.
 *
 * Options:
 *   --size 1g|10g|<n>m   payload size (10g: a sparse-ish file, for the memory row) [1g]
 *   --runs N             runs per pair [3, or BENCH_RUNS]
 *   --pairs a,b          only these pairs (shoal-shoal, lt-shoal, shoal-lt, lt-lt, and shoal-shoal-lowmem:
 *                        the leecher with `--low-memory`; with --encryption or --transport utp, among
 *                        its rows: shoal-shoal-utp, lt-lt-utp, …)
 *   --versions a,b       only these torrent versions (v1, v2, hybrid) [all three]
 *   --profile            per version, one extra Shoal → Shoal run (the last such row selected) with
 *                        `node --cpu-prof` on both sides; prints the functions with the most self time (profiles kept in
 *                        bench/out/transfer-<version>-{seeder,leecher}/)
 *   --src DIR            compile Shoal from DIR instead of src/ (to compare a change: A/B)
 *   --encryption         issue 19's rows: Shoal → Shoal and libtorrent → libtorrent, each plaintext
 *                        and with MSE/PE RC4 required on both ends (Shoal `--encryption require`,
 *                        libtorrent forced RC4), with the verdicts on the targets
 *   --transport utp      issue 20's rows: Shoal → Shoal and libtorrent → libtorrent, each over TCP
 *                        and over uTP only (Shoal `--utp-policy utp-only`, libtorrent TCP off), with
 *                        the verdicts on the targets and the leecher CPU per GiB
 *   --transport utp --link  issue 20's throttled-link figure instead (root: network namespaces):
 *                        Shoal uTP and libtorrent uTP through `tc tbf` and a relay adding 50 ms;
 *                        see bench/transfer-link.ts for its options
 */

import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTorrent } from '../src/storage/index.js';
import { ClientProcess, freePort, LT_PEER_SCRIPT, SYSTEM_PYTHON } from '../test/helpers/clients.js';
import { onInterrupt, throwIfInterrupted } from './interrupt.js';
import { transpileTree, tsFilesUnder } from './transpile.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, 'bench', '.data', 'transfer');
const PROFILES = join(ROOT, 'bench', 'out');
/** Compiled Shoal: below node_modules so that its dependencies resolve; outside what Biome lints. */
const BUILD = join(ROOT, 'node_modules', '.cache', 'shoal-bench-transfer');
const MEASURE = join(ROOT, 'bench', 'py', 'measure_peer.py');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PIECE_BYTES = MiB;
/** A run that takes longer than this counts as failed (1 GiB at 10 MB/s is ~100 s). */
const RUN_TIMEOUT_MS = 300_000;
/** A seeder must be ready (data checked) within this. */
const SEEDER_READY_MS = 300_000;

type Impl = 'shoal' | 'lt';
type Version = 'v1' | 'v2' | 'hybrid';
const ALL_VERSIONS: readonly Version[] = ['v1', 'v2', 'hybrid'];
/** Issue 6: Shoal's v2 (and hybrid) throughput at least this fraction of its own v1 figure. */
const V2_TARGET_RATIO = 0.9;
interface Pair {
  readonly id: string;
  readonly label: string;
  readonly seeder: Impl;
  readonly leecher: Impl;
  /** Both ends require MSE/PE with RC4 (`--encryption`). */
  readonly rc4?: boolean;
  /** Both ends speak uTP only, TCP off (`--transport utp`). */
  readonly utp?: boolean;
  /** The Shoal leecher runs with `--low-memory`. */
  readonly lowMemory?: boolean;
}
const ALL_PAIRS: readonly Pair[] = [
  { id: 'shoal-shoal', label: 'Shoal → Shoal', seeder: 'shoal', leecher: 'shoal' },
  { id: 'lt-shoal', label: 'libtorrent → Shoal', seeder: 'lt', leecher: 'shoal' },
  { id: 'shoal-lt', label: 'Shoal → libtorrent', seeder: 'shoal', leecher: 'lt' },
  { id: 'lt-lt', label: 'libtorrent → libtorrent', seeder: 'lt', leecher: 'lt' },
];
/** Shoal's leecher with `--low-memory` (no hash thread): only when `--pairs` names it. */
const LOW_MEMORY_PAIR: Pair = {
  id: 'shoal-shoal-lowmem',
  label: 'Shoal → Shoal, leecher `--low-memory`',
  seeder: 'shoal',
  leecher: 'shoal',
  lowMemory: true,
};
/** Issue 19's encrypted rows (`--encryption`): each beside its own plaintext row. */
const RC4_PAIRS: readonly Pair[] = [
  { id: 'shoal-shoal-rc4', label: 'Shoal → Shoal, RC4', seeder: 'shoal', leecher: 'shoal', rc4: true },
  { id: 'lt-lt-rc4', label: 'libtorrent → libtorrent, RC4', seeder: 'lt', leecher: 'lt', rc4: true },
];
/** Issue 20's uTP rows (`--transport utp`): each beside its own TCP row. */
const UTP_PAIRS: readonly Pair[] = [
  { id: 'shoal-shoal-utp', label: 'Shoal → Shoal, uTP', seeder: 'shoal', leecher: 'shoal', utp: true },
  { id: 'lt-lt-utp', label: 'libtorrent → libtorrent, uTP', seeder: 'lt', leecher: 'lt', utp: true },
];
/** Issue 20: Shoal over uTP at least this share of its own TCP figure. */
const UTP_TARGET_RATIO = 0.5;
/** The seeder a pair needs (kind of client and what it speaks). */
const seederKind = (p: Pair) => `${p.seeder}${p.rc4 === true ? '-rc4' : ''}${p.utp === true ? '-utp' : ''}`;
/** Issue 19: Shoal encrypted at least this share of its own plaintext figure. */
const RC4_TARGET_RATIO = 0.6;

interface Measured {
  readonly status: number;
  readonly cpuSeconds: number;
  readonly maxRssKiB: number;
  readonly peakRssAnonKiB: number;
  readonly peakRssFileKiB: number;
}

interface Run {
  readonly ok: boolean;
  readonly seconds: number;
  readonly mbps: number;
  readonly cpuSeconds: number;
  readonly maxRssMB: number;
  readonly rssAnonMB: number;
  readonly seederCpuSeconds: number;
  readonly error?: string;
}

// ------------------------------------------------------------------ options

interface Options {
  readonly sizeBytes: number;
  readonly sizeLabel: string;
  readonly runs: number;
  readonly pairs: readonly Pair[];
  readonly versions: readonly Version[];
  readonly profile: boolean;
  readonly src: string;
}

function parseOptions(argv: readonly string[]): Options {
  let size = '1g';
  let runs = Number(process.env.BENCH_RUNS ?? 3);
  let versions = ALL_VERSIONS;
  let profile = false;
  let src = join(ROOT, 'src');
  let encryption = false;
  let utp = false;
  let pairIds: readonly string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--size') size = value().toLowerCase();
    else if (a === '--encryption') encryption = true;
    else if (a === '--transport') {
      const t = value();
      if (t !== 'utp' && t !== 'tcp') throw new Error(`--transport: expected utp or tcp, got ${t}`);
      utp = t === 'utp';
    } else if (a === '--runs') runs = Number(value());
    else if (a === '--pairs') pairIds = value().split(',');
    else if (a === '--versions') {
      const ids = value().split(',');
      versions = ALL_VERSIONS.filter((v) => ids.includes(v));
      if (versions.length !== ids.length) throw new Error(`--versions: known versions are ${ALL_VERSIONS}`);
    } else if (a === '--profile') profile = true;
    else if (a === '--src') src = value();
    else throw new Error(`unknown option ${a}`);
  }
  const m = /^(\d+)([mg])$/.exec(size);
  if (m === null) throw new Error(`--size: expected e.g. 1g, 10g, 256m; got ${size}`);
  const sizeBytes = Number(m[1]) * (m[2] === 'g' ? GiB : MiB);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: expected a positive integer');
  return {
    sizeBytes,
    sizeLabel: `${m[1]}${m[2] === 'g' ? 'GiB' : 'MiB'}`,
    runs,
    // --encryption: Shoal → Shoal and libtorrent → libtorrent, plaintext and RC4, in one run.
    // --transport utp: Shoal → Shoal and libtorrent → libtorrent, TCP and uTP only, in one run.
    // With either, --pairs picks among those rows by id (e.g. shoal-shoal,shoal-shoal-utp).
    pairs: encryption
      ? only([ALL_PAIRS[0]!, ALL_PAIRS[3]!, ...RC4_PAIRS], pairIds)
      : utp
        ? only([ALL_PAIRS[0]!, ALL_PAIRS[3]!, ...UTP_PAIRS], pairIds)
        : pairIds === undefined
          ? ALL_PAIRS
          : only([...ALL_PAIRS, LOW_MEMORY_PAIR], pairIds),
    versions,
    profile,
    src,
  };
}

function only(rows: readonly Pair[], ids: readonly string[] | undefined): readonly Pair[] {
  if (ids === undefined) return rows;
  const picked = rows.filter((p) => ids.includes(p.id));
  if (picked.length !== ids.length) throw new Error(`--pairs: known pairs here are ${rows.map((p) => p.id)}`);
  return picked;
}

// ------------------------------------------------------------------ payload, torrent, build

/**
 * The payload file. Up to 2 GiB it is random bytes; above, "sparse-ish": a hole with 1 MiB of
 * random bytes every 64 MiB, so that it costs little disk and time to make while the transfer
 * still moves (and hashes) every byte.
 */
function ensurePayload(o: Options): { file: string; seedDir: string; name: string } {
  const name = `shoal-transfer-${o.sizeLabel.toLowerCase()}.bin`;
  const seedDir = join(DATA, `seed-${o.sizeLabel.toLowerCase()}`);
  const file = join(seedDir, name);
  mkdirSync(seedDir, { recursive: true });
  if (existsSync(file) && statSync(file).size === o.sizeBytes) return { file, seedDir, name };
  console.log(`generating ${relative(ROOT, file)} (${o.sizeLabel})…`);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  const chunk = Buffer.allocUnsafe(16 * MiB);
  if (o.sizeBytes <= 2 * GiB) {
    for (let written = 0; written < o.sizeBytes; ) {
      const n = Math.min(chunk.length, o.sizeBytes - written);
      randomFillSync(chunk, 0, n);
      writeSync(fd, chunk, 0, n, written);
      written += n;
    }
  } else {
    ftruncateSync(fd, o.sizeBytes);
    const island = chunk.subarray(0, MiB);
    for (let at = 0; at < o.sizeBytes; at += 64 * MiB) {
      randomFillSync(island);
      writeSync(fd, island, 0, Math.min(MiB, o.sizeBytes - at), at);
    }
  }
  closeSync(fd);
  renameSync(tmp, file);
  return { file, seedDir, name };
}

/**
 * The torrent of the payload for one version, made once and reused while it is newer than the
 * payload (v1 keeps the name it had before v2 and hybrid were measured).
 */
async function ensureTorrent(o: Options, file: string, version: Version): Promise<string> {
  const suffix = version === 'v1' ? '' : `-${version}`;
  const path = join(DATA, `shoal-transfer-${o.sizeLabel.toLowerCase()}${suffix}.torrent`);
  if (existsSync(path) && statSync(path).mtimeMs >= statSync(file).mtimeMs) return path;
  console.log(`creating ${relative(ROOT, path)}…`);
  const t = await createTorrent(file, { version, pieceLength: PIECE_BYTES, creationDate: null });
  writeFileSync(path, t.bytes);
  return path;
}

/** Compiles Shoal's sources (src/) to JavaScript (no type check); returns the CLI entry. */
function buildShoal(src: string): string {
  const out = join(BUILD, 'dist');
  rmSync(out, { recursive: true, force: true });
  transpileTree(tsFilesUnder(src), src, out);
  cliNodeFlags = shebangNodeFlags(join(src, 'cli', 'main.ts'));
  return join(out, 'cli', 'main.js');
}

/** Node flags the CLI's `#!/usr/bin/env -S node …` line gives the installed `shoal` command. */
let cliNodeFlags: readonly string[] = [];

function shebangNodeFlags(entry: string): string[] {
  const first = readFileSync(entry, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(first);
  return m === null
    ? []
    : m[1]!
        .trim()
        .split(/\s+/)
        .filter((f) => f.length > 0);
}

// ------------------------------------------------------------------ processes

/**
 * Flags that keep a Shoal CLI peer on loopback: no DHT, no local service discovery (when this
 * build of the CLI has them; they are on by default).
 */
let offlineFlags: readonly string[] = [];

function detectOfflineFlags(cli: string): void {
  const help = spawnSync(process.execPath, [cli, 'download', '--help'], { encoding: 'utf8' }).stdout;
  offlineFlags = ['--no-dht', '--no-lsd'].filter((f) => help.includes(f));
}

/** CPU seconds (user + system, all threads) a live process has used so far, from /proc. */
function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] = utime, fields[12] = stime (clock ticks; 100 per second on Linux)
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

interface Seeder {
  readonly impl: Impl;
  readonly version: Version;
  readonly port: number;
  readonly proc: ClientProcess;
}

async function startSeeder(
  impl: Impl,
  version: Version,
  cli: string,
  torrent: string,
  seedDir: string,
  nodeArgs: readonly string[] = [],
  rc4 = false,
  utp = false,
): Promise<Seeder> {
  throwIfInterrupted();
  const port = await freePort();
  if (impl === 'shoal') {
    const proc = new ClientProcess(`shoal seed ${version}`, process.execPath, [
      ...cliNodeFlags,
      ...nodeArgs,
      cli,
      'seed',
      torrent,
      seedDir,
      '--port',
      String(port),
      ...offlineFlags,
      ...(rc4 ? ['--encryption', 'require'] : []),
      ...(utp ? ['--utp-policy', 'utp-only'] : []),
    ]);
    await proc.waitForLine(
      (l) => l.startsWith('seeding ') && l.includes(' on port '),
      SEEDER_READY_MS,
      'ready',
    );
    return { impl, version, port, proc };
  }
  const proc = new ClientProcess(`libtorrent seed ${version}`, SYSTEM_PYTHON, [
    LT_PEER_SCRIPT,
    '--torrent',
    torrent,
    '--save',
    seedDir,
    '--port',
    String(port),
    '--seed',
    '--status-ms',
    '60000',
    ...(rc4 ? ['--require-rc4'] : []),
    ...(utp ? ['--utp-only'] : []),
  ]);
  await proc.waitForLine((l) => l.includes('"t": "ready"'), SEEDER_READY_MS, 'ready');
  return { impl, version, port, proc };
}

async function runOnce(
  pair: Pair,
  seeder: Seeder,
  cli: string,
  torrent: string,
  fileName: string,
  payloadBytes: number,
  tag: string,
  nodeArgs: readonly string[] = [],
): Promise<Run> {
  throwIfInterrupted();
  const dir = join(DATA, `leech-${tag}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const measureFile = join(DATA, `measure-${tag}.json`);
  rmSync(measureFile, { force: true });
  const argv =
    pair.leecher === 'shoal'
      ? [
          process.execPath,
          ...cliNodeFlags,
          ...nodeArgs,
          cli,
          'download',
          torrent,
          '-o',
          dir,
          '--port',
          String(await freePort()),
          '--peer',
          `127.0.0.1:${seeder.port}`,
          ...offlineFlags,
          ...(pair.rc4 === true ? ['--encryption', 'require'] : []),
          ...(pair.utp === true ? ['--utp-policy', 'utp-only'] : []),
          ...(pair.lowMemory === true ? ['--low-memory'] : []),
        ]
      : [
          SYSTEM_PYTHON,
          LT_PEER_SCRIPT,
          '--torrent',
          torrent,
          '--save',
          dir,
          '--port',
          String(await freePort()),
          '--connect',
          String(seeder.port),
          '--exit-when-done',
          '--status-ms',
          '60000',
          ...(pair.rc4 === true ? ['--require-rc4'] : []),
          ...(pair.utp === true ? ['--utp-only'] : []),
        ];
  const seederCpu0 = cpuSecondsOf(seeder.proc.pid);
  const leecher = new ClientProcess(`${pair.leecher} leecher`, SYSTEM_PYTHON, [
    MEASURE,
    measureFile,
    ...argv,
  ]);
  const undo = onInterrupt(async () => {
    await leecher.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const startLine =
    pair.leecher === 'shoal'
      ? (l: string) => l.startsWith('listening on port')
      : (l: string) => l.includes('"t": "added"');
  const doneLine =
    pair.leecher === 'shoal'
      ? (l: string) => l.startsWith('complete: ')
      : (l: string) => l.includes('"t": "finished"');
  try {
    await leecher.waitForLine(startLine, 60_000, 'start');
    const t0 = performance.now();
    await leecher.waitForLine(doneLine, RUN_TIMEOUT_MS, 'done');
    const seconds = (performance.now() - t0) / 1000;
    const seederCpuSeconds = cpuSecondsOf(seeder.proc.pid) - seederCpu0;
    const exit = await Promise.race([
      leecher.exited,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 60_000).unref()),
    ]);
    if (exit === undefined) throw new Error('leecher did not exit after it was done');
    const m = JSON.parse(readFileSync(measureFile, 'utf8')) as Measured;
    if (m.status !== 0) throw new Error(`leecher exited with status ${m.status}`);
    const size = statSync(join(dir, fileName)).size;
    if (size !== payloadBytes) throw new Error(`downloaded file has ${size} bytes, expected ${payloadBytes}`);
    return {
      ok: true,
      seconds,
      mbps: payloadBytes / seconds / 1e6,
      cpuSeconds: m.cpuSeconds,
      maxRssMB: (m.maxRssKiB * 1024) / 1e6,
      rssAnonMB: (m.peakRssAnonKiB * 1024) / 1e6,
      seederCpuSeconds,
    };
  } catch (e) {
    const tail = leecher.output().split('\n').slice(-15).join('\n');
    const seederTail = seeder.proc.output().split('\n').slice(-8).join('\n');
    const error = `${(e as Error).message}\n--- leecher output ---\n${tail}\n--- seeder output ---\n${seederTail}`;
    return {
      ok: false,
      seconds: Number.NaN,
      mbps: Number.NaN,
      cpuSeconds: Number.NaN,
      maxRssMB: Number.NaN,
      rssAnonMB: Number.NaN,
      seederCpuSeconds: Number.NaN,
      error,
    };
  } finally {
    await leecher.stop();
    undo();
    rmSync(dir, { recursive: true, force: true });
    rmSync(measureFile, { force: true });
  }
}

// ------------------------------------------------------------------ profiles

interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
}

/** The functions with the most self time in a .cpuprofile (V8 sampling profile). */
function topSelfTime(path: string, n: number): string[] {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: CpuProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id);
    if (node === undefined) return;
    const f = node.callFrame;
    const where =
      f.url === '' ? '' : ` ${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, us]) =>
        `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(6)} s  ${k}`,
    );
}

// ------------------------------------------------------------------ report

function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function max(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x));
  return s.length === 0 ? Number.NaN : Math.max(...s);
}

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');

function machine(): string {
  const model =
    readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'))
      ?.split(':')[1]
      ?.trim() ?? cpus()[0]?.model;
  const lt = spawnSync(SYSTEM_PYTHON, ['-c', 'import libtorrent as lt; print(lt.__version__)'], {
    encoding: 'utf8',
  }).stdout.trim();
  return `${model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / GiB).toFixed(0)} GiB RAM; Node ${process.version}; libtorrent ${lt || '?'}; load average at start ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`;
}

// ------------------------------------------------------------------ main

const key = (version: Version, id: string) => `${version}:${id}`;

async function main(): Promise<void> {
  if (process.argv.includes('--link')) {
    // Issue 20's throttled-link figure: its own namespaces, processes and table (transfer-link.ts).
    const { runLinkBench } = await import('./transfer-link.js');
    await runLinkBench(process.argv.slice(2));
    return;
  }
  const o = parseOptions(process.argv.slice(2));
  const header = `${new Date().toISOString().slice(0, 10)} — ${machine()}`;
  const { file, seedDir, name } = ensurePayload(o);
  const torrents = new Map<Version, string>();
  for (const version of o.versions) torrents.set(version, await ensureTorrent(o, file, version));
  const payloadBytes = statSync(file).size;
  const cli = buildShoal(o.src);
  detectOfflineFlags(cli);
  mkdirSync(DATA, { recursive: true });

  const seederKinds = [...new Map(o.pairs.map((p) => [seederKind(p), p] as const)).entries()];
  const seeders = new Map<string, Seeder>();
  const undoSeeders = onInterrupt(async () => {
    await Promise.all([...seeders.values()].map((s) => s.proc.stop()));
  });
  const runs = new Map<string, Run[]>(
    o.versions.flatMap((v) => o.pairs.map((p) => [key(v, p.id), []] as [string, Run[]])),
  );
  try {
    for (const version of o.versions) {
      for (const [kind, p] of seederKinds) {
        console.log(
          `starting the ${p.seeder === 'shoal' ? 'Shoal' : 'libtorrent'}${p.rc4 === true ? ' RC4' : ''}${p.utp === true ? ' uTP' : ''} ${version} seeder (checks ${o.sizeLabel})…`,
        );
        seeders.set(
          key(version, kind),
          await startSeeder(
            p.seeder,
            version,
            cli,
            torrents.get(version)!,
            seedDir,
            [],
            p.rc4 === true,
            p.utp === true,
          ),
        );
      }
    }
    for (let round = 1; round <= o.runs; round++) {
      for (const pair of o.pairs) {
        for (const version of o.versions) {
          const r = await runOnce(
            pair,
            seeders.get(key(version, seederKind(pair)))!,
            cli,
            torrents.get(version)!,
            name,
            payloadBytes,
            `${version}-${pair.id}`,
          );
          runs.get(key(version, pair.id))!.push(r);
          const what = `run ${round} ${version} ${pair.label}`;
          console.log(
            r.ok
              ? `${what}: ${fmt(r.mbps)} MB/s in ${fmt(r.seconds, 2)} s, leecher CPU ${fmt(r.cpuSeconds, 2)} s, peak RSS ${fmt(r.maxRssMB)} MB (anon ${fmt(r.rssAnonMB)} MB), seeder CPU ${fmt(r.seederCpuSeconds, 2)} s`
              : `${what}: FAILED ${r.error}`,
          );
        }
      }
    }
  } finally {
    await Promise.all([...seeders.values()].map((s) => s.proc.stop()));
    undoSeeders();
  }

  const lines = [
    `Transfer of one ${o.sizeLabel} file (${o.versions.join(', ')}; ${PIECE_BYTES / MiB} MiB pieces) over 127.0.0.1, ${o.runs} run(s) per pair and version — ${header}; load average at the end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
    '',
    '| torrent | seeder → leecher | median MB/s | runs MB/s | leecher CPU s (median) | leecher peak RSS MB (max) | leecher peak RssAnon MB (max) | seeder CPU s (median) |',
    '|---|---|---:|---|---:|---:|---:|---:|',
  ];
  for (const version of o.versions) {
    for (const pair of o.pairs) {
      const rs = runs.get(key(version, pair.id))!;
      lines.push(
        `| ${version} | ${pair.label} | ${fmt(median(rs.map((r) => r.mbps)))} | ${rs.map((r) => fmt(r.mbps)).join(', ')} | ${fmt(median(rs.map((r) => r.cpuSeconds)), 2)} | ${fmt(max(rs.map((r) => r.maxRssMB)))} | ${fmt(max(rs.map((r) => r.rssAnonMB)))} | ${fmt(median(rs.map((r) => r.seederCpuSeconds)), 2)} |`,
      );
    }
  }
  const mb = (v: Version, id: string) => median(runs.get(key(v, id))?.map((r) => r.mbps) ?? []);
  const cpu = (v: Version, id: string) => median(runs.get(key(v, id))?.map((r) => r.cpuSeconds) ?? []);
  const verdicts: string[] = [];
  for (const version of o.versions) {
    if (runs.has(key(version, 'shoal-shoal')) && runs.has(key(version, 'lt-lt'))) {
      const ours = mb(version, 'shoal-shoal');
      const theirs = mb(version, 'lt-lt');
      verdicts.push(
        `${version}: Shoal → Shoal ≥ libtorrent → libtorrent: ${ours >= theirs ? 'met' : 'NOT met'} (${fmt(ours)} vs ${fmt(theirs)} MB/s).`,
      );
    }
  }
  for (const version of o.versions) {
    if (!runs.has(key(version, 'shoal-shoal-rc4'))) continue;
    const ours = mb(version, 'shoal-shoal-rc4');
    const theirs = mb(version, 'lt-lt-rc4');
    const plain = mb(version, 'shoal-shoal');
    verdicts.push(
      `${version}: Shoal RC4 ≥ libtorrent RC4: ${ours >= theirs ? 'met' : 'NOT met'} (${fmt(ours)} vs ${fmt(theirs)} MB/s); Shoal RC4 ≥ ${RC4_TARGET_RATIO} × Shoal plaintext: ${ours >= RC4_TARGET_RATIO * plain ? 'met' : 'NOT met'} (${fmt(ours / plain, 2)}×); libtorrent RC4 / plaintext ${fmt(theirs / mb(version, 'lt-lt'), 2)}×.`,
    );
  }
  for (const version of o.versions) {
    if (!runs.has(key(version, 'shoal-shoal-utp'))) continue;
    const ours = mb(version, 'shoal-shoal-utp');
    const theirs = mb(version, 'lt-lt-utp');
    const tcp = mb(version, 'shoal-shoal');
    const perGiB = (id: string) => fmt(cpu(version, id) / (payloadBytes / GiB), 2);
    verdicts.push(
      `${version}: Shoal uTP ≥ libtorrent uTP: ${ours >= theirs ? 'met' : 'NOT met'} (${fmt(ours)} vs ${fmt(theirs)} MB/s, ${fmt(ours / theirs, 2)}×); Shoal uTP ≥ ${UTP_TARGET_RATIO} × Shoal TCP: ${ours >= UTP_TARGET_RATIO * tcp ? 'met' : 'NOT met'} (${fmt(ours / tcp, 2)}×); leecher CPU s per GiB: Shoal uTP ${perGiB('shoal-shoal-utp')}, libtorrent uTP ${perGiB('lt-lt-utp')}, Shoal TCP ${perGiB('shoal-shoal')}.`,
    );
  }
  const shoalRss = max(
    o.versions.flatMap((v) =>
      o.pairs
        .filter((p) => p.leecher === 'shoal')
        .flatMap((p) => runs.get(key(v, p.id))!.map((r) => r.maxRssMB)),
    ),
  );
  if (Number.isFinite(shoalRss)) {
    verdicts.push(
      `Target Shoal leecher peak RSS < 150 MB: ${shoalRss < 150 ? 'met' : 'NOT met'} (${fmt(shoalRss)} MB, any version).`,
    );
  }

  // Ratios to each pair's own v1 figure of this run: the comparison issue 6 asks for.
  const ratioLines: string[] = [];
  const others = o.versions.filter((v) => v !== 'v1');
  if (o.versions.includes('v1') && others.length > 0) {
    ratioLines.push(
      '',
      'Ratios to the same pair’s v1 median of this run (throughput: higher is better; leecher CPU: lower is better):',
      '',
      `| seeder → leecher | ${others.map((v) => `${v} / v1 MB/s | ${v} / v1 leecher CPU`).join(' | ')} |`,
      `|---|${others.map(() => '---:|---:|').join('')}`,
    );
    for (const pair of o.pairs) {
      const cells = others.map(
        (v) =>
          `${fmt(mb(v, pair.id) / mb('v1', pair.id), 2)} | ${fmt(cpu(v, pair.id) / cpu('v1', pair.id), 2)}`,
      );
      ratioLines.push(`| ${pair.label} | ${cells.join(' | ')} |`);
    }
    ratioLines.push('');
    for (const [id, who] of [
      ['shoal-shoal', 'Shoal'],
      ['lt-lt', 'libtorrent'],
    ] as const) {
      if (!runs.has(key('v1', id))) continue;
      const parts = others.map(
        (v) =>
          `${who} ${v} / ${who} v1 = ${fmt(mb(v, id))} / ${fmt(mb('v1', id))} = ${fmt(mb(v, id) / mb('v1', id), 3)}`,
      );
      ratioLines.push(`${parts.join('; ')}.`);
    }
    if (runs.has(key('v1', 'shoal-shoal'))) {
      for (const v of others) {
        const ratio = mb(v, 'shoal-shoal') / mb('v1', 'shoal-shoal');
        ratioLines.push(
          `Target Shoal ${v} throughput within ${Math.round((1 - V2_TARGET_RATIO) * 100)} % of Shoal v1 (Shoal → Shoal, ratio ≥ ${V2_TARGET_RATIO}): ${ratio >= V2_TARGET_RATIO ? 'met' : 'NOT met'} (${fmt(ratio, 3)}).`,
        );
      }
    }
  }
  console.log(`\n${[...lines, '', ...verdicts, ...ratioLines].join('\n')}\n`);

  if (o.profile) {
    for (const version of o.versions) {
      await profile(
        version,
        cli,
        torrents.get(version)!,
        seedDir,
        name,
        payloadBytes,
        // The last Shoal → Shoal row selected (with --transport utp: the uTP one).
        o.pairs.filter((p) => p.seeder === 'shoal' && p.leecher === 'shoal').at(-1) ?? ALL_PAIRS[0]!,
      );
    }
  }
}

/** One Shoal → Shoal run with both sides under `node --cpu-prof`; prints the top self times. */
async function profile(
  version: Version,
  cli: string,
  torrent: string,
  seedDir: string,
  fileName: string,
  payloadBytes: number,
  pair: Pair,
): Promise<void> {
  mkdirSync(PROFILES, { recursive: true });
  const seedProf = join(PROFILES, `transfer-${version}-seeder`);
  const leechProf = join(PROFILES, `transfer-${version}-leecher`);
  for (const d of [seedProf, leechProf]) rmSync(d, { recursive: true, force: true });
  console.log(`profiling one ${version} ${pair.label} run (node --cpu-prof)…`);
  const seeder = await startSeeder(
    'shoal',
    version,
    cli,
    torrent,
    seedDir,
    ['--cpu-prof', `--cpu-prof-dir=${seedProf}`],
    pair.rc4 === true,
    pair.utp === true,
  );
  const undo = onInterrupt(() => seeder.proc.stop());
  let run: Run;
  try {
    run = await runOnce(pair, seeder, cli, torrent, fileName, payloadBytes, `profile-${version}`, [
      '--cpu-prof',
      `--cpu-prof-dir=${leechProf}`,
    ]);
  } finally {
    await seeder.proc.stop(); // SIGTERM: the CLI exits cleanly and node writes the profile
    undo();
  }
  console.log(
    run.ok
      ? `profiled ${version} run: ${fmt(run.mbps)} MB/s, leecher CPU ${fmt(run.cpuSeconds, 2)} s, seeder CPU ${fmt(run.seederCpuSeconds, 2)} s`
      : `profiled ${version} run FAILED: ${run.error}`,
  );
  for (const [label, dir] of [
    ['leecher', leechProf],
    ['seeder', seedProf],
  ] as const) {
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
    for (const f of files) {
      console.log(`\n${version} ${label} ${relative(ROOT, join(dir, f))} — top self time:`);
      for (const line of topSelfTime(join(dir, f), 25)) console.log(`  ${line}`);
    }
  }
}

await main();
