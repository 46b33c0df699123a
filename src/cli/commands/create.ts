import { writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { parseTorrent, type TorrentVersion } from '../../metainfo/index.js';
import { formatBytes, formatDuration, parseSize, UsageError } from '../output.js';
import { formatMetainfo, metainfoToJson } from './info.js';

interface CreateFlags {
  output?: string;
  v1?: boolean;
  v2?: boolean;
  hybrid?: boolean;
  tracker: string[];
  webSeed: string[];
  private?: boolean;
  pieceLength?: string;
  comment?: string;
  name?: string;
  date: boolean;
  json?: boolean;
  force?: boolean;
}

const collect = (v: string, acc: string[]) => [...acc, v];

export function registerCreateCommand(program: Command): void {
  program
    .command('create')
    .description('make a .torrent from a file or a folder')
    .argument('<path>', 'file or folder to share')
    .option('-o, --output <file>', 'where to write the torrent (default: <name>.torrent)')
    .addOption(new Option('--v1', 'BitTorrent v1 (default)').conflicts(['v2', 'hybrid']))
    .addOption(new Option('--v2', 'BitTorrent v2 only (BEP 52)').conflicts(['v1', 'hybrid']))
    .addOption(new Option('--hybrid', 'v1 and v2 metadata in one torrent').conflicts(['v1', 'v2']))
    .option('-t, --tracker <url>', 'tracker URL; repeat for more; commas put URLs in one tier', collect, [])
    .option('-w, --web-seed <url>', 'web seed URL (BEP 19); repeatable', collect, [])
    .option('--private', 'set the private flag (BEP 27)')
    .option('--piece-length <bytes>', 'piece length, a power of two ≥ 16 KiB (e.g. 262144, 1m)')
    .option('--comment <text>', 'comment')
    .option('--name <name>', 'torrent name (default: the file or folder name)')
    .option('--no-date', 'leave out the creation date (reproducible output)')
    .option('-f, --force', 'overwrite the output file if it exists')
    .option('--json', 'print the result as JSON')
    .action(async (path: string, flags: CreateFlags) => {
      const version: TorrentVersion = flags.v2 ? 'v2' : flags.hybrid ? 'hybrid' : 'v1';
      let pieceLength: number | undefined;
      if (flags.pieceLength !== undefined) {
        pieceLength = parseSize(flags.pieceLength);
        if (pieceLength === undefined) throw new UsageError(`invalid --piece-length "${flags.pieceLength}"`);
      }
      const trackers = flags.tracker.map((t) =>
        t
          .split(',')
          .map((u) => u.trim())
          .filter((u) => u.length > 0),
      );
      const bar = process.stderr.isTTY && !flags.json ? await makeBar() : undefined;
      const started = performance.now();
      // Loaded here, not at start-up: every command pays only for what it uses.
      const { createTorrent } = await import('../../storage/create-torrent.js');
      let created: Awaited<ReturnType<typeof createTorrent>>;
      try {
        created = await createTorrent(resolve(path), {
          version,
          trackers: trackers.filter((t) => t.length > 0),
          webSeeds: flags.webSeed,
          isPrivate: flags.private === true,
          ...(pieceLength === undefined ? {} : { pieceLength }),
          ...(flags.comment === undefined ? {} : { comment: flags.comment }),
          ...(flags.name === undefined ? {} : { name: flags.name }),
          ...(flags.date ? {} : { creationDate: null }),
          onProgress: (done, total) => bar?.update(done, total),
        });
      } finally {
        bar?.stop();
      }
      const out = flags.output ?? `${basename(created.name)}.torrent`;
      try {
        await writeFile(out, created.bytes, { flag: flags.force ? 'w' : 'wx' });
      } catch (e) {
        if ((e as { code?: string }).code === 'EEXIST') {
          throw new UsageError(`${out} already exists (use --force to overwrite)`);
        }
        throw new UsageError(`cannot write ${out}: ${(e as Error).message}`);
      }
      const seconds = (performance.now() - started) / 1000;
      const m = parseTorrent(created.bytes);
      if (flags.json) {
        const skipped = created.skipped.map((s) => ({ ...s }));
        process.stdout.write(
          `${JSON.stringify({ output: out, seconds, ...metainfoToJson(m), skipped }, null, 2)}\n`,
        );
        return;
      }
      for (const s of created.skipped) {
        process.stderr.write(`skipped ${s.path}: ${s.reason}${s.detail ? ` (${s.detail})` : ''}\n`);
      }
      if (process.stdout.isTTY) {
        process.stdout.write(`${formatMetainfo(m)}\n`);
        process.stdout.write(`wrote ${out} in ${seconds.toFixed(1)} s\n`);
      } else {
        process.stdout.write(`${out}\n`);
      }
    });
}

async function makeBar(): Promise<{ update(done: number, total: number): void; stop(): void }> {
  const { SingleBar } = await import('cli-progress');
  const t0 = performance.now();
  const bar = new SingleBar({
    format: 'hashing [{bar}] {percentage}% | {done} / {size} | {speed}/s | ETA {eta_h}',
    barsize: 30,
    hideCursor: true,
    clearOnComplete: true,
    stream: process.stderr,
  });
  let started = false;
  return {
    update(done, total) {
      const secs = (performance.now() - t0) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      const payload = {
        done: formatBytes(done),
        size: formatBytes(total),
        speed: formatBytes(Math.round(rate)),
        eta_h: rate > 0 ? formatDuration((total - done) / rate) : '--',
      };
      if (!started) {
        bar.start(Math.max(total, 1), done, payload);
        started = true;
      } else bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
