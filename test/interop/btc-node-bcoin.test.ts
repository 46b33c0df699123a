/**
 * Interop: Shoal's Bitcoin-protocol light node (`BtcNode`) against bcoin 1.0.2 (a JavaScript full
 * node; Bitcoin's own regtest chain, SHA-256d proof of work) on 127.0.0.1. bcoin serves no BIP 157
 * filters, so this is the header side: litecoind's test covers filters, wallet and broadcast.
 *
 * One bcoin for the suite, 20,000 blocks mined before the tests. In order:
 * 1. headers-first sync of every header, ending at bcoin's best block hash;
 * 2. a reorganisation: bcoin invalidates its tip and mines a longer branch; Shoal follows it;
 * 3. a restart from the data folder: synced at the same tip with no header downloaded again
 *    (bcoin never answers a `getheaders` it has nothing for, unlike Bitcoin Core);
 * 4. the CLI: `shoal btc sync --until-synced` exits 0 with the tip's height and hash, a second
 *    run and `shoal btc status --json` find the headers kept in the data folder.
 * The teardown waits until bcoin holds no inbound peer, then reads bcoin's debug log: it shows a
 * handshake for each of Shoal's connections (so it is the right log, read in full) and no
 * line that blames Shoal.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BITCOIN_REGTEST, hashToHex, headerHash, PrivateKey } from '../../src/bitcoin/index.js';
import { BtcNode, type ReorgEvent } from '../../src/btc-node/index.js';
import { Bcoin, bcoinInboundHandshakes, bcoinRegtestAddress } from '../helpers/bcoin.js';

const BLOCKS = 20_000;
const WAIT_MS = 120_000;
const MINER = bcoinRegtestAddress(PrivateKey.fromBytes(new Uint8Array(32).fill(0x42)).publicKeyHash);
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const TSX = import.meta.resolve('tsx');

/** Runs the CLI in a child process (bounded to 3 minutes). */
function shoal(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, MAIN, ...args],
      { timeout: 180_000, env: { ...process.env, NODE_OPTIONS: '' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
const OTHER_MINER = bcoinRegtestAddress(PrivateKey.fromBytes(new Uint8Array(32).fill(0x43)).publicKeyHash);

describe('BtcNode against bcoin (regtest, SHA-256d): header sync, reorganisation, restart', {
  timeout: 15 * 60_000,
}, () => {
  const bcoin = new Bcoin();
  let dir = '';
  let node: BtcNode | undefined;

  before(async () => {
    await bcoin.start();
    dir = await mkdtemp(join(tmpdir(), 'shoal-btcnode-bcoin-'));
    const t0 = performance.now();
    await bcoin.mine(BLOCKS, MINER);
    console.log(`# bcoin mined ${BLOCKS} blocks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    assert.equal(await bcoin.rpc<number>('getblockcount'), BLOCKS);
  });

  after(async () => {
    try {
      await node?.close();
      // Once bcoin holds no peer it has handled (and logged) all Shoal sent.
      await bcoin.noPeers();
      // bcoin's only inbound peers were Shoal's: the node's two sessions, the CLI's two syncs.
      const log = await bcoin.log();
      const shoals = bcoinInboundHandshakes(log);
      assert.ok(
        shoals.length >= 4,
        `bcoin logged ${shoals.length} inbound handshakes, fewer than 4:\n${log.slice(-2000)}`,
      );
      // Throws too on a log without a handshake, so an empty or wrong log cannot pass.
      assert.deepEqual(await bcoin.misbehaviour(), [], 'bcoin blamed Shoal');
    } finally {
      await bcoin.stop();
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    }
  });

  const open = () =>
    BtcNode.open({
      network: 'bitcoin-regtest',
      dataDir: dir,
      peers: [`127.0.0.1:${bcoin.p2pPort}`],
      dnsSeeds: [],
    });

  test(`headers-first sync of ${BLOCKS} headers, ending at bcoin's best block`, async () => {
    node = await open();
    let headers = 0;
    node.on('header', () => headers++);
    const t0 = performance.now();
    node.start();
    await node.synced(AbortSignal.timeout(5 * 60_000));
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `# synced ${headers} headers in ${seconds.toFixed(1)} s (${(headers / seconds).toFixed(0)}/s)`,
    );
    assert.equal(headers, BLOCKS);
    const s = node.status();
    assert.equal(s.tip.height, BLOCKS);
    assert.equal(s.tip.hash, await bcoin.rpc<string>('getbestblockhash'));
    assert.equal(s.peers.length, 1);
    assert.match(s.peers[0]!.userAgent, /bcoin/);
    assert.equal(s.peers[0]!.filters, false);
    // The genesis Shoal built on is bcoin's.
    assert.equal(
      await bcoin.rpc<string>('getblockhash', 0),
      hashToHex(headerHash(BITCOIN_REGTEST.genesisHeader)),
    );
  });

  test('reorganisation: bcoin invalidates its tip and mines a longer branch; Shoal follows', async () => {
    assert.ok(node);
    const oldTip = await bcoin.rpc<string>('getbestblockhash');
    const reorg = new Promise<ReorgEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reorg within ${WAIT_MS} ms`)), WAIT_MS);
      node!.once('reorg', (e) => {
        clearTimeout(timer);
        resolve(e);
      });
    });
    await bcoin.rpc('invalidateblock', oldTip);
    assert.equal(await bcoin.rpc<number>('getblockcount'), BLOCKS - 1);
    // Another coinbase address, so the new block at BLOCKS is not the invalidated one again.
    const newTip = await bcoin.mine(2, OTHER_MINER);
    const r = await reorg;
    assert.equal(r.forkHeight, BLOCKS - 1);
    assert.deepEqual(
      r.disconnected.map((x) => x.hash),
      [oldTip],
    );
    await bcoin.until('Shoal at the new tip', async () => node!.status().tip.hash === newTip);
    assert.equal(node.status().tip.height, BLOCKS + 1);
    await node.synced(AbortSignal.timeout(WAIT_MS));
  });

  test('a restart resumes from the data folder: synced at the same tip, no header downloaded again', async () => {
    assert.ok(node);
    const before = node.status();
    await node.close();
    node = await open();
    assert.equal(node.status().tip.hash, before.tip.hash);
    let headers = 0;
    node.on('header', () => headers++);
    node.start();
    await node.synced(AbortSignal.timeout(WAIT_MS));
    assert.equal(headers, 0);
    assert.equal(node.status().tip.hash, await bcoin.rpc<string>('getbestblockhash'));
    assert.equal(node.status().peers.length, 1);
  });

  test('the CLI: shoal btc sync --until-synced prints the tip and exits 0; headers persist', async () => {
    const cliDir = await mkdtemp(join(tmpdir(), 'shoal-btc-cli-'));
    try {
      const common = ['--network', 'regtest', '--peer', `127.0.0.1:${bcoin.p2pPort}`, '--data-dir', cliDir];
      const best = await bcoin.rpc<string>('getbestblockhash');
      const height = await bcoin.rpc<number>('getblockcount');
      const t0 = performance.now();
      const first = await shoal(['btc', 'sync', '--until-synced', '--timeout', '150', ...common]);
      console.log(`# shoal btc sync: ${height} headers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout.trim(), `synced ${height} ${best}`);
      const second = await shoal(['btc', 'sync', '--until-synced', '--timeout', '60', ...common]);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout.trim(), `synced ${height} ${best}`);
      const status = await shoal(['btc', 'status', '--json', ...common]);
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout) as { tip: { height: number; hash: string } };
      assert.deepEqual([s.tip.height, s.tip.hash], [height, best]);
      const bad = await shoal(['btc', 'status', '--network', 'nonesuch', '--data-dir', cliDir]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /unknown network "nonesuch"/);
    } finally {
      await rm(cliDir, { recursive: true, force: true });
    }
  });
});
