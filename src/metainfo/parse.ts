/**
 * Parsing .torrent files (BEP 3 v1, BEP 52 v2, and hybrids of both) into a checked `Metainfo`.
 *
 * Owns: every check that stands between untrusted torrent bytes and the rest of Shoal. A
 * `Metainfo` returned from here has safe paths, lengths and piece counts within docs/LIMITS.md,
 * piece hashes of the right sizes, verified v2 piece layers, and (for hybrids) v1 and v2 halves
 * that describe the same files in the same piece space. Anything else throws a `MetainfoError`
 * (or a `BencodeError` for malformed bencode) — never another exception.
 *
 * Flow: size bound → lenient bencode decode (unsorted keys become warnings) → info-hashes over
 * the raw `info` bytes (SHA-1 for v1/hybrid, SHA-256 for v2/hybrid) → `meta version` → piece
 * length → name → v1 file list and `pieces` (info-v1.ts) → v2 `file tree` (info-v2.ts) →
 * hybrid consistency → `piece layers` → path conflicts → trackers, web seeds and other fields.
 */
import {
  asBytes,
  asDict,
  asList,
  type BencodeDict,
  type BencodeValue,
  bytesToUtf8,
  decodeWithInfo,
} from '../codec/index.js';
import { ErrorCode } from '../shared/errors.js';
import { type Hasher, nodeHasher } from '../shared/hash.js';
import { MAX_PIECE_BYTES, MAX_TORRENT_FILE_BYTES, MIN_PIECE_BYTES } from '../shared/limits.js';
import { assertNoPathConflicts, fail, type MutableTorrentFile, WarningLog } from './file-tree.js';
import { parseV1Files, parseV1Pieces, type V1FileList } from './info-v1.js';
import { parseFileTree, parsePieceLayers, type V2FileList } from './info-v2.js';
import { assertSafePathComponent } from './path-safety.js';
import type { Metainfo, TorrentVersion } from './types.js';

/** Options of {@link parseTorrent} and {@link parseInfoDict}. */
export interface ParseTorrentOptions {
  /** Digests for the info-hashes and merkle roots. @default nodeHasher */
  readonly hasher?: Hasher;
}

type MutableMetainfo = { -readonly [K in keyof Metainfo]: Metainfo[K] };

/** The only `meta version` this parser understands (BEP 52). */
const META_VERSION_2 = 2;

function readPieceLength(info: BencodeDict, isV2: boolean): number {
  const field = 'info.piece length';
  const v = info.get('piece length');
  if (v === undefined) fail(ErrorCode.MetainfoInvalid, `${field} is missing`, field);
  if (typeof v === 'bigint') {
    fail(
      v < 0n ? ErrorCode.MetainfoInvalid : ErrorCode.MetainfoTooLarge,
      `${field} ${v} is out of range`,
      field,
    );
  }
  if (typeof v !== 'number') fail(ErrorCode.MetainfoInvalid, `${field} is not an integer`, field);
  if (v <= 0) fail(ErrorCode.MetainfoInvalid, `${field} ${v} is not positive`, field);
  if (v < MIN_PIECE_BYTES)
    fail(ErrorCode.MetainfoInvalid, `${field} ${v} is below ${MIN_PIECE_BYTES}`, field);
  if (v > MAX_PIECE_BYTES)
    fail(ErrorCode.MetainfoTooLarge, `${field} ${v} is above ${MAX_PIECE_BYTES}`, field);
  if (isV2 && (v & (v - 1)) !== 0) {
    fail(ErrorCode.MetainfoInvalid, `${field} ${v} is not a power of two (BEP 52)`, field);
  }
  return v;
}

/** A text field preferring its `.utf-8` variant when that is valid UTF-8. */
function readText(d: BencodeDict, key: string, field: string, log: WarningLog): string | undefined {
  const alt = asBytes(d.get(`${key}.utf-8`));
  const altText = alt === undefined ? undefined : bytesToUtf8(alt);
  if (altText !== undefined) return altText;
  if (d.has(`${key}.utf-8`)) log.add(`${field}.utf-8 is not a valid UTF-8 string; ignored`);
  const v = d.get(key);
  if (v === undefined) return undefined;
  const bytes = asBytes(v);
  const text = bytes === undefined ? undefined : bytesToUtf8(bytes);
  if (text === undefined) log.add(`${field} is not a valid UTF-8 string; ignored`);
  return text;
}

function readName(info: BencodeDict, log: WarningLog): string {
  const alt = asBytes(info.get('name.utf-8'));
  if (alt !== undefined && bytesToUtf8(alt) !== undefined)
    return assertSafePathComponent(alt, 'info.name.utf-8');
  if (info.has('name.utf-8')) log.add('info.name.utf-8 is not a valid UTF-8 string; using name');
  const name = asBytes(info.get('name'));
  if (name === undefined)
    fail(ErrorCode.MetainfoInvalid, 'info.name is missing or not a string', 'info.name');
  return assertSafePathComponent(name, 'info.name');
}

/**
 * Joins the two halves of a hybrid torrent: the v1 files without padding must be the v2 files
 * (same order, paths and lengths), every non-empty file must start where the v2 layout puts it
 * (a piece boundary), and both halves must count the same pieces. Returns the v1 files with the
 * v2 `pieces root`s attached.
 */
function joinHybrid(v1: V1FileList, v1PieceCount: number, v2: V2FileList): MutableTorrentFile[] {
  const real = v1.files.map((f, i) => ({ f, i })).filter(({ f }) => !f.isPadding);
  if (real.length !== v2.files.length) {
    fail(
      ErrorCode.MetainfoInvalid,
      `hybrid torrent lists ${real.length} v1 files but ${v2.files.length} v2 files`,
      'info.files',
    );
  }
  if (v1.isSingleFile !== v2.isSingleFile) {
    fail(ErrorCode.MetainfoInvalid, 'hybrid torrent is single-file in one half only', 'info.file tree');
  }
  const out = v1.files.map((f) => ({ ...f }));
  for (let k = 0; k < real.length; k++) {
    const { f, i } = real[k]!;
    const g = v2.files[k]!;
    const field = v1.isSingleFile ? 'info.length' : `info.files[${i}]`;
    const samePath = f.path.length === g.path.length && f.path.every((c, j) => c === g.path[j]);
    if (!samePath || f.length !== g.length) {
      fail(
        ErrorCode.MetainfoInvalid,
        `hybrid torrent: v1 file ${JSON.stringify(f.path.join('/'))} (${f.length} bytes) does not match ` +
          `v2 file ${JSON.stringify(g.path.join('/'))} (${g.length} bytes)`,
        field,
      );
    }
    if (f.length > 0 && f.offset !== g.offset) {
      fail(
        ErrorCode.MetainfoInvalid,
        `hybrid torrent: file ${JSON.stringify(f.path.join('/'))} starts at ${f.offset}, not on the piece ` +
          `boundary ${g.offset} where v2 puts it (missing or wrong BEP 47 padding)`,
        field,
      );
    }
    if (g.piecesRoot !== undefined) out[i]!.piecesRoot = g.piecesRoot;
  }
  if (v1PieceCount !== v2.pieceCount) {
    fail(
      ErrorCode.MetainfoInvalid,
      `hybrid torrent has ${v1PieceCount} v1 pieces but ${v2.pieceCount} v2 pieces`,
      'info.pieces',
    );
  }
  return out;
}

/**
 * Parses a decoded info dictionary. `layers` is the outer `piece layers` value (required for v2
 * when `requireLayers`).
 */
function parseInfo(
  info: BencodeDict,
  infoBytes: Uint8Array,
  layers: BencodeValue | undefined,
  requireLayers: boolean,
  hasher: Hasher,
  log: WarningLog,
): MutableMetainfo {
  // BEP 52: check the version before anything else.
  const metaVersion = info.get('meta version');
  if (metaVersion !== undefined && metaVersion !== META_VERSION_2) {
    const shown =
      typeof metaVersion === 'number' || typeof metaVersion === 'bigint'
        ? String(metaVersion)
        : 'non-integer';
    fail(ErrorCode.MetainfoInvalid, `unsupported meta version ${shown}`, 'info.meta version');
  }
  const isV2 = metaVersion === META_VERSION_2;
  if (isV2 && !info.has('file tree')) {
    fail(ErrorCode.MetainfoInvalid, 'meta version 2 torrent has no file tree', 'info.file tree');
  }
  if (!isV2 && info.has('file tree')) {
    fail(ErrorCode.MetainfoInvalid, 'info has a file tree but no meta version 2', 'info.meta version');
  }
  const hasV1 = !isV2 || info.has('pieces');
  if (isV2 && !hasV1 && (info.has('files') || info.has('length'))) {
    log.add('v2 torrent has v1 files or length but no pieces; they are ignored');
  }
  const version: TorrentVersion = isV2 ? (hasV1 ? 'hybrid' : 'v2') : 'v1';
  const pieceLength = readPieceLength(info, isV2);
  const name = readName(info, log);

  let v1: V1FileList | undefined;
  let v1Pieces: { pieces: Uint8Array; pieceCount: number } | undefined;
  if (hasV1) {
    v1 = parseV1Files(info, name, log);
    v1Pieces = parseV1Pieces(info, pieceLength, v1.spanLength);
  }
  const v2 = isV2 ? parseFileTree(info.get('file tree'), info.has('files'), pieceLength, log) : undefined;

  let files: MutableTorrentFile[];
  let pieceCount: number;
  let isSingleFile: boolean;
  if (v1 !== undefined && v1Pieces !== undefined) {
    files = v2 === undefined ? v1.files : joinHybrid(v1, v1Pieces.pieceCount, v2);
    pieceCount = v1Pieces.pieceCount;
    isSingleFile = v1.isSingleFile;
  } else {
    files = v2!.files;
    pieceCount = v2!.pieceCount;
    isSingleFile = v2!.isSingleFile;
  }

  let totalLength = 0;
  for (const f of files) if (!f.isPadding) totalLength += f.length;
  if (totalLength === 0) fail(ErrorCode.MetainfoInvalid, 'torrent holds no data (total length 0)', 'info');
  assertNoPathConflicts(files, (i) =>
    version === 'v2'
      ? `info.file tree/${files[i]!.path.join('/')}`
      : isSingleFile
        ? 'info.name'
        : `info.files[${i}]`,
  );
  const pieceLayers = isV2
    ? parsePieceLayers(layers, files, pieceLength, requireLayers, hasher, log)
    : new Map<string, Uint8Array>();

  const m: MutableMetainfo = {
    version,
    name,
    pieceLength,
    pieceCount,
    isSingleFile,
    files,
    totalLength,
    pieceLayers,
    isPrivate: info.get('private') === 1,
    trackers: [],
    webSeeds: [],
    infoBytes,
    warnings: [],
  };
  if (hasV1) m.infoHashV1 = hasher.digest('sha1', infoBytes);
  if (isV2) m.infoHashV2 = hasher.digest('sha256', infoBytes);
  if (v1Pieces !== undefined) m.pieces = v1Pieces.pieces;
  return m;
}

/** A tracker or web seed URL: a UTF-8 string, trimmed, non-empty. */
function readUrl(v: BencodeValue | undefined): string | undefined {
  const b = asBytes(v);
  const text = b === undefined ? undefined : bytesToUtf8(b)?.trim();
  return text === undefined || text.length === 0 ? undefined : text;
}

/** BEP 12 tiers from `announce-list`, else one tier of `announce`; bad entries are dropped. */
function readTrackers(root: BencodeDict, log: WarningLog): string[][] {
  const tiers: string[][] = [];
  const seen = new Set<string>();
  const list = asList(root.get('announce-list'));
  if (root.has('announce-list') && list === undefined) log.add('announce-list is not a list; ignored');
  let dropped = 0;
  for (const tierValue of list ?? []) {
    const tier: string[] = [];
    // Some creators write a flat list of strings instead of a list of tiers.
    for (const entry of asList(tierValue) ?? [tierValue]) {
      const url = readUrl(entry);
      if (url === undefined) dropped++;
      else if (!seen.has(url)) {
        seen.add(url);
        tier.push(url);
      }
    }
    if (tier.length > 0) tiers.push(tier);
  }
  if (dropped > 0)
    log.add(`announce-list: ${dropped} entries that are not non-empty UTF-8 strings were dropped`);
  if (tiers.length === 0) {
    const url = readUrl(root.get('announce'));
    if (url !== undefined) tiers.push([url]);
    else if (root.has('announce')) log.add('announce is not a non-empty UTF-8 string; ignored');
  }
  return tiers;
}

/** BEP 19 `url-list` or BEP 17 `httpseeds`: a string or a list of strings. */
function readWebSeeds(root: BencodeDict, key: 'url-list' | 'httpseeds'): string[] {
  const v = root.get(key);
  const out = new Set<string>();
  for (const entry of asList(v) ?? (v === undefined ? [] : [v])) {
    const url = readUrl(entry);
    if (url !== undefined) out.add(url);
  }
  return [...out];
}

function decodeDict(bytes: Uint8Array, what: string, log: WarningLog): BencodeDict {
  if (bytes.length > MAX_TORRENT_FILE_BYTES) {
    fail(
      ErrorCode.MetainfoTooLarge,
      `${what} of ${bytes.length} bytes is larger than ${MAX_TORRENT_FILE_BYTES}`,
      what,
    );
  }
  const { value, warnings } = decodeWithInfo(bytes, { mode: 'lenient' });
  for (const w of warnings) log.add(w.message);
  const dict = asDict(value);
  if (dict === undefined) fail(ErrorCode.MetainfoInvalid, `${what} is not a bencoded dictionary`, what);
  return dict;
}

/**
 * Parses and validates a .torrent file (BEP 3, BEP 12, BEP 19, BEP 27, BEP 47, BEP 52).
 * Bytes longer than MAX_TORRENT_FILE_BYTES are rejected before decoding. Unsorted or duplicated
 * keys are tolerated and reported in `warnings`; the info-hashes are over the raw `info` bytes.
 * Throws `MetainfoError` (with `code` and `field`) for an invalid or unsafe torrent and
 * `BencodeError` for malformed bencode; nothing else for any input.
 */
export function parseTorrent(bytes: Uint8Array, opts: ParseTorrentOptions = {}): Metainfo {
  const log = new WarningLog();
  const root = decodeDict(bytes, 'torrent', log);
  const info = asDict(root.get('info'));
  if (info === undefined) fail(ErrorCode.MetainfoInvalid, 'torrent has no info dictionary', 'info');
  const infoBytes = root.raw('info')!;
  const m = parseInfo(info, infoBytes, root.get('piece layers'), true, opts.hasher ?? nodeHasher, log);
  m.trackers = readTrackers(root, log);
  m.webSeeds = readWebSeeds(root, 'url-list');
  const httpSeeds = readWebSeeds(root, 'httpseeds');
  if (httpSeeds.length > 0) m.httpSeeds = httpSeeds;
  const comment = readText(root, 'comment', 'comment', log);
  if (comment !== undefined) m.comment = comment;
  const createdBy = readText(root, 'created by', 'created by', log);
  if (createdBy !== undefined) m.createdBy = createdBy;
  const date = root.get('creation date');
  if (typeof date === 'number' && date >= 0) m.creationDate = date;
  else if (date !== undefined) log.add('creation date is not a non-negative integer; ignored');
  m.warnings = log.list();
  return m;
}

/**
 * Parses a bare info dictionary, as fetched from peers for a magnet link (BEP 9 ut_metadata):
 * the same checks as {@link parseTorrent}, with no trackers or web seeds, and with an empty
 * `pieceLayers` for v2 (the hashes then come from peers, BEP 52 hash requests). The caller
 * compares the returned info-hashes with the magnet's.
 */
export function parseInfoDict(infoBytes: Uint8Array, opts: ParseTorrentOptions = {}): Metainfo {
  const log = new WarningLog();
  const info = decodeDict(infoBytes, 'info', log);
  const m = parseInfo(info, infoBytes, undefined, false, opts.hasher ?? nodeHasher, log);
  m.warnings = log.list();
  return m;
}
