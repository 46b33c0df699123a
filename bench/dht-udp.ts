/**
 * DHT benchmark on real UDP sockets (the second half of `npm run bench:dht`): `procs` child
 * processes × `per` DhtRuntimes each, all on 127.0.0.1, forming one Mainline DHT.
 *
 *   node --expose-gc --import tsx bench/dht-udp.ts [--procs 4] [--per 50] [--announces 50]
 *        [--lookups 400] [--concurrency 8] [--seed 1] [--deadline-s 240]
 *
 * Phases (the parent drives the children over IPC):
 * 1. join: process 0 starts the first node (no bootstrap) and its other nodes; then the other
 *    processes start theirs in parallel, each node bootstrapping through the first node, two
 *    random nodes of earlier processes and two random earlier nodes of its own process;
 * 2. refresh: every node joins once more (`refresh()`), so early nodes learn of later ones;
 * 3. announce: `announces` random info-hashes, each from a random node with its own port;
 * 4. lookup: `lookups` get_peers lookups of random announced hashes from random nodes (at most
 *    `concurrency` in flight per process); a lookup succeeds when it finds the announcer;
 * 5. memory: after a GC, RSS of each process, and heap growth per node (heap with the DHT
 *    idle minus the heap before the first node was made).
 * The run stops by itself at `deadline-s` whatever happens (children are killed by PID).
 * Prints a Markdown table.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import { DHT_ALPHA } from '../src/dht/index.js';
import { DhtRuntime } from '../src/discovery/dht-runtime.js';
import { LOOPBACK_DHT_NODE_OPTIONS } from '../src/discovery/dht-testnet.js';
import { toHex } from '../src/shared/hash.js';
import { SeededRandom } from '../src/testing/sim-network.js';

const LOOP = '127.0.0.1';
/** Node tunables: the loopback ones, with more patience since 200 nodes share 2 busy cores. */
const NODE = {
  ...LOOPBACK_DHT_NODE_OPTIONS,
  queryTimeoutMs: 3_000,
  queryStallMs: 500,
  maintenanceIntervalMs: 1_000,
};

interface AnnounceTask {
  readonly node: number;
  readonly hash: string;
  readonly port: number;
}
interface LookupTask {
  readonly node: number;
  readonly hash: string;
  readonly want: string;
}
interface LookupResult {
  readonly found: boolean;
  readonly queries: number;
  readonly ms: number;
}

type ToChild =
  | { op: 'start'; count: number; bootstrap: number[]; seed: number }
  | { op: 'refresh' }
  | { op: 'announce'; tasks: AnnounceTask[]; concurrency: number }
  | { op: 'lookup'; tasks: LookupTask[]; concurrency: number }
  | { op: 'memory' }
  | { op: 'close' };

type FromChild =
  | { op: 'started'; ports: number[] }
  | { op: 'refreshed'; tableNodes: number }
  | { op: 'announced'; results: { announcedTo: number; queries: number }[] }
  | { op: 'looked'; results: LookupResult[] }
  | { op: 'memory'; rss: number; heapUsed: number; heapBaseline: number; rssBaseline: number; nodes: number }
  | { op: 'closed' }
  | { op: 'error'; message: string };

/** Runs `fn` over `items` with at most `n` in flight, results in order. */
async function pool<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// child

async function child(): Promise<void> {
  const nodes: DhtRuntime[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  const heapAfterGc = () => {
    gc?.();
    gc?.();
    return process.memoryUsage().heapUsed;
  };
  let heapBaseline = 0;
  let rssBaseline = 0;
  const send = (m: FromChild) => process.send?.(m);
  const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
  process.on('message', (m: ToChild) => {
    handle(m).catch((e: unknown) =>
      send({ op: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
    );
  });
  // The parent's death ends us too.
  process.on('disconnect', () => process.exit(3));

  async function handle(m: ToChild): Promise<void> {
    switch (m.op) {
      case 'start': {
        const rnd = new SeededRandom(m.seed);
        const ports: number[] = [];
        heapBaseline = heapAfterGc();
        rssBaseline = process.memoryUsage().rss;
        for (let i = 0; i < m.count; i++) {
          const via = new Set<number>();
          if (m.bootstrap.length > 0) via.add(m.bootstrap[0]!);
          for (let j = 0; j < 2 && m.bootstrap.length > 1; j++)
            via.add(m.bootstrap[rnd.int(m.bootstrap.length)]!);
          for (let j = 0; j < 2 && ports.length > 0; j++) via.add(ports[rnd.int(ports.length)]!);
          const rt = await DhtRuntime.create({
            host: LOOP,
            bootstrap: [...via].map((port) => ({ host: LOOP, port })),
            node: NODE,
          });
          nodes.push(rt);
          ports.push(rt.port);
          await rt.bootstrapped();
        }
        send({ op: 'started', ports });
        return;
      }
      case 'refresh': {
        let tableNodes = 0;
        for (const n of nodes) tableNodes += await n.refresh();
        send({ op: 'refreshed', tableNodes });
        return;
      }
      case 'announce': {
        const results = await pool(m.tasks, m.concurrency, async (t) => {
          const r = await nodes[t.node]!.announce(hex(t.hash), t.port);
          return { announcedTo: r.announcedTo, queries: r.queries };
        });
        send({ op: 'announced', results });
        return;
      }
      case 'lookup': {
        const results = await pool(m.tasks, m.concurrency, async (t) => {
          const t0 = performance.now();
          let found = false;
          let queries = 0;
          for await (const p of nodes[t.node]!.getPeers(hex(t.hash), {
            signal: AbortSignal.timeout(30_000),
          })) {
            if (p.type === 'finished') queries += p.queries;
            else if (p.peers.some((a) => `${a.host}:${a.port}` === t.want)) found = true;
          }
          return { found, queries, ms: performance.now() - t0 };
        });
        send({ op: 'looked', results });
        return;
      }
      case 'memory': {
        const heapUsed = heapAfterGc();
        send({
          op: 'memory',
          rss: process.memoryUsage().rss,
          heapUsed,
          heapBaseline,
          rssBaseline,
          nodes: nodes.length,
        });
        return;
      }
      case 'close': {
        await Promise.all(nodes.map((n) => n.close()));
        send({ op: 'closed' });
        process.disconnect?.();
        return;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// parent

class Worker {
  readonly proc: ChildProcess;
  readonly #waiters: ((m: FromChild) => void)[] = [];
  constructor(readonly index: number) {
    this.proc = fork(new URL(import.meta.url).pathname, ['--child'], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m: FromChild) => {
      if (m.op === 'error') {
        console.error(`process ${index}: ${m.message}`);
        process.exit(1);
      }
      this.#waiters.shift()?.(m);
    });
    this.proc.on('exit', (code, signal) => {
      if (code !== 0 && code !== null && code !== 3) {
        console.error(`process ${index} exited with ${code ?? signal}`);
        process.exit(1);
      }
    });
  }
  ask<K extends FromChild['op']>(m: ToChild, op: K): Promise<Extract<FromChild, { op: K }>> {
    return new Promise((resolve, reject) => {
      this.#waiters.push((r) =>
        r.op === op
          ? resolve(r as Extract<FromChild, { op: K }>)
          : reject(new Error(`expected ${op}, got ${r.op}`)),
      );
      this.proc.send(m);
    });
  }
}

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function parent(): Promise<void> {
  const { values } = parseArgs({
    options: {
      procs: { type: 'string', default: '4' },
      per: { type: 'string', default: '50' },
      announces: { type: 'string', default: '50' },
      lookups: { type: 'string', default: '400' },
      concurrency: { type: 'string', default: '8' },
      seed: { type: 'string', default: '1' },
      'deadline-s': { type: 'string', default: '240' },
    },
  });
  const procs = Number(values.procs);
  const per = Number(values.per);
  const seed = Number(values.seed);
  const concurrency = Number(values.concurrency);
  const total = procs * per;
  const rnd = new SeededRandom(seed);
  const workers: Worker[] = [];
  const deadline = setTimeout(() => {
    console.error(`deadline of ${values['deadline-s']} s reached: stopping`);
    for (const w of workers) if (w.proc.pid !== undefined && w.proc.exitCode === null) w.proc.kill('SIGKILL');
    process.exit(2);
  }, Number(values['deadline-s']) * 1000);

  const t0 = performance.now();
  const phase = (name: string) =>
    console.error(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${name}`);
  phase(`join: ${procs} processes × ${per} nodes`);
  const first = new Worker(0);
  workers.push(first);
  const portsByProc: number[][] = [];
  portsByProc.push((await first.ask({ op: 'start', count: per, bootstrap: [], seed }, 'started')).ports);
  const seedPort = portsByProc[0]![0]!;
  for (let i = 1; i < procs; i++) workers.push(new Worker(i));
  const rest = await Promise.all(
    workers.slice(1).map((w) => {
      const earlier = portsByProc[0]!;
      const bootstrap = [seedPort, ...Array.from({ length: 4 }, () => earlier[rnd.int(earlier.length)]!)];
      return w.ask({ op: 'start', count: per, bootstrap, seed: seed * 100 + w.index }, 'started');
    }),
  );
  for (const r of rest) portsByProc.push(r.ports);
  const joinS = (performance.now() - t0) / 1000;

  phase('refresh');
  const refreshed = await Promise.all(workers.map((w) => w.ask({ op: 'refresh' }, 'refreshed')));
  const avgTable = refreshed.reduce((a, r) => a + r.tableNodes, 0) / total;

  phase('announce');
  const hashes: { hash: string; want: string }[] = [];
  const announceTasks: AnnounceTask[][] = workers.map(() => []);
  for (let i = 0; i < Number(values.announces); i++) {
    const hash = toHex(rnd.bytes(20));
    const port = 40_000 + i;
    const p = rnd.int(procs);
    announceTasks[p]!.push({ node: rnd.int(per), hash, port });
    hashes.push({ hash, want: `${LOOP}:${port}` });
  }
  const announced = (
    await Promise.all(
      workers.map((w, i) => w.ask({ op: 'announce', tasks: announceTasks[i]!, concurrency }, 'announced')),
    )
  ).flatMap((r) => r.results);
  const announceOk = announced.filter((a) => a.announcedTo > 0).length;

  phase('lookup');
  const lookupTasks: LookupTask[][] = workers.map(() => []);
  for (let i = 0; i < Number(values.lookups); i++) {
    const h = hashes[rnd.int(hashes.length)]!;
    lookupTasks[rnd.int(procs)]!.push({ node: rnd.int(per), hash: h.hash, want: h.want });
  }
  const t1 = performance.now();
  const looked = (
    await Promise.all(
      workers.map((w, i) => w.ask({ op: 'lookup', tasks: lookupTasks[i]!, concurrency }, 'looked')),
    )
  ).flatMap((r) => r.results);
  const lookupS = (performance.now() - t1) / 1000;

  phase('memory');
  const mem = await Promise.all(workers.map((w) => w.ask({ op: 'memory' }, 'memory')));
  phase('close');
  await Promise.all(workers.map((w) => w.ask({ op: 'close' }, 'closed')));
  clearTimeout(deadline);

  const ok = looked.filter((l) => l.found).length;
  const queries = looked.map((l) => l.queries).sort((a, b) => a - b);
  const ms = looked.map((l) => l.ms).sort((a, b) => a - b);
  const rssMiB = mem.map((m) => m.rss / 2 ** 20);
  const heapKbPerNode = mem.reduce((a, m) => a + m.heapUsed - m.heapBaseline, 0) / total / 1024;
  const target = 2 * Math.ceil(Math.log2(total)) * DHT_ALPHA;

  console.log(`DHT on real UDP sockets (127.0.0.1), ${procs} processes × ${per} nodes, seed ${seed}`);
  console.log(
    '| nodes | processes | announces ok | lookups | success | median queries | p95 queries | target median ≤ | median lookup | p95 lookup | avg table | RSS / process | heap / node | join time |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${total} | ${procs} | ${announceOk}/${announced.length} | ${looked.length} | ${((100 * ok) / looked.length).toFixed(1)} % | ` +
      `${pct(queries, 0.5)} | ${pct(queries, 0.95)} | ${target} | ${pct(ms, 0.5).toFixed(0)} ms | ${pct(ms, 0.95).toFixed(0)} ms | ` +
      `${avgTable.toFixed(1)} | ${Math.min(...rssMiB).toFixed(0)}–${Math.max(...rssMiB).toFixed(0)} MiB | ` +
      `${heapKbPerNode.toFixed(1)} KB | ${joinS.toFixed(1)} s |`,
  );
  const rssEmpty = mem.map((m) => m.rssBaseline / 2 ** 20);
  console.log(
    `(lookup phase ${lookupS.toFixed(1)} s wall. RSS / process: the whole process, node and tsx included;` +
      ` before its first node it was ${Math.min(...rssEmpty).toFixed(0)}–${Math.max(...rssEmpty).toFixed(0)} MiB.` +
      ' Heap / node: heap growth after GC from before the first node to the idle DHT, stored announces included.)',
  );
}

if (process.argv.includes('--child')) await child();
else await parent();
