/**
 * `npm run bench:hostile` — downloads under attack, many times over (issue 17). Each run is one
 * call of the attack lab (test/helpers/attack-lab.ts): a fresh Shoal leecher, an honest
 * python3-libtorrent seeder rate-limited on loopback (its peers put in the global peer class),
 * and one hostile behaviour (test/helpers/hostile-peers.ts) on other 127/8 addresses. Every
 * attack run is paired with a run of the same setup without the attacker (the baseline), one
 * after the other, so that the machine's load drifts over both alike.
 *
 * The case is `garbage` (one peer claims every piece, unchokes at once and answers every
 * request with random bytes at full speed): it must complete 50 runs of 50 with the honest seeder
 * never banned.
 *
 * Table per attack: runs, completions (equal bytes), runs with an honest ban (must be 0), runs
 * where the attacker was banned, median bytes wasted and hash failures, median time, and median
 * time of the baseline. Any run that did not complete or banned an honest peer is printed in full.
 *
 * Options: --runs N [10]  --only garbage,poison,…  --seeder lt|shoal [lt]  --payload MiB [4]
 *          --rate KiB/s [2048]  --piece KiB [32]
 */
import { cpus, loadavg } from 'node:os';
import {
  type AttackLabConfig,
  type AttackRunResult,
  describeRun,
  runAttack,
} from '../test/helpers/attack-lab.js';
import { libtorrentMissing } from '../test/helpers/clients.js';
import { ATTACKS, MAGNET_ATTACKS } from '../test/helpers/hostile-peers.js';
import { confineTmpdir, throwIfInterrupted } from './interrupt.js';

const MiB = 1024 * 1024;

/** 600 small files: an info dictionary of two metadata pieces (for the BEP 9 liars). */
const MANY_FILES = Object.fromEntries(
  Array.from({ length: 600 }, (_, i) => [
    `dir${i % 7}/file-${String(i).padStart(4, '0')}.bin`,
    900 + ((i * 37) % 700),
  ]),
);

function parse(argv: readonly string[]) {
  let runs = 10;
  let only = Object.keys(ATTACKS);
  let seeder: 'lt' | 'shoal' = 'lt';
  let payload = 4;
  let rate = 2048;
  let piece = 32;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--runs') runs = Number(v());
    else if (a === '--only') only = v().split(',');
    else if (a === '--seeder') seeder = v() === 'shoal' ? 'shoal' : 'lt';
    else if (a === '--payload') payload = Number(v());
    else if (a === '--rate') rate = Number(v());
    else if (a === '--piece') piece = Number(v());
    else throw new Error(`unknown option ${a}`);
  }
  for (const name of only) if (ATTACKS[name] === undefined) throw new Error(`unknown attack ${name}`);
  return { runs, only, seeder, payloadBytes: payload * MiB, rateBps: rate * 1024, pieceBytes: piece * 1024 };
}

function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

interface Row {
  readonly attack: string;
  readonly runs: number;
  readonly completed: number;
  readonly honestBannedRuns: number;
  readonly hostileBannedRuns: number;
  readonly wastedKiB: number;
  readonly hashFailures: number;
  readonly timeS: number;
  readonly baselineS: number;
}

function row(attack: string, runs: AttackRunResult[], baselines: AttackRunResult[]): Row {
  const done = runs.filter((r) => r.completed && r.bytesEqual);
  return {
    attack,
    runs: runs.length,
    completed: done.length,
    honestBannedRuns: runs.filter((r) => r.honestBanned.length > 0).length,
    hostileBannedRuns: runs.filter((r) => r.hostileBanned.length > 0).length,
    wastedKiB: median(runs.map((r) => r.wastedBytes / 1024)),
    hashFailures: median(runs.map((r) => r.hashFailures)),
    timeS: median(done.map((r) => r.timeMs / 1000)),
    baselineS: median(baselines.filter((r) => r.completed).map((r) => r.timeMs / 1000)),
  };
}

function format(r: Row): string {
  const ratio = r.timeS / r.baselineS;
  return `| ${r.attack} | ${r.runs} | ${r.completed} | ${r.honestBannedRuns} | ${r.hostileBannedRuns} | ${r.wastedKiB.toFixed(0)} | ${r.hashFailures} | ${r.timeS.toFixed(2)} | ${r.baselineS.toFixed(2)} | ${ratio.toFixed(2)}× |`;
}

const HEADER = [
  '| attack | runs | completed (equal bytes) | runs with an honest ban | runs with the attacker banned | wasted, median KiB | hash failures, median | time, median s | baseline, median s | × |',
  '|---|---|---|---|---|---|---|---|---|---|',
];

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (o.seeder === 'lt') {
    const missing = libtorrentMissing();
    if (missing !== undefined) throw new Error(missing);
  }
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  console.log(
    `bench:hostile — ${new Date().toISOString()} — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, load ${load()}`,
  );
  console.log(
    `honest seeder: ${o.seeder} at ${(o.rateBps / 1024).toFixed(0)} KiB/s; payload ${(o.payloadBytes / MiB).toFixed(0)} MiB in ${o.pieceBytes / 1024} KiB pieces (magnet attacks: 600 small files, 16 KiB pieces); ${o.runs} runs per attack, each paired with a baseline run`,
  );
  const rows: Row[] = [];
  for (const attack of o.only) {
    const magnet = MAGNET_ATTACKS.has(attack);
    const base: Omit<AttackLabConfig, 'attack'> = {
      seeder: o.seeder,
      seederUploadBps: o.rateBps,
      timeoutMs: 120_000,
      ...(magnet
        ? { files: MANY_FILES, pieceLength: 16 * 1024, magnet: true }
        : { files: { 'payload.bin': o.payloadBytes }, pieceLength: o.pieceBytes }),
    };
    const runs: AttackRunResult[] = [];
    const baselines: AttackRunResult[] = [];
    for (let i = 0; i < o.runs; i++) {
      const seed = 1 + i;
      throwIfInterrupted();
      baselines.push(await runAttack({ ...base, attack: undefined, seed }));
      throwIfInterrupted();
      const r = await runAttack({ ...base, attack, seed });
      runs.push(r);
      if (!r.completed || !r.bytesEqual || r.honestBanned.length > 0)
        console.log(`FAILED RUN ${i + 1}:\n${describeRun(r)}`);
      process.stdout.write(
        `  ${attack} ${i + 1}/${o.runs}: ${r.completed ? 'ok' : 'STALLED'} ${(r.timeMs / 1000).toFixed(2)} s (baseline ${(baselines[i]!.timeMs / 1000).toFixed(2)} s), bans ${JSON.stringify(r.bans.map((b) => b.address))}, load ${load()}\n`,
      );
    }
    const rr = row(attack, runs, baselines);
    rows.push(rr);
    console.log(format(rr));
  }
  console.log('');
  console.log(`load at the end: ${load()}`);
  for (const line of HEADER) console.log(line);
  for (const r of rows) console.log(format(r));
}

// The lab's libtorrent seeder and folders are not handed out: stopped and removed through these.
const release = confineTmpdir('shoal-bench-hostile-');
try {
  await main();
} finally {
  release();
}
