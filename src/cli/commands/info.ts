import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  buildMagnet,
  explainTorrentError,
  type MagnetLink,
  type Metainfo,
  magnetFromMetainfo,
  parseMagnet,
  parseTorrent,
  userFiles,
} from '../../metainfo/index.js';
import { isShoalError, ShoalError } from '../../shared/errors.js';
import { toHex } from '../../shared/hash.js';
import { MAX_TORRENT_FILE_BYTES } from '../../shared/limits.js';
import { formatBytes, UsageError } from '../output.js';

/**
 * Loads a .torrent file or parses a magnet URI. A file that is not a usable torrent is named in
 * the error with what is wrong in plain words; the code of the parser's error is kept.
 */
export async function loadTorrentOrMagnet(
  source: string,
): Promise<
  { kind: 'torrent'; metainfo: Metainfo; bytes: Uint8Array } | { kind: 'magnet'; magnet: MagnetLink }
> {
  if (source.startsWith('magnet:')) return { kind: 'magnet', magnet: parseMagnet(source) };
  let bytes: Buffer;
  try {
    const st = await stat(source);
    if (st.size > MAX_TORRENT_FILE_BYTES) {
      throw new UsageError(`${source}: ${formatBytes(st.size)} is too large for a .torrent file`);
    }
    bytes = await readFile(source);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read ${source}: ${(e as Error).message}`);
  }
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  try {
    return { kind: 'torrent', metainfo: parseTorrent(u8), bytes: u8 };
  } catch (e) {
    if (!isShoalError(e)) throw e;
    throw new ShoalError(e.code, `${source}: ${explainTorrentError(e)}`, e.details, { cause: e });
  }
}

/** The JSON shape printed by `shoal info --json`. */
export function metainfoToJson(m: Metainfo) {
  return {
    name: m.name,
    version: m.version,
    infoHashV1: m.infoHashV1 === undefined ? null : toHex(m.infoHashV1),
    infoHashV2: m.infoHashV2 === undefined ? null : toHex(m.infoHashV2),
    pieceLength: m.pieceLength,
    pieceCount: m.pieceCount,
    totalLength: m.totalLength,
    private: m.isPrivate,
    // `index` is the file number `--only`, the daemon's API and /stream use (padding files not counted).
    files: userFiles(m).map((u) => ({
      index: u.number,
      path: u.path,
      length: u.file.length,
      ...(u.file.piecesRoot === undefined ? {} : { piecesRoot: toHex(u.file.piecesRoot) }),
    })),
    trackers: m.trackers.map((t) => [...t]),
    webSeeds: [...m.webSeeds],
    comment: m.comment ?? null,
    createdBy: m.createdBy ?? null,
    creationDate: m.creationDate ?? null,
    magnet: buildMagnet(magnetFromMetainfo(m)),
    warnings: [...m.warnings],
  };
}

function magnetToJson(l: MagnetLink) {
  return {
    infoHashV1: l.infoHashV1 === undefined ? null : toHex(l.infoHashV1),
    infoHashV2: l.infoHashV2 === undefined ? null : toHex(l.infoHashV2),
    name: l.name ?? null,
    trackers: [...l.trackers],
    webSeeds: [...l.webSeeds],
    peers: l.peers.map((p) => `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`),
    selectOnly: l.selectOnly === undefined ? null : [...l.selectOnly],
  };
}

/** Human-readable description of a torrent. */
export function formatMetainfo(m: Metainfo): string {
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`${`${k}:`.padEnd(14)}${v}`);
  row('name', m.name);
  row('format', m.version);
  if (m.infoHashV1 !== undefined) row('info-hash v1', toHex(m.infoHashV1));
  if (m.infoHashV2 !== undefined) row('info-hash v2', toHex(m.infoHashV2));
  row('size', `${formatBytes(m.totalLength)} (${m.totalLength} bytes)`);
  row('pieces', `${m.pieceCount} × ${formatBytes(m.pieceLength)}`);
  if (m.isPrivate) row('private', 'yes');
  if (m.comment !== undefined) row('comment', m.comment);
  if (m.createdBy !== undefined) row('created by', m.createdBy);
  if (m.creationDate !== undefined) row('created', new Date(m.creationDate * 1000).toISOString());
  const files = userFiles(m);
  lines.push(`files (${files.length}; the numbers are what \`download --only\` takes):`);
  const width = String(Math.max(0, files.length - 1)).length;
  for (const u of files) {
    const root = u.file.piecesRoot === undefined ? '' : `  root ${toHex(u.file.piecesRoot)}`;
    lines.push(
      `  ${String(u.number).padStart(width)}  ${formatBytes(u.file.length).padStart(10)}  ${u.path}${root}`,
    );
  }
  if (m.trackers.length > 0) {
    lines.push('trackers:');
    m.trackers.forEach((tier, i) => {
      for (const url of tier) lines.push(`  [tier ${i}] ${url}`);
    });
  }
  if (m.webSeeds.length > 0) {
    lines.push('web seeds:');
    for (const w of m.webSeeds) lines.push(`  ${w}`);
  }
  for (const w of m.warnings) lines.push(`warning: ${w}`);
  row('magnet', buildMagnet(magnetFromMetainfo(m)));
  return lines.join('\n');
}

function formatMagnet(l: MagnetLink): string {
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`${`${k}:`.padEnd(14)}${v}`);
  row('name', l.name ?? '(unknown until metadata is fetched)');
  if (l.infoHashV1 !== undefined) row('info-hash v1', toHex(l.infoHashV1));
  if (l.infoHashV2 !== undefined) row('info-hash v2', toHex(l.infoHashV2));
  for (const t of l.trackers) row('tracker', t);
  for (const w of l.webSeeds) row('web seed', w);
  for (const p of magnetToJson(l).peers) row('peer', p);
  if (l.selectOnly !== undefined) row('select only', l.selectOnly.join(','));
  return lines.join('\n');
}

export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description('show what a .torrent file or a magnet link holds')
    .argument('<source>', 'a .torrent file or a magnet: URI')
    .option('--json', 'print JSON')
    .action(async (source: string, opts: { json?: boolean }) => {
      const loaded = await loadTorrentOrMagnet(source);
      if (loaded.kind === 'torrent') {
        const m = loaded.metainfo;
        process.stdout.write(
          opts.json ? `${JSON.stringify(metainfoToJson(m), null, 2)}\n` : `${formatMetainfo(m)}\n`,
        );
      } else {
        const l = loaded.magnet;
        process.stdout.write(
          opts.json ? `${JSON.stringify({ magnet: magnetToJson(l) }, null, 2)}\n` : `${formatMagnet(l)}\n`,
        );
      }
    });
}
