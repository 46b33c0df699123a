/**
 * `npm run bench:swarm` — swarm efficiency at scale (issue 8): 1 seeder and N leechers on
 * 127.0.0.1 meeting through Shoal's tracker, every node rate-limited like a home connection,
 * run by the swarm lab (test/helpers/swarm-lab.ts).
 *
 * For N = 10, 50 and 100 it runs a Shoal-only swarm (Shoal seeder and leechers), a
 * libtorrent-only swarm (python3-libtorrent seeder and leechers, several sessions in one
 * process) and a mixed one (Shoal seeder, leechers alternating Shoal and libtorrent), then, at
 * N = 50, the same Shoal-only and libtorrent-only swarms with super-seeding on the seeder, with
 * 20% free-riders (sharers leave once done, so free-riders get only what reciprocation and the
 * seeder give them), and with 20% of the sharers going offline for 3 s mid-download (churn),
 * leechers joining over 10 s. Runs go round-robin over the cases so that machine noise spreads
 * evenly; with `--runs N` each figure is the median over the runs.
 *
 * Figures per case: the time until every sharing leecher completes and its ratio to the fluid
 * limit T* (flash crowd: max(S/u_s, S/d, N·S/(u_s + Σu))); the seeder's uploaded bytes ÷ payload;
 * the same when the last sharer finished (with free-riders, the run then goes on serving them for
 * as long as they take: this one compares such swarms); the spread (min / median / max) of
 * leecher download times; the share of the upload capacity used; and free-riders' median time ÷
 * sharers' median time (free-riders are waited for up to 3× the sharers' median time; "≥" marks a
 * lower bound).
 *
 * Options: --n 10,50,100  --runs N [1]  --payload MiB [8]  --piece KiB [64]  --only shoal,lt,mixed
 */
import { cpus, loadavg } from 'node:os';
import { runSwarm, type SwarmLabConfig, type SwarmLabResult, spread } from '../test/helpers/swarm-lab.js';
import { confineTmpdir, throwIfInterrupted } from './interrupt.js';

const MiB = 1024 * 1024;
/** Rates of a home connection: ~3.2 Mbit/s up, ~13 Mbit/s down; the seeder the same. */
const UPLOAD_BPS = 400_000;
const DOWNLOAD_BPS = 1_600_000;
/**
 * Free-riders are waited for until this many times the sharers' median time, then the run
 * stops and their slowdown is shown as a lower bound (≥): enough to tell "at least 2× slower"
 * without waiting for the seeder to serve them alone.
 */
const FREE_RIDER_WAIT = 3;

interface Case {
  readonly id: string;
  readonly label: string;
  readonly config: SwarmLabConfig;
}

function parse(argv: readonly string[]) {
  let ns = [10, 50, 100];
  let runs = 1;
  // 8 MiB in 64 KiB pieces (128 pieces): T* = 21 s. `--payload 4 --piece 32` (the same 128
  // pieces) halves the run, but fixed costs (50–100 sessions starting in one process, tracker
  // announces) then weigh twice as much against a 10.5 s ideal (docs/BENCHMARKS.md, "Swarm").
  let payload = 8;
  let piece = 64;
  let only = ['shoal', 'lt', 'mixed'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--n') ns = v().split(',').map(Number);
    else if (a === '--runs') runs = Number(v());
    else if (a === '--payload') payload = Number(v());
    else if (a === '--piece') piece = Number(v());
    else if (a === '--only') only = v().split(',');
    else throw new Error(`unknown option ${a}`);
  }
  return { ns, runs, payloadBytes: payload * MiB, pieceBytes: piece * 1024, only };
}

function cases(o: ReturnType<typeof parse>): Case[] {
  const base = (n: number): Omit<SwarmLabConfig, 'seeder' | 'leecherImpl'> => ({
    leechers: n,
    payloadBytes: o.payloadBytes,
    pieceLength: o.pieceBytes,
    seederUploadBps: UPLOAD_BPS,
    leecherUploadBps: UPLOAD_BPS,
    leecherDownloadBps: DOWNLOAD_BPS,
    timeoutMs: 300_000,
  });
  const out: Case[] = [];
  for (const n of o.ns) {
    if (o.only.includes('shoal'))
      out.push({
        id: `shoal-${n}`,
        label: `Shoal N=${n}`,
        config: { ...base(n), seeder: 'shoal', leecherImpl: 'shoal' },
      });
    if (o.only.includes('lt'))
      out.push({
        id: `lt-${n}`,
        label: `libtorrent N=${n}`,
        config: { ...base(n), seeder: 'lt', leecherImpl: 'lt' },
      });
    if (o.only.includes('mixed'))
      out.push({
        id: `mixed-${n}`,
        label: `mixed N=${n}`,
        config: { ...base(n), seeder: 'shoal', leecherImpl: 'mixed' },
      });
  }
  if (o.ns.includes(50)) {
    for (const impl of ['shoal', 'lt'] as const) {
      if (!o.only.includes(impl)) continue;
      const name = impl === 'shoal' ? 'Shoal' : 'libtorrent';
      const c = { ...base(50), seeder: impl, leecherImpl: impl };
      out.push({ id: `${impl}-ss`, label: `${name} N=50 super-seed`, config: { ...c, superSeed: true } });
      out.push({
        id: `${impl}-fr`,
        label: `${name} N=50 20% free-riders, sharers leave when done`,
        config: { ...c, freeRiders: 10, leaveWhenDone: true, freeRiderWaitFactor: FREE_RIDER_WAIT },
      });
      out.push({
        id: `${impl}-churn`,
        label: `${name} N=50 churn 20%, join over 10 s`,
        config: { ...c, churn: 0.2, joinOverMs: 10_000 },
      });
    }
  }
  return out;
}

/** Median of the finite values (NaN when there are none). */
function median(v: readonly number[]): number {
  return spread(v.filter((x) => Number.isFinite(x))).median;
}

const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(1));
const f2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));
/** A free-rider slowdown: "≥" when some run stopped before every free-rider was done. */
const slowdown = (rs: readonly SwarmLabResult[], m: number) =>
  `${rs.some((x) => x.freeRiderSlowdownIsLowerBound) ? '≥ ' : ''}${f2(m)}`;

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const all = cases(o);
  console.log(
    `bench:swarm — ${new Date().toISOString()} — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `payload ${o.payloadBytes / MiB} MiB, ${o.pieceBytes / 1024} KiB pieces; every node: up ${UPLOAD_BPS / 1000} kB/s, leechers down ${DOWNLOAD_BPS / 1000} kB/s; runs ${o.runs}`,
  );
  const results = new Map<string, SwarmLabResult[]>();
  for (let r = 0; r < o.runs; r++) {
    for (const c of all) {
      throwIfInterrupted();
      const t = performance.now();
      const res = await runSwarm({ ...c.config, rngSeed: r + 1 });
      results.set(c.id, [...(results.get(c.id) ?? []), res]);
      console.log(
        `  run ${r + 1} ${c.label}: ${res.allFinished ? 'done' : 'NOT all done'} in ${res.completionS.toFixed(1)} s (T* ${res.fluidLimitS.toFixed(1)} s), seeder ratio ${res.seederRatio.toFixed(2)} [${((performance.now() - t) / 1000).toFixed(0)} s]`,
      );
    }
  }
  console.log('');
  console.log(
    '| swarm | sharers done | completion s | T* s | ÷ T* | seeder ratio | seeder ratio when sharers done | download s min / median / max | capacity used | free-rider ÷ sharer |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const c of all) {
    const rs = results.get(c.id) ?? [];
    const m = (f: (x: SwarmLabResult) => number | undefined) => median(rs.map((x) => f(x) ?? Number.NaN));
    console.log(
      `| ${c.label} | ${rs.every((x) => x.peers.every((p) => p.freeRider || p.downloadS !== undefined)) ? 'yes' : 'no'} | ${f1(m((x) => x.completionS))} | ${f1(rs[0]?.fluidLimitS)} | ${f2(m((x) => x.fluidRatio))} | ${f2(m((x) => x.seederRatio))} | ${f2(m((x) => x.seederRatioSharersDone))} | ${f1(m((x) => x.sharers.min))} / ${f1(m((x) => x.sharers.median))} / ${f1(m((x) => x.sharers.max))} | ${f2(m((x) => x.capacityUsed))} | ${slowdown(
        rs,
        m((x) => x.freeRiderSlowdown),
      )} |`,
    );
  }
}

// The lab's libtorrent process and folders are not handed out: stopped and removed through these.
const release = confineTmpdir('shoal-bench-swarm-');
try {
  await main();
} finally {
  release();
}
