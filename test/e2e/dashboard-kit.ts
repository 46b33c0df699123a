/**
 * What the dashboard's end-to-end test needs besides the test itself: where the built dashboard
 * and Chromium are, Chromium's flags, and page-side helpers.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { CreatedTorrent } from '../../src/storage/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WEB_DIST = join(ROOT, 'web', 'dist');
export const DOCS_SHOT = join(ROOT, 'docs', 'dashboard.png');
export const CHROMIUM = process.env.SHOAL_CHROMIUM ?? '/usr/bin/chromium';
/** Flags that keep Chromium quiet and offline (the machine has no outside network). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const KIB = 1024;
export const MIB = 1024 * 1024;

export interface Payload {
  readonly torrent: CreatedTorrent;
  readonly id: string;
  readonly name: string;
  /** Relative path inside the torrent folder → size. */
  readonly files: Record<string, number>;
}

/** Evaluated in the page: counts the piece map's pixels in the verified and missing colours. */
export const PIECE_PIXELS = `(() => {
  const c = document.getElementById('piece-map');
  const css = getComputedStyle(c);
  const rgb = (s) => (s.match(/\\d+(\\.\\d+)?/g) || []).slice(0, 3).map(Number);
  const have = rgb(css.color);
  const missing = rgb(css.outlineColor);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const near = (i, col) => Math.abs(d[i] - col[0]) + Math.abs(d[i + 1] - col[1]) + Math.abs(d[i + 2] - col[2]) < 12;
  let h = 0, m = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] < 250) continue;
    if (near(i, have)) h++; else if (near(i, missing)) m++;
  }
  return { have: h, missing: m };
})()`;

/** The little of the page's globals the wait predicates use (the test is compiled without the DOM lib). */
export interface PageGlobals {
  readonly document: {
    querySelector(selector: string): { getAttribute(name: string): string | null } | null;
  };
}

export const row = (id: string): string => `tr.torrent-row[data-id="${id}"]`;

/**
 * Launches Chromium with one 1440×900 light page; script errors go to `pageErrors`, console errors
 * (but failed resources: 4xx answers the test provokes) to `consoleErrors`.
 */
export async function openPage(
  pageErrors: string[],
  consoleErrors: string[],
): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    deviceScaleFactor: 1,
    colorScheme: 'light',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    // Anything else (a script error, a CSP violation) is a bug.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
  });
  return { browser, page };
}
