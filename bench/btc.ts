/**
 * `npm run bench:btc` — Shoal's Bitcoin light node beside bcoin's SPV node, in one run.
 *
 * 1. Header sync: a bcoin 1.0.2 full node (test/interop/bcoin, regtest, in memory) mines
 *    BTC_BENCH_BLOCKS (default 20,000) blocks. Then, one after the other, each client syncs every
 *    header from it over P2P on 127.0.0.1, in a process of its own: Shoal's `BtcNode` (a child
 *    of this script, through tsx) and `bcoin-spvnode`. Measured: wall time from start to the full
 *    node's tip (headers per second) and peak RSS (VmHWM of the client process). Shoal is timed
 *    from `start()` (its process runs TypeScript through tsx, which its RSS includes); bcoin from
 *    its RPC answering, over the headers it still lacked then (its boot is not counted).
 * 2. Filter scan: a litecoind (regtest, the only local BIP 157 server) mines BTC_BENCH_SCAN
 *    (default 2,000) blocks, every 100th paying a watched address. Shoal syncs headers, then is
 *    asked to scan the whole chain for the watched address (filter headers, `getcfilters`, GCS
 *    match, matching blocks fetched); blocks per second of that scan. bcoin has no BIP 157/158
 *    (its SPV node uses BIP 37 bloom filters), so this row has no bcoin beside it.
 *
 * Every process is stopped by PID at the end, whatever happens.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LITECOIN_REGTEST, PrivateKey, p2wpkhScript, scriptToAddress } from '../src/bitcoin/index.js';
import { BtcNode } from '../src/btc-node/index.js';
import { Bcoin, bcoinRegtestAddress } from '../test/helpers/bcoin.js';
import { Litecoind } from '../test/helpers/litecoind.js';

const BLOCKS = Number(process.env.BTC_BENCH_BLOCKS ?? 20_000);
const SCAN = Number(process.env.BTC_BENCH_SCAN ?? 2_000);
const KEY = PrivateKey.fromBytes(new Uint8Array(32).fill(0x42));

/** The child: sync from `peer` into a fresh folder, print one JSON line. */
async function child(peer: string, blocks: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-btc-'));
  try {
    const node = await BtcNode.open({
      network: 'bitcoin-regtest',
      dataDir: dir,
      peers: [peer],
      dnsSeeds: [],
    });
    const t0 = performance.now();
    node.start();
    await node.synced(AbortSignal.timeout(30 * 60_000));
    const seconds = (performance.now() - t0) / 1000;
    const height = node.status().tip.height;
    await node.close();
    if (height !== blocks) throw new Error(`synced to ${height}, expected ${blocks}`);
    const rss = await vmHwm(process.pid);
    console.log(JSON.stringify({ headers: blocks, seconds, rss }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Peak resident memory of a process (VmHWM), bytes. */
async function vmHwm(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m === null ? 0 : Number(m[1]) * 1024;
}

async function shoalSync(peer: string): Promise<{ headers: number; seconds: number; rss: number }> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', peer, String(BLOCKS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  if (code !== 0) throw new Error(`the Shoal child exited ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as { headers: number; seconds: number; rss: number };
}

async function bcoinSpvSync(full: Bcoin): Promise<{ headers: number; seconds: number; rss: number }> {
  const spv = new Bcoin();
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
  }
}

async function filterScan(): Promise<{ blocks: number; seconds: number; found: number }> {
  const ltc = new Litecoind();
  const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-scan-'));
  let node: BtcNode | undefined;
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
    await ltc.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const full = new Bcoin();
  try {
    await full.start();
    const t0 = performance.now();
    await full.mine(BLOCKS, bcoinRegtestAddress(KEY.publicKeyHash));
    console.log(
      `bcoin full node mined ${BLOCKS} blocks in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    const peer = `127.0.0.1:${full.p2pPort}`;
    const shoal = await shoalSync(peer);
    const spv = await bcoinSpvSync(full);
    const row = (name: string, r: { headers: number; seconds: number; rss: number }) =>
      `| ${name} | ${r.headers.toLocaleString('en')} | ${r.seconds.toFixed(1)} | ${Math.round(r.headers / r.seconds).toLocaleString('en')} | ${(r.rss / 2 ** 20).toFixed(0)} |`;
    console.log('\n| header sync from bcoin full node | headers | s | headers/s | peak RSS MiB |');
    console.log('|---|---:|---:|---:|---:|');
    console.log(row('Shoal BtcNode', shoal));
    console.log(row('bcoin 1.0.2 --spv', spv));
  } finally {
    await full.stop();
  }
  const scan = await filterScan();
  console.log('\n| filter scan (litecoind, BIP 157/158) | blocks | s | blocks/s | payments found |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(
    `| Shoal BtcNode | ${scan.blocks.toLocaleString('en')} | ${scan.seconds.toFixed(1)} | ${Math.round(scan.blocks / scan.seconds).toLocaleString('en')} | ${scan.found} of ${SCAN / 100} |`,
  );
}

if (process.argv[2] === '--child') await child(process.argv[3]!, Number(process.argv[4]));
else await main();
