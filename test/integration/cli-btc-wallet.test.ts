/**
 * `shoal btc watch | sync | balance | history | tx | send` as a user runs them (the real CLI, one
 * process per command, state in one data folder), against a real litecoind (regtest, BIP 157
 * server, started here on 127.0.0.1 and always stopped). litecoind mines a coinbase to Shoal's key
 * at height 1 and 100 blocks after it (the coinbase matures); the CLI watches the key's address
 * with a rescan, syncs to litecoind's best block, reports the coinbase (balance, history, the
 * transaction with its inclusion proof), then signs and sends a spend that reaches litecoind's
 * mempool, and once litecoind mines it reports the spend confirmed and the new balance.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LITECOIN_REGTEST, PrivateKey, p2wpkhScript, scriptToAddress } from '../../src/bitcoin/index.js';
import { runShoal } from '../helpers/cli.js';
import { Litecoind } from '../helpers/litecoind.js';

const KEY_BYTES = new Uint8Array(32).fill(0x43);
const KEY = PrivateKey.fromBytes(KEY_BYTES);
const MINE = scriptToAddress(p2wpkhScript(KEY.publicKeyHash), LITECOIN_REGTEST)!;
const THEIRS = scriptToAddress(
  p2wpkhScript(PrivateKey.fromBytes(new Uint8Array(32).fill(0x44)).publicKeyHash),
  LITECOIN_REGTEST,
)!;
const AMOUNT = 100_000_000n;

describe('shoal btc wallet commands against litecoind', { timeout: 5 * 60_000 }, () => {
  const ltc = new Litecoind();
  let dir = '';
  let common: string[] = [];
  const coinbase = { txid: '', sats: 0n };

  const shoal = async (args: string[]) => {
    const r = await runShoal(['btc', ...args, ...common], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `shoal btc ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    await ltc.start();
    dir = await mkdtemp(join(tmpdir(), 'shoal-cli-btc-'));
    common = ['--network', 'litecoin-regtest', '--peer', `127.0.0.1:${ltc.p2pPort}`, '--data-dir', dir];
    const hash = await ltc.mine(1, `addr(${MINE})`);
    const b = await ltc.rpc<{ tx: { txid: string; vout: { value: number }[] }[] }>('getblock', hash, 2);
    coinbase.txid = b.tx[0]!.txid;
    coinbase.sats = BigInt(Math.round(b.tx[0]!.vout[0]!.value * 1e8));
    await ltc.mine(100);
    await ltc.filterIndexAt(101);
  });

  after(async () => {
    try {
      // Throws on a log without a Shoal handshake, so an empty or wrong log cannot pass.
      assert.deepEqual(await ltc.misbehaviour(), [], 'litecoind blamed a peer');
    } finally {
      await ltc.stop();
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    }
  });

  test('watch, sync, balance, history and tx report the coinbase litecoind paid', async () => {
    const w = JSON.parse(await shoal(['watch', MINE, '--rescan-from', '0', '--label', 'me', '--json'])) as {
      address: string;
      rescanFrom: number;
    };
    assert.deepEqual([w.address, w.rescanFrom], [MINE, 0]);
    const best = await ltc.rpc<string>('getbestblockhash');
    assert.equal((await shoal(['sync', '--until-synced', '--timeout', '90'])).trim(), `synced 101 ${best}`);

    const bal = JSON.parse(await shoal(['balance', '--json'])) as Record<string, string | number>;
    assert.deepEqual(bal, {
      confirmed: coinbase.sats.toString(),
      unconfirmed: '0',
      immature: '0',
      utxoCount: 1,
    });
    const hist = JSON.parse(await shoal(['history', '--json'])) as { txid: string; delta: string }[];
    assert.deepEqual(
      hist.map((h) => [h.txid, h.delta]),
      [[coinbase.txid, coinbase.sats.toString()]],
    );
    const tx = JSON.parse(await shoal(['tx', coinbase.txid, '--json'])) as {
      height: number;
      confirmations: number;
      proofVerified: boolean;
      blockHash: string;
    };
    assert.deepEqual(
      [tx.height, tx.confirmations, tx.proofVerified, tx.blockHash],
      [1, 101, true, await ltc.rpc<string>('getblockhash', 1)],
    );
  });

  test('send signs a spend that reaches the mempool; mined, it is confirmed and the balance drops', async () => {
    const keyFile = join(dir, 'key.txt');
    await writeFile(keyFile, `${Buffer.from(KEY_BYTES).toString('hex')}\n`, { mode: 0o600 });
    const sent = JSON.parse(
      await shoal([
        'send',
        '--key',
        keyFile,
        '--to',
        THEIRS,
        '--amount',
        AMOUNT.toString(),
        '--fee-rate',
        '2',
        '--timeout',
        '90',
        '--json',
      ]),
    ) as { txid: string; fee: string | number };
    // `send` returns once a peer took the transaction (its getdata answered); litecoind puts it in
    // its mempool just after, so wait for it there (bounded by the helper's wait).
    await ltc.until('the spend in the mempool', async () =>
      (await ltc.rpc<string[]>('getrawmempool')).includes(sent.txid),
    );
    const mined = await ltc.mine(1);
    const block = await ltc.rpc<{ tx: string[] }>('getblock', mined);
    assert.ok(block.tx.includes(sent.txid));
    assert.equal((await shoal(['sync', '--until-synced', '--timeout', '90'])).trim(), `synced 102 ${mined}`);

    const tx = JSON.parse(await shoal(['tx', sent.txid, '--json'])) as {
      height: number;
      confirmations: number;
      proofVerified: boolean;
      delta: number;
    };
    const fee = BigInt(sent.fee);
    assert.deepEqual([tx.height, tx.confirmations, tx.proofVerified], [102, 1, true]);
    assert.equal(BigInt(tx.delta), -(AMOUNT + fee));
    const bal = JSON.parse(await shoal(['balance', '--json'])) as { confirmed: string };
    assert.equal(BigInt(bal.confirmed), coinbase.sats - AMOUNT - fee);
  });
});
