/**
 * The dashboard's settings panel against a real daemon in Chromium: an IP blocklist file (the
 * ranges in force shown; Reload reads the file again), the SOCKS5 proxy (saved, its password never
 * shown back, the restart note), and a watch folder (a .torrent written into it shows up in the
 * list and is renamed .added), the incomplete folder and preallocation (that torrent downloads
 * there, its file reserved in full). The sidebar's Network card: no port mapping, then the external
 * address peers name in BEP 10 `yourip` (four peers on distinct 127.x addresses vote), shown as the
 * API reports it. Queue, seed limits and encryption are in dashboard.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, realpath, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { NetworkInfo, SettingsInfo } from '../../src/daemon/index.js';
import { type Daemon, startDaemon } from '../../src/daemon/index.js';
import { toHex } from '../../src/shared/hash.js';
import { YOURIP_VOTES_NEEDED } from '../../src/shared/limits.js';
import { createTorrent } from '../../src/storage/index.js';
import { EXTENDED_HANDSHAKE_ID, ExtensionName, encodeExtendedHandshake } from '../../src/wire/index.js';
import { writeTree } from '../helpers/payload.js';
import { ScriptedPeer } from '../helpers/scripted-peer.js';
import { api, json as jsonBody, tempDir } from '../integration/daemon-helpers.js';
import { CHROMIUM, KIB, openPage, row, WEB_DIST } from './dashboard-kit.js';

describe('web dashboard settings: blocklist, proxy, watch folder', { timeout: 180_000 }, () => {
  let tmp: { dir: string; cleanup(): Promise<void> } | undefined;
  let daemon: Daemon | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  const text = async (selector: string): Promise<string> =>
    (await page.locator(selector).textContent()) ?? '';

  before(async () => {
    if (!existsSync(join(WEB_DIST, 'index.html')))
      throw new Error('web/dist/index.html is missing: build the dashboard first with "npm run build:web"');
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (or set SHOAL_CHROMIUM)`);
    tmp = await tempDir('shoal-e2e-settings-');
    daemon = await startDaemon({
      stateDir: join(tmp.dir, 'state'),
      downloadDir: join(tmp.dir, 'downloads'),
      host: '127.0.0.1',
      port: 0,
      peerHost: '127.0.0.1',
      logger: false,
      webRoot: WEB_DIST,
      snapshotIntervalMs: 500,
      session: { hashThreads: 1, dht: false, lsd: false },
    });
    ({ browser, page } = await openPage(pageErrors, consoleErrors));
    const res = await page.goto(daemon.url);
    assert.equal(res?.status(), 200);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await daemon?.close().catch(() => {});
    await tmp?.cleanup();
  });

  it('sets the blocklist, the proxy and the watch folder in the settings panel', async () => {
    const blocklist = join(tmp!.dir, 'blocklist.p2p');
    await writeFile(blocklist, 'Test range:203.0.113.0-203.0.113.255\nnot a line\n');
    const watchDir = join(tmp!.dir, 'watch');
    await mkdir(watchDir);
    await page.click('#btn-settings');
    await page.locator('#settings-dialog[open]').waitFor();
    await page.fill('#set-blocklist', blocklist);
    await page.check('#set-proxy-on');
    await page.fill('#set-proxy-host', '127.0.0.1');
    await page.fill('#set-proxy-port', '1080');
    await page.fill('#set-proxy-user', 'shoal');
    await page.fill('#set-proxy-pass', 'secret');
    await page.fill('#set-watch-dir', watchDir);
    const incoming = join(await realpath(join(tmp!.dir, 'downloads')), 'incoming');
    await page.fill('#set-incomplete-dir', incoming);
    await page.selectOption('#set-preallocation', 'full');
    await page.click('#settings-save');
    await page.locator('#settings-dialog').waitFor({ state: 'hidden' });
    const s = await api<SettingsInfo>(daemon!, '/api/v1/settings');
    assert.equal(s.blocklistPath, blocklist);
    assert.equal(s.blocklist.ranges, 1);
    assert.equal(s.blocklist.malformed, 1);
    assert.deepEqual(
      { ...s.proxy },
      { host: '127.0.0.1', port: 1080, username: 'shoal', hasPassword: true, onlyProxy: true },
    );
    assert.equal(s.restartRequired, true, 'the running session keeps its connections until a restart');
    assert.equal(s.watchDir, watchDir);
    assert.equal(s.incompleteDir, incoming);
    assert.equal(s.preallocation, 'full');

    // Reopened: what is in force is shown, the password is not; a reload reads the file again.
    await page.click('#btn-settings');
    await page.locator('#settings-dialog[open]').waitFor();
    assert.match(await text('#blocklist-status'), /^1 address ranges in force, 1 malformed lines skipped/);
    assert.equal(await page.inputValue('#set-proxy-pass'), '');
    assert.equal(await page.getAttribute('#set-proxy-pass', 'placeholder'), 'unchanged');
    assert.equal(await page.inputValue('#set-incomplete-dir'), incoming);
    assert.equal(await page.inputValue('#set-preallocation'), 'full');
    assert.match(await text('#proxy-note'), /takes effect when the daemon next starts/);
    await writeFile(blocklist, 'A:203.0.113.0-203.0.113.255\nB:198.51.100.0-198.51.100.255\n');
    await page.click('#set-blocklist-reload');
    await page.locator('#blocklist-status', { hasText: /^2 address ranges in force(,|\.)/ }).waitFor();
    // Proxy off again (this machine has no SOCKS server for the rest of the test).
    await page.uncheck('#set-proxy-on');
    await page.click('#settings-save');
    await page.locator('#settings-dialog').waitFor({ state: 'hidden' });
    assert.equal((await api<SettingsInfo>(daemon!, '/api/v1/settings')).proxy, null);

    // A .torrent written into the watch folder shows up in the list; the file is renamed .added.
    await writeTree(join(tmp!.dir, 'seed', 'watched-notes'), { 'notes.txt': 40 * KIB + 3 }, 61);
    const made = await createTorrent(join(tmp!.dir, 'seed', 'watched-notes'), {
      pieceLength: 16 * KIB,
      threads: 1,
    });
    const watched = { torrent: made, id: toHex(made.infoHashV1!) };
    // The daemon renames the file before it announces the add.
    const announced = new Promise<{ file: string; id: string }>((resolve) =>
      daemon!.manager.once('watch:added', resolve),
    );
    await writeFile(join(watchDir, 'watched.torrent'), watched.torrent.bytes);
    await page.locator(row(watched.id)).waitFor({ timeout: 60_000 });
    assert.equal(await text(`${row(watched.id)} .name-text`), 'watched-notes');
    assert.deepEqual(await announced, { file: 'watched.torrent', id: watched.id });
    assert.ok(existsSync(join(watchDir, 'watched.torrent.added')), 'renamed .added');
    // Added after the incomplete folder was set: it downloads there, its file reserved in full.
    const signal = AbortSignal.timeout(60_000);
    let held = daemon!.session.getTorrent(watched.id);
    while (held === undefined) {
      await daemon!.session.next('torrent:added', signal);
      held = daemon!.session.getTorrent(watched.id);
    }
    while (held.state === 'checking') await held.next('state', signal);
    assert.equal(held.downloadDir, incoming);
    assert.equal((await stat(join(incoming, 'watched-notes', 'notes.txt'))).size, 40 * KIB + 3);
    await api(daemon!, `/api/v1/torrents/${watched.id}`, { method: 'DELETE' });
    await page.locator(row(watched.id)).waitFor({ state: 'detached' });
    await api(daemon!, '/api/v1/settings', {
      ...jsonBody({ watchDir: null, blocklistPath: null, incompleteDir: null }),
      method: 'PUT',
    });
  });

  it('the Network card shows the external address peers name, as the API reports it', async () => {
    const card = page.locator('#network');
    await card.waitFor();
    // The daemon maps no port here (no router on loopback): the card says so.
    await page.locator('#net-mapping', { hasText: 'Port mapping off' }).waitFor();
    assert.equal(await text('#net-address'), 'not known yet');
    assert.equal(await text('#net-error'), 'none');
    // A torrent for peers to connect to; four of them, from distinct loopback addresses, say in
    // their BEP 10 handshake that they see us at 203.0.113.50.
    await writeTree(join(tmp!.dir, 'seed', 'net-notes'), { 'notes.txt': 20 * KIB }, 71);
    const made = await createTorrent(join(tmp!.dir, 'seed', 'net-notes'), {
      pieceLength: 16 * KIB,
      threads: 1,
    });
    const torrent = await daemon!.session.addTorrent(made.bytes);
    const peers: ScriptedPeer[] = [];
    try {
      for (let i = 0; i < YOURIP_VOTES_NEEDED; i++) {
        const p = await ScriptedPeer.dial(
          '127.0.0.1',
          daemon!.session.port,
          { infoHash: torrent.wireInfoHash },
          `127.0.0.${60 + i}`,
        );
        peers.push(p);
        p.sendHandshake();
        await p.handshake(10_000);
        p.send({
          type: 'extended',
          extId: EXTENDED_HANDSHAKE_ID,
          payload: encodeExtendedHandshake({
            extensions: new Map([[ExtensionName.UtMetadata, 7]]),
            yourIp: Uint8Array.of(203, 0, 113, 50),
          }),
        });
        await p.roundTrip(10_000);
      }
    } finally {
      for (const p of peers) p.close();
    }
    const net = await api<NetworkInfo>(daemon!, '/api/v1/network');
    assert.equal(net.externalAddress, '203.0.113.50');
    assert.equal(net.externalAddressSource, 'peers');
    assert.equal(net.externalPort, daemon!.session.port);
    // The card follows the daemon's network:changed event (no reload).
    const shown = `${net.externalAddress}:${net.externalPort}`;
    await page.locator('#net-address', { hasText: shown }).waitFor({ timeout: 10_000 });
    assert.equal(await text('#net-address'), shown);
    assert.equal(await page.getAttribute('#net-address', 'title'), 'IPv4 address as peers see it');
    await daemon!.session.removeTorrent(torrent.id);
  });

  it('logged no script error and no CSP violation', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(consoleErrors, []);
  });
});
