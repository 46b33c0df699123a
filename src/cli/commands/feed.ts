/**
 * Feeds (BEP 46): datasets that update.
 *
 *   shoal key generate [FILE]                         a new ed25519 key (mode 0600), default feed.key
 *   shoal publish <dir> --key FILE [--salt NAME] [--v2] [--piece-length N] [swarm options]
 *   shoal follow <btpk magnet | public key> -o DIR [--salt NAME] [--poll S] [--once] [swarm options]
 *
 * `publish` creates a torrent of the folder (hybrid; `--v2` for v2 only), seeds it, puts its
 * info-hash under the key with the next seq, prints the feed's magnet link on stdout and keeps
 * seeding and re-putting until Ctrl-C. What it published is recorded beside the key
 * (`<key>.state.json`), so the next run continues the seq and keeps the piece length.
 *
 * `follow` keeps `DIR/current` at the feed's newest version (see src/session/feeds/follow.ts):
 * each new version downloads into `DIR/.shoal/versions/<seq>/`, unchanged files hard-linked from
 * the current one, and `DIR/current` switches atomically once it is complete. It runs until
 * Ctrl-C; `--once` exits once the newest version found is current. A restart, even after kill -9,
 * resumes.
 */
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { FeedFollower } from '../../session/index.js';
import { toHex } from '../../shared/hash.js';
import { formatBytes, parseSize, UsageError } from '../output.js';
import {
  addDiscoveryOptions,
  addPeers,
  check,
  collect,
  discoveryOptions,
  openSession,
  parsePort,
  parseRate,
  type SwarmFlags,
  startTorrentProgress,
  untilSignal,
} from './download.js';

interface PublishFlags extends SwarmFlags {
  key: string;
  salt?: string;
  v2?: boolean;
  pieceLength?: string;
}

interface FollowFlags extends SwarmFlags {
  output: string;
  salt?: string;
  poll: string;
  once?: boolean;
}

function parseSeconds(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400)
    throw new UsageError(`invalid ${flag} "${text}" (seconds)`);
  return Math.round(n * 1000);
}

/** Registers `key`, `publish` and `follow`. */
export function registerFeedCommands(program: Command): void {
  const key = program.command('key').description('feed keys (ed25519, for `shoal publish`)');
  key
    .command('generate')
    .description('write a new feed key file (mode 0600; never overwrites)')
    .argument('[file]', 'the key file to write', 'feed.key')
    .action(async (file: string) => {
      const feeds = await import('../../session/feeds/index.js');
      const pair = await feeds.writeKeyFile(resolve(file));
      process.stdout.write(`${toHex(pair.publicKey)}\n`);
      process.stderr.write(
        `wrote ${file} (keep it secret; losing it loses the feed)\nfeed: ${feeds.feedMagnet({ publicKey: pair.publicKey, salt: new Uint8Array(0) })}\n`,
      );
    });

  const publish = program
    .command('publish')
    .description('publish a folder as the next version of a feed (BEP 46), then seed it')
    .argument('<dir>', 'the folder to publish')
    .requiredOption('--key <file>', 'the feed key file (`shoal key generate`)')
    .option('--salt <name>', 'publish under this salt: one key, several feeds')
    .option('--v2', 'a v2-only torrent (the item then holds the 32-byte v2 info-hash); default hybrid')
    .option('--piece-length <size>', 'piece length (default: as last time, else automatic)')
    .option('-p, --port <n>', 'TCP port to listen on for peers (0 = any)', '0')
    .option('--peer <host:port>', 'a peer to connect to; repeatable', collect, [])
    .option('--upload-limit <rate>', 'global upload limit, bytes/s (e.g. 500k)');
  addDiscoveryOptions(publish).action(async (dirArg: string, flags: PublishFlags) => {
    if (!flags.dht) throw new UsageError('publishing needs the DHT (drop --no-dht)');
    const feeds = await import('../../session/feeds/index.js');
    const dir = resolve(dirArg);
    const keyFile = resolve(flags.key);
    const keyPair = await feeds.readKeyFile(keyFile);
    const salt = feeds.saltFromName(flags.salt);
    const statePath = feeds.publisherStatePath(keyFile);
    const last = (await feeds.readPublisherState(statePath)).get(toHex(salt));
    let pieceLength = last?.pieceLength;
    if (flags.pieceLength !== undefined) {
      pieceLength = parseSize(flags.pieceLength);
      if (pieceLength === undefined) throw new UsageError(`invalid --piece-length "${flags.pieceLength}"`);
    }
    const session = await openSession({
      port: parsePort(flags.port, '--port'),
      downloadDir: dirname(dir),
      uploadRateLimit: parseRate(flags.uploadLimit, '--upload-limit'),
      ...discoveryOptions(flags, check(flags), undefined),
    });
    session.on('warning', (w) => process.stderr.write(`warning: ${w.message}\n`));
    const signal = untilSignal();
    try {
      process.stderr.write(`hashing ${dir}…\n`);
      const ac = new AbortController();
      void signal.promise.then(() => ac.abort());
      const pub = await session.publish({
        dir,
        keyPair,
        salt,
        version: flags.v2 === true ? 'v2' : 'hybrid',
        ...(pieceLength !== undefined ? { pieceLength } : {}),
        ...(last !== undefined ? { minSeq: last.seq + 1n } : {}),
        signal: ac.signal,
      });
      await feeds.recordPublication(statePath, salt, {
        seq: pub.seq,
        infoHash: toHex(pub.infoHash),
        pieceLength: pub.torrent.metainfo.pieceLength,
        publishedAt: Date.now(),
      });
      pub.on('warning', (w) => process.stderr.write(`warning: ${w.message}\n`));
      addPeers(pub.torrent, check(flags).peers);
      process.stdout.write(`${pub.magnet}\n`);
      process.stderr.write(
        `${pub.isNewVersion ? 'published' : 'unchanged, kept'} version ${pub.seq}: ${pub.torrent.name} (${formatBytes(pub.torrent.metainfo.totalLength)}, ${toHex(pub.infoHash)}), stored on ${pub.put.storedTo} DHT nodes\nseeding on port ${session.port}; press Ctrl-C to stop\n`,
      );
      await signal.promise;
      await pub.close();
    } finally {
      signal.dispose();
      await session.close();
    }
  });

  const follow = program
    .command('follow')
    .description('keep DIR/current at the newest version of a feed (BEP 46)')
    .argument('<feed>', 'the feed: a magnet:?xs=urn:btpk:… link or a public key (64 hex digits)')
    .requiredOption('-o, --output <dir>', 'the folder (DIR/current is the current version)')
    .option('--salt <name>', 'the feed salt (when the link has none)')
    .option('--poll <seconds>', 'how often to look for a new version', '60')
    .option('--once', 'exit once the newest version found is current (like a one-shot sync)')
    .option('-p, --port <n>', 'TCP port to listen on for peers (0 = any)', '0')
    .option('--peer <host:port>', 'a peer to connect to; repeatable', collect, [])
    .option('--download-limit <rate>', 'global download limit, bytes/s (e.g. 2m)')
    .option('--upload-limit <rate>', 'global upload limit, bytes/s (e.g. 500k)');
  addDiscoveryOptions(follow).action(async (feedArg: string, flags: FollowFlags) => {
    if (!flags.dht) throw new UsageError('following needs the DHT (drop --no-dht)');
    const feeds = await import('../../session/feeds/index.js');
    const feed = feeds.parseFeedName(feedArg, feeds.saltFromName(flags.salt));
    const pollIntervalMs = parseSeconds(flags.poll, '--poll');
    const out = resolve(flags.output);
    const stateDir = join(out, '.shoal');
    const session = await openSession({
      port: parsePort(flags.port, '--port'),
      downloadDir: out,
      resumeDir: join(stateDir, 'resume'),
      downloadRateLimit: parseRate(flags.downloadLimit, '--download-limit'),
      uploadRateLimit: parseRate(flags.uploadLimit, '--upload-limit'),
      ...discoveryOptions(flags, check(flags), stateDir),
    });
    session.on('warning', (w) => process.stderr.write(`warning: ${w.message}\n`));
    const signal = untilSignal();
    let f: FeedFollower | undefined;
    let stopProgress = () => {};
    try {
      f = await session.follow({ publicKey: feed.publicKey, salt: feed.salt, dir: out, pollIntervalMs });
      const follower = f;
      follower.on('warning', (w) => process.stderr.write(`warning: ${w.message}\n`));
      follower.on('version:found', (v) =>
        process.stderr.write(`found version ${v.seq} (${v.infoHash}); fetching its metadata…\n`),
      );
      follower.on('version:started', (v) => {
        const t = follower.pendingTorrent();
        process.stderr.write(`downloading version ${v.seq}: ${v.reusedFiles} files unchanged\n`);
        stopProgress();
        if (t === undefined) return;
        addPeers(t, check(flags).peers);
        const p = startTorrentProgress(t, `version ${v.seq}`);
        stopProgress = () => {
          p.stop();
          stopProgress = () => {};
        };
      });
      follower.on('version:switched', (v) => {
        stopProgress();
        process.stdout.write(
          `version ${v.seq} is current (${v.name ?? ''}): ${v.reusedFiles ?? 0} files unchanged, ${v.fetchedFiles ?? 0} fetched, ${v.removedFiles ?? 0} removed, ${formatBytes(v.downloadedBytes ?? 0)} downloaded → ${v.path}\n`,
        );
      });
      follower.on('item:ignored', (e) =>
        process.stderr.write(
          `ignored a feed item with seq ${e.seq}: ${e.reason === 'old-seq' ? 'older than what we have' : 'not a BEP 46 value'}\n`,
        ),
      );
      for (const t of [follower.pendingTorrent(), follower.currentTorrent()])
        if (t !== undefined) addPeers(t, check(flags).peers);
      const cur = follower.current();
      process.stderr.write(
        `following ${follower.magnet} into ${out}${cur === undefined ? '' : ` (current: version ${cur.seq})`}\n`,
      );
      if (flags.once === true) {
        const done = (async () => {
          await follower.check();
          // No await between a test and the wait: a switch cannot slip in unseen.
          while (follower.pending() !== undefined || follower.current() === undefined)
            await follower.next('version:switched');
        })();
        const first = await Promise.race([done.then(() => 'done'), signal.promise]);
        if (first !== 'done') process.exitCode = 130;
        return;
      }
      await signal.promise;
    } finally {
      stopProgress();
      signal.dispose();
      await f?.close();
      await session.close();
    }
  });
}
