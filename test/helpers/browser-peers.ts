/**
 * Real browsers as swarm peers: a static HTTP server on 127.0.0.1 the test starts (pages, scripts,
 * torrents, payloads), and Debian's Chromium driven through playwright-core with the flags WebRTC
 * on loopback needs.
 *
 * Chromium flags (INTEROP-NOTES; without either of the first two no data channel forms):
 * - `--disable-features=WebRtcHideLocalIpsWithMdns`: Chromium hides its host candidates behind
 *   random `*.local` mDNS names; nothing on this machine answers mDNS, so a Node peer could not
 *   resolve them. With the feature off the candidate carries the address itself.
 * - `--allow-loopback-in-peer-connection`: Chromium leaves loopback interfaces out of ICE
 *   gathering; the tests have nothing else (127.0.0.1 only).
 *
 * Node's side binds ICE to 127.0.0.1 (`webrtc: { bindAddress }`), but a page cannot be told which
 * interfaces to use: on a machine with another interface Chromium gathers its host candidates
 * there (seen here: the machine's own address on `eth0`, none on `lo`), so the data channel runs
 * between 127.0.0.1 and that local address. The packets still never leave the machine (both ends
 * are its own addresses), and the tests name no address but 127.0.0.1.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { TrackerServer } from '../../src/tracker/index.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/dashboard-kit.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** WebTorrent's own browser build (an ES module), from the interop folder's real install. */
export const WEBTORRENT_BROWSER_BUILD = join(
  HERE,
  '..',
  'interop',
  'webtorrent',
  'node_modules',
  'webtorrent',
  'dist',
  'webtorrent.min.js',
);

/** Chromium's flags for WebRTC between a page and Node peers on 127.0.0.1 (see the module notes). */
export const WEBRTC_CHROMIUM_ARGS = [
  ...CHROMIUM_ARGS,
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--allow-loopback-in-peer-connection',
];

/** One file the static server answers with. */
export interface StaticFile {
  readonly type: string;
  readonly body: Uint8Array | string;
}

/** A static HTTP server on 127.0.0.1: path → file; 404 for anything else. */
export class StaticServer {
  readonly files = new Map<string, StaticFile>();
  readonly #server: Server;
  #port = 0;

  constructor() {
    this.#server = createServer((req, res) => {
      const f = this.files.get((req.url ?? '/').split('?')[0] as string);
      if (f === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-store' }).end(f.body);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.origin;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A page that imports WebTorrent's browser build and exposes it as `window.WebTorrent`. */
export const WEBTORRENT_PAGE = `<!doctype html><meta charset="utf-8"><title>wt</title>
<script type="module">
import WebTorrent from '/webtorrent.min.js';
window.WebTorrent = WebTorrent;
window.ready = true;
</script>`;

/** Serves WebTorrent's browser build and {@link WEBTORRENT_PAGE} at `/wt.html`. */
export async function addWebTorrentPage(server: StaticServer): Promise<void> {
  server.files.set('/webtorrent.min.js', {
    type: 'text/javascript',
    body: await readFile(WEBTORRENT_BROWSER_BUILD),
  });
  server.files.set('/wt.html', { type: 'text/html', body: WEBTORRENT_PAGE });
}

/** A Chromium with WebRTC on loopback; pages log their errors into `errors`. */
export class BrowserPeers {
  #browser: Browser | undefined;
  readonly errors: string[] = [];
  readonly console: string[] = [];
  readonly #pages: Page[] = [];

  async page(url: string): Promise<Page> {
    this.#browser ??= await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: WEBRTC_CHROMIUM_ARGS,
      timeout: 30_000,
    });
    const page = await (await this.#browser.newContext()).newPage();
    this.#pages.push(page);
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (e) => this.errors.push(e.message));
    page.on('console', (m) => {
      this.console.push(`${m.type()}: ${m.text()}`);
      if (this.console.length > 400) this.console.splice(0, 200);
    });
    await page.goto(url);
    await page.waitForFunction('window.ready === true');
    return page;
  }

  /** Every page opened so far, oldest first. */
  pages(): Page[] {
    return this.#pages;
  }

  async close(): Promise<void> {
    await this.#browser?.close();
    this.#browser = undefined;
  }
}

/**
 * Evaluated in a WebTorrent page: a function of `{ torrentUrl, timeoutMs }` that downloads the
 * torrent (found through its own ws:// tracker) and resolves with each file's path and sha256
 * (hex, crypto.subtle) once every piece passed WebTorrent's hash check.
 */
export const WT_LEECH = `async ({ torrentUrl, timeoutMs }) => {
  const buf = new Uint8Array(await (await fetch(torrentUrl)).arrayBuffer());
  const client = new window.WebTorrent();
  window.clients = [...(window.clients || []), client];
  const t = client.add(buf);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('page: not done after ' + timeoutMs + ' ms, ' +
      'progress ' + t.progress + ', peers ' + t.numPeers)), timeoutMs);
    client.on('error', (e) => reject(new Error('client: ' + e)));
    t.on('error', (e) => reject(new Error('torrent: ' + e)));
    t.on('done', () => { clearTimeout(timer); resolve(); });
  });
  const files = [];
  for (const f of t.files) {
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await f.arrayBuffer()));
    files.push({ path: f.path, sha256: [...d].map((b) => b.toString(16).padStart(2, '0')).join('') });
  }
  return { files, peers: t.numPeers };
}`;

/**
 * Evaluated in a WebTorrent page: a function of `{ files: [{ url, name }], name, announce,
 * pieceLength }` that fetches the files and seeds them as one torrent; resolves with the
 * .torrent WebTorrent made (base64) once it announced. Its sha256 of each file comes along.
 */
export const WT_SEED = `async ({ files, name, announce, pieceLength }) => {
  const blobs = [];
  const sums = [];
  for (const f of files) {
    const bytes = await (await fetch(f.url)).arrayBuffer();
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    sums.push([...d].map((b) => b.toString(16).padStart(2, '0')).join(''));
    blobs.push(new File([bytes], f.name));
  }
  const client = new window.WebTorrent();
  window.clients = [...(window.clients || []), client];
  const t = await new Promise((resolve, reject) => {
    client.on('error', (e) => reject(new Error('client: ' + e)));
    client.seed(blobs, { name, announce, pieceLength }, resolve);
  });
  let bin = '';
  for (const b of t.torrentFile) bin += String.fromCharCode(b);
  window.seeded = t;
  return { torrent: btoa(bin), infoHash: t.infoHash, sha256: sums };
}`;

/**
 * Resolves once the WebSocket tracker knows `n` peers of the swarm of `wireInfoHash` (20 bytes):
 * it relays a leecher's offers only to peers it already knows.
 */
export async function trackerKnows(
  tracker: TrackerServer,
  wireInfoHash: Uint8Array,
  n: number,
): Promise<void> {
  const key = Buffer.from(wireInfoHash).toString('latin1');
  const deadline = performance.now() + 20_000;
  while ((tracker.ws?.swarms.peerCount(key) ?? 0) < n) {
    if (performance.now() > deadline) throw new Error(`the tracker never saw ${n} peer(s)`);
    // Polls the tracker's table: it emits no event per announce.
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Evaluated in a page with Shoal's bundle (`window.Shoal`): a function of `{ torrentUrl,
 * timeoutMs }` that downloads the torrent with `BrowserTorrent` and resolves with each file's path
 * and sha256 (hex, crypto.subtle) once done. The torrent stays in `window.torrents` (it seeds on).
 */
export const SHOAL_LEECH = `async ({ torrentUrl, timeoutMs }) => {
  const buf = new Uint8Array(await (await fetch(torrentUrl)).arrayBuffer());
  const t = window.Shoal.BrowserTorrent.create(buf);
  window.torrents = [...(window.torrents || []), t];
  const warnings = [];
  t.on('warning', (w) => warnings.push(w.message));
  if (!t.isFinished) {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('page: not done after ' + timeoutMs + ' ms, ' +
        JSON.stringify(t.stats()) + ' warnings: ' + warnings.join('; '))), timeoutMs);
      t.once('done', () => { clearTimeout(timer); resolve(); });
    });
  }
  const files = [];
  for (const f of t.files()) {
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', f.bytes));
    files.push({ path: f.path, sha256: [...d].map((b) => b.toString(16).padStart(2, '0')).join('') });
  }
  return { files, version: t.metainfo.version, uploaded: t.stats().uploadedBytes };
}`;

/** Evaluated in a Shoal page: the bytes each of its torrents uploaded so far. */
export const SHOAL_UPLOADED = '(window.torrents || []).map((t) => t.stats().uploadedBytes)';
