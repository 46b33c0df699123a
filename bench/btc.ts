/**
 * `npm run bench:btc` — Shoal's Bitcoin light node beside bcoin's SPV node, in one run.
 *
 * 1. Header sync: a bcoin 1.0.2 full node (test/interop/bcoin, regtest, in memory) mines
 *    BTC_BENCH_BLOCKS (default 20,000) blocks. Then, one after the other, each client syncs every
 *    header from it over P2P on 127.0.0.1, in a process of its own: Shoal as a user runs it,
 *    `shoal btc sync --until-synced` (the CLI compiled to JavaScript in a temporary folder, run by
 *    plain `node` with the flags of its `#!` line), and `bcoin-spvnode`. Measured: wall time to
 *    the full node's tip (headers per second) and peak RSS (the client process's VmHWM). Shoal is
 *    timed from its process's spawn to its exit (boot included; its peak RSS from the kernel's
 *    `ru_maxrss` through /usr/bin/time); bcoin from its RPC answering, over the headers it still
 *    lacked then (its boot is not counted).
 * 2. Filter scan: a litecoind (regtest, the only local BIP 157 server) mines BTC_BENCH_SCAN
 *    (default 2,000) blocks, every 100th paying a watched address. Shoal syncs headers, then is
 *    asked to scan the whole chain for the watched address (filter headers, `getcfilters`, GCS
 *    match, matching blocks fetched); blocks per second of that scan. bcoin has no BIP 157/158
 *    (its SPV node uses BIP 37 bloom filters), so this row has no bcoin beside it.
 *
 * Every process is stopped by PID at the end, whatever happens.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LITECOIN_REGTEST, PrivateKey, p2wpkhScript, scriptToAddress } from '../src/bitcoin/index.js';
import { BtcNode } from '../src/btc-node/index.js';
import { Bcoin, bcoinRegtestAddress } from '../test/helpers/bcoin.js';
import { Litecoind } from '../test/helpers/litecoind.js';
import { onInterrupt, removeOnInterrupt, stopOnInterrupt, throwIfInterrupted } from './interrupt.js';
import { transpileTree, tsFilesUnder } from './transpile.js';

const BLOCKS = Number(process.env.BTC_BENCH_BLOCKS ?? 20_000);
const SCAN = Number(process.env.BTC_BENCH_SCAN ?? 2_000);
/** Header-sync runs of each client, alternated; the table gives medians. */
const RUNS = Number(process.env.BTC_BENCH_RUNS ?? 3);
const KEY = PrivateKey.fromBytes(new Uint8Array(32).fill(0x42));

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Node flags the CLI's `#!/usr/bin/env -S node …` line gives the installed `shoal` command. */
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

/** Compiles src/ to JavaScript in `dir` (an ES module package beside the repository's node_modules). */
async function buildShoal(dir: string): Promise<string> {
  const src = join(ROOT, 'src');
  transpileTree(tsFilesUnder(src), src, join(dir, 'dist'));
  await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'dist', 'cli', 'main.js');
}

/** Peak resident memory of a process (VmHWM), bytes. */
async function vmHwm(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m === null ? 0 : Number(m[1]) * 1024;
}

async function shoalSync(peer: string): Promise<{ headers: number; seconds: number; rss: number }> {
  throwIfInterrupted();
  const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-btc-'));
  const undoDir = removeOnInterrupt(dir);
  try {
    const cli = await buildShoal(dir);
    const flags = shebangNodeFlags(join(ROOT, 'src', 'cli', 'main.ts'));
    const args = ['btc', 'sync', '--network', 'regtest', '--peer', peer, '--until-synced'];
    const t0 = performance.now();
    // Stopped with its child: /usr/bin/time passes no signal on.
    const proc = stopOnInterrupt(
      spawn(
        '/usr/bin/time',
        ['-f', 'maxrss-kb %M', process.execPath, ...flags, cli, ...args, '--data-dir', join(dir, 'data')],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    let out = '';
    let err = '';
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    proc.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const code = await new Promise<number | null>((r) => proc.once('exit', r));
    const seconds = (performance.now() - t0) / 1000;
    if (code !== 0) throw new Error(`shoal btc sync exited ${code}: ${err}`);
    const height = Number(/^synced (\d+) /m.exec(out)?.[1]);
    if (height !== BLOCKS) throw new Error(`synced to ${height}, expected ${BLOCKS}: ${out}`);
    const kb = Number(/maxrss-kb (\d+)/.exec(err)?.[1]);
    return { headers: BLOCKS, seconds, rss: kb * 1024 };
  } finally {
    await rm(dir, { recursive: true, force: true });
    undoDir();
  }
}

async function bcoinSpvSync(full: Bcoin): Promise<{ headers: number; seconds: number; rss: number }> {
  throwIfInterrupted();
  const spv = new Bcoin();
  const undo = onInterrupt(() => spv.stop()); // stop() also removes its folder
  try {
    await spv.start({ spv: true, connect: [`127.0.0.1:${full.p2pPort}`] });
    // Timed from its RPC answering (its boot is not counted), over the headers still to come.
    const t0 = performance.now();
    const h0 = await spv.rpc<number>('getblockcount');
    let hwm = 0;
    await spv.until(
      'bcoin SPV at the tip',
      async () => {
        hwm = Math.max(hwm, await vmHwm(spv.proc!.pid!));
        return (await spv.rpc<number>('getblockcount')) >= BLOCKS;
      },
      30 * 60_000,
    );
    const seconds = (performance.now() - t0) / 1000;
    hwm = Math.max(hwm, await vmHwm(spv.proc!.pid!));
    return { headers: BLOCKS - h0, seconds, rss: hwm };
  } finally {
    await spv.stop();
    undo();
  }
}

async function filterScan(): Promise<{ blocks: number; seconds: number; found: number }> {
  throwIfInterrupted();
  const ltc = new Litecoind();
  const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-scan-'));
  const undoDir = removeOnInterrupt(dir);
  const undoLtc = onInterrupt(() => ltc.stop());
  let node: BtcNode | undefined;
  const undoNode = onInterrupt(async () => {
    await node?.close(); // before its folder is removed
  });
  try {
    await ltc.start();
    const watched = scriptToAddress(p2wpkhScript(KEY.publicKeyHash), LITECOIN_REGTEST)!;
    for (let h = 0; h < SCAN; h += 100) {
      await ltc.mine(99);
      await ltc.mine(1, `addr(${watched})`);
    }
    await ltc.filterIndexAt(SCAN);
    node = await BtcNode.open({
      network: 'litecoin-regtest',
      dataDir: dir,
      peers: [`127.0.0.1:${ltc.p2pPort}`],
      dnsSeeds: [],
    });
    node.start();
    await node.synced(AbortSignal.timeout(10 * 60_000));
    // Headers and filter headers are in; now the scan alone, from the genesis.
    const t0 = performance.now();
    await node.watch(watched, { rescanFrom: 0 });
    while (node.status().scannedHeight < SCAN || !node.isSynced) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - t0) / 1000;
    return { blocks: SCAN, seconds, found: node.history().length };
  } finally {
    await node?.close();
    undoNode();
    await ltc.stop();
    undoLtc();
    await rm(dir, { recursive: true, force: true });
    undoDir();
  }
}

async function main(): Promise<void> {
  const full = new Bcoin();
  const undoFull = onInterrupt(() => full.stop());
  try {
    await full.start();
    const t0 = performance.now();
    await full.mine(BLOCKS, bcoinRegtestAddress(KEY.publicKeyHash));
    console.log(
      `bcoin full node mined ${BLOCKS} blocks in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    const peer = `127.0.0.1:${full.p2pPort}`;
    type Sync = { headers: number; seconds: number; rss: number };
    const shoal: Sync[] = [];
    const spv: Sync[] = [];
    for (let r = 0; r < RUNS; r++) {
      shoal.push(await shoalSync(peer));
      spv.push(await bcoinSpvSync(full));
      const [a, b] = [shoal.at(-1)!, spv.at(-1)!];
      console.log(
        `run ${r + 1}: Shoal ${a.seconds.toFixed(1)} s, ${(a.rss / 2 ** 20).toFixed(1)} MiB; ` +
          `bcoin SPV ${b.seconds.toFixed(1)} s (${b.headers} headers), ${(b.rss / 2 ** 20).toFixed(1)} MiB`,
      );
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const row = (name: string, rs: Sync[]) => {
      const rate = median(rs.map((r) => r.headers / r.seconds));
      const rss = rs.map((r) => (r.rss / 2 ** 20).toFixed(1));
      return `| ${name} | ${rs[0]!.headers.toLocaleString('en')} | ${median(rs.map((r) => r.seconds)).toFixed(1)} | ${Math.round(rate).toLocaleString('en')} | ${(median(rs.map((r) => r.rss)) / 2 ** 20).toFixed(1)} | ${rss.join(', ')} |`;
    };
    console.log(
      `\n| header sync from bcoin full node (median of ${RUNS}) | headers | s | headers/s | peak RSS MiB | runs MiB |`,
    );
    console.log('|---|---:|---:|---:|---:|---|');
    console.log(row('shoal btc sync (Shoal CLI)', shoal));
    console.log(row('bcoin 1.0.2 --spv', spv));
    const ratio = median(shoal.map((r) => r.rss)) / median(spv.map((r) => r.rss));
    console.log(`Shoal / bcoin SPV peak RSS: ${ratio.toFixed(3)} (target ≤ 0.5)`);
  } finally {
    await full.stop();
    undoFull();
  }
  const scan = await filterScan();
  console.log('\n| filter scan (litecoind, BIP 157/158) | blocks | s | blocks/s | payments found |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(
    `| Shoal BtcNode | ${scan.blocks.toLocaleString('en')} | ${scan.seconds.toFixed(1)} | ${Math.round(scan.blocks / scan.seconds).toLocaleString('en')} | ${scan.found} of ${SCAN / 100} |`,
  );
}

await main();
