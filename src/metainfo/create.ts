/**
 * Building a new torrent: file layout and the .torrent bytes (BEP 3 v1, BEP 52 v2, hybrids).
 *
 * Pure: the caller lists the files (path components and lengths), hashes the pieces (see
 * `src/storage/create-torrent.ts`, which drives a worker pool) and passes the digests back in.
 * Two steps:
 *
 * 1. {@link planLayout} sorts the files into v2 `file tree` order — by the raw UTF-8 bytes of
 *    each path component, depth first, which is lexicographic order on the component lists — and
 *    uses the same order for v1 so that a hybrid's two views line up. For hybrids it inserts
 *    BEP 47 padding files (`attr` "p", path `.pad/<N>`) so that every file starts on a piece
 *    boundary, placed exactly as libtorrent 2.0 places them (see {@link LayoutOptions.tailPadding}),
 *    so libtorrent computes the same info-hashes from the same files.
 * 2. {@link buildTorrent} turns the layout and the piece digests into the bencoded torrent:
 *    the v1 `pieces`, the v2 `file tree` with each file's `pieces root`, `piece layers` for every
 *    file larger than one piece, and the info-hashes.
 *
 * Piece space: v1 and hybrid pieces are cut from the concatenation of all files, padding files
 * included (their bytes are zeros). For v2-only torrents every file starts on a piece boundary
 * of its own (BEP 52), with nothing stored in between. Either way piece `k` of a v2 or hybrid
 * torrent holds data of exactly one file, which is what lets one pass produce both hashes.
 */

import { type Encodable, encode } from '../codec/index.js';
import { ErrorCode } from '../shared/errors.js';
import { type Hasher, nodeHasher, toHex } from '../shared/hash.js';
import {
  BLOCK_BYTES,
  MAX_PATH_DEPTH,
  MAX_TORRENT_FILES,
  MAX_TORRENT_PIECES,
  MAX_TORRENT_TOTAL_BYTES,
} from '../shared/limits.js';
import { MetainfoError } from './errors.js';
import { blockCount, fileRootFromPieceLayer, nextPow2 } from './merkle.js';
import { unsafePathComponentReason } from './path-safety.js';
import { assertPieceLength } from './piece-size.js';
import type { TorrentFile, TorrentVersion, TrackerTiers } from './types.js';

/** The `created by` Shoal writes unless told otherwise. */
export const SHOAL_CREATED_BY = 'Shoal/0.1.0';

const SHA1_BYTES = 20;
const SHA256_BYTES = 32;

/** One file to put in a torrent. */
export interface CreateFileEntry {
  /** Path components below the torrent's folder (ignored for the single-file form). */
  readonly path: readonly string[];
  /** Length in bytes. */
  readonly length: number;
}

/** How to lay the files out. */
export interface LayoutOptions {
  /** The torrent's `name`: the folder name, or the file name in the single-file form. */
  readonly name: string;
  /** Piece length in bytes: a power of two ≥ 16 KiB (see `piece-size.ts`). */
  readonly pieceLength: number;
  readonly version: TorrentVersion;
  /**
   * The v1 single-file form (`length` instead of `files`; BEP 3): exactly one file, whose path
   * becomes `[name]`. v2 puts it in the file tree as `{name: {"": …}}` (BEP 52).
   */
  readonly isSingleFile: boolean;
  /**
   * Hybrid padding placement (BEP 47, BEP 52). `true`: a padding file follows every file whose
   * length is not a multiple of the piece length, the last one included, unless the torrent has
   * a single file — libtorrent ≥ 2.0.4's default and what BEP 52's reference creator does.
   * `false`: a padding file goes right before each non-empty file that would not start on a
   * piece boundary, so nothing pads the end — libtorrent's `canonical_files_no_tail_padding`.
   * The two give different v1 info-hashes (the v2 one is the same).
   * @default true
   */
  readonly tailPadding?: boolean;
}

/** Where every file sits in the piece space. */
export interface TorrentLayout {
  readonly version: TorrentVersion;
  readonly name: string;
  readonly pieceLength: number;
  readonly isSingleFile: boolean;
  /** Files in torrent order, padding files included, with their piece-space offsets. */
  readonly files: readonly TorrentFile[];
  readonly pieceCount: number;
  /** Sum of the lengths of the non-padding files. */
  readonly totalLength: number;
  /**
   * End of the piece space in bytes: the v1 stream length (padding included) for v1 and
   * hybrid; the end of the last file's data, every file starting on a piece boundary, for v2.
   */
  readonly spaceLength: number;
}

/** The digests {@link buildTorrent} needs. */
export interface TorrentHashes {
  /** v1 and hybrid: SHA-1 of every piece (20 bytes each), in piece order. */
  readonly v1Pieces?: Uint8Array;
  /**
   * v2 and hybrid: for every piece, in piece order, the 32-byte root of its merkle subtree over
   * the 16 KiB blocks of the one file it holds (BEP 52). The subtree has `pieceLength / 16 KiB`
   * leaves, or fewer for a file smaller than one piece: `nextPow2(blocks)` leaves, so that the
   * piece's hash *is* that file's `pieces root`. Missing leaves are zero hashes.
   */
  readonly v2Pieces?: Uint8Array;
}

/** Fields outside the info dictionary, plus `private` (BEP 27). */
export interface TorrentMetaOptions {
  /**
   * Tracker tiers (BEP 12). `announce` is the first URL; `announce-list` is written as well when
   * there is more than one URL. Empty tiers are dropped.
   */
  readonly trackers?: TrackerTiers;
  /** Web seed URLs (BEP 19 `url-list`). */
  readonly webSeeds?: readonly string[];
  /** Sets `private` to 1 in the info dictionary (BEP 27): peers come from the trackers only. */
  readonly isPrivate?: boolean;
  readonly comment?: string;
  /** `creation date`, seconds since the Unix epoch; omitted when undefined. */
  readonly creationDate?: number;
  /** `created by`; omitted when undefined. */
  readonly createdBy?: string;
}

/** A built torrent. */
export interface BuiltTorrent {
  /** The whole .torrent file. */
  readonly bytes: Uint8Array;
  /** The bencoded info dictionary, exactly as it appears in `bytes`. */
  readonly infoBytes: Uint8Array;
  /** SHA-1 of the info dictionary (v1 and hybrid). */
  readonly infoHashV1?: Uint8Array;
  /** SHA-256 of the info dictionary (v2 and hybrid). */
  readonly infoHashV2?: Uint8Array;
  /** The layout's files with `piecesRoot` filled in for the non-empty files of v2 and hybrid. */
  readonly files: readonly TorrentFile[];
  /** v2 piece layers: hex of `pieces root` → concatenated 32-byte piece hashes. */
  readonly pieceLayers: ReadonlyMap<string, Uint8Array>;
}

function createError(message: string, field: string): MetainfoError {
  return new MetainfoError(ErrorCode.MetainfoCreate, message, field);
}

const utf8 = new TextEncoder();

/** Compares raw bytes, shorter first on a common prefix. */
function compareRaw(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/**
 * Orders two paths as BEP 52's `file tree` does: component by component, each compared by its
 * raw UTF-8 bytes, a path before any longer path it is a prefix of.
 */
export function compareFilePaths(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareRaw(utf8.encode(a[i]!), utf8.encode(b[i]!));
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function checkComponent(component: string, field: string): void {
  const reason = unsafePathComponentReason(component);
  if (reason !== undefined) {
    throw createError(`${field} ${JSON.stringify(component)} cannot be put in a torrent: ${reason}`, field);
  }
}

function padFile(length: number, offset: number): TorrentFile {
  return { path: ['.pad', String(length)], length, offset, isPadding: true, attr: 'p' };
}

/**
 * Sorts and checks the files, and places them in the piece space (adding BEP 47 padding files
 * to hybrids). Throws a `MetainfoError` with code `SHOAL_ERR_METAINFO_CREATE` when there are no
 * files, when every file is empty, when a name or path component is one Shoal would refuse to
 * load (see `path-safety.ts`), when two files share a path or a file's path is another's folder,
 * when the piece length is invalid, or when a bound of docs/LIMITS.md would be crossed.
 */
export function planLayout(entries: readonly CreateFileEntry[], options: LayoutOptions): TorrentLayout {
  const { name, pieceLength, version, isSingleFile } = options;
  const tailPadding = options.tailPadding ?? true;
  assertPieceLength(pieceLength);
  checkComponent(name, 'name');
  if (entries.length === 0) throw createError('no files to add', 'files');
  if (entries.length > MAX_TORRENT_FILES) {
    throw createError(
      `${entries.length} files is more than the ${MAX_TORRENT_FILES} a torrent may hold`,
      'files',
    );
  }
  if (isSingleFile && entries.length !== 1) {
    throw createError(`the single-file form holds one file, not ${entries.length}`, 'files');
  }
  let totalLength = 0;
  for (const e of entries) {
    if (!Number.isSafeInteger(e.length) || e.length < 0) {
      throw createError(`invalid length ${e.length} for ${e.path.join('/')}`, 'length');
    }
    totalLength += e.length;
    if (isSingleFile) continue;
    if (e.path.length === 0) throw createError('a file has an empty path', 'path');
    if (e.path.length > MAX_PATH_DEPTH) {
      throw createError(
        `${e.path.join('/')} is ${e.path.length} folders deep, more than ${MAX_PATH_DEPTH}`,
        'path',
      );
    }
    for (const c of e.path) checkComponent(c, 'path component');
  }
  if (totalLength > MAX_TORRENT_TOTAL_BYTES) {
    throw createError(
      `${totalLength} bytes is more than a torrent may hold (${MAX_TORRENT_TOTAL_BYTES})`,
      'length',
    );
  }
  if (totalLength === 0) throw createError('no data to add: every file is empty', 'length');

  const sorted: CreateFileEntry[] = isSingleFile
    ? [{ path: [name], length: entries[0]!.length }]
    : entries.slice().sort((a, b) => compareFilePaths(a.path, b.path));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!.path;
    const cur = sorted[i]!.path;
    if (prev.length <= cur.length && prev.every((c, j) => c === cur[j])) {
      const what = prev.length === cur.length ? 'appears twice' : 'is both a file and a folder';
      throw createError(`${prev.join('/')} ${what}`, 'path');
    }
  }

  const files: TorrentFile[] = [];
  let offset = 0;
  const addFile = (e: CreateFileEntry): void => {
    files.push({ path: e.path.slice(), length: e.length, offset, isPadding: false, attr: '' });
    offset += e.length;
  };
  if (version === 'v2') {
    // No padding files, but every file starts on a piece boundary of its own.
    for (const e of sorted) {
      addFile(e);
      if (e.length > 0) offset = Math.ceil(offset / pieceLength) * pieceLength;
    }
    offset = files.reduce((end, f) => Math.max(end, f.offset + f.length), 0);
  } else if (version === 'v1' || sorted.length === 1) {
    for (const e of sorted) addFile(e);
  } else if (tailPadding) {
    for (const e of sorted) {
      addFile(e);
      const rest = e.length % pieceLength;
      if (rest !== 0) {
        files.push(padFile(pieceLength - rest, offset));
        offset += pieceLength - rest;
      }
    }
  } else {
    for (const e of sorted) {
      const rest = offset % pieceLength;
      if (e.length > 0 && rest !== 0) {
        files.push(padFile(pieceLength - rest, offset));
        offset += pieceLength - rest;
      }
      addFile(e);
    }
  }
  const pieceCount = Math.ceil(offset / pieceLength);
  if (pieceCount > MAX_TORRENT_PIECES) {
    throw createError(
      `${pieceCount} pieces is more than the ${MAX_TORRENT_PIECES} a torrent may have: use a larger piece length`,
      'piece length',
    );
  }
  return { version, name, pieceLength, isSingleFile, files, pieceCount, totalLength, spaceLength: offset };
}

/**
 * Number of leaves of the merkle subtree hashed for each piece of a file of `length` bytes
 * (BEP 52): a full piece's worth of blocks, or for a file smaller than one piece, its block count
 * rounded up to a power of two, so that the single piece's subtree is the file's whole tree.
 */
export function pieceLeafCount(length: number, pieceLength: number): number {
  return Math.min(pieceLength / BLOCK_BYTES, nextPow2(blockCount(length)));
}

function checkUrl(url: string, field: string): void {
  if (url.length === 0 || !URL.canParse(url)) throw createError(`invalid URL ${JSON.stringify(url)}`, field);
}

/**
 * Checks the fields {@link buildTorrent} takes besides the layout: every tracker and web seed
 * URL must parse, and the creation date must be an integer. Throws a `MetainfoError`
 * (`SHOAL_ERR_METAINFO_CREATE`) naming the field. Callers may run it before a long hash.
 */
export function checkMetaOptions(meta: TorrentMetaOptions): void {
  (meta.trackers ?? []).forEach((tier, i) => {
    for (const url of tier) checkUrl(url, `announce-list[${i}]`);
  });
  (meta.webSeeds ?? []).forEach((url, i) => {
    checkUrl(url, `url-list[${i}]`);
  });
  if (meta.creationDate !== undefined && !Number.isSafeInteger(meta.creationDate)) {
    throw createError(`invalid creation date ${meta.creationDate}`, 'creation date');
  }
}

/**
 * Builds the .torrent: the info dictionary from the layout and digests, and the outer fields
 * from `meta`. Dictionary keys are sorted (the codec's encoder), so the output is a pure
 * function of the inputs: the same files, digests and `meta` give the same bytes.
 *
 * Throws a `MetainfoError` (`SHOAL_ERR_METAINFO_CREATE`) when a digest string has the wrong
 * size for the layout, or a tracker or web seed URL does not parse.
 */
export function buildTorrent(
  layout: TorrentLayout,
  hashes: TorrentHashes,
  meta: TorrentMetaOptions = {},
  hasher: Hasher = nodeHasher,
): BuiltTorrent {
  const { version, pieceLength, pieceCount } = layout;
  const hasV1 = version !== 'v2';
  const hasV2 = version !== 'v1';
  const info = new Map<string, Encodable>();
  info.set('name', layout.name);
  info.set('piece length', pieceLength);
  if (meta.isPrivate === true) info.set('private', 1);

  if (hasV1) {
    const pieces = hashes.v1Pieces;
    if (pieces?.length !== pieceCount * SHA1_BYTES) {
      throw createError(`expected ${pieceCount} SHA-1 piece hashes`, 'pieces');
    }
    info.set('pieces', pieces);
    if (layout.isSingleFile) {
      info.set('length', layout.files[0]!.length);
    } else {
      info.set(
        'files',
        layout.files.map((f) =>
          f.attr === ''
            ? { length: f.length, path: f.path }
            : { attr: f.attr, length: f.length, path: f.path },
        ),
      );
    }
  }

  let files: readonly TorrentFile[] = layout.files;
  const pieceLayers = new Map<string, Uint8Array>();
  const layerKeys = new Map<string, Uint8Array>();
  if (hasV2) {
    const v2 = hashes.v2Pieces;
    if (v2?.length !== pieceCount * SHA256_BYTES) {
      throw createError(`expected ${pieceCount} v2 piece hashes`, 'piece layers');
    }
    const tree = new Map<string, Encodable>();
    files = layout.files.map((f) => {
      if (f.isPadding) return f;
      const leaf = new Map<string, Encodable>([['length', f.length]]);
      let withRoot: TorrentFile = f;
      if (f.length > 0) {
        const first = f.offset / pieceLength;
        const count = Math.ceil(f.length / pieceLength);
        const layer = v2.subarray(first * SHA256_BYTES, (first + count) * SHA256_BYTES);
        let root: Uint8Array;
        if (count === 1) {
          root = layer.slice();
        } else {
          const nodes: Uint8Array[] = [];
          for (let i = 0; i < count; i++)
            nodes.push(layer.subarray(i * SHA256_BYTES, (i + 1) * SHA256_BYTES));
          root = fileRootFromPieceLayer(nodes, pieceLength, hasher);
          const key = toHex(root);
          // Identical files share a root and a layer: the key appears once.
          if (!pieceLayers.has(key)) {
            pieceLayers.set(key, layer.slice());
            layerKeys.set(key, root);
          }
        }
        leaf.set('pieces root', root);
        withRoot = { ...f, piecesRoot: root };
      }
      let dir = tree;
      for (const component of f.path) {
        let next = dir.get(component) as Map<string, Encodable> | undefined;
        if (next === undefined) {
          next = new Map();
          dir.set(component, next);
        }
        dir = next;
      }
      dir.set('', leaf);
      return withRoot;
    });
    info.set('file tree', tree);
    info.set('meta version', 2);
  }

  const infoBytes = encode(info);
  const top = new Map<string, Encodable>();
  checkMetaOptions(meta);
  const tiers = (meta.trackers ?? []).filter((t) => t.length > 0);
  const firstUrl = tiers[0]?.[0];
  if (firstUrl !== undefined) top.set('announce', firstUrl);
  if (tiers.reduce((n, t) => n + t.length, 0) > 1)
    top.set(
      'announce-list',
      tiers.map((t) => t.slice()),
    );
  if (meta.comment !== undefined) top.set('comment', meta.comment);
  if (meta.createdBy !== undefined) top.set('created by', meta.createdBy);
  if (meta.creationDate !== undefined) top.set('creation date', meta.creationDate);
  // The encoder is deterministic, so `info` encodes here to exactly `infoBytes`.
  top.set('info', info);
  if (hasV2) {
    const layers = new Map<Uint8Array, Encodable>();
    for (const [key, layer] of pieceLayers) layers.set(layerKeys.get(key)!, layer);
    top.set('piece layers', layers);
  }
  const webSeeds = meta.webSeeds ?? [];
  if (webSeeds.length > 0) top.set('url-list', webSeeds.slice());
  const bytes = encode(top);

  const built: {
    bytes: Uint8Array;
    infoBytes: Uint8Array;
    files: readonly TorrentFile[];
    pieceLayers: ReadonlyMap<string, Uint8Array>;
    infoHashV1?: Uint8Array;
    infoHashV2?: Uint8Array;
  } = { bytes, infoBytes, files, pieceLayers };
  if (hasV1) built.infoHashV1 = hasher.digest('sha1', infoBytes);
  if (hasV2) built.infoHashV2 = hasher.digest('sha256', infoBytes);
  return built;
}
