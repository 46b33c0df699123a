/**
 * The v2 half of a torrent (BEP 52): the `file tree` in the info dictionary and the
 * `piece layers` in the outer dictionary.
 *
 *   file tree   := { component: node, … }            -- keys are path components, in order
 *   node        := { "": { length, pieces root?, attr? } }   -- a file: the "" key has no siblings
 *                | { component: node, … }              -- a directory
 *   piece layers:= { pieces root (32 bytes): concatenated 32-byte piece hashes, … }
 *
 * `pieces root` is present exactly for non-empty files. The tree is a single-file torrent when it
 * holds one file directly at its root and the torrent has no v1 `files` list (as libtorrent
 * reads it); then the file's path is its key, otherwise paths are below the torrent's folder.
 *
 * In the v2 piece space every file starts on a piece boundary. A file larger than one piece
 * needs a piece layer of ceil(length / piece length) hashes whose merkle root (padded per BEP
 * 52) equals the file's `pieces root`; smaller files have their root as their only piece hash.
 */
import { asBytes, asDict, type BencodeDict, type BencodeValue } from '../codec/index.js';
import { ErrorCode } from '../shared/errors.js';
import { bytesEqual, type Hasher, toHex } from '../shared/hash.js';
import { MAX_PATH_DEPTH, MAX_TORRENT_FILES, MAX_TORRENT_PIECES } from '../shared/limits.js';
import {
  addToTotal,
  fail,
  type MutableTorrentFile,
  readAttr,
  readLength,
  type WarningLog,
} from './file-tree.js';
import { fileRootFromPieceLayer, HASH_BYTES } from './merkle.js';
import { assertSafePathComponent, quoteComponent } from './path-safety.js';
import type { TorrentFile } from './types.js';

/** The v2 file list of an info dictionary. */
export interface V2FileList {
  readonly isSingleFile: boolean;
  /** Files in tree order, with offsets in the v2 piece space (each on a piece boundary). */
  readonly files: MutableTorrentFile[];
  readonly pieceCount: number;
}

/** Error field of a node of the tree. */
function nodeField(path: readonly string[]): string {
  return path.length === 0 ? 'info.file tree' : `info.file tree/${path.join('/')}`;
}

function readFileEntry(props: BencodeValue, path: string[], total: number): MutableTorrentFile {
  const field = nodeField(path);
  const d = asDict(props);
  if (d === undefined) fail(ErrorCode.MetainfoInvalid, `${field} file entry is not a dictionary`, field);
  const length = readLength(d.get('length'), `${field}.length`);
  addToTotal(total, length, `${field}.length`);
  const rootValue = d.get('pieces root');
  const file: MutableTorrentFile = {
    path,
    length,
    offset: 0,
    isPadding: false,
    attr: readAttr(d.get('attr')),
  };
  if (length === 0) {
    if (rootValue !== undefined) {
      fail(ErrorCode.MetainfoInvalid, `${field} is empty but has a pieces root`, `${field}.pieces root`);
    }
    return file;
  }
  const root = asBytes(rootValue);
  if (root === undefined) {
    fail(ErrorCode.MetainfoInvalid, `${field} has no pieces root`, `${field}.pieces root`);
  }
  if (root.length !== HASH_BYTES) {
    fail(
      ErrorCode.MetainfoInvalid,
      `${field}.pieces root is ${root.length} bytes, not ${HASH_BYTES}`,
      `${field}.pieces root`,
    );
  }
  file.piecesRoot = root;
  return file;
}

/**
 * Reads `info['file tree']` into files with safe paths. `hasV1FilesList` says whether the info
 * dictionary also has a v1 `files` list (which makes a one-file tree multi-file, as in
 * libtorrent). Offsets and piece count follow the v2 layout for `pieceLength`.
 */
export function parseFileTree(
  tree: BencodeValue | undefined,
  hasV1FilesList: boolean,
  pieceLength: number,
  log: WarningLog,
): V2FileList {
  const root = asDict(tree);
  if (root === undefined)
    fail(ErrorCode.MetainfoInvalid, 'info.file tree is not a dictionary', 'info.file tree');
  if (root.has('')) {
    fail(ErrorCode.MetainfoInvalid, 'info.file tree root must not be a file', 'info.file tree');
  }
  const files: MutableTorrentFile[] = [];
  let total = 0;

  const walk = (node: BencodeDict, path: string[]): void => {
    const field = nodeField(path);
    if (node.has('')) {
      if (node.size !== 1) {
        fail(ErrorCode.MetainfoInvalid, `${field} is a file but has other entries beside ""`, field);
      }
      if (files.length >= MAX_TORRENT_FILES) {
        fail(ErrorCode.MetainfoTooLarge, `info.file tree has more than ${MAX_TORRENT_FILES} files`, field);
      }
      const file = readFileEntry(node.get('')!, path, total);
      total += file.length;
      files.push(file);
      return;
    }
    if (node.size === 0 && path.length > 0) log.add(`${field} is an empty directory; ignored`);
    if (node.size > 0 && path.length >= MAX_PATH_DEPTH) {
      fail(ErrorCode.MetainfoUnsafePath, `${field} nests deeper than ${MAX_PATH_DEPTH} components`, field);
    }
    for (let i = 0; i < node.entries.length; i++) {
      const entry = node.entries[i]!;
      const component = assertSafePathComponent(entry.key, `${field}[${i}]`);
      const child = asDict(entry.value);
      if (child === undefined) {
        fail(
          ErrorCode.MetainfoInvalid,
          `${field} entry ${quoteComponent(component)} is not a dictionary`,
          nodeField([...path, component]),
        );
      }
      walk(child, [...path, component]);
    }
  };
  walk(root, []);

  if (files.length === 0) fail(ErrorCode.MetainfoInvalid, 'info.file tree holds no files', 'info.file tree');
  const isSingleFile =
    !hasV1FilesList && root.size === 1 && files.length === 1 && files[0]!.path.length === 1;

  let pieceCount = 0;
  for (const f of files) {
    f.offset = pieceCount * pieceLength;
    pieceCount += Math.ceil(f.length / pieceLength);
    if (pieceCount > MAX_TORRENT_PIECES) {
      fail(
        ErrorCode.MetainfoTooLarge,
        `torrent has more than ${MAX_TORRENT_PIECES} pieces`,
        'info.piece length',
      );
    }
  }
  return { isSingleFile, files, pieceCount };
}

/**
 * Checks the outer `piece layers` (BEP 52 §piece layers) against the files: every file larger
 * than one piece needs a layer of exactly ceil(length / pieceLength) 32-byte hashes whose merkle
 * root is the file's `pieces root`. With `required` false (an info dictionary fetched from peers,
 * BEP 9) an absent `piece layers` is accepted and yields an empty map. Returns hex root → layer.
 * Layers for no file of the torrent are ignored with a warning.
 */
export function parsePieceLayers(
  value: BencodeValue | undefined,
  files: readonly TorrentFile[],
  pieceLength: number,
  required: boolean,
  hasher: Hasher,
  log: WarningLog,
): Map<string, Uint8Array> {
  const layers = new Map<string, Uint8Array>();
  if (value === undefined && !required) return layers;
  const dict = value === undefined ? undefined : asDict(value);
  if (value !== undefined && dict === undefined) {
    fail(ErrorCode.MetainfoPieceLayers, 'piece layers is not a dictionary', 'piece layers');
  }
  const known = new Set<string>();
  for (const f of files) {
    if (f.piecesRoot === undefined) continue;
    const rootHex = toHex(f.piecesRoot);
    known.add(rootHex);
    if (f.length <= pieceLength || layers.has(rootHex)) continue;
    const name = quoteComponent(f.path.join('/'));
    const field = `piece layers/${rootHex}`;
    const layer = dict === undefined ? undefined : dict.get(f.piecesRoot);
    if (layer === undefined) {
      fail(
        ErrorCode.MetainfoPieceLayers,
        `piece layers has no layer for file ${name} (root ${rootHex})`,
        field,
      );
    }
    const bytes = asBytes(layer);
    if (bytes === undefined) {
      fail(ErrorCode.MetainfoPieceLayers, `piece layer for file ${name} is not a string`, field);
    }
    const expected = Math.ceil(f.length / pieceLength) * HASH_BYTES;
    if (bytes.length !== expected) {
      fail(
        ErrorCode.MetainfoPieceLayers,
        `piece layer for file ${name} is ${bytes.length} bytes; ${expected} expected`,
        field,
      );
    }
    const hashes: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += HASH_BYTES) hashes.push(bytes.subarray(at, at + HASH_BYTES));
    if (!bytesEqual(fileRootFromPieceLayer(hashes, pieceLength, hasher), f.piecesRoot)) {
      fail(
        ErrorCode.MetainfoPieceLayers,
        `piece layer for file ${name} does not hash to its pieces root ${rootHex}`,
        field,
      );
    }
    layers.set(rootHex, bytes);
  }
  if (dict !== undefined) {
    let unused = 0;
    for (const e of dict.entries) if (!known.has(toHex(e.key))) unused++;
    if (unused > 0) log.add(`piece layers has ${unused} layers for no file of the torrent; ignored`);
  }
  return layers;
}
