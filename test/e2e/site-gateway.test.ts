/**
 * End-to-end test of the gateway (issue 22): a small static site published with `shoal publish`
 * (a child process, key from `shoal key generate`) on an 8-node loopback DHT, followed by a daemon
 * of this process (`POST /api/v1/feeds`), and loaded in Debian's Chromium (playwright-core) from
 * `/site/<key>/www/`: the page, its stylesheet, image and script all load inside the sandbox, and
 * the page's script cannot read the daemon's API. The site is changed and published again (the
 * same command); after `POST /api/v1/feeds/<id>/check`, a reload shows the new version.
 *
 * Needs `/usr/bin/chromium` (or SHOAL_CHROMIUM). Nothing leaves 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { FeedJson } from '../../src/daemon/feeds.js';
import type { Daemon } from '../../src/daemon/index.js';
import { createDhtTestnet, type DhtTestnet, LOOPBACK_DHT_NODE_OPTIONS } from '../../src/discovery/index.js';
import { api, json, startTestDaemon, tempDir } from '../integration/daemon-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const TSX = import.meta.resolve('tsx');
const CHROMIUM = process.env.SHOAL_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TIMEOUT_MS = 60_000;
/** A 1×1 PNG. */
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** One `shoal …` child process: its output, and a promise of its exit. */
class Shoal {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first stdout line; rejects if the process exits or times out first. */
  firstLine(): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no output within ${TIMEOUT_MS} ms: ${this.stderr}`)),
        TIMEOUT_MS,
      );
      const check = () => {
        const nl = this.stdout.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        this.child.stdout!.off('data', check);
        resolve(this.stdout.slice(0, nl));
      };
      this.child.stdout!.on('data', check);
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`shoal exited (${code}) before printing: ${this.stderr}`));
      });
      check();
    });
  }

  /** SIGTERM to this process only (a clean stop), then waits for it. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** The site's files for a version: its title, colour and script text differ. */
async function writeSite(dir: string, v: number, colour: string): Promise<void> {
  await mkdir(join(dir, 'img'), { recursive: true });
  await writeFile(
    join(dir, 'index.html'),
    `<!doctype html><html><head><title>site v${v}</title><link rel="stylesheet" href="style.css"></head>` +
      `<body><h1>Version ${v}</h1><img id="pixel" src="img/pixel.png" alt=""><p id="js"></p>` +
      `<script src="app.js"></script></body></html>\n`,
  );
  await writeFile(join(dir, 'style.css'), `h1 { color: ${colour}; }\n`);
  await writeFile(
    join(dir, 'app.js'),
    `document.getElementById('js').textContent = 'script ran for v${v}';\n`,
  );
  await writeFile(join(dir, 'img', 'pixel.png'), PIXEL);
}

describe('the /site gateway in Chromium (playwright-core)', { timeout: 180_000 }, () => {
  let net: DhtTestnet | undefined;
  let tmp: { dir: string; cleanup(): Promise<void> } | undefined;
  let daemon: Daemon | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const publishers: Shoal[] = [];
  let siteDir = '';
  let keyFile = '';

  const publish = async (): Promise<string> => {
    const p = new Shoal([
      'publish',
      siteDir,
      '--key',
      keyFile,
      '--salt',
      'www',
      '--dht-bootstrap',
      `127.0.0.1:${net!.bootstrap[0]!.port}`,
      '--no-lsd',
    ]);
    publishers.push(p);
    return p.firstLine();
  };

  before(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium, or set SHOAL_CHROMIUM`);
    net = await createDhtTestnet({ size: 8 });
    tmp = await tempDir('shoal-site-e2e-');
    siteDir = join(tmp.dir, 'www');
    keyFile = join(tmp.dir, 'feed.key');
    daemon = await startTestDaemon(join(tmp.dir, 'state'), join(tmp.dir, 'downloads'), {
      session: { dht: { bootstrap: net.bootstrap, node: LOOPBACK_DHT_NODE_OPTIONS } },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
    for (const p of publishers) await p.stop();
    await daemon?.close();
    await net?.close();
    await tmp?.cleanup();
  });

  it('loads the published site, then the updated one after a reload', async () => {
    const keygen = new Shoal(['key', 'generate', keyFile]);
    const publicKey = await keygen.firstLine();
    assert.equal(await keygen.exited, 0);
    assert.match(publicKey, /^[0-9a-f]{64}$/);

    await writeSite(siteDir, 1, 'rgb(200, 30, 30)');
    const magnet = await publish();
    assert.equal(magnet, `magnet:?xs=urn:btpk:${publicKey}&s=777777`);

    const feed = await api<FeedJson>(daemon!, '/api/v1/feeds', { ...json({ feed: magnet }), expect: 201 });
    const follower = daemon!.feeds.follower(feed.id)!;
    const switchedTo = (seq: bigint): Promise<unknown> =>
      follower.current()?.seq === seq
        ? Promise.resolve()
        : follower.next('version:switched', AbortSignal.timeout(TIMEOUT_MS));
    await switchedTo(1n);

    const url = `${daemon!.url}${feed.sitePath}`;
    assert.equal(url, `${daemon!.url}/site/${publicKey}/www/`);
    const res = await page.goto(url);
    assert.equal(res?.status(), 200);
    assert.equal(await page.title(), 'site v1');
    assert.equal(await page.locator('h1').textContent(), 'Version 1');
    // Subresources load inside the sandbox (an opaque origin: cross-site requests to the daemon).
    await page.waitForFunction(() => {
      const d = (
        globalThis as unknown as { document: { getElementById(id: string): { textContent: string } | null } }
      ).document;
      return d.getElementById('js')?.textContent === 'script ran for v1';
    });
    const styled = await page.evaluate(
      'getComputedStyle(document.querySelector("h1")).color + " " + document.getElementById("pixel").naturalWidth',
    );
    assert.equal(styled, 'rgb(200, 30, 30) 1');
    // The page's own script cannot read the daemon's API.
    const apiRead = await page.evaluate(
      'fetch("/api/v1/feeds").then((r) => "read " + r.status, () => "blocked")',
    );
    assert.equal(apiRead, 'blocked');

    // Update the site and publish it again with the same command.
    assert.equal(await publishers[0]!.stop(), 0);
    await writeSite(siteDir, 2, 'rgb(20, 120, 40)');
    assert.equal(await publish(), magnet);
    const switched = switchedTo(2n);
    await api(daemon!, `/api/v1/feeds/${feed.id}/check`, { method: 'POST' });
    await switched;

    await page.reload();
    assert.equal(await page.title(), 'site v2');
    assert.equal(await page.locator('h1').textContent(), 'Version 2');
    await page.waitForFunction(() => {
      const d = (
        globalThis as unknown as { document: { getElementById(id: string): { textContent: string } | null } }
      ).document;
      return d.getElementById('js')?.textContent === 'script ran for v2';
    });
    assert.equal(
      await page.evaluate('getComputedStyle(document.querySelector("h1")).color'),
      'rgb(20, 120, 40)',
    );
    const f = await api<FeedJson>(daemon!, `/api/v1/feeds/${feed.id}`);
    assert.equal(f.current?.seq, '2');
    assert.equal(f.current?.reusedFiles, 1, 'img/pixel.png was not fetched again');
  });
});
