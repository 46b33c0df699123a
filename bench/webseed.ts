/**
 * `npm run bench:webseed` — how fast does a torrent come from an HTTP origin alone (BEP 19 web
 * seed), beside the same file fetched with `curl`?
 *
 * One file (1 GiB of random bytes by default, generated once under bench/.data/webseed/ and
 * reused) is served by nginx (Debian `nginx`, started here on 127.0.0.1 with a generated config,
 * test/helpers/nginx.ts, and stopped at the end). A single-file v1 torrent of it (1 MiB pieces,
 * made by Shoal, its `url-list` naming the nginx URL) is downloaded with no peer at all by:
 *
 *   curl (the file itself, one connection: the reference), Shoal (`shoal download --web-seed`),
 *   aria2 (`aria2c` with the torrent) and libtorrent (python3-libtorrent, test/interop/py/lt_peer.py);
 *   and the floor (bench/webseed-floor.ts): a minimal verifying web-seed client in Node, with no
 *   engine at all, to show how much of the gap to curl is Node's and how much Shoal's.
 *
 * Each config runs twice: nginx without a limit, and with nginx `limit_rate` (`--limit`, 256k by
 * default) on a smaller file (`--limit-size`, 8 MiB by default), where fetching ranges in
 * parallel is what counts. nginx's `limit_rate` is per request (nginx 1.22: "the limit is set
 * per a request"), and each request may send a second's worth at once before the limit bites:
 * a response of n bytes takes about max(0, n / rate − 1) seconds. The rate is therefore set low
 * enough that one second's worth is at most about a quarter of a Shoal range (one 1 MiB piece:
 * Shoal's ranges end at piece boundaries), so each of its connections is really held near the
 * rate (about 4/3 × rate for 1 MiB ranges), and a client with one long request is held to the
 * rate. Runs go round robin (round, then config, then client) so that noise from other work on
 * the shared machine spreads evenly, with a pause between runs (SETTLE_MS); the table gives the
 * median of `--runs`.
 *
 * Every client is its own process under bench/py/measure_peer.py (CPU time, peak RSS, and its
 * main thread's time on a CPU and time queued for one, from /proc/<pid>/schedstat). Time is
 * wall time from the client's start line (Shoal: "listening on port", libtorrent: "added", the
 * floor: "started"; curl and aria2: the spawn) to its done line (Shoal: "complete:", libtorrent:
 * "finished", aria2: its completion hook, the floor: "done:"; curl: its exit). Every client writes the file to disk, and the BitTorrent
 * clients verify every piece. MB = 10^6 bytes. Targets (issue 21): without a limit, Shoal ≥ aria2,
 * ≥ libtorrent, and ≥ 0.8 × curl.
 *
 * Options:
 *   --size 1g|<n>m   payload size [1g]
 *   --runs N         runs per client and config [3, or BENCH_RUNS]
 *   --limit RATE     nginx limit_rate for the limited config (k/m suffix), `none` to skip it [256k]
 *   --limit-size S   payload of the limited config, 1g|<n>m [8m]
 *   --src DIR        compile Shoal from DIR instead of ./src (e.g. an older tree: `git worktree
 *                    add /tmp/old <commit>` then `--src /tmp/old/src`; it is compiled inside
 *                    this worktree so that its imports resolve from this node_modules)
 *   --clients a,b    only these (curl, shoal, aria2, libtorrent, floor)
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTorrent, torrentFileFromInfo } from '../src/metainfo/index.js';
import { createTorrent } from '../src/storage/index.js';
import { ARIA2C, ClientProcess, freePort, LT_PEER_SCRIPT, SYSTEM_PYTHON } from '../test/helpers/clients.js';
import { Nginx } from '../test/helpers/nginx.js';
import { onInterrupt, throwIfInterrupted } from './interrupt.js';
import { transpileTree, tsFilesUnder } from './transpile.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, 'bench', '.data', 'webseed');
/** Compiled Shoal, inside the worktree (its node_modules resolve from there). */
const BUILD = join(DATA, 'build');
const MEASURE = join(ROOT, 'bench', 'py', 'measure_peer.py');
const CURL = '/usr/bin/curl';
const MiB = 1024 * 1024;
const RUN_TIMEOUT_MS = 600_000;
/**
 * Pause after each run's file is deleted (and `sync`ed), before the next client starts. This
 * machine is a VM whose freed memory goes back to its host a couple of seconds after it is freed
 * (virtio-balloon free page reporting), and whose root file system discards freed blocks
 * (`discard`). Back to back, a client started while the last one's gigabyte was being handed
 * back paid up to 1.2 CPU-s more in the kernel to write its own (Shoal right after curl: 1.4–2.3 s
 * of system time; after a 1 s pause, 0.9–1.6 s), so the table depended on who ran before whom.
 * After the pause every client finds memory in about the same state.
 */
const SETTLE_MS = 5_000;
/** Issue 21: Shoal's throughput at least this fraction of curl's, without a rate limit. */
const CURL_TARGET_RATIO = 0.8;

type Client = 'curl' | 'shoal' | 'aria2' | 'libtorrent' | 'floor';
/**
 * Run order within a round. The floor comes right after curl: a client that followed libtorrent
 * (1 GB resident, its download mapped into memory) ran at half speed on this VM even after the
 * settle pause (the floor after libtorrent: 439–535 MB/s at 3.3–4.0 CPU-s; after Shoal:
 * 892–1001 MB/s at 1.8–1.9 CPU-s), while curl, the next round's first client, kept its speed.
 */
const ALL_CLIENTS: readonly Client[] = ['curl', 'floor', 'shoal', 'aria2', 'libtorrent'];
const FLOOR_SOURCE = join(ROOT, 'bench', 'webseed-floor.ts');

interface Size {
  readonly bytes: number;
  readonly label: string;
}

interface Options {
  readonly size: Size;
  readonly runs: number;
  readonly limit: string | undefined;
  readonly limitSize: Size;
  readonly clients: readonly Client[];
  readonly src: string;
}

interface Run {
  readonly ok: boolean;
  readonly seconds: number;
  readonly mbps: number;
  readonly cpuSeconds: number;
  readonly maxRssMB: number;
  /** The main thread's time on a CPU, and runnable but queued for one (schedstat). */
  readonly mainRunSeconds: number;
  readonly mainWaitSeconds: number;
  readonly requests: number;
  readonly error?: string;
}

function parseSize(option: string, size: string): Size {
  const m = /^(\d+)([mg])$/.exec(size);
  if (m === null) throw new Error(`${option}: expected e.g. 1g or 256m; got ${size}`);
  return {
    bytes: Number(m[1]) * (m[2] === 'g' ? 1024 * MiB : MiB),
    label: `${m[1]}${m[2] === 'g' ? 'GiB' : 'MiB'}`,
  };
}

function parseOptions(argv: readonly string[]): Options {
  let size = '1g';
  let limitSize = '8m';
  let runs = Number(process.env.BENCH_RUNS ?? 3);
  let limit: string | undefined = '256k';
  let clients = ALL_CLIENTS;
  let src = join(ROOT, 'src');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--size') size = value().toLowerCase();
    else if (a === '--limit-size') limitSize = value().toLowerCase();
    else if (a === '--src') src = resolve(value());
    else if (a === '--runs') runs = Number(value());
    else if (a === '--limit') {
      const v = value().toLowerCase();
      if (v !== 'none' && !/^\d+[km]?$/.test(v)) throw new Error('--limit: e.g. 40m, 500k or none');
      limit = v === 'none' ? undefined : v;
    } else if (a === '--clients') {
      const ids = value().split(',');
      clients = ALL_CLIENTS.filter((c) => ids.includes(c));
      if (clients.length !== ids.length) throw new Error(`--clients: known clients are ${ALL_CLIENTS}`);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: expected a positive integer');
  if (!existsSync(join(src, 'cli', 'main.ts'))) throw new Error(`--src: no cli/main.ts under ${src}`);
  return {
    size: parseSize('--size', size),
    runs,
    limit,
    limitSize: parseSize('--limit-size', limitSize),
    clients,
    src,
  };
}

/** The payload: random bytes, made once. */
function ensurePayload(size: Size): { dir: string; name: string; file: string } {
  const name = `webseed-${size.label.toLowerCase()}.bin`;
  const dir = join(DATA, 'www');
  const file = join(dir, name);
  mkdirSync(dir, { recursive: true });
  if (existsSync(file) && statSync(file).size === size.bytes) return { dir, name, file };
  console.log(`generating ${relative(ROOT, file)} (${size.label})…`);
  const fd = openSync(`${file}.tmp`, 'w');
  const chunk = Buffer.allocUnsafe(16 * MiB);
  for (let written = 0; written < size.bytes; ) {
    const n = Math.min(chunk.length, size.bytes - written);
    randomFillSync(chunk, 0, n);
    writeSync(fd, chunk, 0, n, written);
    written += n;
  }
  closeSync(fd);
  renameSync(`${file}.tmp`, file);
  return { dir, name, file };
}

/** The torrent of the payload (made once), and a copy whose `url-list` names `url`. */
async function torrentFor(file: string, url: string): Promise<string> {
  const plain = `${file}.torrent`;
  if (!existsSync(plain) || statSync(plain).mtimeMs < statSync(file).mtimeMs) {
    console.log(`creating ${relative(ROOT, plain)}…`);
    writeFileSync(plain, (await createTorrent(file, { pieceLength: MiB, creationDate: null })).bytes);
  }
  const m = parseTorrent(readFileSync(plain));
  const withSeed = join(DATA, `${basename(file)}.webseed.torrent`);
  writeFileSync(withSeed, torrentFileFromInfo(m.infoBytes, { trackers: [], webSeeds: [url] }));
  return withSeed;
}

function buildShoal(src: string): string {
  const out = join(BUILD, 'dist');
  rmSync(out, { recursive: true, force: true });
  transpileTree(tsFilesUnder(src), src, out);
  return join(out, 'cli', 'main.js');
}

/** The floor client, compiled on its own (it imports only node: modules). */
function buildFloor(): string {
  const out = join(BUILD, 'floor');
  transpileTree([FLOOR_SOURCE], join(ROOT, 'bench'), out);
  return join(out, 'webseed-floor.js');
}

/** The piece SHA-1s of `torrent`, in a file for the floor client. */
function floorHashes(torrent: string): { file: string; pieceLength: number } {
  const m = parseTorrent(readFileSync(torrent));
  const file = `${torrent}.pieces`;
  writeFileSync(file, m.pieces ?? new Uint8Array(0));
  return { file, pieceLength: m.pieceLength };
}

/** Node flags of the CLI's `#!` line (what the installed `shoal` command runs with). */
function cliNodeFlags(src: string): string[] {
  const first = readFileSync(join(src, 'cli', 'main.ts'), 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(first);
  return m === null ? [] : m[1]!.trim().split(/\s+/).filter(Boolean);
}

async function runOnce(
  client: Client,
  ctx: {
    cli: string;
    floor: string;
    nodeFlags: readonly string[];
    torrent: string;
    fileUrl: string;
    name: string;
    sizeBytes: number;
    nginx: Nginx;
  },
  tag: string,
): Promise<Run> {
  throwIfInterrupted();
  const dir = join(DATA, `leech-${tag}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const measureFile = join(DATA, `measure-${tag}.json`);
  rmSync(measureFile, { force: true });
  const before = (await ctx.nginx.accessLog()).length;
  let argv: string[];
  let start: ((l: string) => boolean) | undefined;
  let done: ((l: string) => boolean) | undefined;
  const doneMark = 'SHOAL_BENCH_ARIA2_DONE';
  if (client === 'curl') argv = [CURL, '-sS', '-o', join(dir, ctx.name), ctx.fileUrl];
  else if (client === 'shoal') {
    argv = [
      process.execPath,
      ...ctx.nodeFlags,
      ctx.cli,
      'download',
      ctx.torrent,
      '-o',
      dir,
      '--port',
      String(await freePort()),
      '--no-dht',
      '--no-lsd',
      '--log-level',
      'info',
    ];
    start = (l) => l.startsWith('listening on port');
    done = (l) => l.startsWith('complete: ');
  } else if (client === 'floor') {
    const h = floorHashes(ctx.torrent);
    argv = [
      process.execPath,
      ctx.floor,
      '--url',
      ctx.fileUrl,
      '--hashes',
      h.file,
      '--piece-length',
      String(h.pieceLength),
      '--total',
      String(ctx.sizeBytes),
      '--out',
      join(dir, ctx.name),
    ];
    start = (l) => l === 'started';
    done = (l) => l.startsWith('done: ');
  } else if (client === 'aria2') {
    const hook = join(DATA, 'aria2-done.sh');
    writeFileSync(hook, `#!/bin/sh\necho ${doneMark}\n`, { mode: 0o755 });
    argv = [
      ARIA2C,
      '--no-conf=true',
      `--dir=${dir}`,
      `--listen-port=${await freePort()}`,
      '--interface=127.0.0.1',
      '--disable-ipv6=true',
      '--enable-dht=false',
      '--enable-dht6=false',
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      '--seed-time=0',
      '--file-allocation=falloc',
      '--summary-interval=0',
      '--console-log-level=warn',
      `--on-bt-download-complete=${hook}`,
      ctx.torrent,
    ];
    done = (l) => l.includes(doneMark);
  } else {
    argv = [
      SYSTEM_PYTHON,
      LT_PEER_SCRIPT,
      '--torrent',
      ctx.torrent,
      '--save',
      dir,
      '--port',
      String(await freePort()),
      '--exit-when-done',
      '--status-ms',
      '60000',
    ];
    start = (l) => l.includes('"t": "added"');
    done = (l) => l.includes('"t": "finished"');
  }
  const proc = new ClientProcess(client, SYSTEM_PYTHON, [MEASURE, measureFile, ...argv]);
  const undo = onInterrupt(async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(measureFile, { force: true });
  });
  try {
    let t0 = performance.now();
    if (start !== undefined) {
      await proc.waitForLine(start, 60_000, 'start');
      t0 = performance.now();
    }
    if (done !== undefined) await proc.waitForLine(done, RUN_TIMEOUT_MS, 'done');
    else await proc.exited;
    const seconds = (performance.now() - t0) / 1000;
    const exit = await Promise.race([
      proc.exited,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000).unref()),
    ]);
    if (exit === undefined) await proc.stop();
    const got = statSync(join(dir, ctx.name), { throwIfNoEntry: false })?.size ?? 0;
    if (got !== ctx.sizeBytes) throw new Error(`the file has ${got} bytes, not ${ctx.sizeBytes}`);
    if (exit !== undefined && exit.code !== 0) throw new Error(`exit ${exit.code}`);
    const m = JSON.parse(readFileSync(measureFile, 'utf8')) as {
      cpuSeconds: number;
      maxRssKiB: number;
      mainRunSeconds: number;
      mainWaitSeconds: number;
    };
    const requests = (await ctx.nginx.accessLog()).length - before;
    return {
      ok: true,
      seconds,
      mbps: ctx.sizeBytes / 1e6 / seconds,
      cpuSeconds: m.cpuSeconds,
      maxRssMB: m.maxRssKiB / 1024,
      mainRunSeconds: m.mainRunSeconds,
      mainWaitSeconds: m.mainWaitSeconds,
      requests,
    };
  } catch (e) {
    await proc.stop();
    return {
      ok: false,
      seconds: Number.NaN,
      mbps: 0,
      cpuSeconds: Number.NaN,
      maxRssMB: Number.NaN,
      mainRunSeconds: Number.NaN,
      mainWaitSeconds: Number.NaN,
      requests: 0,
      error: `${(e as Error).message}\n${proc.output().slice(-2000)}`,
    };
  } finally {
    undo();
    rmSync(dir, { recursive: true, force: true });
    rmSync(measureFile, { force: true });
    spawnSync('sync');
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const LABEL: Record<Client, string> = {
  curl: 'curl (the file, 1 connection)',
  shoal: 'Shoal (`shoal download --web-seed`)',
  aria2: 'aria2 1.36 (torrent, url-list)',
  libtorrent: 'libtorrent 2.0.8 (torrent, url-list)',
  floor: 'floor (minimal verifying Node client, no engine)',
};

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  mkdirSync(DATA, { recursive: true });
  console.log(`compiling Shoal from ${relative(ROOT, o.src) || '.'}…`);
  const cli = buildShoal(o.src);
  const floor = buildFloor();
  const nodeFlags = cliNodeFlags(o.src);
  const configs: { id: string; limit: string | undefined; size: Size }[] = [
    { id: 'no limit', limit: undefined, size: o.size },
  ];
  if (o.limit !== undefined)
    configs.push({ id: `limit_rate ${o.limit}, ${o.limitSize.label}`, limit: o.limit, size: o.limitSize });
  const results = new Map<string, Run[]>();
  const load0 = loadavg();
  const started = new Date();
  for (let round = 0; round < o.runs; round++) {
    for (const c of configs) {
      const payload = ensurePayload(c.size);
      const nginx = await Nginx.start({
        root: payload.dir,
        ...(c.limit !== undefined ? { limitRate: c.limit } : {}),
      });
      const undoNginx = onInterrupt(() => nginx.stop());
      try {
        const fileUrl = `${nginx.url}${payload.name}`;
        const torrent = await torrentFor(payload.file, fileUrl);
        for (const client of o.clients) {
          const key = `${c.id}|${client}`;
          const r = await runOnce(
            client,
            { cli, floor, nodeFlags, torrent, fileUrl, name: payload.name, sizeBytes: c.size.bytes, nginx },
            `${round}-${client}`,
          );
          results.set(key, [...(results.get(key) ?? []), r]);
          console.log(
            `round ${round + 1}/${o.runs} ${c.id.padEnd(24)} ${client.padEnd(10)} ${r.ok ? `${r.mbps.toFixed(r.mbps < 10 ? 2 : 0).padStart(5)} MB/s  ${r.seconds.toFixed(2)} s  cpu ${r.cpuSeconds.toFixed(1)} s  main thread ran ${r.mainRunSeconds.toFixed(1)} s, queued ${r.mainWaitSeconds.toFixed(1)} s  ${r.requests} requests` : `FAILED ${r.error}`}`,
          );
        }
      } finally {
        undoNginx();
        await nginx.stop();
      }
    }
  }
  const load1 = loadavg();
  const lines: string[] = [];
  lines.push(
    `### Web seed (BEP 19): ${o.size.label} from nginx alone — ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  );
  lines.push('');
  lines.push(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after. Median of ${o.runs} runs; MB = 10^6 bytes.`,
  );
  lines.push('');
  lines.push(
    '| nginx | client | MB/s | seconds | CPU s | main thread on CPU s | main thread queued s | peak RSS MB | HTTP requests |',
  );
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  const med = (rs: readonly Run[], f: (r: Run) => number, digits: number) =>
    median(rs.map(f)).toFixed(digits);
  for (const c of configs) {
    for (const client of o.clients) {
      const rs = results.get(`${c.id}|${client}`) ?? [];
      const ok = rs.filter((r) => r.ok);
      const failed = rs.length - ok.length;
      lines.push(
        `| ${c.id} | ${LABEL[client]} | ${med(ok, (r) => r.mbps, ok.some((r) => r.mbps < 10) ? 2 : 0)}${failed > 0 ? ` (${failed} failed)` : ''} | ${med(ok, (r) => r.seconds, 2)} | ${med(ok, (r) => r.cpuSeconds, 1)} | ${med(ok, (r) => r.mainRunSeconds, 1)} | ${med(ok, (r) => r.mainWaitSeconds, 1)} | ${med(ok, (r) => r.maxRssMB, 0)} | ${med(ok, (r) => r.requests, 0)} |`,
      );
    }
  }
  const mb = (client: Client, cfg = 'no limit') =>
    median((results.get(`${cfg}|${client}`) ?? []).filter((r) => r.ok).map((r) => r.mbps));
  lines.push('');
  const shoal = mb('shoal');
  const verdicts: string[] = [];
  if (o.clients.includes('curl'))
    verdicts.push(`Shoal / curl = ${(shoal / mb('curl')).toFixed(2)} (target ≥ ${CURL_TARGET_RATIO})`);
  if (o.clients.includes('aria2'))
    verdicts.push(`Shoal / aria2 = ${(shoal / mb('aria2')).toFixed(2)} (target ≥ 1)`);
  if (o.clients.includes('libtorrent'))
    verdicts.push(`Shoal / libtorrent = ${(shoal / mb('libtorrent')).toFixed(2)} (target ≥ 1)`);
  if (o.clients.includes('floor') && o.clients.includes('curl'))
    verdicts.push(
      `floor / curl = ${(mb('floor') / mb('curl')).toFixed(2)}; Shoal / floor = ${(shoal / mb('floor')).toFixed(2)}`,
    );
  lines.push(`Without a limit: ${verdicts.join('; ')}.`);
  console.log(`\n${lines.join('\n')}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
