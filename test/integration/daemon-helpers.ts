/**
 * Helpers for the daemon integration tests (test/integration/daemon-*.test.ts): payloads and
 * their torrents, an in-process daemon on a random loopback port, a seeder session, raw HTTP
 * requests (with a chosen Host header), and a Server-Sent Events reader that waits on events.
 */

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Daemon, type DaemonOptions, startDaemon } from '../../src/daemon/index.js';
import { Session, type Torrent } from '../../src/session/index.js';
import { type CreatedTorrent, createTorrent } from '../../src/storage/index.js';
import { writeTree } from '../helpers/payload.js';

/** A temp folder removed by `cleanup()`. */
export async function tempDir(prefix = 'shoal-daemon-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `files` under `<root>/<name>/` and makes a torrent of that folder (or of the one file). */
export async function makePayload(
  root: string,
  name: string,
  files: Record<string, number>,
  options: { pieceLength?: number; seed?: number; version?: 'v1' | 'v2' | 'hybrid' } = {},
): Promise<CreatedTorrent> {
  const single = Object.keys(files).length === 1 && Object.keys(files)[0] === name;
  if (single) await writeTree(root, files, options.seed ?? 1);
  else {
    await mkdir(join(root, name), { recursive: true });
    await writeTree(join(root, name), files, options.seed ?? 1);
  }
  return createTorrent(join(root, name), {
    threads: 1,
    ...(options.pieceLength !== undefined ? { pieceLength: options.pieceLength } : {}),
    ...(options.version !== undefined ? { version: options.version } : {}),
  });
}

/** An in-process daemon for tests: API on 127.0.0.1:0, peers on 127.0.0.1, no logs, no web UI. */
export async function startTestDaemon(
  stateDir: string,
  downloadDir: string,
  o: DaemonOptions = {},
): Promise<Daemon> {
  return startDaemon({
    stateDir,
    downloadDir,
    port: 0,
    peerHost: '127.0.0.1',
    logger: false,
    webRoot: false,
    snapshotIntervalMs: 200,
    ...o,
    session: { hashThreads: 1, ...o.session },
  });
}

/** A session seeding `torrent` from `dataDir` on 127.0.0.1. */
export async function startSeeder(
  dataDir: string,
  torrent: Uint8Array,
  o: { uploadRateLimit?: number } = {},
): Promise<{ session: Session; torrent: Torrent; port: number }> {
  const session = await Session.create({
    host: '127.0.0.1',
    downloadDir: dataDir,
    hashThreads: 1,
    ...(o.uploadRateLimit !== undefined ? { uploadRateLimit: o.uploadRateLimit } : {}),
  });
  const t = await session.addTorrent(torrent);
  if (t.state !== 'seeding') throw new Error(`seeder is ${t.state}, not seeding`);
  return { session, torrent: t, port: session.port };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  json(): unknown;
}

/** One HTTP request with full control of the headers (fetch forbids setting Host). */
export function rawRequest(
  url: string,
  o: { method?: string; path: string; headers?: Record<string, string>; body?: Uint8Array | string },
): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        method: o.method ?? 'GET',
        path: o.path,
        headers: {
          ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}),
          ...o.headers,
        },
        setHost: o.headers?.host === undefined,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: () => JSON.parse(body.toString('utf8')),
          });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error(`request to ${o.path} timed out`)));
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

/** fetch + JSON with a clear failure message. */
export async function api<T = unknown>(
  daemon: { url: string },
  path: string,
  init: RequestInit & { expect?: number } = {},
): Promise<T> {
  const res = await fetch(`${daemon.url}${path}`, { ...init, signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  const expect = init.expect ?? (res.ok ? res.status : 200);
  if (res.status !== expect)
    throw new Error(`${init.method ?? 'GET'} ${path}: HTTP ${res.status}, expected ${expect}: ${text}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

export const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export interface SseEvent {
  readonly id: string;
  readonly event: string;
  readonly data: unknown;
}

/**
 * Reads `/api/v1/events`; `nextAfter()` waits (bounded) for a matching event that follows a mark,
 * `next()` for the first match since the stream began.
 */
export class SseReader {
  readonly events: SseEvent[] = [];
  readonly #ac = new AbortController();
  readonly #waiters = new Set<() => void>();
  #buffer = '';
  #done = false;
  #error: Error | undefined;
  readonly ready: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ready = this.#run(url, headers);
  }

  async #run(url: string, headers: Record<string, string>): Promise<void> {
    const res = await fetch(url, { headers, signal: this.#ac.signal });
    if (res.status !== 200 || res.body === null)
      throw new Error(`events: HTTP ${res.status}: ${await res.text()}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          this.#buffer += decoder.decode(value, { stream: true });
          this.#parse();
        }
      } catch (e) {
        if (!this.#ac.signal.aborted) this.#error = e as Error;
      } finally {
        this.#done = true;
        this.#wake();
      }
    })();
  }

  #parse(): void {
    for (let i = this.#buffer.indexOf('\n\n'); i >= 0; i = this.#buffer.indexOf('\n\n')) {
      const frame = this.#buffer.slice(0, i);
      this.#buffer = this.#buffer.slice(i + 2);
      let id = '';
      let event = 'message';
      const data: string[] = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) this.events.push({ id, event, data: JSON.parse(data.join('\n')) });
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /**
   * The first event (from the start of the stream) named `event` matching `pred`. Any older event
   * counts, from an earlier step or an earlier test on the same reader, and snapshots sent before
   * an action: to wait for what an action causes, take `events.length` before it and use
   * {@link nextAfter}. `next()` only fits a match that cannot have come before (an id the action
   * creates, a state never held before on this stream, a first occurrence).
   */
  next<T = unknown>(event: string, pred: (data: T) => boolean = () => true, timeoutMs = 30_000): Promise<T> {
    return this.nextAfter(0, event, pred, timeoutMs);
  }

  /**
   * The first event named `event` matching `pred` among those from index `since` on (take
   * `events.length` before an action to wait for what follows it, not an older match).
   */
  nextAfter<T = unknown>(
    since: number,
    event: string,
    pred: (data: T) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.events.find((e, i) => i >= since && e.event === event && pred(e.data as T));
        if (hit !== undefined) {
          finish();
          resolve(hit.data as T);
          return true;
        }
        if (this.#done) {
          finish();
          reject(this.#error ?? new Error(`event stream ended before ${event}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no ${event} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      const waiter = (): void => {
        check();
      };
      if (!check()) this.#waiters.add(waiter);
    });
  }

  close(): void {
    this.#ac.abort();
  }
}
