/**
 * `shoal download` and `shoal seed`: run one torrent in a session until it is done (or, when
 * seeding, until interrupted), with a live progress bar on a TTY and plain lines otherwise.
 * Ctrl-C / SIGTERM close the session cleanly, which saves the resume record; an interrupted
 * download exits 130 (SIGINT) or 143 (SIGTERM).
 *
 * Every argument is checked before anything is created (peer addresses, ports, rates, `--only`
 * file numbers, the log level), and the output folder is proven writable before the session
 * opens, so a bad command fails at once with one clear line.
 *
 * `--only N` takes file numbers as `shoal info` shows them (padding files not counted); the
 * files not selected are never created: bytes of theirs that share a piece with a selected file
 * wait in `<output>/.shoal/<info-hash>.parts` (see TorrentStorage.setWantedFiles).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type * as CliProgress from 'cli-progress';
import { type Command, InvalidArgumentError } from 'commander';
import {
  fileIndexOf,
  type Metainfo,
  type PeerAddress,
  parseHostPort,
  userFiles,
} from '../../metainfo/index.js';
import type { Session, Torrent } from '../../session/index.js';
import { webSeedUrlProblem } from '../../session/webseed/http-rules.js';
import { isShoalError, ShoalError } from '../../shared/errors.js';
import { ensureWritableDirectory, folderProblem } from '../../storage/index.js';
import { formatBytes, parseRate, signalExitCode, UsageError, withContext } from '../output.js';
import { formatPeerEvent } from '../peer-events.js';
import { startProgress } from '../progress.js';
import { loadTorrentOrMagnet } from './info.js';
import {
  addNetworkOptions,
  ICE_SERVER_HELP,
  LOW_MEMORY_HELP,
  type NetworkFlags,
  networkOptions,
  parseIceServer,
  webRtcOptions,
} from './network-flags.js';

/** Levels of `--log-level` for `download` and `seed`. */
export const CLI_LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
export type CliLogLevel = (typeof CLI_LOG_LEVELS)[number];

function parseLogLevel(v: string): CliLogLevel {
  if (!(CLI_LOG_LEVELS as readonly string[]).includes(v))
    throw new InvalidArgumentError(`expected one of ${CLI_LOG_LEVELS.join(', ')}`);
  return v as CliLogLevel;
}

export interface SwarmFlags extends NetworkFlags {
  port: string;
  peer: string[];
  webSeed?: string[];
  webSeedCa?: string;
  webSeedOnlyBelow?: string;
  seed?: boolean;
  superSeed?: boolean;
  only: string[];
  json?: boolean;
  downloadLimit?: string;
  uploadLimit?: string;
  dht: boolean;
  dhtPort?: string;
  dhtBootstrap: string[];
  lsd: boolean;
  portMapping?: boolean;
  lowMemory?: boolean;
  webrtc: boolean;
  iceServer: string[];
  logLevel: CliLogLevel;
  verbose?: boolean;
}

/** The flags, checked and parsed. */
interface Checked {
  readonly port: number;
  readonly peers: readonly PeerAddress[];
  readonly webSeeds: readonly string[];
  readonly webSeedOnlyBelow: number;
  readonly bootstrap: readonly PeerAddress[];
  readonly dhtPort: number;
  readonly downloadLimit: number;
  readonly uploadLimit: number;
}

export function check(flags: SwarmFlags): Checked {
  return {
    port: parsePort(flags.port, '--port'),
    peers: flags.peer.map((t) => parseHostPort(t, '--peer')),
    webSeeds: (flags.webSeed ?? []).map((u) => {
      const problem = webSeedUrlProblem(u);
      if (problem !== undefined) throw new UsageError(`--web-seed ${u}: ${problem}`);
      return u;
    }),
    webSeedOnlyBelow: parseRate(flags.webSeedOnlyBelow, '--web-seed-only-below'),
    bootstrap: flags.dhtBootstrap.map((t) => parseHostPort(t, '--dht-bootstrap')),
    dhtPort: parsePort(flags.dhtPort ?? '0', '--dht-port'),
    downloadLimit: parseRate(flags.downloadLimit, '--download-limit'),
    uploadLimit: parseRate(flags.uploadLimit, '--upload-limit'),
  };
}

/** Messages on stderr by level; the progress output shows at `info` and `debug`. */
class Reporter {
  readonly #rank: number;
  #progress: { log(line: string): void } | undefined;

  constructor(level: CliLogLevel) {
    this.#rank = CLI_LOG_LEVELS.indexOf(level);
  }

  enabled(level: Exclude<CliLogLevel, 'silent'>): boolean {
    return this.#rank >= CLI_LOG_LEVELS.indexOf(level);
  }

  /** Lines go through the progress bar while it is on screen, so they do not tear it. */
  attach(progress: { log(line: string): void } | undefined): void {
    this.#progress = progress;
  }

  #write(line: string): void {
    if (this.#progress !== undefined) this.#progress.log(line);
    else process.stderr.write(`${line}\n`);
  }

  warn(message: string): void {
    if (this.enabled('warn')) this.#write(`warning: ${message}`);
  }

  /** What happened to the command (interrupted): shown unless the level is `silent`. */
  status(message: string): void {
    if (this.enabled('error')) this.#write(message);
  }

  info(message: string): void {
    if (this.enabled('info')) this.#write(message);
  }

  debug(message: string): void {
    if (this.enabled('debug')) this.#write(message);
  }
}

/** Discovery options (and `--low-memory`) shared by `download` and `seed`. */
export function addDiscoveryOptions(cmd: Command): Command {
  return addNetworkOptions(cmd)
    .option('--no-dht', 'do not use the Mainline DHT')
    .option('--dht-port <n>', 'UDP port of the DHT node (0 = any)', '0')
    .option(
      '--dht-bootstrap <host:port>',
      'DHT bootstrap node (default: the public routers); repeatable',
      collect,
      [],
    )
    .option('--no-lsd', 'do not use local service discovery (LAN multicast)')
    .option('--no-webrtc', "do not use WebRTC peers (found through a torrent's ws:// trackers)")
    .option('--ice-server <url>', ICE_SERVER_HELP, parseIceServer, [])
    .option(
      '-v, --verbose',
      'print the peer log as it happens: connects (client, transport, encryption), disconnects and refusals with reasons, hash failures, bans with their evidence',
    )
    .option('--low-memory', LOW_MEMORY_HELP)
    .option(
      '--port-mapping',
      'map the listening ports on the home router (PCP, NAT-PMP, UPnP IGD) so peers outside the NAT can dial in',
    )
    .option(
      '--log-level <level>',
      `messages on stderr: ${CLI_LOG_LEVELS.join(', ')} (debug adds peers and hash failures; warn and below hide the progress)`,
      parseLogLevel,
      'info',
    );
}

/** Session options for the discovery flags; the DHT table is kept in `stateDir` when given. */
export function discoveryOptions(flags: SwarmFlags, c: Checked, stateDir: string | undefined) {
  return {
    ...(flags.dht
      ? {
          dht: {
            port: c.dhtPort,
            ...(c.bootstrap.length > 0 ? { bootstrap: c.bootstrap } : {}),
            ...(stateDir !== undefined ? { statePath: join(stateDir, 'dht.state') } : {}),
          },
        }
      : {}),
    ...(flags.lsd ? { lsd: true } : {}),
    ...(flags.portMapping === true ? { portMapping: true } : {}),
    ...(flags.lowMemory === true ? { lowMemory: true } : {}),
    ...webRtcOptions(flags.webrtc, flags.iceServer),
    ...networkOptions(flags),
  };
}

export const collect = (v: string, acc: string[]) => [...acc, v];

export function parsePort(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`invalid ${flag} "${text}" (0-65535)`);
  return n;
}

/** Runs until the returned promise settles; resolves on SIGINT/SIGTERM. */
export function untilSignal(): { promise: Promise<NodeJS.Signals>; dispose(): void } {
  let dispose = () => {};
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    const on = (sig: NodeJS.Signals) => resolve(sig);
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
    dispose = () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    };
  });
  return { promise, dispose };
}

/** The progress bar library, loaded by {@link openSession} when stderr is a TTY. */
let bars: typeof CliProgress | undefined;

/**
 * Opens the session. The session layer and the progress bars are loaded here, not at start-up:
 * every command pays only for the modules it uses.
 */
export async function openSession(options: Parameters<typeof Session.create>[0]): Promise<Session> {
  if (process.stderr.isTTY === true) bars ??= await import('cli-progress');
  const { Session: SessionClass } = await import('../../session/index.js');
  return SessionClass.create(options);
}

/** What `--only` selects: wanted flags by file index, and the selected bytes. */
interface Selection {
  readonly wanted: readonly boolean[];
  readonly priorities: readonly number[];
  readonly bytes: number;
}

/**
 * The files `--only` names, by file number (as `shoal info` lists them); all files without
 * `--only`. Throws a usage error naming the valid numbers.
 */
function selection(m: Metainfo, only: readonly string[]): Selection {
  const files = userFiles(m);
  if (only.length === 0) {
    return {
      wanted: m.files.map((f) => !f.isPadding),
      priorities: m.files.map((f) => (f.isPadding ? 0 : 1)),
      bytes: m.totalLength,
    };
  }
  const wanted = m.files.map(() => false);
  for (const text of only) {
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    const i = fileIndexOf(m, n);
    if (i === undefined) {
      throw new UsageError(
        `--only ${text}: no such file; ${m.name} has ${files.length} file${files.length === 1 ? '' : 's'}, numbered 0-${files.length - 1} (see \`shoal info\`)`,
      );
    }
    wanted[i] = true;
  }
  let bytes = 0;
  for (const u of files) if (wanted[u.fileIndex]) bytes += u.file.length;
  return { wanted, priorities: wanted.map((w) => (w ? 1 : 0)), bytes };
}

/** Bytes of the pieces that hold a selected file (what `leftBytes` counts down from). */
function wantedPieceBytes(torrent: Torrent, sel: Selection): number {
  const map = torrent.storage.map;
  const wanted = new Uint8Array(map.pieceCount);
  torrent.metainfo.files.forEach((f, i) => {
    if (!sel.wanted[i] || f.length === 0) return;
    const { first, last } = map.filePieces(i);
    wanted.fill(1, first, last + 1);
  });
  let total = 0;
  for (let i = 0; i < wanted.length; i++) if (wanted[i] === 1) total += map.pieceSize(i);
  return total;
}

/**
 * Prints what happens to the torrent: warnings at `warn`; the peer log (every peer event, and
 * refused incoming connections) with `-v` (unless the level is `silent`) or at `debug`.
 */
function watchTorrent(session: Session, torrent: Torrent, log: Reporter, verbose: boolean): void {
  torrent.on('warning', (w) => log.warn(w.message));
  if (!(verbose && log.enabled('error')) && !log.enabled('debug')) return;
  torrent.on('peer', (e) => log.status(formatPeerEvent(e)));
  session.on('peer:refused', (e) =>
    log.status(
      formatPeerEvent({
        at: Date.now(),
        type: 'refused',
        address: `${e.address}:${e.port}`,
        reason: e.reason,
      }),
    ),
  );
}

/** Starts the progress output when the level shows it. */
function progressFor(
  torrent: Torrent,
  label: string,
  log: Reporter,
  wantedBytes: number,
): { stop(): void; log(line: string): void } | undefined {
  if (!log.enabled('info')) return undefined;
  const p = startProgress(torrent, label, { ...(bars !== undefined ? { bars } : {}), wantedBytes });
  log.attach(p);
  return {
    log: (line) => p.log(line),
    stop() {
      log.attach(undefined);
      p.stop();
    },
  };
}

/** Prints port mapping results and our external address as they become known. */
function reportNetwork(session: Session, log: Reporter): void {
  session.on('portmap:changed', (s) => {
    if (s.state === 'mapped')
      log.info(
        `port mapping (${s.method}): reachable at ${s.externalIp ?? '?'} ${s.mappings.map((m) => `${m.protocol} ${m.externalPort}`).join(', ')}`,
      );
    else if (s.state === 'failed')
      log.warn(`port mapping failed: ${s.errors.at(-1) ?? 'no router answered'}`);
  });
  session.on('external-address:changed', (e) => {
    if (e.address !== undefined)
      log.info(
        `external address ${e.family === 6 ? `[${e.address}]` : e.address}:${e.port} (from ${e.source})`,
      );
  });
}

/** Runs a torrent until done (then seeds if asked), an interrupt, or a torrent error. */
async function runDownload(
  session: Session,
  torrent: Torrent,
  flags: SwarmFlags,
  c: Checked,
  sel: Selection,
  interrupted: Promise<NodeJS.Signals>,
  out: string,
  log: Reporter,
  setProgress: (p: { stop(): void } | undefined) => void,
): Promise<void> {
  const m = torrent.metainfo;
  log.info(`listening on port ${session.port}`);
  reportNetwork(session, log);
  const failed = torrent.next('error').then((e) => Promise.reject(e.error));
  failed.catch(() => {}); // observed through the races below
  const wanted = wantedPieceBytes(torrent, sel);
  let progress = progressFor(torrent, m.name, log, wanted);
  setProgress(progress);
  for (const p of c.peers) torrent.addPeer(p.host, p.port);
  // Resolves when done, rejects if the torrent failed — also before we got here (a full disk).
  const done = torrent.whenDone();
  const first = await Promise.race([done.then(() => 'done' as const), interrupted]);
  progress?.stop();
  setProgress(undefined);
  if (first !== 'done') {
    log.status(`interrupted (${first}); resume data saved`);
    process.exitCode = signalExitCode(first);
    return;
  }
  const files = userFiles(m);
  const picked = files.filter((u) => sel.wanted[u.fileIndex]).length;
  const what =
    picked === files.length
      ? formatBytes(sel.bytes)
      : `${formatBytes(sel.bytes)}: ${picked} of ${files.length} files selected`;
  process.stdout.write(`complete: ${m.name} (${what}) verified in ${out}\n`);
  if (flags.seed) {
    log.info('seeding; press Ctrl-C to stop');
    progress = progressFor(torrent, `seeding ${m.name}`, log, wanted);
    setProgress(progress);
    await Promise.race([interrupted, failed]);
  }
}

export function registerDownloadCommands(program: Command): void {
  const download = program
    .command('download')
    .description('download a torrent into a folder (and optionally keep seeding it)')
    .argument('<torrent>', 'a .torrent file (or a magnet: URI)')
    .requiredOption('-o, --output <dir>', 'folder to download into')
    .option('-p, --port <n>', 'TCP port to listen on for peers (0 = any)', '0')
    .option('--peer <host:port>', 'a peer to connect to ([IPv6]:port for IPv6); repeatable', collect, [])
    .option(
      '--web-seed <url>',
      'an HTTP(S) origin holding the files (BEP 19 web seed); repeatable',
      collect,
      [],
    )
    .option('--web-seed-ca <file>', 'a PEM file of CAs to trust for HTTPS web seeds (beside the system ones)')
    .option(
      '--web-seed-only-below <rate>',
      'use web seeds only while peers give less than this, bytes/s (e.g. 5m)',
    )
    .option('--seed', 'keep seeding after the download completes (until Ctrl-C)')
    .option('--no-seed', 'exit as soon as the download is complete (default)')
    .option(
      '--only <number>',
      'download only this file (its number in `shoal info`); repeatable',
      collect,
      [],
    )
    .option('--download-limit <rate>', 'global download limit, bytes/s (e.g. 2m)')
    .option('--upload-limit <rate>', 'global upload limit, bytes/s (e.g. 500k)');
  addDiscoveryOptions(download).action(async (source: string, flags: SwarmFlags & { output: string }) => {
    const c = check(flags);
    const log = new Reporter(flags.logLevel);
    const loaded = await loadTorrentOrMagnet(source);
    const known = loaded.kind === 'torrent' ? selection(loaded.metainfo, flags.only) : undefined;
    const out = resolve(flags.output);
    try {
      await ensureWritableDirectory(join(out, '.shoal'));
    } catch (e) {
      const inner = folderProblem(e, join(out, '.shoal'));
      const problem = inner === (e as Error).message ? folderProblem(e, out) : inner;
      throw isShoalError(e)
        ? new ShoalError(e.code, `cannot download into ${out}: ${problem}`, e.details, { cause: e })
        : withContext(`cannot download into ${out}`, e);
    }
    const session = await openSession({
      port: c.port,
      downloadDir: out,
      resumeDir: join(out, '.shoal'),
      downloadRateLimit: c.downloadLimit,
      uploadRateLimit: c.uploadLimit,
      webSeeds: {
        onlyBelowPeerRate: c.webSeedOnlyBelow,
        ...(flags.webSeedCa !== undefined ? { caFile: resolve(flags.webSeedCa) } : {}),
      },
      ...discoveryOptions(flags, c, join(out, '.shoal')),
    });
    session.on('warning', (w) => log.warn(w.message));
    // The selection reaches the storage before the torrent first touches the disk.
    session.on('torrent:added', ({ id }) => {
      const t = session.getTorrent(id);
      if (t === undefined) return;
      let sel = known;
      try {
        sel ??= selection(t.metainfo, flags.only);
      } catch {
        return; // a magnet's bad --only: reported once its metadata is known, below
      }
      void t.storage.setWantedFiles(sel.wanted).catch((e: unknown) => log.warn((e as Error).message));
    });
    const signal = untilSignal();
    let progress: { stop(): void } | undefined;
    try {
      let torrent: Torrent;
      let sel: Selection;
      if (loaded.kind === 'magnet') {
        log.info(`fetching metadata for ${loaded.magnet.name ?? 'the magnet link'}…`);
        const ac = new AbortController();
        void signal.promise.then(() => ac.abort());
        const adding = session.addMagnet(loaded.magnet, { signal: ac.signal });
        for (const p of c.peers) session.pendingMagnets()[0]?.addPeer(p.host, p.port);
        try {
          torrent = await adding;
        } catch (e) {
          if (!ac.signal.aborted) throw e;
          const sig = await signal.promise;
          log.status(`interrupted (${sig}) while fetching metadata`);
          process.exitCode = signalExitCode(sig);
          return;
        }
        sel = selection(torrent.metainfo, flags.only);
        if (flags.only.length > 0) torrent.setFilePriorities(sel.priorities);
        for (const u of c.webSeeds) torrent.addWebSeed(u);
      } else {
        sel = known!;
        torrent = await session.addTorrent(loaded.metainfo, {
          ...(flags.only.length > 0 ? { filePriorities: sel.priorities } : {}),
          webSeeds: c.webSeeds,
        });
      }
      watchTorrent(session, torrent, log, flags.verbose === true);
      await runDownload(session, torrent, flags, c, sel, signal.promise, out, log, (p) => {
        progress = p;
      });
    } finally {
      progress?.stop();
      signal.dispose();
      await session.close();
    }
  });

  const seed = program
    .command('seed')
    .description('serve a torrent from data you already have')
    .argument('<torrent>', 'the .torrent file')
    .argument('<path>', "the torrent's data: the file/folder itself, or the folder that contains it")
    .option('-p, --port <n>', 'TCP port to listen on for peers (0 = any)', '0')
    .option('--peer <host:port>', 'a peer to connect to ([IPv6]:port for IPv6); repeatable', collect, [])
    .option('--upload-limit <rate>', 'global upload limit, bytes/s (e.g. 500k)')
    .option('--super-seed', 'BEP 16 super-seeding: reveal pieces a few at a time (initial seeder)');
  addDiscoveryOptions(seed).action(async (source: string, path: string, flags: SwarmFlags) => {
    const c = check(flags);
    const log = new Reporter(flags.logLevel);
    const loaded = await loadTorrentOrMagnet(source);
    if (loaded.kind !== 'torrent') throw new UsageError('seeding needs a .torrent file');
    const m = loaded.metainfo;
    const abs = resolve(path);
    let dir: string;
    if (existsSync(join(abs, m.name))) dir = abs;
    else if (basename(abs) === m.name && existsSync(abs)) dir = dirname(abs);
    else throw new UsageError(`cannot find "${m.name}" at ${abs}`);
    const session = await openSession({
      port: c.port,
      downloadDir: dir,
      uploadRateLimit: c.uploadLimit,
      ...discoveryOptions(flags, c, undefined),
    });
    session.on('warning', (w) => log.warn(w.message));
    reportNetwork(session, log);
    const signal = untilSignal();
    let progress: { stop(): void } | undefined;
    try {
      log.info(`checking ${m.name}…`);
      const torrent = await session.addTorrent(m, { superSeed: flags.superSeed === true });
      watchTorrent(session, torrent, log, flags.verbose === true);
      const s = torrent.stats();
      if (!torrent.isFinished)
        log.warn(`only ${s.haveCount}/${s.pieceCount} pieces of ${m.name} verified; seeding what is there`);
      process.stdout.write(`seeding ${m.name} on port ${session.port}\n`);
      const failed = torrent.next('error').then((e) => Promise.reject(e.error));
      failed.catch(() => {}); // observed through the race below
      for (const p of c.peers) torrent.addPeer(p.host, p.port);
      progress = progressFor(torrent, `seeding ${m.name}`, log, wantedPieceBytes(torrent, selection(m, [])));
      await Promise.race([signal.promise, failed]);
    } finally {
      progress?.stop();
      signal.dispose();
      await session.close();
    }
  });
}

/** Adds the `--peer` addresses (already checked) to a torrent. */
export function addPeers(torrent: Torrent, peers: readonly PeerAddress[]): void {
  for (const p of peers) torrent.addPeer(p.host, p.port);
}

/** A progress bar (or lines) for a torrent that the user did not narrow with `--only`. */
export function startTorrentProgress(torrent: Torrent, label: string): { stop(): void } {
  return startProgress(torrent, label, bars !== undefined ? { bars } : {});
}
