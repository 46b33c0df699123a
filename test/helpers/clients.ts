/**
 * Real BitTorrent clients as test peers: python3-libtorrent, transmission-cli, aria2c and
 * WebTorrent (npm, in its own folder test/interop/webtorrent), each started as a child process on 127.0.0.1 with its own free port and temp folders.
 *
 * A {@link ClientGroup} owns every process and temp folder a test makes: it keeps each PID,
 * captures everything each process prints (stdout and stderr, `\r` progress lines included),
 * and `stop()` — call it in `after()` — kills exactly those PIDs (SIGTERM, then SIGKILL) and
 * removes the folders. {@link ClientGroup.explain} runs a test body and, when it throws,
 * appends every client's output to the error, so a failing interop test shows what the
 * clients said.
 *
 * Waiting is event driven: a {@link ClientProcess} resolves `waitForLine` on the output line
 * that matches, and rejects at a deadline or when the process exits first.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Torrent } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from './payload.js';

/** The system Python that has python3-libtorrent (a pyenv `python3` on PATH does not). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const TRANSMISSION_CLI = '/usr/bin/transmission-cli';
export const ARIA2C = '/usr/bin/aria2c';
/**
 * coreutils' stdbuf: transmission-cli writes its progress lines through stdio, which a pipe
 * makes block-buffered (4 KiB, ~10 s of progress lines); `stdbuf -o0` makes them arrive live.
 */
const STDBUF = '/usr/bin/stdbuf';
/** The libtorrent peer script (test/interop/py/lt_peer.py). */
export const LT_PEER_SCRIPT = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'interop',
  'py',
  'lt_peer.py',
);

/** The WebTorrent peer script and its own package folder (installed by .ci/run). */
const WT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'interop', 'webtorrent');
export const WT_PEER_SCRIPT = join(WT_DIR, 'wt_peer.mjs');

/** Bytes of output kept per process for failure messages (the tail). */
const OUTPUT_KEEP_BYTES = 24 * 1024;
/** Grace period between SIGTERM and SIGKILL when stopping a client. */
const STOP_GRACE_MS = 5_000;

let libtorrentChecked: boolean | undefined;

/** Why python3-libtorrent cannot be used here, or undefined when it can. */
export function libtorrentMissing(): string | undefined {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found`;
  libtorrentChecked ??=
    spawnSync(SYSTEM_PYTHON, ['-c', 'import libtorrent'], { timeout: 20_000 }).status === 0;
  return libtorrentChecked
    ? undefined
    : 'python3-libtorrent is not installed (apt-get install python3-libtorrent)';
}

/** Why transmission-cli cannot be used here, or undefined when it can. */
export function transmissionMissing(): string | undefined {
  return existsSync(TRANSMISSION_CLI) ? undefined : 'transmission-cli is not installed';
}

/** Why aria2c cannot be used here, or undefined when it can. */
export function aria2Missing(): string | undefined {
  return existsSync(ARIA2C) ? undefined : 'aria2 is not installed';
}

/** Why the WebTorrent test peer cannot be used here, or undefined when it can. */
export function webtorrentMissing(): string | undefined {
  return existsSync(join(WT_DIR, 'node_modules', 'webtorrent', 'package.json'))
    ? undefined
    : 'WebTorrent is not installed for the interop tests (npm ci --ignore-scripts --prefix test/interop/webtorrent)';
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One child process: its PID, its captured output, line waiters, and a stop that kills only it. */
export class ClientProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  #tail = '';
  #partial = '';
  #lines: string[] = [];
  #waiters = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>();
  #exit: ExitStatus | undefined;
  #onLine: ((line: string) => void) | undefined;

  constructor(name: string, command: string, args: readonly string[], cwd?: string) {
    this.name = name;
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    this.child.stdin?.on('error', () => {}); // the child may exit before reading its stdin
    const onData = (d: Buffer) => this.#onData(d.toString('utf8'));
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (e) => {
        this.#append(`[spawn error] ${e.message}\n`);
        this.#exit ??= { code: -1, signal: null };
        resolve(this.#exit);
      });
      this.child.once('close', (code, signal) => {
        this.#exit ??= { code, signal };
        resolve(this.#exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The exit status, once exited. */
  get exitStatus(): ExitStatus | undefined {
    return this.#exit;
  }

  /** Every complete output line so far (stdout and stderr interleaved, `\r` splits lines). */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** The last OUTPUT_KEEP_BYTES of output, for failure messages. */
  output(): string {
    return this.#tail;
  }

  /** Called for every complete line (after it is recorded). */
  onLine(fn: (line: string) => void): void {
    this.#onLine = fn;
  }

  /** Writes a line to the process's stdin. */
  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /**
   * Resolves with the first line (already printed or to come) that passes `test`; rejects after
   * `timeoutMs` or when the process exits without printing one.
   */
  waitForLine(test: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    const seen = this.#lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const waiter = {
        test,
        resolve: (line: string) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(waiter);
      void this.exited.then((st) => {
        if (!this.#waiters.has(waiter)) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        reject(new Error(`${this.name} exited (${describeExit(st)}) before ${what}`));
      });
    });
  }

  /** SIGTERM, then SIGKILL after a grace period; only this PID. Resolves once it exited. */
  async stop(): Promise<void> {
    if (this.#exit !== undefined || this.child.pid === undefined) return;
    this.child.stdin?.end();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  #onData(text: string): void {
    this.#append(text);
    const parts = (this.#partial + text).split(/\r\n|\r|\n/);
    this.#partial = parts.pop() ?? '';
    for (const raw of parts) {
      const line = raw.trimEnd();
      if (line === '') continue;
      this.#lines.push(line);
      if (this.#lines.length > 20_000) this.#lines.splice(0, 10_000);
      this.#onLine?.(line);
      for (const w of [...this.#waiters]) if (w.test(line)) w.resolve(line);
    }
  }

  #append(text: string): void {
    this.#tail += text.replace(/\r(?!\n)/g, '\n');
    if (this.#tail.length > OUTPUT_KEEP_BYTES * 2) this.#tail = this.#tail.slice(-OUTPUT_KEEP_BYTES);
  }
}

function describeExit(st: ExitStatus): string {
  return st.signal !== null ? `signal ${st.signal}` : `code ${st.code}`;
}

/** A JSON line printed by lt_peer.py. */
export interface LtLine {
  readonly t: string;
  readonly ts: number;
  readonly [key: string]: unknown;
}

/**
 * A peer driven by one of our scripts that print one JSON object a line, each with a `t` (type):
 * python3-libtorrent (test/interop/py/lt_peer.py) and WebTorrent (test/interop/webtorrent/wt_peer.mjs).
 * Both take `connect PORT` and `quit` on stdin.
 */
export class ScriptedClientPeer extends ClientProcess {
  readonly port: number;
  readonly events: LtLine[] = [];

  constructor(name: string, port: number, command: string, args: readonly string[]) {
    super(name, command, args);
    this.port = port;
    this.onLine((line) => {
      if (!line.startsWith('{')) return;
      try {
        this.events.push(JSON.parse(line) as LtLine);
      } catch {
        // not one of ours (a library warning); kept in the output only
      }
    });
  }

  /** Resolves with the first event of type `t`; rejects on an `error` event, exit or timeout. */
  async waitFor(t: string, timeoutMs: number): Promise<LtLine> {
    const line = await this.waitForLine(
      (l) => l.startsWith('{') && (jsonType(l) === t || jsonType(l) === 'error'),
      timeoutMs,
      `"${t}"`,
    );
    const ev = JSON.parse(line) as LtLine;
    if (ev.t === 'error' && t !== 'error')
      throw new Error(`${this.name} reported an error: ${String(ev.msg)}`);
    return ev;
  }

  /** Dials a peer on 127.0.0.1. */
  connect(port: number): void {
    this.send(`connect ${port}`);
  }
}

/** The `t` of a JSON event line (either script's spacing), or undefined. */
function jsonType(line: string): string | undefined {
  return /^\{"t": ?"([a-z_]+)"/.exec(line)?.[1];
}

/** A python3-libtorrent peer (test/interop/py/lt_peer.py). */
export class LibtorrentPeer extends ScriptedClientPeer {
  constructor(name: string, port: number, args: readonly string[]) {
    super(name, port, SYSTEM_PYTHON, [LT_PEER_SCRIPT, ...args]);
  }
}

/** A WebTorrent 3 peer (test/interop/webtorrent/wt_peer.mjs): v1 only, TCP only. */
export class WebTorrentPeer extends ScriptedClientPeer {
  constructor(name: string, port: number, args: readonly string[]) {
    super(name, port, process.execPath, [WT_PEER_SCRIPT, ...args]);
  }
}

export interface WebTorrentPeerOptions {
  readonly torrent: string;
  readonly saveDir: string;
  /** Seed data already under saveDir (checked first); else download. */
  readonly seed?: boolean;
  /** Ports on 127.0.0.1 to dial. */
  readonly connect?: readonly number[];
  /**
   * WebTorrent's `secure` option: 0 off, 1 MSE with plaintext fallback (WebTorrent's default),
   * 2 RC4 only. @default 0
   */
  readonly secure?: 0 | 1 | 2;
  /** Use the torrent's trackers with WebRTC (ws:// trackers; ICE on 127.0.0.1). @default false */
  readonly webrtc?: boolean;
}

export interface LibtorrentPeerOptions {
  /** The .torrent file (ignored when `magnet` is given, but still required by the script). */
  readonly torrent: string;
  /** Download this magnet link instead (metadata over BEP 9, v2 piece layers over BEP 52). */
  readonly magnet?: string;
  readonly saveDir: string;
  /** Seed data already under saveDir (checked first); else download. */
  readonly seed?: boolean;
  /** Ports on 127.0.0.1 to dial. */
  readonly connect?: readonly number[];
  readonly exitWhenDone?: boolean;
  readonly statusMs?: number;
  /** MSE/PE forced both ways, RC4 only (libtorrent refuses plaintext connections). */
  readonly requireRc4?: boolean;
  /** uTP only, both ways (`--utp-only`). @default false */
  readonly utpOnly?: boolean;
}

/** A transmission-cli process. */
export class TransmissionPeer extends ClientProcess {
  readonly port: number;
  constructor(name: string, port: number, args: readonly string[]) {
    if (existsSync(STDBUF)) super(name, STDBUF, ['-o0', '-e0', TRANSMISSION_CLI, ...args]);
    else super(name, TRANSMISSION_CLI, args);
    this.port = port;
  }

  /** Resolves when its finish script ran: the torrent is complete and verified by Transmission. */
  waitDone(timeoutMs: number): Promise<string> {
    return this.waitForLine((l) => l.includes(TRANSMISSION_DONE_MARK), timeoutMs, 'download complete');
  }

  /** Resolves when it checked its data and seeds (its progress line says "Seeding"). */
  waitSeeding(timeoutMs: number): Promise<string> {
    return this.waitForLine((l) => l.startsWith('Seeding'), timeoutMs, 'seeding');
  }
}

const TRANSMISSION_DONE_MARK = 'SHOAL_TRANSMISSION_DONE';
const ARIA2_DONE_MARK = 'SHOAL_ARIA2_DONE';

export interface TransmissionOptions {
  readonly torrent: string;
  /** Where the data is saved (or, seeding, where it already is). */
  readonly downloadDir: string;
  /** settings.json `encryption`: 0 tolerated, 1 preferred, 2 required. @default Transmission's (1) */
  readonly encryption?: 0 | 1 | 2;
  /** Speak uTP too (on the peer port's UDP side). @default false */
  readonly utp?: boolean;
}

/** An aria2c process. */
export class Aria2Peer extends ClientProcess {
  readonly port: number;
  constructor(name: string, port: number, args: readonly string[]) {
    super(name, ARIA2C, args);
    this.port = port;
  }

  /** Resolves when its on-bt-download-complete hook ran (every piece verified). */
  waitDone(timeoutMs: number): Promise<string> {
    return this.waitForLine((l) => l.includes(ARIA2_DONE_MARK), timeoutMs, 'download complete');
  }

  /** Resolves once it listens for peers (its first progress summary is printed after that). */
  waitListening(timeoutMs: number): Promise<string> {
    return this.waitForLine((l) => l.includes('Download Progress Summary'), timeoutMs, 'start-up');
  }
}

export interface Aria2Options {
  readonly torrent: string;
  readonly downloadDir: string;
  /** Hash-check files already in downloadDir and keep their good pieces (`--check-integrity`). */
  readonly checkIntegrity?: boolean;
  /** MSE/PE with RC4 only (`--bt-require-crypto=true --bt-min-crypto-level=arc4`). */
  readonly requireCrypto?: boolean;
  /** Keep seeding once complete (with `checkIntegrity`, a seeder of data already there) until stopped. */
  readonly seed?: boolean;
}

/**
 * Owns the client processes and temp folders of one test file. Call `stop()` in `after()`.
 */
export class ClientGroup {
  readonly #procs: ClientProcess[] = [];
  readonly #notes: { name: string; lines: string[] }[] = [];
  #root: string | undefined;

  /** A temp folder for this group (created once, removed by `stop()`). */
  async root(): Promise<string> {
    this.#root ??= await mkdtemp(join(tmpdir(), 'shoal-interop-'));
    return this.#root;
  }

  /** A fresh sub-folder of {@link root}. */
  async dir(name: string): Promise<string> {
    const d = join(await this.root(), name);
    await mkdir(d, { recursive: true });
    return d;
  }

  /** A log that is not a process (e.g. Shoal's own events), shown with the clients' output. */
  log(name: string): (line: string) => void {
    const entry = { name, lines: [] as string[] };
    this.#notes.push(entry);
    const t0 = performance.now();
    return (line) => {
      entry.lines.push(`[${((performance.now() - t0) / 1000).toFixed(2)}s] ${line}`);
      if (entry.lines.length > 400) entry.lines.splice(0, 200);
    };
  }

  /** Starts any command as a tracked client. */
  spawn(name: string, command: string, args: readonly string[]): ClientProcess {
    return this.#track(new ClientProcess(name, command, args));
  }

  /** Starts a python3-libtorrent peer listening on 127.0.0.1:`port` (0 = pick a free one). */
  async libtorrent(name: string, o: LibtorrentPeerOptions, port = 0): Promise<LibtorrentPeer> {
    const p = port || (await freePort());
    const args = ['--torrent', o.torrent, '--save', o.saveDir, '--port', String(p)];
    if (o.seed) args.push('--seed');
    if (o.magnet !== undefined) args.push('--magnet', o.magnet);
    for (const c of o.connect ?? []) args.push('--connect', String(c));
    if (o.exitWhenDone) args.push('--exit-when-done');
    if (o.statusMs !== undefined) args.push('--status-ms', String(o.statusMs));
    if (o.requireRc4) args.push('--require-rc4');
    if (o.utpOnly) args.push('--utp-only');
    const peer = this.#track(new LibtorrentPeer(name, p, args));
    return peer;
  }

  /** Starts a WebTorrent peer listening on 127.0.0.1 (a free port). */
  async webtorrent(name: string, o: WebTorrentPeerOptions): Promise<WebTorrentPeer> {
    const p = await freePort();
    const args = ['--torrent', o.torrent, '--save', o.saveDir, '--port', String(p)];
    if (o.seed) args.push('--seed');
    for (const c of o.connect ?? []) args.push('--connect', String(c));
    if (o.secure !== undefined) args.push('--secure', String(o.secure));
    if (o.webrtc) args.push('--webrtc');
    return this.#track(new WebTorrentPeer(name, p, args));
  }

  /**
   * Starts transmission-cli on 127.0.0.1 with its own config folder: DHT, LPD, PEX, uTP (unless
   * `utp`), port mapping, RPC and blocklists off. Transmission only accepts connections on loopback (it
   * ignores tracker peers at 127.0.0.0/8), so the other side dials its `port`.
   */
  async transmission(name: string, o: TransmissionOptions): Promise<TransmissionPeer> {
    const port = await freePort();
    const cfg = await this.dir(`${name}-config`);
    await mkdir(o.downloadDir, { recursive: true });
    await writeFile(
      join(cfg, 'settings.json'),
      JSON.stringify({
        'dht-enabled': false,
        'lpd-enabled': false,
        'pex-enabled': false,
        'utp-enabled': o.utp === true,
        'port-forwarding-enabled': false,
        'bind-address-ipv4': '127.0.0.1',
        'bind-address-ipv6': '::1',
        'rpc-enabled': false,
        'blocklist-enabled': false,
        'incomplete-dir-enabled': false,
        'message-level': 2,
        ...(o.encryption !== undefined ? { encryption: o.encryption } : {}),
      }),
    );
    const script = join(cfg, 'done.sh');
    await writeFile(script, `#!/bin/sh\necho ${TRANSMISSION_DONE_MARK} "$TR_TORRENT_HASH"\n`);
    await chmod(script, 0o755);
    const args = ['-g', cfg, '-w', o.downloadDir, '-p', String(port), '-M', '-f', script, o.torrent];
    return this.#track(new TransmissionPeer(name, port, args));
  }

  /**
   * Starts aria2c listening on 127.0.0.1 (DHT, LPD, PEX off; exits once done, and when this
   * process dies). aria2 cannot dial a given peer: the other side dials its `port`.
   */
  async aria2(name: string, o: Aria2Options): Promise<Aria2Peer> {
    const port = await freePort();
    const cfg = await this.dir(`${name}-config`);
    await mkdir(o.downloadDir, { recursive: true });
    const script = join(cfg, 'done.sh');
    await writeFile(script, `#!/bin/sh\necho ${ARIA2_DONE_MARK} "$@"\n`);
    await chmod(script, 0o755);
    const args = [
      '--no-conf=true',
      `--dir=${o.downloadDir}`,
      `--listen-port=${port}`,
      '--interface=127.0.0.1',
      '--disable-ipv6=true',
      '--enable-dht=false',
      '--enable-dht6=false',
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      // A seeder seeds (up to an hour) whatever its share ratio, until stopped.
      ...(o.seed ? ['--seed-time=60', '--seed-ratio=0.0'] : ['--seed-time=0']),
      '--file-allocation=falloc',
      '--summary-interval=1',
      '--enable-color=false',
      '--console-log-level=notice',
      `--on-bt-download-complete=${script}`,
      `--stop-with-process=${process.pid}`,
      ...(o.checkIntegrity ? ['--check-integrity=true'] : []),
      ...(o.requireCrypto ? ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4'] : []),
      o.torrent,
    ];
    return this.#track(new Aria2Peer(name, port, args));
  }

  /** Everything every client printed, for a failure message. */
  report(): string {
    const parts: string[] = [];
    for (const p of this.#procs) {
      const st = p.exitStatus;
      parts.push(
        `----- ${p.name} (pid ${p.pid ?? '?'}, ${st === undefined ? 'running' : describeExit(st)}) -----\n${p.output().trimEnd()}`,
      );
    }
    for (const n of this.#notes) parts.push(`----- ${n.name} -----\n${n.lines.join('\n')}`);
    return parts.join('\n');
  }

  /**
   * Runs `body`; if it throws, rethrows with every client's output appended to the message.
   * With SHOAL_INTEROP_LOG=1 in the environment the output is printed on success too.
   */
  async explain<T>(body: () => Promise<T>): Promise<T> {
    try {
      const result = await body();
      if (process.env.SHOAL_INTEROP_LOG) process.stderr.write(`${this.report()}\n`);
      return result;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new Error(`${message}\n\n===== client output =====\n${this.report()}`, { cause: e });
    }
  }

  /** Stops every process this group started (only their PIDs) and removes its temp folder. */
  async stop(): Promise<void> {
    await Promise.all(this.#procs.map((p) => p.stop()));
    if (this.#root !== undefined) await rm(this.#root, { recursive: true, force: true });
    this.#root = undefined;
  }

  #track<P extends ClientProcess>(p: P): P {
    this.#procs.push(p);
    return p;
  }
}

/**
 * The interop payload: about 40 MiB of pseudo-random bytes in five files of odd sizes, so that
 * pieces span files and the last piece is short. No empty file: Transmission 3.00 does not
 * create the zero-length files of a multi-file torrent.
 */
export const INTEROP_FILES: Readonly<Record<string, number>> = {
  'big.bin': 25_165_829,
  'dir/mid.bin': 9_876_543,
  'dir/sub/small.bin': 5_000_001,
  'notes.txt': 1_234,
  'dir/one-byte': 1,
};
/** 256 KiB: a piece size real clients commonly pick for a torrent of this size. */
export const INTEROP_PIECE_BYTES = 256 * 1024;

export interface InteropTorrent {
  /** Path of the .torrent file. */
  readonly torrentPath: string;
  readonly bytes: Uint8Array;
  /** The torrent's name (its top folder). */
  readonly name: string;
  /** The folder that contains the payload folder (a seeder's download folder). */
  readonly dataDir: string;
  /** Relative paths of the files under the payload folder. */
  readonly rels: readonly string[];
  /** sha256 (hex) of each file, same order as `rels`. */
  readonly digests: readonly string[];
}

/** Writes the interop payload under `dir/seed/payload` and a v1 torrent of it made by Shoal. */
export async function makeInteropTorrent(dir: string, seed = 11): Promise<InteropTorrent> {
  const dataDir = join(dir, 'seed');
  const root = join(dataDir, 'payload');
  const rels = await writeTree(root, INTEROP_FILES, seed);
  const t = await createTorrent(root, { version: 'v1', pieceLength: INTEROP_PIECE_BYTES });
  const torrentPath = join(dir, 'payload.torrent');
  await writeFile(torrentPath, t.bytes);
  return {
    torrentPath,
    bytes: t.bytes,
    name: 'payload',
    dataDir,
    rels,
    digests: await treeDigests(root, rels),
  };
}

/** Logs a Shoal torrent's peer, warning, error and hash-failed events (for failure messages). */
export function logShoalTorrent(torrent: Torrent, log: (line: string) => void): void {
  torrent.on('peer', (e) =>
    log(`peer ${e.type} ${e.address}${e.client ? ` (${e.client})` : ''}${e.reason ? `: ${e.reason}` : ''}`),
  );
  torrent.on('warning', (e) => log(`warning: ${e.message}${e.error ? `: ${e.error.message}` : ''}`));
  torrent.on('error', (e) => log(`error: ${e.error.message}`));
  torrent.on('hash-failed', (e) => log(`hash failed: piece ${e.index}`));
  torrent.on('done', () => log('done'));
}

/** Resolves when `torrent` is done; rejects on its `error` event or after `timeoutMs`. */
export async function shoalDone(torrent: Torrent, timeoutMs: number): Promise<void> {
  if (torrent.isFinished) return;
  const ac = new AbortController();
  const timer = setTimeout(
    () => ac.abort(new Error(`Shoal torrent not done after ${timeoutMs} ms`)),
    timeoutMs,
  );
  // A test that fails elsewhere first must not be kept alive by this timer.
  timer.unref();
  try {
    await Promise.race([
      torrent.next('done', ac.signal),
      torrent.next('error', ac.signal).then((e) => Promise.reject(e.error)),
    ]);
  } finally {
    clearTimeout(timer);
    ac.abort(new Error('settled'));
  }
}
