/**
 * The dashboard's Bitcoin page in Chromium against a daemon running a light node, synced from a
 * real litecoind (regtest, started here on 127.0.0.1 and always stopped): the sidebar link shows
 * (the daemon runs a node), the page's watch form adds an address with a rescan from the genesis,
 * and the page then shows litecoind's best block hash, "synced", the peer, and the coinbase that
 * paid the address in the history and the balance.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { LITECOIN_REGTEST, PrivateKey, p2wpkhScript, scriptToAddress } from '../../src/bitcoin/index.js';
import { type Daemon, startDaemon } from '../../src/daemon/index.js';
import { Litecoind } from '../helpers/litecoind.js';
import { tempDir } from '../integration/daemon-helpers.js';
import { CHROMIUM, openPage, WEB_DIST } from './dashboard-kit.js';

const WATCHED = scriptToAddress(
  p2wpkhScript(PrivateKey.fromBytes(new Uint8Array(32).fill(0x72)).publicKeyHash),
  LITECOIN_REGTEST,
)!;
const BLOCKS = 15;
const PAID_AT = 5;

describe('web dashboard: the Bitcoin page', { timeout: 240_000 }, () => {
  const ltc = new Litecoind();
  let tmp: { dir: string; cleanup(): Promise<void> } | undefined;
  let daemon: Daemon | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  let coinbase = { txid: '', sats: 0n };

  before(async () => {
    if (!existsSync(join(WEB_DIST, 'bitcoin.html')))
      throw new Error('web/dist/bitcoin.html is missing: build the dashboard first with "npm run build:web"');
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (or set SHOAL_CHROMIUM)`);
    await ltc.start();
    for (let h = 1; h <= BLOCKS; h++) {
      const hash = await ltc.mine(1, h === PAID_AT ? `addr(${WATCHED})` : 'raw(51)');
      if (h !== PAID_AT) continue;
      const b = await ltc.rpc<{ tx: { txid: string; vout: { value: number }[] }[] }>('getblock', hash, 2);
      coinbase = { txid: b.tx[0]!.txid, sats: BigInt(Math.round(b.tx[0]!.vout[0]!.value * 1e8)) };
    }
    await ltc.filterIndexAt(BLOCKS);
    tmp = await tempDir('shoal-e2e-btc-');
    daemon = await startDaemon({
      stateDir: join(tmp.dir, 'state'),
      downloadDir: join(tmp.dir, 'downloads'),
      host: '127.0.0.1',
      port: 0,
      peerHost: '127.0.0.1',
      logger: false,
      webRoot: WEB_DIST,
      session: { hashThreads: 1, dht: false, lsd: false },
      btc: { network: 'litecoin-regtest', peers: [`127.0.0.1:${ltc.p2pPort}`] },
    });
    ({ browser, page } = await openPage(pageErrors, consoleErrors));
    const res = await page.goto(daemon.url);
    assert.equal(res?.status(), 200);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await daemon?.close().catch(() => {});
    await ltc.stop();
    await tmp?.cleanup();
  });

  it('links to the page, watches an address from its form, shows the tip, the payment and the balance', async () => {
    await page.locator('#btc-link').waitFor({ state: 'visible' });
    await page.click('#btc-link');
    await page.waitForURL(/\/bitcoin\.html$/);
    await page.locator('#btc-network').waitFor();
    assert.equal(await page.locator('#btc-network').textContent(), 'litecoin-regtest');

    await page.fill('#btc-watch-item', WATCHED);
    await page.fill('#btc-watch-from', '0');
    await page.click('#btc-watch-add');
    await page.locator('#btc-watched td', { hasText: WATCHED }).waitFor({ timeout: 60_000 });

    const best = await ltc.rpc<string>('getbestblockhash');
    await page.locator('#btc-tip-hash', { hasText: best }).waitFor({ timeout: 120_000 });
    await page.locator('#btc-history td', { hasText: coinbase.txid }).waitFor({ timeout: 120_000 });
    await page.locator('#btc-state', { hasText: /^synced$/ }).waitFor({ timeout: 120_000 });
    assert.equal(await page.locator('#btc-tip-height').textContent(), String(BLOCKS));
    const whole = coinbase.sats / 100_000_000n;
    const frac = (coinbase.sats % 100_000_000n).toString().padStart(8, '0');
    assert.equal(await page.locator('#btc-confirmed').textContent(), `${whole}.${frac}`);
    assert.equal(await page.locator('#btc-immature').textContent(), `${whole}.${frac}`);
    assert.equal(await page.locator('#btc-peers td', { hasText: `127.0.0.1:${ltc.p2pPort}` }).count(), 1);
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(consoleErrors, []);
  });
});
