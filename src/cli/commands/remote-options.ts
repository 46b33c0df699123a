/**
 * Remote commands for a daemon's queue, limits and settings (like transmission-remote):
 * - `shoal set <torrent…> --download-limit 500k --upload-limit 0 --priority high --seed-ratio 2
 *   --seed-idle 30` (a torrent's own limits; `--seed-ratio global` follows the daemon's again);
 * - `shoal queue <torrent> up|down|top|bottom|N`; `shoal move <torrent> <folder>`;
 * - `shoal settings [--max-active-downloads N] [--encryption require] …` (no flag: show them);
 * - `shoal blocklist reload`, `shoal peer log <torrent>`, `shoal bans`.
 */
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { SettingsInfo, TorrentDetails } from '../../daemon/api-types.js';
import type { SettingsChange } from '../../daemon/settings.js';
import type { TorrentOptionsChange } from '../../daemon/torrent-options.js';
import { formatBytes, parseRate, UsageError } from '../output.js';
import { clockTime, formatPeerEvent } from '../peer-events.js';
import { parseEncryption, parseProxyUrl } from './network-flags.js';
import { clientFor, print, type RemoteOptions, withRemoteOptions } from './remote.js';

const PRIORITIES = ['low', 'normal', 'high'] as const;
const MOVES = ['up', 'down', 'top', 'bottom'] as const;

function parseCount(): (v: string) => number {
  return (v: string): number => {
    if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError('expected a whole number (0 = no limit)');
    return Number(v);
  };
}

/** `global` (kept as such: commander turns a parser's null into '') means the daemon's setting. */
function parseRatio(v: string): number | 'global' {
  if (v === 'global') return 'global';
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('expected a ratio ≥ 0 (0 = never), or "global"');
  return n;
}

function parseMinutes(v: string): number | 'global' {
  if (v === 'global') return 'global';
  if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError('expected whole minutes (0 = never), or "global"');
  return Number(v);
}

/** A daemon-wide limit: like a torrent's, without "global". */
function daemonWide(parse: (v: string) => number | 'global'): (v: string) => number {
  return (v) => {
    const n = parse(v);
    if (n === 'global') throw new InvalidArgumentError('expected a number ≥ 0 (0 = never)');
    return n;
  };
}

function parsePriority(v: string): (typeof PRIORITIES)[number] {
  if (!(PRIORITIES as readonly string[]).includes(v))
    throw new InvalidArgumentError(`expected one of ${PRIORITIES.join(', ')}`);
  return v as (typeof PRIORITIES)[number];
}

const limit = (n: number) => (n === 0 ? 'unlimited' : `${formatBytes(n)}/s`);
const never = (n: number, unit = '') => (n === 0 ? 'none' : `${n}${unit}`);

/** A torrent's own options in words. */
export function describeOptions(d: TorrentDetails): string {
  const o = d.options;
  return [
    `down ${limit(o.downloadLimit)}`,
    `up ${limit(o.uploadLimit)}`,
    `priority ${o.priority}`,
    `seed ratio ${o.seedRatioLimit === null ? 'global' : never(o.seedRatioLimit)}`,
    `seed idle ${o.seedIdleLimitMinutes === null ? 'global' : never(o.seedIdleLimitMinutes, ' min')}`,
  ].join(', ');
}

/** The daemon's settings, one per line. */
export function formatSettings(s: SettingsInfo): string {
  const b = s.blocklist;
  const blocklist =
    s.blocklistPath === null
      ? 'none'
      : `${s.blocklistPath} (${b.ranges} ranges${b.malformed > 0 ? `, ${b.malformed} malformed lines` : ''}${b.error !== null ? `; last load failed: ${b.error}` : ''})`;
  const p = s.proxy;
  const proxy =
    p === null
      ? 'none'
      : `socks5://${p.username !== null ? `${p.username}:***@` : ''}${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}${p.onlyProxy ? '' : ' (DHT and LSD direct)'}`;
  const rows: [string, string][] = [
    ['download limit', limit(s.downloadRateLimit)],
    ['upload limit', limit(s.uploadRateLimit)],
    ['max active downloads', s.maxActiveDownloads === 0 ? 'no limit' : String(s.maxActiveDownloads)],
    ['max active seeds', s.maxActiveSeeds === 0 ? 'no limit' : String(s.maxActiveSeeds)],
    ['seed ratio limit', never(s.seedRatioLimit)],
    ['seed idle limit', never(s.seedIdleLimitMinutes, ' min')],
    ['encryption', s.encryption],
    ['blocklist', blocklist],
    ['proxy', `${proxy}${s.restartRequired ? ' (a change applies at the next start)' : ''}`],
    [
      'watch folder',
      s.watchDir === null
        ? 'none'
        : `${s.watchDir} (added files ${s.watchDirAction === 'delete' ? 'deleted' : 'renamed .added'})`,
    ],
    ['download folder', s.downloadDir],
    ['incomplete folder', s.incompleteDir ?? 'none'],
    ['preallocation', s.preallocation],
    ['peer port', String(s.peerPort)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

interface SetFlags extends RemoteOptions {
  downloadLimit?: string;
  uploadLimit?: string;
  priority?: (typeof PRIORITIES)[number];
  seedRatio?: number | 'global';
  seedIdle?: number | 'global';
}

interface SettingsFlags extends RemoteOptions {
  downloadLimit?: string;
  uploadLimit?: string;
  maxActiveDownloads?: number;
  maxActiveSeeds?: number;
  seedRatio?: number;
  seedIdle?: number;
  encryption?: SettingsChange['encryption'];
  blocklist?: string;
  proxy?: string;
  watchDir?: string;
  watchAction?: 'rename' | 'delete';
  incompleteDir?: string;
  preallocation?: string;
}

/** `none` (or an empty value) clears a path setting; other paths are made absolute. */
const pathOrNone = (v: string): string | null => (v === 'none' || v === '' ? null : resolve(v));

/**
 * Adds `set`, `queue`, `settings`, `blocklist reload`, `peer log` and `bans` (after
 * `registerRemoteCommands`, whose `peer` group gets `log`).
 */
export function registerRemoteOptionCommands(program: Command): void {
  const peer =
    program.commands.find((c) => c.name() === 'peer') ??
    program.command('peer').description("manage a daemon's torrents' peers");
  withRemoteOptions(
    program
      .command('set')
      .description("set torrents' own speed limits, bandwidth priority and seed limits")
      .argument('<torrents...>', 'id, unique id prefix (4+ hex digits) or name')
      .option(
        '--download-limit <rate>',
        'its own download limit, bytes/s (500k, 2m; 0 = only the global limit)',
      )
      .option('--upload-limit <rate>', 'its own upload limit, bytes/s (0 = only the global limit)')
      .option('--priority <level>', `bandwidth priority: ${PRIORITIES.join(', ')}`, parsePriority)
      .option(
        '--seed-ratio <n>',
        'stop seeding at this ratio (0 = never; "global" = the daemon\'s setting)',
        parseRatio,
      )
      .option(
        '--seed-idle <minutes>',
        'stop seeding after this many idle minutes (0 = never; "global")',
        parseMinutes,
      ),
  ).action(async (refs: string[], o: SetFlags) => {
    const change: { -readonly [K in keyof TorrentOptionsChange]: TorrentOptionsChange[K] } = {};
    if (o.downloadLimit !== undefined) change.downloadLimit = parseRate(o.downloadLimit, '--download-limit');
    if (o.uploadLimit !== undefined) change.uploadLimit = parseRate(o.uploadLimit, '--upload-limit');
    if (o.priority !== undefined) change.priority = o.priority;
    if (o.seedRatio !== undefined) change.seedRatioLimit = o.seedRatio === 'global' ? null : o.seedRatio;
    if (o.seedIdle !== undefined) change.seedIdleLimitMinutes = o.seedIdle === 'global' ? null : o.seedIdle;
    if (Object.keys(change).length === 0)
      throw new UsageError(
        'give at least one of --download-limit, --upload-limit, --priority, --seed-ratio, --seed-idle',
      );
    const client = clientFor(o);
    const out: TorrentDetails[] = [];
    for (const ref of refs) {
      const d = await client.setOptions(await client.resolveId(ref), change);
      out.push(d);
      if (o.json !== true) console.log(`set: ${d.id.slice(0, 8)}  ${d.name}  (${describeOptions(d)})`);
    }
    if (o.json === true) console.log(JSON.stringify(out.length === 1 ? out[0] : out, null, 2));
  });

  withRemoteOptions(
    program
      .command('queue')
      .description("move a torrent in the queue (the first ones run within the daemon's active limits)")
      .argument('<torrent>', 'id, unique id prefix (4+ hex digits) or name')
      .argument('<where>', `${MOVES.join(', ')}, or a position (0 = first)`),
  ).action(async (ref: string, where: string, o: RemoteOptions) => {
    let how: (typeof MOVES)[number] | number;
    if ((MOVES as readonly string[]).includes(where)) how = where as (typeof MOVES)[number];
    else if (/^\d{1,9}$/.test(where)) how = Number(where);
    else
      throw new UsageError(`where to move it: ${MOVES.join(', ')} or a position (0 = first), got "${where}"`);
    const client = clientFor(o);
    const t = await client.moveInQueue(await client.resolveId(ref), how);
    print(
      o,
      t,
      `queue: ${t.id.slice(0, 8)}  ${t.name}  now at position ${t.queuePosition}${t.queuePosition === 0 ? ' (first)' : ''}  (${t.state})`,
    );
  });

  withRemoteOptions(
    program
      .command('move')
      .description(
        "move a torrent's data to another folder while it runs (inside the daemon's allowed folders)",
      )
      .argument('<torrent>', 'id, unique id prefix (4+ hex digits) or name')
      .argument(
        '<folder>',
        "the new folder, as the daemon's machine sees it (relative: below its download folder)",
      ),
  ).action(async (ref: string, folder: string, o: RemoteOptions) => {
    const client = clientFor(o);
    const t = await client.moveStorage(await client.resolveId(ref), folder);
    print(o, t, `moved: ${t.id.slice(0, 8)}  ${t.name}  now in ${t.downloadDir}  (${t.state})`);
  });

  withRemoteOptions(
    program
      .command('settings')
      .description("show or change a daemon's settings (kept across restarts)")
      .option('--download-limit <rate>', 'global download limit, bytes/s (0 = unlimited)')
      .option('--upload-limit <rate>', 'global upload limit, bytes/s (0 = unlimited)')
      .option(
        '--max-active-downloads <n>',
        'torrents downloading at once (0 = no limit; default 5)',
        parseCount(),
      )
      .option('--max-active-seeds <n>', 'torrents seeding at once (0 = no limit)', parseCount())
      .option('--seed-ratio <n>', 'seeding stops at this ratio (0 = never)', daemonWide(parseRatio))
      .option(
        '--seed-idle <minutes>',
        'seeding stops after this many idle minutes (0 = never)',
        daemonWide(parseMinutes),
      )
      .option('--encryption <policy>', 'disabled, enabled, prefer or require', parseEncryption)
      .option('--blocklist <file>', 'IP blocklist file (.p2p, ipfilter.dat, CIDR lines); "none" removes it')
      .option(
        '--proxy <url>',
        'socks5://[user:pass@]host:port for peers and trackers (at the next start); "none"',
      )
      .option('--watch-dir <dir>', 'add the .torrent files that appear in this folder; "none" stops')
      .option('--watch-action <what>', 'what becomes of an added file: rename (to .added) or delete')
      .option(
        '--incomplete-dir <dir>',
        'new torrents download here and move to their download folder once complete; "none"',
      )
      .option('--preallocation <mode>', 'sparse, or full (space reserved when a torrent is added)'),
  ).action(async (o: SettingsFlags) => {
    const change: { -readonly [K in keyof SettingsChange]: SettingsChange[K] } = {};
    if (o.downloadLimit !== undefined)
      change.downloadRateLimit = parseRate(o.downloadLimit, '--download-limit');
    if (o.uploadLimit !== undefined) change.uploadRateLimit = parseRate(o.uploadLimit, '--upload-limit');
    if (o.maxActiveDownloads !== undefined) change.maxActiveDownloads = o.maxActiveDownloads;
    if (o.maxActiveSeeds !== undefined) change.maxActiveSeeds = o.maxActiveSeeds;
    if (o.seedRatio !== undefined) change.seedRatioLimit = o.seedRatio;
    if (o.seedIdle !== undefined) change.seedIdleLimitMinutes = o.seedIdle;
    if (o.encryption !== undefined) change.encryption = o.encryption;
    if (o.blocklist !== undefined) change.blocklistPath = pathOrNone(o.blocklist);
    if (o.watchDir !== undefined) change.watchDir = pathOrNone(o.watchDir);
    if (o.watchAction !== undefined) {
      if (o.watchAction !== 'rename' && o.watchAction !== 'delete')
        throw new UsageError(`--watch-action: rename or delete, got "${o.watchAction}"`);
      change.watchDirAction = o.watchAction;
    }
    if (o.incompleteDir !== undefined) change.incompleteDir = pathOrNone(o.incompleteDir);
    if (o.preallocation !== undefined) {
      if (o.preallocation !== 'sparse' && o.preallocation !== 'full')
        throw new UsageError(`--preallocation: sparse or full, got "${o.preallocation}"`);
      change.preallocation = o.preallocation;
    }
    if (o.proxy !== undefined) {
      if (o.proxy === 'none') change.proxy = null;
      else {
        const { type: _t, ...p } = parseProxyUrl(o.proxy);
        change.proxy = p;
      }
    }
    const client = clientFor(o);
    const s = Object.keys(change).length === 0 ? await client.settings() : await client.setSettings(change);
    print(o, s, formatSettings(s));
  });

  const blocklist = program.command('blocklist').description("a daemon's IP blocklist");
  withRemoteOptions(
    blocklist.command('reload').description('read the blocklist file again (after it changed on disk)'),
  ).action(async (o: RemoteOptions) => {
    const b = await clientFor(o).reloadBlocklist();
    print(
      o,
      b,
      `blocklist reloaded: ${b.path} (${b.ranges} ranges${b.malformed > 0 ? `, ${b.malformed} malformed lines skipped` : ''})`,
    );
  });

  withRemoteOptions(
    peer
      .command('log')
      .description(
        "a torrent's recent peer events: connects, disconnects and refusals with reasons, hash failures, bans",
      )
      .argument('<torrent>', 'id, unique id prefix (4+ hex digits) or name'),
  ).action(async (ref: string, o: RemoteOptions) => {
    const client = clientFor(o);
    const entries = await client.peerLog(await client.resolveId(ref));
    print(o, entries, entries.length === 0 ? 'no peer events yet' : entries.map(formatPeerEvent).join('\n'));
  });

  withRemoteOptions(
    program.command('bans').description('addresses a daemon banned (for every torrent) and on what evidence'),
  ).action(async (o: RemoteOptions) => {
    const bans = await clientFor(o).bans();
    print(
      o,
      bans,
      bans.length === 0
        ? 'no bans'
        : bans.map((b) => `${clockTime(b.at)} ${b.address}: ${b.reason}`).join('\n'),
    );
  });
}
