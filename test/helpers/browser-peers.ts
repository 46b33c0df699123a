/**
 * Real browsers as swarm peers: a static HTTP server on 127.0.0.1 the test starts (pages, scripts,
 * torrents, payloads), and Debian's Chromium driven through playwright-core with what WebRTC on
 * loopback needs.
 *
 * Chromium keeps a page's data channels off loopback by default; three things bring them there
 * (INTEROP-NOTES):
 * - `--disable-features=WebRtcHideLocalIpsWithMdns`: Chromium hides its host candidates behind
 *   random `*.local` mDNS names; nothing on this machine answers mDNS, so a Node peer could not
 *   resolve them. With the feature off the candidate carries the address itself.
 * - `--allow-loopback-in-peer-connection`: Chromium leaves loopback interfaces out of ICE
 *   gathering unless told.
 * - the microphone permission, granted to the browser context (no stream is opened): without
 *   media permission Chromium gathers only on the default-route interface (here `eth0`, so no
 *   candidate on `lo` at all, whatever `--webrtc-ip-handling-policy` says); with it Chromium
 *   enumerates every interface, `lo` included.
 *
 * Chromium then gathers on every interface, so {@link LOOPBACK_RTC}, run in each page before its
 * scripts, strips every candidate but 127.0.0.1/UDP from the descriptions the page hands out (both
 * WebTorrent's simple-peer and Shoal's bundle wait for gathering to finish and send
 * `localDescription`; neither trickles), and records the address pair each connection selected
 * ({@link BrowserPeers.selectedPairs}). Node's side binds ICE to 127.0.0.1 (`webrtc: { bindAddress }`).
 *
 * Chromium still opens a port on every other interface (here `eth0`, 192.0.2.2) and pairs it with
 * the peer's 127.0.0.1 candidate (libwebrtc pairs any local port of the same address family); the
 * kernel routes 192.0.2.2 → 127.0.0.1 over `lo`, so that pair could succeed and win (measured
 * outside a namespace: 5 of 34 connections). Chromium has no command-line way to leave an
 * interface out, so the files that use this helper carry the `// shoal-test: private-netns`
 * marker: scripts/run-tests.mjs runs them in a network namespace of their own with only `lo` up
 * (`unshare -rn`), where Chromium, Node and every client they start see 127.0.0.1 and ::1 only.
 * {@link netnsMissing} skips them elsewhere, and {@link pageConnections} asserts that every
 * selected pair is 127.0.0.1 ↔ 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
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

/**
 * Run in every page before its own scripts: wraps `RTCPeerConnection` so that the descriptions the
 * page hands out carry only 127.0.0.1/UDP candidates (Node's side is IPv4 and UDP only; the
 * connection line says 127.0.0.1 too), and pushes each connection's selected candidate pair, read from `getStats()` once
 * it connects, onto `window.rtcPairs` as `{ local, remote }` addresses.
 */
export const LOOPBACK_RTC = `(() => {
  const Native = window.RTCPeerConnection;
  // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ ...
  const keep = (line) => {
    if (!line.startsWith('a=candidate:')) return true;
    const f = line.split(' ');
    return f[2].toLowerCase() === 'udp' && f[4] === '127.0.0.1';
  };
  const loopbackOnly = (sdp) => sdp.split('\\r\\n').filter(keep).join('\\r\\n')
    .replace(/^c=IN IP[46] .*$/gm, 'c=IN IP4 127.0.0.1');
  window.rtcPairs = [];
  const record = async (pc) => {
    const stats = [...(await pc.getStats()).values()];
    const byId = new Map(stats.map((s) => [s.id, s]));
    for (const t of stats) {
      if (t.type !== 'transport' || t.selectedCandidatePairId === undefined) continue;
      const pair = byId.get(t.selectedCandidatePairId);
      const local = byId.get(pair?.localCandidateId);
      const remote = byId.get(pair?.remoteCandidateId);
      window.rtcPairs.push({
        local: local?.address,
        remote: remote?.address,
        localType: local?.candidateType,
        remoteType: remote?.candidateType,
      });
    }
  };
  class LoopbackPeerConnection extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected') record(this).catch((e) => console.error('rtcPairs: ' + e));
      });
    }
    get localDescription() {
      const d = super.localDescription;
      return d === null ? null : new RTCSessionDescription({ type: d.type, sdp: loopbackOnly(d.sdp) });
    }
  }
  window.RTCPeerConnection = LoopbackPeerConnection;
})();`;

/** The addresses and candidate types (`host`, `prflx`, ...) of one page connection's selected ICE pair. */
export interface RtcPair {
  readonly local: string | undefined;
  readonly remote: string | undefined;
  readonly localType: string | undefined;
  readonly remoteType: string | undefined;
}

/**
 * Why a browser WebRTC test cannot run here, or undefined: it needs a network namespace whose only
 * interface is `lo` (scripts/run-tests.mjs makes one for files marked `// shoal-test: private-netns`).
 */
export function netnsMissing(): string | undefined {
  const names = Object.keys(networkInterfaces());
  if (names.length === 1 && names[0] === 'lo') return undefined;
  return `needs a network namespace with only lo (run through scripts/run-tests.mjs); interfaces: ${names.join(', ')}`;
}

/**
 * Asserts that the pages made a connection since the first `since` (a count from
 * {@link BrowserPeers.selectedPairs}) and that every one of those selected 127.0.0.1 ↔ 127.0.0.1;
 * returns their pairs.
 */
export async function pageConnections(browsers: BrowserPeers, since: number): Promise<RtcPair[]> {
  const pairs = (await browsers.selectedPairs()).slice(since);
  assert.ok(pairs.length > 0, 'a page connection formed');
  for (const p of pairs) {
    assert.deepEqual([p.local, p.remote], ['127.0.0.1', '127.0.0.1'], `loopback pair: ${JSON.stringify(p)}`);
  }
  return pairs;
}

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
    // The microphone permission makes Chromium gather on `lo` too (see the module notes).
    const context = await this.#browser.newContext({ permissions: ['microphone'] });
    await context.addInitScript(LOOPBACK_RTC);
    const page = await context.newPage();
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

  /** The selected candidate pair of every connection any page made so far (see {@link LOOPBACK_RTC}). */
  async selectedPairs(): Promise<RtcPair[]> {
    const all: RtcPair[] = [];
    for (const p of this.#pages) all.push(...((await p.evaluate('window.rtcPairs')) as RtcPair[]));
    return all;
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
