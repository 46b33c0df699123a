/**
 * Remote commands to a running `shoal daemon` (like transmission-remote): `shoal add`, `list`,
 * `pause`, `resume`, `verify`, `remove`, `peer add`. Each takes `--url` (default `$SHOAL_URL`, else
 * http://127.0.0.1:9080), `--token` (default `$SHOAL_TOKEN`, else the `token` file of the state
 * folder when readable) and `--json` (machine-readable output). Torrents are named by id, a
 * unique id prefix of 4+ hex digits, or their exact name.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { AddTorrentResult, TorrentSummary } from '../../daemon/api-types.js';
import { DaemonClient, DaemonClientError } from '../../daemon/client.js';
import { defaultStateDir } from '../../daemon/options.js';
import { parseHostPort } from '../../metainfo/index.js';
import { errorLine, formatBytes, formatDuration, UsageError, withContext } from '../output.js';

/** Options every remote command takes. */
export interface RemoteOptions {
  readonly url?: string;
  readonly token?: string;
  readonly state?: string;
  readonly json?: boolean;
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** Adds `--url`, `--token`, `--state` and `--json` to a remote command. */
export function withRemoteOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'daemon URL (default: $SHOAL_URL, else http://127.0.0.1:9080)')
    .option('--token <token>', "API token (default: $SHOAL_TOKEN, else the state folder's token file)")
    .option('--state <dir>', 'state folder to read the token from', undefined)
    .option('--json', 'print JSON');
}

function readToken(state: string): string | undefined {
  try {
    const t = readFileSync(join(state, 'token'), 'utf8').trim();
    return t === '' ? undefined : t;
  } catch {
    return undefined;
  }
}

/** The client for a command's options. */
export function clientFor(o: RemoteOptions): DaemonClient {
  const env = (name: string): string | undefined => (process.env[name] ? process.env[name] : undefined);
  const url = o.url ?? env('SHOAL_URL') ?? 'http://127.0.0.1:9080';
  if (!/^https?:\/\//i.test(url)) throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
  const token = o.token ?? env('SHOAL_TOKEN') ?? readToken(o.state ?? defaultStateDir());
  return new DaemonClient({ url, ...(token !== undefined ? { token } : {}) });
}

function pct(p: number): string {
  return `${(Math.floor(p * 1000) / 10).toFixed(1)}%`;
}

function rate(n: number): string {
  return n === 0 ? '-' : `${formatBytes(n)}/s`;
}

/** States in which nothing moves: no rate or ETA is shown for them, whatever was last measured. */
const STILL = new Set<TorrentSummary['state']>(['error', 'paused', 'queued']);

/** The `shoal list` table; a torrent in error shows why on the line below it. */
export function formatTable(list: readonly TorrentSummary[]): string {
  const rows = list.map((t) => {
    const still = STILL.has(t.state);
    return [
      t.id.slice(0, 8),
      t.state,
      pct(t.progress),
      t.hasMetadata ? formatBytes(t.size) : '?',
      still ? '-' : rate(t.downloadRate),
      still ? '-' : rate(t.uploadRate),
      still ? '-' : String(t.peerCount),
      t.ratio.toFixed(2),
      t.eta === 0 ? 'done' : still || t.eta === null ? '-' : formatDuration(t.eta),
      t.name,
    ];
  });
  const head = ['ID', 'STATE', 'DONE', 'SIZE', 'DOWN', 'UP', 'PEERS', 'RATIO', 'ETA', 'NAME'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = new Set([2, 3, 4, 5, 6, 7, 8]);
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ');
  const out = [line(head)];
  list.forEach((t, i) => {
    out.push(line(rows[i]!));
    if (t.state === 'error') out.push(`    error: ${t.error ?? 'unknown error'}`);
  });
  return out.join('\n');
}

/** A .torrent file's bytes; a file that cannot be read is named with the reason. */
async function readSource(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new UsageError(`cannot read it: ${(e as Error).message}`);
  }
}

/** Prints `json` with `--json`, else `text`. */
export function print(o: RemoteOptions, json: unknown, text: string): void {
  console.log(o.json === true ? JSON.stringify(json, null, 2) : text);
}

/** Adds `shoal add|list|pause|resume|verify|remove|peer add` to the program. */
export function registerRemoteCommands(program: Command): void {
  withRemoteOptions(
    program
      .command('add')
      .description(
        'add torrents to a running daemon: .torrent files, magnet links or http(s) URLs of .torrent files',
      )
      .argument('<sources...>', 'file path, magnet:? link or http(s) URL')
      .option('--download-dir <dir>', 'folder to download into (inside the allowed folders)')
      .option('--paused', 'add without starting')
      .option('--peer <host:port>', 'a peer to try at once (repeatable)', collect, []),
  ).action(
    async (
      sources: string[],
      o: RemoteOptions & { downloadDir?: string; paused?: boolean; peer: string[] },
    ) => {
      const peers = o.peer.map((p) => parseHostPort(p, '--peer'));
      const client = clientFor(o);
      const opts = {
        ...(o.downloadDir !== undefined ? { downloadDir: o.downloadDir } : {}),
        ...(o.paused === true ? { paused: true } : {}),
        ...(peers.length > 0 ? { peers } : {}),
      };
      // Every source is tried: a bad one is named with why, the good ones are still added.
      const results: (
        | AddTorrentResult
        | { source: string; error: { code: string | null; message: string } }
      )[] = [];
      let failed = 0;
      for (const src of sources) {
        let r: AddTorrentResult;
        try {
          r = /^magnet:\?/i.test(src)
            ? await client.addMagnet(src, opts)
            : /^https?:\/\//i.test(src)
              ? await client.addUrl(src, opts)
              : await client.addFile(await readSource(src), opts);
        } catch (e) {
          // No daemon: no point trying the others.
          if (e instanceof DaemonClientError && e.details.status === 0) throw e;
          failed++;
          const err = withContext(src, e);
          const code = (err as { code?: unknown }).code;
          results.push({
            source: src,
            error: { code: typeof code === 'string' ? code : null, message: err.message },
          });
          if (o.json !== true) process.stderr.write(errorLine(err));
          continue;
        }
        results.push(r);
        if (o.json !== true)
          console.log(
            `${r.created ? 'added' : 'already there'}: ${r.torrent.id.slice(0, 8)}  ${r.torrent.name}`,
          );
      }
      if (o.json === true) console.log(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
      if (failed > 0) {
        if (o.json !== true && sources.length > 1)
          process.stderr.write(`shoal: ${failed} of ${sources.length} could not be added\n`);
        process.exitCode = 1;
      }
    },
  );

  withRemoteOptions(
    program.command('list').alias('ls').description("list a running daemon's torrents"),
  ).action(async (o: RemoteOptions) => {
    const list = await clientFor(o).list();
    print(o, list, list.length === 0 ? 'no torrents' : formatTable(list));
  });

  for (const [name, verb, description] of [
    ['pause', 'paused', 'pause torrents (data kept)'],
    ['resume', 'resumed', 'resume paused torrents'],
    ['verify', 'verifying', 'verify the data of torrents on disk'],
  ] as const) {
    withRemoteOptions(
      program
        .command(name)
        .description(description)
        .argument('<torrents...>', 'id, unique id prefix (4+ hex digits) or name'),
    ).action(async (refs: string[], o: RemoteOptions) => {
      const client = clientFor(o);
      const out: TorrentSummary[] = [];
      for (const ref of refs) {
        const t = await client[name](await client.resolveId(ref));
        out.push(t);
        if (o.json !== true) console.log(`${verb}: ${t.id.slice(0, 8)}  ${t.name}  (${t.state})`);
      }
      if (o.json === true) console.log(JSON.stringify(out.length === 1 ? out[0] : out, null, 2));
    });
  }

  const peer = program.command('peer').description("manage a daemon's torrents' peers");
  withRemoteOptions(
    peer
      .command('add')
      .description('give a torrent a peer address to try now and after every daemon restart')
      .argument('<torrent>', 'id, unique id prefix (4+ hex digits) or name')
      .argument('<address>', 'HOST:PORT, or [IPv6]:PORT'),
  ).action(async (ref: string, address: string, o: RemoteOptions) => {
    const p = parseHostPort(address, 'peer');
    const client = clientFor(o);
    const id = await client.resolveId(ref);
    await client.addPeer(id, p.host, p.port);
    const shown = p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`;
    if (o.json === true) console.log(JSON.stringify({ id, peer: { host: p.host, port: p.port } }, null, 2));
    else console.log(`peer added: ${shown} to ${id.slice(0, 8)}`);
  });

  withRemoteOptions(
    program
      .command('remove')
      .alias('rm')
      .description('remove torrents from a running daemon')
      .argument('<torrents...>', 'id, unique id prefix (4+ hex digits) or name')
      .option('--delete-data', "also delete the torrents' files (only inside their download folders)"),
  ).action(async (refs: string[], o: RemoteOptions & { deleteData?: boolean }) => {
    const client = clientFor(o);
    const out = [];
    for (const ref of refs) {
      const r = await client.remove(await client.resolveId(ref), o.deleteData === true);
      out.push(r);
      if (o.json !== true) {
        const extra = o.deleteData === true ? `, ${r.deletedFiles} files deleted` : '';
        console.log(`removed: ${r.id.slice(0, 8)}${extra}`);
        for (const s of r.skippedFiles) console.log(`  kept ${s.path}: ${s.reason}`);
      }
    }
    if (o.json === true) console.log(JSON.stringify(out.length === 1 ? out[0] : out, null, 2));
  });
}
