/**
 * `npm run bench:transfer -- --transport utp --link` — issue 20's figure through a throttled link:
 * Shoal → Shoal over uTP beside libtorrent → libtorrent over uTP, through a `tc tbf` link with
 * 50 ms of delay added by a UDP relay, in the same run (root only: it makes network namespaces).
 *
 * The path (test/helpers/netns.ts `makeThrottledPath`): the seeder in a sender namespace
 * (192.0.2.2), the leecher in a receiver namespace (198.51.100.2), a router namespace between
 * them whose link towards the receiver is throttled with `tc tbf` (default 16 mbit/s = 2 MB/s,
 * a queue of up to 300 ms). In the router runs a UDP relay (test/helpers/relay-peer.ts) that holds
 * every datagram 50 ms each way (the round trip gains 100 ms) and forwards it between the leecher,
 * which dials the relay at 198.51.100.1, and the seeder. No loopback address is on the path, so
 * Shoal sends datagrams of an Ethernet MTU as towards any remote peer. Both ends are uTP only
 * (Shoal `--utp-policy utp-only`, libtorrent TCP off).
 *
 * Each run downloads one v1 torrent (32 MiB of random bytes by default, 1 MiB pieces) into a
 * fresh folder; the file's sha256 is checked against the payload's. Runs alternate Shoal and
 * libtorrent. Throughput = payload bytes / (leecher done − leecher started), as in transfer.ts;
 * MB = 10^6 bytes. Options: --size <n>m [32m], --runs N [3], --rate <tc rate> [16mbit],
 * --delay <ms> [50].
 */
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTorrent } from '../src/storage/index.js';
import { ClientProcess, LT_PEER_SCRIPT, SYSTEM_PYTHON } from '../test/helpers/clients.js';
import { canMakeNamespaces, makeThrottledPath, type Namespace } from '../test/helpers/netns.js';
import { onInterrupt, throwIfInterrupted } from './interrupt.js';
import { transpileTree, tsFilesUnder } from './transpile.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = join(ROOT, 'bench', '.data', 'transfer-link');
/** Compiled Shoal (its own folder: a concurrent transfer.ts run must not overwrite it). */
const BUILD = join(ROOT, 'node_modules', '.cache', 'shoal-bench-link');
const MiB = 1024 * 1024;
/** The router's queue bound (tbf `latency`), as in the tbf-shared test. */
const LINK_QUEUE = '300ms';
const SEED_PORT = 6881;
const RUN_TIMEOUT_MS = 600_000;
const READY_MS = 120_000;

type Impl = 'shoal' | 'lt';

interface LinkOptions {
  readonly sizeMiB: number;
  readonly runs: number;
  readonly rate: string;
  readonly delayMs: number;
}

function parse(argv: readonly string[]): LinkOptions {
  let sizeMiB = 32;
  let runs = 3;
  let rate = '16mbit';
  let delayMs = 50;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--size') {
      const m = /^(\d+)m$/i.exec(value());
      if (m === null) throw new Error('--size: expected <n>m with --link');
      sizeMiB = Number(m[1]);
    } else if (a === '--runs') runs = Number(value());
    else if (a === '--rate') rate = value();
    else if (a === '--delay') delayMs = Number(value());
    else if (a !== '--link' && a !== '--transport' && a !== 'utp')
      throw new Error(`--link: unknown option ${a}`);
    if (a === '--transport' && argv[i + 1] === 'utp') i++;
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: expected a positive integer');
  return { sizeMiB, runs, rate, delayMs };
}

/** Runs `command args` inside `ns` as a {@link ClientProcess} (`ip netns exec` keeps the PID). */
function inNamespace(ns: Namespace, name: string, command: string, args: readonly string[]): ClientProcess {
  throwIfInterrupted();
  return new ClientProcess(name, 'ip', ['netns', 'exec', ns.name, command, ...args], ROOT);
}

function buildShoal(): { cli: string; flags: string[] } {
  const src = join(ROOT, 'src');
  const out = join(BUILD, 'dist');
  rmSync(out, { recursive: true, force: true });
  transpileTree(tsFilesUnder(src), src, out);
  const first = readFileSync(join(src, 'cli', 'main.ts'), 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(first);
  const flags =
    m === null
      ? []
      : m[1]!
          .trim()
          .split(/\s+/)
          .filter((f) => f.length > 0);
  return { cli: join(out, 'cli', 'main.js'), flags };
}

async function payload(
  sizeMiB: number,
): Promise<{ file: string; seedDir: string; torrent: string; sha: string }> {
  const seedDir = join(DATA, `seed-${sizeMiB}m`);
  const file = join(seedDir, `shoal-link-${sizeMiB}m.bin`);
  mkdirSync(seedDir, { recursive: true });
  if (!existsSync(file) || statSync(file).size !== sizeMiB * MiB) {
    const bytes = Buffer.allocUnsafe(sizeMiB * MiB);
    randomFillSync(bytes);
    writeFileSync(file, bytes);
  }
  const torrent = join(DATA, `shoal-link-${sizeMiB}m.torrent`);
  if (!existsSync(torrent) || statSync(torrent).mtimeMs < statSync(file).mtimeMs) {
    const t = await createTorrent(file, { version: 'v1', pieceLength: MiB, creationDate: null });
    writeFileSync(torrent, t.bytes);
  }
  const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
  return { file, seedDir, torrent, sha };
}

const median = (xs: readonly number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');

export async function runLinkBench(argv: readonly string[]): Promise<void> {
  const o = parse(argv);
  if (!canMakeNamespaces())
    throw new Error('--link needs root, ip, nft and tc (it makes network namespaces)');
  console.log(
    `machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores; Node ${process.version}; load average at start ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const { cli, flags } = buildShoal();
  const p = await payload(o.sizeMiB);
  const bytes = o.sizeMiB * MiB;
  const name = `shoal-link-${o.sizeMiB}m.bin`;
  throwIfInterrupted();
  const path = makeThrottledPath(o.rate, LINK_QUEUE);
  const procs: ClientProcess[] = [];
  const undoPath = onInterrupt(async () => {
    await Promise.all(procs.map((x) => x.stop()));
    path.remove();
  });
  const results: Record<Impl, number[]> = { shoal: [], lt: [] };
  try {
    const relays = new Map<Impl, number>();
    for (const impl of ['shoal', 'lt'] as const) {
      const port = impl === 'shoal' ? SEED_PORT : SEED_PORT + 1;
      const seeder =
        impl === 'shoal'
          ? inNamespace(path.sender, 'shoal seeder', process.execPath, [
              ...flags,
              cli,
              'seed',
              p.torrent,
              p.seedDir,
              '--port',
              String(port),
              '--no-dht',
              '--no-lsd',
              '--utp-policy',
              'utp-only',
            ])
          : inNamespace(path.sender, 'libtorrent seeder', SYSTEM_PYTHON, [
              LT_PEER_SCRIPT,
              '--torrent',
              p.torrent,
              '--save',
              p.seedDir,
              '--host',
              path.senderAddress,
              '--port',
              String(port),
              '--seed',
              '--utp-only',
              '--status-ms',
              '60000',
            ]);
      procs.push(seeder);
      await seeder.waitForLine(
        impl === 'shoal'
          ? (l) => l.startsWith('seeding ') && l.includes(' on port ')
          : (l) => l.includes('"t": "ready"'),
        READY_MS,
        'ready',
      );
      const relay = inNamespace(path.router, `relay to ${impl}`, process.execPath, [
        '--import',
        'tsx',
        'test/helpers/relay-peer.ts',
        '198.51.100.1',
        path.senderAddress,
        String(port),
        String(o.delayMs),
      ]);
      procs.push(relay);
      const ready = await relay.waitForLine((l) => l.includes('"ready"'), READY_MS, 'relay ready');
      relays.set(impl, (JSON.parse(ready) as { port: number }).port);
    }
    for (let run = 1; run <= o.runs; run++) {
      for (const impl of ['shoal', 'lt'] as const) {
        const mbps = await leech(
          impl,
          path.receiver,
          relays.get(impl)!,
          cli,
          flags,
          p.torrent,
          name,
          bytes,
          p.sha,
          run,
        );
        results[impl].push(mbps);
        console.log(`run ${run} ${impl === 'shoal' ? 'Shoal' : 'libtorrent'} uTP: ${fmt(mbps)} MB/s`);
      }
    }
  } finally {
    await Promise.all(procs.map((x) => x.stop()));
    path.remove();
    undoPath();
  }
  const ours = median(results.shoal);
  const theirs = median(results.lt);
  console.log(
    `\n${o.sizeMiB} MiB over uTP through tc tbf ${o.rate} (queue ≤ ${LINK_QUEUE}) and a relay adding ${o.delayMs} ms each way; median of ${o.runs} (MB/s)`,
  );
  console.log('| pair | median MB/s | runs |');
  console.log('|---|---:|---|');
  console.log(`| Shoal → Shoal, uTP | ${fmt(ours)} | ${results.shoal.map((x) => fmt(x)).join(', ')} |`);
  console.log(
    `| libtorrent → libtorrent, uTP | ${fmt(theirs)} | ${results.lt.map((x) => fmt(x)).join(', ')} |`,
  );
  console.log(`Shoal uTP / libtorrent uTP: ${fmt(ours / theirs)}×`);
}

async function leech(
  impl: Impl,
  ns: Namespace,
  relayPort: number,
  cli: string,
  flags: readonly string[],
  torrent: string,
  name: string,
  bytes: number,
  sha: string,
  run: number,
): Promise<number> {
  throwIfInterrupted(); // before its folder is made
  const dir = join(DATA, `leech-${impl}-${run}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const leecher =
    impl === 'shoal'
      ? inNamespace(ns, 'shoal leecher', process.execPath, [
          ...flags,
          cli,
          'download',
          torrent,
          '-o',
          dir,
          '--port',
          '7001',
          '--peer',
          `198.51.100.1:${relayPort}`,
          '--no-dht',
          '--no-lsd',
          '--utp-policy',
          'utp-only',
        ])
      : inNamespace(ns, 'libtorrent leecher', SYSTEM_PYTHON, [
          LT_PEER_SCRIPT,
          '--torrent',
          torrent,
          '--save',
          dir,
          '--host',
          '198.51.100.2',
          '--port',
          '7002',
          '--connect',
          String(relayPort),
          '--connect-host',
          '198.51.100.1',
          '--utp-only',
          '--exit-when-done',
          '--status-ms',
          '60000',
        ]);
  const undo = onInterrupt(async () => {
    await leecher.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    await leecher.waitForLine(
      impl === 'shoal' ? (l) => l.startsWith('listening on port') : (l) => l.includes('"t": "added"'),
      60_000,
      'start',
    );
    const t0 = performance.now();
    await leecher.waitForLine(
      impl === 'shoal' ? (l) => l.startsWith('complete: ') : (l) => l.includes('"t": "finished"'),
      RUN_TIMEOUT_MS,
      'done',
    );
    const seconds = (performance.now() - t0) / 1000;
    await Promise.race([leecher.exited, new Promise((r) => setTimeout(r, 60_000).unref())]);
    const got = createHash('sha256')
      .update(readFileSync(join(dir, name)))
      .digest('hex');
    if (got !== sha) throw new Error(`${impl}: downloaded file differs (sha256 ${got})`);
    return bytes / seconds / 1e6;
  } catch (e) {
    console.log(
      `${impl} run ${run} failed: ${(e as Error).message}\n${leecher.output().split('\n').slice(-10).join('\n')}`,
    );
    return Number.NaN;
  } finally {
    await leecher.stop();
    rmSync(dir, { recursive: true, force: true });
    undo();
  }
}
