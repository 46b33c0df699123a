/**
 * `npm run bench:create` — how fast is torrent creation, and how much memory does it take?
 *
 * Creates torrents of one 1 GiB file of random bytes (generated once under bench/.data/, which
 * git ignores, and reused) with 1 MiB pieces, using:
 * - `shoal create` (the CLI, `--json`) compiled to JavaScript under plain `node`, as the published
 *   package runs it, for v1, v2 and hybrid, and once more from source under tsx;
 * - `mktorrent -t 2` (v1 only);
 * - libtorrent through python3-libtorrent, for v1, v2 and hybrid.
 * Every tool runs RUNS times (default 3), round-robin so that noise from other work on the
 * machine spreads evenly, after one read of the file to warm the page cache. Each run is its own
 * process, timed and measured (peak RSS from wait4) by bench/measure.py. The table gives the
 * median wall time, throughput and the largest peak RSS, and checks that every tool produced
 * the same info-hashes.
 *
 * Environment: BENCH_RUNS (runs per tool, default 3).
 */

import { spawn, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asDict, decode } from '../src/codec/index.js';
import { sha1, toHex } from '../src/shared/hash.js';
import { removeOnInterrupt, stopOnInterrupt, throwIfInterrupted } from './interrupt.js';
import { transpileTree, tsFilesUnder } from './transpile.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, 'bench', '.data');
/** Generated JavaScript lives here: below node_modules (so `piscina` resolves), outside what Biome lints. */
const BUILD = join(ROOT, 'node_modules', '.cache', 'shoal-bench');
const INPUT = join(DATA, 'random-1gib.bin');
const INPUT_BYTES = 1024 * 1024 * 1024;
const PIECE_EXPONENT = 20;
const PIECE_LENGTH = 2 ** PIECE_EXPONENT;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PYTHON = '/usr/bin/python3';
const MiB = 1024 * 1024;

type Version = 'v1' | 'v2' | 'hybrid';

interface Tool {
  readonly label: string;
  readonly version: Version;
  /** Runs once; returns the command line (and prepares the output path). */
  readonly command: (out: string) => string[];
  /** Info-hashes of the output. */
  readonly hashes: (out: string, stdout: string) => Hashes;
}

interface Hashes {
  readonly v1: string | null;
  readonly v2: string | null;
  /**
   * Shoal only: seconds the CLI reports for the creation itself (`createTorrent`: thread start-up,
   * listing, hashing, encoding; then writing the .torrent), without node and module start-up.
   */
  readonly inProcessSeconds?: number;
}

interface Run {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly maxRssKiB: number;
  readonly hashes: Hashes;
}

async function ensureInput(): Promise<void> {
  mkdirSync(DATA, { recursive: true });
  if (existsSync(INPUT) && statSync(INPUT).size === INPUT_BYTES) return;
  console.log(`generating ${INPUT} (1 GiB of random bytes)…`);
  const tmp = `${INPUT}.tmp`;
  const undo = removeOnInterrupt(tmp);
  const file = await open(tmp, 'w');
  const chunk = Buffer.allocUnsafe(16 * MiB);
  try {
    for (let written = 0; written < INPUT_BYTES; written += chunk.length) {
      randomFillSync(chunk);
      await file.write(chunk); // a write at a time: an interrupt is handled between them
    }
  } finally {
    await file.close();
  }
  renameSync(tmp, INPUT);
  undo();
}

/** Compiles src/ to JavaScript (no type check) so that Shoal runs under plain node; returns the CLI. */
function buildShoal(): string {
  const out = join(BUILD, 'dist');
  rmSync(out, { recursive: true, force: true });
  const src = join(ROOT, 'src');
  transpileTree(tsFilesUnder(src), src, out);
  return join(out, 'cli', 'main.js');
}

async function warmPageCache(): Promise<void> {
  for await (const _ of createReadStream(INPUT, { highWaterMark: 4 * MiB })) {
    // read and drop
  }
}

/** Runs measure.py; asynchronously, so that an interrupt can stop it and the tool it runs. */
async function measure(
  argv: string[],
): Promise<{ seconds: number; cpuSeconds: number; maxRssKiB: number; stdout: string }> {
  throwIfInterrupted();
  const child = stopOnInterrupt(
    spawn(PYTHON, [join(ROOT, 'bench', 'measure.py'), ...argv], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  const status = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (status !== 0) throw new Error(`measure.py failed (${status}) for ${argv.join(' ')}`);
  const m = JSON.parse(stdout) as {
    seconds: number;
    cpuSeconds: number;
    maxRssKiB: number;
    status: number;
    stdout: string;
  };
  if (m.status !== 0) throw new Error(`${argv.join(' ')} exited with ${m.status}`);
  return m;
}

function v1HashOfFile(path: string): string {
  const torrent = asDict(decode(readFileSync(path), { mode: 'lenient' }));
  const info = torrent?.raw('info');
  if (info === undefined) throw new Error(`${path} has no info dictionary`);
  return toHex(sha1(info));
}

function median(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function cpuModel(): string {
  const line = readFileSync('/proc/cpuinfo', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('model name'));
  return line?.split(':')[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
}

function libtorrentVersion(): string {
  const r = spawnSync(PYTHON, ['-c', 'import libtorrent as lt; print(lt.__version__)'], { encoding: 'utf8' });
  return r.stdout.trim() || '?';
}

async function main(): Promise<void> {
  await ensureInput();
  const cli = buildShoal();
  const sourceCli = join(ROOT, 'src', 'cli', 'main.ts');
  const outDir = join(DATA, 'out');
  mkdirSync(outDir, { recursive: true });
  const ltVersion = libtorrentVersion();

  const parseJson = (_out: string, stdout: string) =>
    JSON.parse(stdout) as { v1: string | null; v2: string | null };
  const shoal = (version: Version, label: string, viaTsx: boolean): Tool => ({
    label,
    version,
    command: (out) => [
      process.execPath,
      ...(viaTsx ? ['--import', 'tsx'] : []),
      viaTsx ? sourceCli : cli,
      'create',
      INPUT,
      `--${version}`,
      '--piece-length',
      String(PIECE_LENGTH),
      '--no-date',
      '--json',
      '--force',
      '-o',
      out,
    ],
    hashes: (_out, stdout) => {
      const j = JSON.parse(stdout) as {
        infoHashV1: string | null;
        infoHashV2: string | null;
        seconds: number;
      };
      return { v1: j.infoHashV1, v2: j.infoHashV2, inProcessSeconds: j.seconds };
    },
  });
  const libtorrent = (version: Version): Tool => ({
    label: `libtorrent ${ltVersion} (python)`,
    version,
    command: (out) => [
      PYTHON,
      join(ROOT, 'bench', 'lt_create.py'),
      INPUT,
      String(PIECE_LENGTH),
      version,
      out,
    ],
    hashes: parseJson,
  });
  const tools: Tool[] = [
    shoal('v1', 'shoal create (node, built JS)', false),
    shoal('v1', 'shoal create (tsx, from source)', true),
    {
      label: 'mktorrent 1.1 -t 2',
      version: 'v1',
      command: (out) => {
        rmSync(out, { force: true }); // mktorrent refuses to overwrite
        return ['mktorrent', '-t', '2', '-l', String(PIECE_EXPONENT), '-d', '-o', out, INPUT];
      },
      hashes: (out) => ({ v1: v1HashOfFile(out), v2: null }),
    },
    libtorrent('v1'),
    shoal('v2', 'shoal create (node, built JS)', false),
    libtorrent('v2'),
    shoal('hybrid', 'shoal create (node, built JS)', false),
    libtorrent('hybrid'),
  ];

  const load = loadavg().map((x) => x.toFixed(2));
  console.log(`warming the page cache…`);
  await warmPageCache();
  const runs: Run[][] = tools.map(() => []);
  for (let round = 1; round <= RUNS; round++) {
    for (const [i, tool] of tools.entries()) {
      const out = join(outDir, `tool-${i}.torrent`);
      const m = await measure(tool.command(out));
      const run: Run = {
        seconds: m.seconds,
        cpuSeconds: m.cpuSeconds,
        maxRssKiB: m.maxRssKiB,
        hashes: tool.hashes(out, m.stdout),
      };
      runs[i]!.push(run);
      console.log(
        `  round ${round}: ${tool.label} ${tool.version}: ${run.seconds.toFixed(3)} s ` +
          `(${run.cpuSeconds.toFixed(2)} s CPU), ` +
          `${(run.maxRssKiB / 1024).toFixed(1)} MiB peak RSS`,
      );
    }
  }

  // Every tool must agree on the info-hashes of each version.
  const agreement: string[] = [];
  for (const version of ['v1', 'v2', 'hybrid'] as const) {
    const seen = new Set<string>();
    tools.forEach((tool, i) => {
      if (tool.version !== version) return;
      for (const r of runs[i]!) seen.add(`${r.hashes.v1}/${r.hashes.v2}`);
    });
    agreement.push(
      `${version}: ${seen.size === 1 ? 'all tools agree' : `MISMATCH ${[...seen].join(' ≠ ')}`}`,
    );
  }

  const lines = [
    `shoal create benchmark — ${new Date().toISOString()}`,
    `machine: ${cpuModel()}, ${cpus().length} cores (nproc); node ${process.version}; load average at start ${load.join(' ')}`,
    `input: 1 GiB random file, piece length ${PIECE_LENGTH / MiB} MiB, page cache warm, ${RUNS} runs per tool`,
    'median wall time and CPU time (user + system, all threads) per process; peak RSS = largest of the runs;',
    '"creating s" = median time `shoal create --json` reports for the creation and the write, without node start-up and module loading',
    '',
    '| tool | torrent | median s | MiB/s | CPU s | peak RSS MiB | creating s |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...tools.map((tool, i) => {
      const s = median(runs[i]!.map((r) => r.seconds));
      const cpu = median(runs[i]!.map((r) => r.cpuSeconds));
      const rss = Math.max(...runs[i]!.map((r) => r.maxRssKiB)) / 1024;
      const rate = (INPUT_BYTES / MiB / s).toFixed(0);
      const inside = runs[i]!.map((r) => r.hashes.inProcessSeconds).filter((x) => x !== undefined);
      const insideText = inside.length > 0 ? median(inside).toFixed(2) : '';
      return `| ${tool.label} | ${tool.version} | ${s.toFixed(2)} | ${rate} | ${cpu.toFixed(2)} | ${rss.toFixed(0)} | ${insideText} |`;
    }),
    '',
    `info-hashes: ${agreement.join('; ')}`,
  ];
  console.log(`\n${lines.join('\n')}`);
  if (agreement.some((a) => a.includes('MISMATCH'))) process.exitCode = 1;
}

await main();
