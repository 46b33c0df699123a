/**
 * `shoal download` and `shoal seed`: run one torrent in a session until it is done (or, when
 * seeding, until interrupted), with a live progress bar on a TTY and plain lines otherwise.
 * Ctrl-C / SIGTERM close the session cleanly, which saves the resume record.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type * as CliProgress from 'cli-progress';
import type { Command } from 'commander';
import { type Metainfo, parsePeerAddress } from '../../metainfo/index.js';
import type { Session, Torrent } from '../../session/index.js';
import { formatBytes, formatDuration, UsageError } from '../output.js';
import { loadTorrentOrMagnet } from './info.js';

export interface SwarmFlags {
  port: string;
  peer: string[];
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
}

/** Discovery options shared by `download`, `seed`, `publish` and `follow`. */
export function addDiscoveryOptions(cmd: Command): Command {
  return cmd
    .option('--no-dht', 'do not use the Mainline DHT')
    .option('--dht-port <n>', 'UDP port of the DHT node (0 = any)', '0')
    .option(
      '--dht-bootstrap <host:port>',
      'DHT bootstrap node (default: the public routers); repeatable',
      collect,
      [],
    )
    .option('--no-lsd', 'do not use local service discovery (LAN multicast)');
}

/** Session options for the discovery flags; the DHT table is kept in `stateDir` when given. */
export function discoveryOptions(flags: SwarmFlags, stateDir: string | undefined) {
  const bootstrap = flags.dhtBootstrap.map((t) => parsePeerAddress(t, '--dht-bootstrap'));
  return {
    ...(flags.dht
      ? {
          dht: {
            port: parsePort(flags.dhtPort ?? '0'),
            ...(bootstrap.length > 0 ? { bootstrap } : {}),
            ...(stateDir !== undefined ? { statePath: join(stateDir, 'dht.state') } : {}),
          },
        }
      : {}),
    ...(flags.lsd ? { lsd: true } : {}),
  };
}

export const collect = (v: string, acc: string[]) => [...acc, v];

export function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`invalid --port "${text}"`);
  return n;
}

export function parseRate(text: string | undefined, flag: string): number {
  if (text === undefined) return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)$/i.exec(text.trim());
  if (m === null) throw new UsageError(`invalid ${flag} "${text}" (bytes/s, e.g. 500k, 2m)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * mult);
}

/** Runs until the returned promise settles; resolves on SIGINT/SIGTERM. */
export function untilSignal(): { promise: Promise<string>; dispose(): void } {
  let dispose = () => {};
  const promise = new Promise<string>((resolve) => {
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

/** Prints progress: a bar on a TTY, a line every few seconds otherwise. */
export function startProgress(torrent: Torrent, label: string): { stop(): void } {
  const lib = process.stderr.isTTY === true ? bars : undefined;
  const tty = lib !== undefined;
  const t0 = performance.now();
  let bar: CliProgress.SingleBar | undefined;
  let multi: CliProgress.MultiBar | undefined;
  if (lib !== undefined) {
    multi = new lib.MultiBar(
      {
        format: `${label} [{bar}] {percentage}% | ↓ {down}/s ↑ {up}/s | {peers} peers | ETA {eta_h}`,
        barsize: 28,
        hideCursor: true,
        stream: process.stderr,
        clearOnComplete: false,
      },
      lib.Presets.shades_classic,
    );
    bar = multi.create(torrent.stats().pieceCount || 1, 0, {});
  }
  const tick = () => {
    const s = torrent.stats();
    const payload = {
      down: formatBytes(Math.round(s.downloadRate)),
      up: formatBytes(Math.round(s.uploadRate)),
      peers: s.peerCount,
      eta_h:
        s.leftBytes === 0 ? '0s' : s.downloadRate > 0 ? formatDuration(s.leftBytes / s.downloadRate) : '--',
    };
    if (bar !== undefined) bar.update(s.haveCount, payload);
    else {
      const pct = s.pieceCount === 0 ? 100 : (100 * s.haveCount) / s.pieceCount;
      const secs = ((performance.now() - t0) / 1000).toFixed(0);
      process.stderr.write(
        `[${secs}s] ${label} ${pct.toFixed(1)}% ${s.haveCount}/${s.pieceCount} pieces, ↓ ${payload.down}/s ↑ ${payload.up}/s, ${s.peerCount} peers, left ${formatBytes(s.leftBytes)}\n`,
      );
    }
  };
  const timer = setInterval(tick, tty ? 250 : 2000);
  return {
    stop() {
      clearInterval(timer);
      tick();
      multi?.stop();
    },
  };
}

export function addPeers(torrent: Torrent, peers: readonly string[]): void {
  for (const text of peers) {
    const p = parsePeerAddress(text, '--peer');
    torrent.addPeer(p.host, p.port);
  }
}

/** File priorities that select only the given file indices (`--only`). */
function onlyPriorities(m: Metainfo, only: readonly string[]): number[] {
  const wanted = new Set<number>();
  for (const text of only) {
    const i = Number(text);
    if (!Number.isInteger(i) || i < 0 || i >= m.files.length || m.files[i]!.isPadding) {
      throw new UsageError(`--only ${text}: no such file index (see \`shoal info\`)`);
    }
    wanted.add(i);
  }
  return m.files.map((_, i) => (wanted.has(i) ? 1 : 0));
}

/** Runs a torrent until done (then seeds if asked), an interrupt, or a torrent error. */
async function runDownload(
  session: Session,
  torrent: Torrent,
  flags: SwarmFlags,
  interrupted: Promise<string>,
  out: string,
  setProgress: (p: { stop(): void } | undefined) => void,
): Promise<void> {
  const m = torrent.metainfo;
  process.stderr.write(`listening on port ${session.port}\n`);
  const failed = torrent.next('error').then((e) => Promise.reject(e.error));
  failed.catch(() => {}); // observed through the races below
  let progress = startProgress(torrent, m.name);
  setProgress(progress);
  addPeers(torrent, flags.peer);
  const done = torrent.isFinished ? Promise.resolve() : torrent.next('done').then(() => undefined);
  const first = await Promise.race([done.then(() => 'done'), interrupted, failed]);
  progress.stop();
  setProgress(undefined);
  if (first !== 'done') {
    process.stderr.write(`interrupted (${first}); resume data saved\n`);
    process.exitCode = 130;
    return;
  }
  const s = torrent.stats();
  process.stdout.write(
    `complete: ${m.name} (${formatBytes(m.totalLength - s.leftBytes)}) verified in ${out}\n`,
  );
  if (flags.seed) {
    process.stderr.write('seeding; press Ctrl-C to stop\n');
    progress = startProgress(torrent, `seeding ${m.name}`);
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
    .option('--peer <host:port>', 'a peer to connect to; repeatable', collect, [])
    .option('--seed', 'keep seeding after the download completes (until Ctrl-C)')
    .option('--no-seed', 'exit as soon as the download is complete (default)')
    .option('--only <index>', 'download only this file index (see `shoal info`); repeatable', collect, [])
    .option('--download-limit <rate>', 'global download limit, bytes/s (e.g. 2m)')
    .option('--upload-limit <rate>', 'global upload limit, bytes/s (e.g. 500k)');
  addDiscoveryOptions(download).action(async (source: string, flags: SwarmFlags & { output: string }) => {
    const loaded = await loadTorrentOrMagnet(source);
    if (loaded.kind === 'torrent' && flags.only.length > 0) onlyPriorities(loaded.metainfo, flags.only);
    const out = resolve(flags.output);
    const session = await openSession({
      port: parsePort(flags.port),
      downloadDir: out,
      resumeDir: join(out, '.shoal'),
      downloadRateLimit: parseRate(flags.downloadLimit, '--download-limit'),
      uploadRateLimit: parseRate(flags.uploadLimit, '--upload-limit'),
      ...discoveryOptions(flags, join(out, '.shoal')),
    });
    session.on('warning', (w) => process.stderr.write(`warning: ${w.message}\n`));
    const signal = untilSignal();
    let progress: { stop(): void } | undefined;
    try {
      let torrent: Torrent;
      if (loaded.kind === 'magnet') {
        process.stderr.write(`fetching metadata for ${loaded.magnet.name ?? 'the magnet link'}…\n`);
        const ac = new AbortController();
        void signal.promise.then(() => ac.abort());
        const adding = session.addMagnet(loaded.magnet, { signal: ac.signal });
        for (const text of flags.peer) {
          const p = parsePeerAddress(text, '--peer');
          session.pendingMagnets()[0]?.addPeer(p.host, p.port);
        }
        try {
          torrent = await adding;
        } catch (e) {
          if (!ac.signal.aborted) throw e;
          process.stderr.write('interrupted while fetching metadata\n');
          process.exitCode = 130;
          return;
        }
        if (flags.only.length > 0) torrent.setFilePriorities(onlyPriorities(torrent.metainfo, flags.only));
      } else {
        const m = loaded.metainfo;
        const only = flags.only.length > 0 ? { filePriorities: onlyPriorities(m, flags.only) } : {};
        torrent = await session.addTorrent(m, only);
      }
      await runDownload(session, torrent, flags, signal.promise, out, (p) => {
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
    .option('--peer <host:port>', 'a peer to connect to; repeatable', collect, [])
    .option('--upload-limit <rate>', 'global upload limit, bytes/s (e.g. 500k)')
    .option('--super-seed', 'BEP 16 super-seeding: reveal pieces a few at a time (initial seeder)');
  addDiscoveryOptions(seed).action(async (source: string, path: string, flags: SwarmFlags) => {
    const loaded = await loadTorrentOrMagnet(source);
    if (loaded.kind !== 'torrent') throw new UsageError('seeding needs a .torrent file');
    const m = loaded.metainfo;
    const abs = resolve(path);
    let dir: string;
    if (existsSync(join(abs, m.name))) dir = abs;
    else if (basename(abs) === m.name && existsSync(abs)) dir = dirname(abs);
    else throw new UsageError(`cannot find "${m.name}" at ${abs}`);
    const session = await openSession({
      port: parsePort(flags.port),
      downloadDir: dir,
      uploadRateLimit: parseRate(flags.uploadLimit, '--upload-limit'),
      ...discoveryOptions(flags, undefined),
    });
    session.on('warning', (w) => process.stderr.write(`warning: ${w.message}\n`));
    const signal = untilSignal();
    let progress: { stop(): void } | undefined;
    try {
      process.stderr.write(`checking ${m.name}…\n`);
      const torrent = await session.addTorrent(m, { superSeed: flags.superSeed === true });
      const s = torrent.stats();
      if (!torrent.isFinished) {
        process.stderr.write(
          `warning: only ${s.haveCount}/${s.pieceCount} pieces of ${m.name} verified; seeding what is there\n`,
        );
      }
      process.stdout.write(`seeding ${m.name} on port ${session.port}\n`);
      const failed = torrent.next('error').then((e) => Promise.reject(e.error));
      failed.catch(() => {}); // observed through the race below
      addPeers(torrent, flags.peer);
      progress = startProgress(torrent, `seeding ${m.name}`);
      await Promise.race([signal.promise, failed]);
    } finally {
      progress?.stop();
      signal.dispose();
      await session.close();
    }
  });
}
