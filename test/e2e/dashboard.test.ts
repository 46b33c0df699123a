/**
 * End-to-end test of the web dashboard: Debian's Chromium driven by playwright-core against a real
 * daemon (in this process, API on a random 127.0.0.1 port, its own temp state) serving the built
 * `web/dist`, with local Shoal seeders and a local tracker. No DHT, no LSD, nothing leaves
 * loopback.
 *
 * It adds a magnet link (its `x.pe` names the seeder) and a .torrent file through the file input
 * and watches both reach 100%, checks the downloaded bytes, opens the detail view (piece map
 * drawn on the canvas, files, priority change, player, peers, trackers), pauses and resumes,
 * sorts, sets the global speed limits, drops a third .torrent onto the page, takes the README
 * screenshot while it downloads, then removes it with "delete data" and checks the files are gone
 * (the row leaves only once the removal is complete). Between those: queue positions (the `#`
 * column, moving a torrent up and down), a torrent's own limits, priority and seed limits set in
 * its Options tab, the queue, seeding and encryption settings, and the peers' transport and
 * encryption. Then: the Peer events tab lists a corrupt peer's hash failure and ban with the
 * evidence, an add's notices stay in order when the daemon's live events overtake its answer, and
 * the names stay readable 420 px wide.
 *
 * Needs `web/dist` (built by `npm run build` / `npm run build:web`, which `npm install` runs) and
 * `/usr/bin/chromium` (or SHOAL_CHROMIUM). The screenshot goes to docs/dashboard.png when that file
 * is missing or SHOAL_UPDATE_SCREENSHOT=1, else to the temp folder (so a test run leaves the
 * committed picture alone).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { FileInfo, SettingsInfo, TorrentDetails, TorrentSummary } from '../../src/daemon/index.js';
import { type Daemon, startDaemon } from '../../src/daemon/index.js';
import { Session } from '../../src/session/index.js';
import { toHex } from '../../src/shared/hash.js';
import { createTorrent } from '../../src/storage/index.js';
import { startTracker, type TrackerServer } from '../../src/tracker/index.js';
import { writeTree } from '../helpers/payload.js';
import { listenCorruptSeeder, type ScriptedServer } from '../helpers/scripted-peer.js';
import { api, json as jsonBody, tempDir } from '../integration/daemon-helpers.js';
import {
  CHROMIUM,
  DOCS_SHOT,
  KIB,
  MIB,
  openPage,
  type PageGlobals,
  type Payload,
  PIECE_PIXELS,
  row,
  WEB_DIST,
} from './dashboard-kit.js';

describe('web dashboard (Chromium + playwright-core)', { timeout: 240_000 }, () => {
  let tmp: { dir: string; cleanup(): Promise<void> } | undefined;
  let tracker: TrackerServer | undefined;
  let seeder: Session | undefined;
  let slowSeeder: Session | undefined;
  const servers: ScriptedServer[] = [];
  let daemon: Daemon | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let downloadDir = '';
  let seedDir = '';
  let harbour: Payload;
  let ocean: Payload;
  let coast: Payload;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  async function payload(name: string, files: Record<string, number>, pieceLength: number, seed: number) {
    await writeTree(join(seedDir, name), files, seed);
    const torrent = await createTorrent(join(seedDir, name), {
      pieceLength,
      threads: 1,
      trackers: [[tracker!.httpAnnounceUrl!]],
      comment: 'Sample data for the Shoal dashboard test',
      creationDate: Date.UTC(2026, 10, 2) / 1000,
    });
    return { torrent, id: toHex(torrent.infoHashV1!), name, files };
  }

  async function sameBytes(p: Payload): Promise<void> {
    for (const rel of Object.keys(p.files)) {
      const got = await readFile(join(downloadDir, p.name, rel));
      const want = await readFile(join(seedDir, p.name, rel));
      assert.ok(got.equals(want), `${p.name}/${rel} differs from the seeder's copy`);
    }
  }

  /** Waits (bounded) until the row's progress is strictly between `lo` and `hi`. */
  async function progressBetween(id: string, lo: number, hi: number, timeout = 60_000): Promise<void> {
    await page.waitForFunction(
      ([sel, a, b]) => {
        const r = (globalThis as unknown as PageGlobals).document.querySelector(sel);
        const p = Number(r?.getAttribute('data-progress'));
        return r !== null && p > a && p < b;
      },
      [row(id), lo, hi] as const,
      { timeout, polling: 100 },
    );
  }

  /** The text of the first element matching `selector`. */
  const text = async (selector: string): Promise<string> =>
    (await page.locator(selector).textContent()) ?? '';

  const summary = (id: string) => api<TorrentDetails>(daemon!, `/api/v1/torrents/${id}`);

  before(async () => {
    if (!existsSync(join(WEB_DIST, 'index.html')))
      throw new Error(
        `web/dist/index.html is missing: build the dashboard first with "npm run build:web" (npm install / npm run build do it too)`,
      );
    if (!existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium ("apt-get install -y chromium") or set SHOAL_CHROMIUM`,
      );
    tmp = await tempDir('shoal-e2e-');
    seedDir = join(tmp.dir, 'seed');
    downloadDir = join(tmp.dir, 'downloads');
    await mkdir(seedDir, { recursive: true });
    tracker = await startTracker({ host: '127.0.0.1', httpPort: 0, udpPort: null, intervalS: 60 });

    harbour = await payload(
      'harbour-timelapse',
      { 'harbour-timelapse.mp4': 3 * MIB + 123_457, 'README.txt': 2_345, 'subtitles/en.srt': 12_000 },
      64 * KIB,
      11,
    );
    ocean = await payload(
      'ocean-survey-2026',
      { 'stations.csv': 640 * KIB + 17, 'readings.csv': 1536 * KIB + 99, LICENSE: 1_070 },
      64 * KIB,
      21,
    );
    coast = await payload('coastline-imagery', { 'tiles.tar': 12 * MIB, 'index.json': 4_321 }, 32 * KIB, 31);

    // Rate-limited seeders, so the progress can be watched.
    seeder = await Session.create({
      host: '127.0.0.1',
      downloadDir: seedDir,
      hashThreads: 1,
      uploadRateLimit: MIB,
    });
    slowSeeder = await Session.create({
      host: '127.0.0.1',
      downloadDir: seedDir,
      hashThreads: 1,
      uploadRateLimit: 320 * KIB,
    });
    for (const [s, p] of [
      [seeder, harbour],
      [seeder, ocean],
      [slowSeeder, coast],
    ] as const) {
      const t = await s.addTorrent(p.torrent.bytes);
      assert.equal(t.state, 'seeding', `the seeder of ${p.name} is ${t.state}`);
    }

    daemon = await startDaemon({
      stateDir: join(tmp.dir, 'state'),
      downloadDir,
      host: '127.0.0.1',
      port: 0,
      peerHost: '127.0.0.1',
      logger: false,
      webRoot: WEB_DIST,
      snapshotIntervalMs: 500,
      // Loopback only: no DHT, no local service discovery; trackers are the local one.
      session: { hashThreads: 1, dht: false, lsd: false },
    });

    ({ browser, page } = await openPage(pageErrors, consoleErrors));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await daemon?.close().catch(() => {});
    await seeder?.close().catch(() => {});
    await slowSeeder?.close().catch(() => {});
    for (const srv of servers) await srv.close().catch(() => {});
    await tracker?.close().catch(() => {});
    await tmp?.cleanup();
  });

  it('serves the dashboard under its CSP and shows the empty state, live', async () => {
    const res = await page.goto(daemon!.url);
    assert.equal(res?.status(), 200);
    const csp = res?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    await page.locator('#empty-state').waitFor();
    assert.match(await text('#empty-state'), /No torrents yet/);
    await page.locator('#connection[data-state="live"]').waitFor();
    assert.equal(await page.locator('#btn-remove').isDisabled(), true, 'nothing selected, nothing to remove');
  });

  it("shows the daemon's error for a bad magnet and adds nothing", async () => {
    const bad = 'magnet:?xt=urn:btih:not-a-hash';
    const direct = await fetch(`${daemon!.url}/api/v1/torrents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ magnet: bad }),
    });
    assert.equal(direct.status, 400);
    const { error } = (await direct.json()) as { error: { code: string; message: string } };

    await page.click('#btn-add');
    await page.locator('#add-dialog[open]').waitFor();
    await page.fill('#add-links', bad);
    await page.click('#add-submit');
    const shown = page.locator('#add-error');
    await shown.waitFor();
    const shownText = (await shown.textContent()) ?? '';
    assert.ok(
      shownText.includes(error.message),
      `the dialog shows "${shownText}", not the API's "${error.message}"`,
    );
    assert.equal(await page.locator('#add-dialog[open]').count(), 1, 'the dialog stays open on error');
    const { torrents } = await api<{ torrents: TorrentSummary[] }>(daemon!, '/api/v1/torrents');
    assert.equal(torrents.length, 0);
  });

  it('adds a magnet link and watches it download to 100%', async () => {
    const magnet =
      `magnet:?xt=urn:btih:${harbour.id}&dn=${harbour.name}` +
      `&tr=${encodeURIComponent(tracker!.httpAnnounceUrl!)}&x.pe=127.0.0.1:${seeder!.port}`;
    await page.fill('#add-links', magnet);
    await page.click('#add-submit');
    await page.locator('#add-dialog').waitFor({ state: 'hidden' });
    await page.locator(row(harbour.id)).waitFor();
    await progressBetween(harbour.id, 0, 1);
    await page.locator(`${row(harbour.id)}[data-state="seeding"]`).waitFor({ timeout: 60_000 });
    assert.equal(await text(`${row(harbour.id)} .bar-text`), '100%');
    assert.equal(await page.locator(`${row(harbour.id)}`).getAttribute('data-name'), harbour.name);
    await sameBytes(harbour);
  });

  it('adds a .torrent file through the file input and watches it download to 100%', async () => {
    const file = join(tmp!.dir, `${ocean.name}.torrent`);
    await writeFile(file, ocean.torrent.bytes);
    await page.click('#btn-add');
    await page.locator('#add-dialog[open]').waitFor();
    await page.setInputFiles('#add-files', file);
    await page.locator('#add-file-list li', { hasText: `${ocean.name}.torrent` }).waitFor();
    await page.click('#add-submit');
    await page.locator('#add-dialog').waitFor({ state: 'hidden' });
    await page.locator(row(ocean.id)).waitFor();
    await progressBetween(ocean.id, 0, 1);
    await page.locator(`${row(ocean.id)}[data-state="seeding"]`).waitFor({ timeout: 60_000 });
    assert.equal(await text(`${row(ocean.id)} .bar-text`), '100%');
    await sameBytes(ocean);
  });

  it('sorts the list by name and by progress', async () => {
    const names = () =>
      page.locator('tr.torrent-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')));
    await page.click('th[data-sort="name"] button');
    await page.locator('th[data-sort="name"][aria-sort="ascending"]').waitFor();
    assert.deepEqual(await names(), [harbour.name, ocean.name]);
    await page.click('th[data-sort="name"] button');
    await page.locator('th[data-sort="name"][aria-sort="descending"]').waitFor();
    assert.deepEqual(await names(), [ocean.name, harbour.name]);
    await page.click('th[data-sort="progress"] button');
    await page.locator('th[data-sort="progress"][aria-sort="descending"]').waitFor();
    assert.equal((await names()).length, 2);
  });

  it('opens the detail view: piece map drawn, files, priority, player, peers, trackers', async () => {
    await page.click(`${row(harbour.id)} .name-text`);
    await page.locator('#details-general').waitFor();
    const pieces = harbour.torrent.pieceCount;
    await page.locator(`#piece-map[data-pieces="${pieces}"][data-have="${pieces}"]`).waitFor();
    const px = (await page.evaluate(PIECE_PIXELS)) as { have: number; missing: number };
    assert.ok(px.have > pieces, `the complete torrent's pieces are painted (${px.have} pixels)`);
    assert.equal(px.missing, 0, 'no missing piece is painted for a complete torrent');
    assert.match(await text('#details'), new RegExp(harbour.id));

    await page.click('button[data-tab="files"]');
    const fileRows = page.locator('#files-table tbody tr');
    await fileRows.first().waitFor();
    assert.equal(await fileRows.count(), Object.keys(harbour.files).length);
    const details = await summary(harbour.id);
    const srt = details.files.find((f) => f.path.endsWith('en.srt'));
    assert.ok(srt !== undefined);
    const patched = page.waitForResponse(
      (r) => r.url().endsWith(`/api/v1/torrents/${harbour.id}/files`) && r.request().method() === 'PATCH',
    );
    await page.selectOption(`#files-table select[data-index="${srt.index}"]`, '2');
    assert.equal((await patched).status(), 200);
    const { files } = await api<{ files: FileInfo[] }>(daemon!, `/api/v1/torrents/${harbour.id}/files`);
    assert.equal(files.find((f) => f.index === srt.index)?.priority, 2);
    await page.locator(`#files-table tr[data-index="${srt.index}"][data-priority="2"]`).waitFor();

    const video = details.files.find((f) => f.path.endsWith('.mp4'));
    assert.ok(video !== undefined);
    await page.click(`#files-table tr[data-index="${video.index}"] .play-btn`);
    await page.locator('#player[open]').waitFor();
    assert.equal(await page.locator('#player-video').getAttribute('src'), video.streamUrl);
    const ranged = await page.evaluate(
      `fetch(${JSON.stringify(video.streamUrl)}, { headers: { range: 'bytes=100-199' } }).then(async (r) => [r.status, (await r.arrayBuffer()).byteLength])`,
    );
    assert.deepEqual(ranged, [206, 100]);
    await page.click('#player .modal-foot .btn-primary');
    await page.locator('#player').waitFor({ state: 'hidden' });

    await page.click('button[data-tab="peers"]');
    await page.locator('#peers-table, .details-empty').first().waitFor();
    await page.click('button[data-tab="trackers"]');
    await page.locator('#trackers-table').waitFor();
    assert.match(
      await text('#trackers-table'),
      new RegExp(tracker!.httpAnnounceUrl!.replace(/[.?]/g, '\\$&')),
    );
    await page.click('button[data-tab="general"]');
    await page.locator('#details-general').waitFor();
  });

  it('pauses and resumes the selected torrent from the toolbar', async () => {
    await page.click(`${row(ocean.id)} .name-text`);
    await page.click('#btn-pause');
    await page.locator(`${row(ocean.id)}[data-state="paused"]`).waitFor();
    assert.equal((await summary(ocean.id)).state, 'paused');
    assert.equal(await page.locator('#btn-resume').isEnabled(), true);
    await page.click('#btn-resume');
    await page.locator(`${row(ocean.id)}[data-state="seeding"]`).waitFor();
    assert.equal((await summary(ocean.id)).state, 'seeding');
  });

  it('sets the global speed limits in the settings panel', async () => {
    await page.click('#btn-settings');
    await page.locator('#settings-dialog[open]').waitFor();
    await page.fill('#limit-down', '20480');
    await page.fill('#limit-up', '5120');
    await page.click('#settings-save');
    await page.locator('#settings-dialog').waitFor({ state: 'hidden' });
    const s = await api<SettingsInfo>(daemon!, '/api/v1/settings');
    assert.equal(s.downloadRateLimit, 20480 * KIB);
    assert.equal(s.uploadRateLimit, 5120 * KIB);
    await page.locator('#statusbar', { hasText: '[20.0 MiB/s]' }).waitFor();
  });

  it('shows queue positions and moves the selected torrent up and down the queue', async () => {
    await page.locator(`${row(harbour.id)}[data-queue="0"]`).waitFor();
    await page.locator(`${row(ocean.id)}[data-queue="1"]`).waitFor();
    assert.equal(await text(`${row(ocean.id)} td.col-queue`), '2', 'shown from 1');
    await page.click(`${row(ocean.id)} .name-text`);
    await page.click('#btn-queue-up');
    await page.locator(`${row(ocean.id)}[data-queue="0"]`).waitFor();
    await page.locator(`${row(harbour.id)}[data-queue="1"]`).waitFor();
    assert.equal((await summary(ocean.id)).queuePosition, 0);
    assert.equal((await summary(harbour.id)).queuePosition, 1);
    assert.equal(await page.locator('#btn-queue-up').isDisabled(), true, 'the first cannot go up');
    await page.click('#btn-queue-down');
    await page.locator(`${row(ocean.id)}[data-queue="1"]`).waitFor();
    assert.equal((await summary(ocean.id)).queuePosition, 1);
  });

  it("sets a torrent's own limits, priority and seed limits in its Options tab", async () => {
    await page.click(`${row(harbour.id)} .name-text`);
    await page.click('button[data-tab="options"]');
    await page.locator('#options-form').waitFor();
    await page.fill('#opt-down', '300');
    await page.fill('#opt-up', '150');
    await page.selectOption('#opt-priority', 'high');
    await page.fill('#opt-ratio', '2');
    await page.fill('#opt-idle', '30');
    const saved = page.waitForResponse(
      (r) => r.url().endsWith(`/api/v1/torrents/${harbour.id}`) && r.request().method() === 'PATCH',
    );
    await page.click('#opt-save');
    assert.equal((await saved).status(), 200);
    assert.deepEqual((await summary(harbour.id)).options, {
      downloadLimit: 300 * KIB,
      uploadLimit: 150 * KIB,
      priority: 'high',
      seedRatioLimit: 2,
      seedIdleLimitMinutes: 30,
    });
    const t = daemon!.session.getTorrent(harbour.id)!;
    assert.deepEqual(t.limits.current, { download: 300 * KIB, upload: 150 * KIB, priority: 'high' });
    assert.deepEqual(t.seedLimits.current(), { ratio: 2, idleMs: 30 * 60_000 });
    // Emptied, the seed ratio follows the daemon's setting again.
    await page.fill('#opt-ratio', '');
    await page.click('#opt-save');
    await page.waitForFunction(
      (id) =>
        fetch(`/api/v1/torrents/${id}`)
          .then((r) => r.json())
          .then((d) => (d as { options: { seedRatioLimit: number | null } }).options.seedRatioLimit === null),
      harbour.id,
    );
    assert.equal(await page.inputValue('#opt-down'), '300', 'the form keeps what is in force');
    await page.click('button[data-tab="general"]');
  });

  it('sets the queue, seeding and encryption settings in the settings panel', async () => {
    await page.click('#btn-settings');
    await page.locator('#settings-dialog[open]').waitFor();
    assert.equal(await page.inputValue('#set-max-downloads'), '5', "Transmission's default");
    assert.equal(await page.inputValue('#set-encryption'), 'enabled');
    await page.fill('#set-max-downloads', '4');
    await page.fill('#set-max-seeds', '6');
    await page.fill('#set-seed-ratio', '3');
    await page.fill('#set-seed-idle', '90');
    await page.selectOption('#set-encryption', 'prefer');
    await page.click('#settings-save');
    await page.locator('#settings-dialog').waitFor({ state: 'hidden' });
    const s = await api<SettingsInfo>(daemon!, '/api/v1/settings');
    assert.equal(s.maxActiveDownloads, 4);
    assert.equal(s.maxActiveSeeds, 6);
    assert.equal(s.seedRatioLimit, 3);
    assert.equal(s.seedIdleLimitMinutes, 90);
    assert.equal(s.encryption, 'prefer');
    assert.equal(s.downloadRateLimit, 20480 * KIB, 'the speed limits set before are kept');
    assert.equal(daemon!.session.encryption, 'prefer');
    assert.deepEqual(daemon!.session.queueLimits, { downloads: 4, seeds: 6 });
  });

  it('adds a .torrent dropped on the page and shows it downloading (README screenshot)', async () => {
    const b64 = Buffer.from(coast.torrent.bytes).toString('base64');
    const dt = await page.evaluateHandle(
      `(() => { const b = Uint8Array.from(atob('${b64}'), (c) => c.charCodeAt(0)); const dt = new DataTransfer(); dt.items.add(new File([b], '${coast.name}.torrent', { type: 'application/x-bittorrent' })); return dt; })()`,
    );
    await page.dispatchEvent('body', 'dragenter', { dataTransfer: dt });
    await page.locator('#drop-overlay').waitFor();
    await page.dispatchEvent('body', 'drop', { dataTransfer: dt });
    await page.locator('#drop-overlay').waitFor({ state: 'hidden' });
    await page.locator(row(coast.id)).waitFor();
    await progressBetween(coast.id, 0.12, 0.8);

    await page.click(`${row(coast.id)} .name-text`);
    await page.locator('#details-general').waitFor();
    const pieces = coast.torrent.pieceCount;
    await page.waitForFunction((n) => {
      const c = (globalThis as unknown as PageGlobals).document.querySelector('#piece-map');
      const have = Number(c?.getAttribute('data-have'));
      return c?.getAttribute('data-pieces') === String(n) && have > 0 && have < n;
    }, pieces);
    const px = (await page.evaluate(PIECE_PIXELS)) as { have: number; missing: number };
    assert.ok(
      px.have > 0 && px.missing > 0,
      `a partial torrent shows both kinds of pieces (${JSON.stringify(px)})`,
    );

    // A clean picture: notices dismissed, pointer off the rows, the rates on screen.
    // A short timeout: a notice that dismisses itself while being clicked would otherwise hold the
    // click for playwright's 30 s, and the download could finish meanwhile (no rate left to show).
    for (const b of await page.locator('.toast-close').all())
      await b.click({ timeout: 1_000 }).catch(() => {});
    await page
      .locator('.toast')
      .first()
      .waitFor({ state: 'detached', timeout: 5_000 })
      .catch(() => {});
    await page.mouse.move(5, 890);
    await page.locator(`${row(coast.id)} .rate-down span`, { hasText: '/s' }).waitFor();
    const shot =
      process.env.SHOAL_UPDATE_SCREENSHOT === '1' || !existsSync(DOCS_SHOT)
        ? DOCS_SHOT
        : join(tmp!.dir, 'dashboard.png');
    const png = await page.screenshot({ path: shot });
    assert.ok(png.length > 20_000, `the screenshot has content (${png.length} bytes)`);
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  });

  it("the Peers tab shows each peer's transport and encryption", async () => {
    await page.click(`${row(coast.id)} .name-text`);
    await page.click('button[data-tab="peers"]');
    await page.locator('#peers-table tbody tr').first().waitFor();
    const shown = (await page.evaluate(`[...document.querySelectorAll('#peers-table tbody tr')].map((r) => ({
      address: r.querySelector('td.peer-address').textContent,
      transport: r.querySelector('td.peer-transport').textContent,
      crypto: r.querySelector('td.peer-encryption').textContent,
    }))`)) as { address: string; transport: string; crypto: string }[];
    const known = new Map((await summary(coast.id)).peers.map((p) => [p.address, p]));
    let compared = 0;
    for (const r of shown) {
      const p = known.get(r.address);
      if (p === undefined) continue; // left between the two reads
      compared++;
      assert.equal(r.transport, p.transport, r.address);
      assert.equal(r.crypto, p.encrypted ? 'encrypted' : 'plaintext', r.address);
    }
    assert.ok(compared > 0, 'the table shows the peers the daemon has');
    await page.click('button[data-tab="general"]');
  });

  it('removes a torrent and deletes its data after confirmation', async () => {
    await page.click(`${row(coast.id)} .name-text`);
    await page.click('#btn-remove');
    await page.locator('#remove-dialog[open]').waitFor();
    assert.match(await text('#remove-dialog'), new RegExp(coast.name));
    await page.check('#remove-delete-data');
    assert.equal(await text('#remove-confirm'), 'Remove and delete files');
    await page.click('#remove-confirm');
    await page.locator(row(coast.id)).waitFor({ state: 'detached' });
    const { torrents } = await api<{ torrents: TorrentSummary[] }>(daemon!, '/api/v1/torrents');
    assert.deepEqual(torrents.map((t) => t.id).sort(), [harbour.id, ocean.id].sort());
    assert.equal(existsSync(join(downloadDir, coast.name)), false, 'its files are deleted');
    assert.equal(
      existsSync(join(downloadDir, harbour.name, 'harbour-timelapse.mp4')),
      true,
      'others are kept',
    );
    await page.locator('#details').waitFor({ state: 'hidden' });
  });

  it("the Peer events tab lists connections, and a corrupt peer's hash failure and ban with the evidence", async () => {
    const tainted = await payload('tainted-survey', { 'samples.bin': 200 * KIB + 5 }, 16 * KIB, 51);
    // A peer on 127.0.0.2 that has every piece and sends garbage: banned once a piece it alone sent fails.
    const corrupt = await listenCorruptSeeder(
      '127.0.0.2',
      { infoHash: tainted.torrent.infoHashV1!, pieceCount: tainted.torrent.pieceCount },
      0x33,
    );
    servers.push(corrupt);
    // Plaintext, as the scripted peer speaks no MSE.
    await api(daemon!, '/api/v1/settings', { ...jsonBody({ encryption: 'enabled' }), method: 'PUT' });
    const banned = new Promise<void>((resolve) => {
      const on = (e: { id: string }) => {
        if (e.id !== tainted.id) return;
        daemon!.manager.off('peer:banned', on);
        resolve();
      };
      daemon!.manager.on('peer:banned', on);
    });
    await api(
      daemon!,
      '/api/v1/torrents',
      jsonBody({
        torrent: Buffer.from(tainted.torrent.bytes).toString('base64'),
        peers: [{ host: '127.0.0.2', port: corrupt.port }],
      }),
    );
    await banned;
    await page.click(`${row(tainted.id)} .name-text`);
    await page.click('button[data-tab="events"]');
    const ban = page.locator('#peer-events-table tr[data-type="banned"]');
    await ban.waitFor();
    assert.match((await ban.textContent()) ?? '', /127\.0\.0\.2.*sole-sender/);
    assert.match(
      (await page.locator('#peer-events-table tr[data-type="hash-failed"]').first().textContent()) ?? '',
      /127\.0\.0\.2.*failed its hash check/,
    );
    assert.match(await text('#peer-bans'), /1 peer banned/);

    await page.click(`${row(harbour.id)} .name-text`);
    // The table still shows the other torrent's events until the panel switches: wait for a row
    // of this torrent's peer (the other one's only peer is 127.0.0.2).
    const connected = page
      .locator('#peer-events-table tr[data-type="connected"]', { hasText: '127.0.0.1:' })
      .first();
    await connected.waitFor();
    assert.match((await connected.textContent()) ?? '', /127\.0\.0\.1:\d+.*\(tcp, (encrypted|plaintext)\)/);
    await page.click('button[data-tab="general"]');
  });

  it("shows an add's notices in order even when the daemon's events overtake its answer", async () => {
    // Already complete on disk: the daemon finishes it (a live `torrent:finished`) at once.
    const reef = await payload('reef-survey', { 'reef.csv': 90 * KIB + 7 }, 16 * KIB, 41);
    await writeTree(join(downloadDir, reef.name), reef.files, 41);
    const file = join(tmp!.dir, `${reef.name}.torrent`);
    await writeFile(file, reef.torrent.bytes);
    // The add's answer is held back until the page has shown the torrent seeding (from the event
    // stream, which carried `torrent:finished` before that), so the event surely comes first.
    await page.route(`${daemon!.url}/api/v1/torrents`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const answer = await route.fetch();
      await page.locator(`${row(reef.id)}[data-state="seeding"]`).waitFor();
      await route.fulfill({ response: answer });
    });
    try {
      await page.click('#btn-add');
      await page.locator('#add-dialog[open]').waitFor();
      await page.setInputFiles('#add-files', file);
      await page.locator('#add-file-list li', { hasText: `${reef.name}.torrent` }).waitFor();
      await page.click('#add-submit');
      const mine = page.locator('#toasts .toast', { hasText: reef.name });
      await mine.nth(1).waitFor();
      const texts = await mine.allTextContents();
      const started = texts.findIndex((t) => t.includes('Download started.'));
      const complete = texts.findIndex((t) => t.includes('Download complete.'));
      assert.ok(started >= 0 && complete >= 0, JSON.stringify(texts));
      assert.ok(started < complete, `"started" comes before "complete": ${JSON.stringify(texts)}`);
    } finally {
      await page.unroute(`${daemon!.url}/api/v1/torrents`);
    }
  });

  it('keeps the torrent names readable in a 420 px wide window', async () => {
    await page.setViewportSize({ width: 420, height: 800 });
    try {
      await page.keyboard.press('Escape');
      await page.locator('#details').waitFor({ state: 'hidden' });
      const names = await page
        .locator('tr.torrent-row .name-text')
        .evaluateAll((els) =>
          els.map((e) => ({ text: e.textContent, width: e.clientWidth, needed: e.scrollWidth })),
        );
      assert.ok(names.length >= 2, JSON.stringify(names));
      for (const n of names) {
        assert.ok(
          n.width >= Math.min(n.needed, 150),
          `"${n.text}" gets ${n.width} px of the ${n.needed} it needs at 420 px`,
        );
      }
      const pageWidth = await page.evaluate('document.documentElement.scrollWidth');
      assert.ok(Number(pageWidth) <= 420, `the page does not scroll sideways (${String(pageWidth)} px)`);
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });

  it('logged no script error and no CSP violation', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(consoleErrors, []);
  });
});
