/**
 * The v1 half of an info dictionary (BEP 3, with BEP 47 attributes and padding files).
 *
 * Layout read here:
 *
 *   single file:  { name, length, attr?, pieces, piece length }      -> one file, path [name]
 *   multi file:   { name, files: [ { length, path: [bytes…], path.utf-8?, attr? } … ], pieces, … }
 *
 * `path.utf-8` is preferred over `path` when it is a list of valid UTF-8 strings. Padding files
 * (`attr` contains `p`) may omit `path`; they get `[".pad", "<length>"]` as BEP 47 recommends.
 * Files are laid out back to back, padding included, to form the v1 piece space.
 */
import { asBytes, asDict, asList, type BencodeDict, bytesToUtf8 } from '../codec/index.js';
import { ErrorCode } from '../shared/errors.js';
import { MAX_TORRENT_FILES, MAX_TORRENT_PIECES } from '../shared/limits.js';
import {
  addToTotal,
  fail,
  type MutableTorrentFile,
  readAttr,
  readLength,
  type WarningLog,
} from './file-tree.js';
import { assertSafePath } from './path-safety.js';

/** Bytes of one v1 piece hash (SHA-1). */
export const V1_HASH_BYTES = 20;

/** The v1 file list of an info dictionary. */
export interface V1FileList {
  readonly isSingleFile: boolean;
  /** Files in torrent order, padding included, with offsets in the v1 piece space. */
  readonly files: MutableTorrentFile[];
  /** Length of the v1 piece space: every file, padding included. */
  readonly spanLength: number;
}

/** Text path components from a `path.utf-8` value when it is a list of valid UTF-8 strings. */
function utf8Path(value: ReturnType<BencodeDict['get']>): string[] | undefined {
  const list = asList(value);
  if (list === undefined) return undefined;
  const out: string[] = [];
  for (const item of list) {
    const bytes = asBytes(item);
    const text = bytes === undefined ? undefined : bytesToUtf8(bytes);
    if (text === undefined) return undefined;
    out.push(text);
  }
  return out;
}

function readPath(entry: BencodeDict, field: string, isPadding: boolean, length: number, log: WarningLog) {
  const preferred = utf8Path(entry.get('path.utf-8'));
  if (preferred !== undefined) return assertSafePath(preferred, `${field}.path.utf-8`);
  if (entry.has('path.utf-8')) log.add(`${field}.path.utf-8 is not a list of UTF-8 strings; using path`);
  const raw = entry.get('path');
  if (raw === undefined) {
    if (isPadding) return ['.pad', String(length)];
    fail(ErrorCode.MetainfoInvalid, `${field}.path is missing`, `${field}.path`);
  }
  const list = asList(raw);
  if (list === undefined) fail(ErrorCode.MetainfoInvalid, `${field}.path is not a list`, `${field}.path`);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < list.length; i++) {
    const b = asBytes(list[i]);
    if (b === undefined) {
      fail(ErrorCode.MetainfoInvalid, `${field}.path[${i}] is not a string`, `${field}.path[${i}]`);
    }
    parts.push(b);
  }
  return assertSafePath(parts, `${field}.path`);
}

/**
 * Reads the v1 file list (`length` or `files`) of `info`; `name` is the already checked torrent
 * name, used as the single file's path. Throws MetainfoError on any invalid or unsafe entry.
 */
export function parseV1Files(info: BencodeDict, name: string, log: WarningLog): V1FileList {
  const filesValue = info.get('files');
  if (filesValue === undefined) {
    if (!info.has('length')) {
      fail(ErrorCode.MetainfoInvalid, 'info has neither length nor files', 'info.length');
    }
    const length = readLength(info.get('length'), 'info.length');
    const attr = readAttr(info.get('attr'));
    const file: MutableTorrentFile = { path: [name], length, offset: 0, isPadding: attr.includes('p'), attr };
    return { isSingleFile: true, files: [file], spanLength: length };
  }
  if (info.has('length')) log.add('info has both length and files; using files');
  const list = asList(filesValue);
  if (list === undefined) fail(ErrorCode.MetainfoInvalid, 'info.files is not a list', 'info.files');
  if (list.length === 0) fail(ErrorCode.MetainfoInvalid, 'info.files is empty', 'info.files');
  if (list.length > MAX_TORRENT_FILES) {
    fail(
      ErrorCode.MetainfoTooLarge,
      `info.files lists ${list.length} files, more than ${MAX_TORRENT_FILES}`,
      'info.files',
    );
  }
  const files: MutableTorrentFile[] = [];
  let offset = 0;
  for (let i = 0; i < list.length; i++) {
    const field = `info.files[${i}]`;
    const entry = asDict(list[i]);
    if (entry === undefined) fail(ErrorCode.MetainfoInvalid, `${field} is not a dictionary`, field);
    const attr = readAttr(entry.get('attr'));
    const isPadding = attr.includes('p');
    // BEP 47: a symlink's length may be omitted; it is always zero.
    const length =
      attr.includes('l') && !entry.has('length') ? 0 : readLength(entry.get('length'), `${field}.length`);
    const path = readPath(entry, field, isPadding, length, log);
    files.push({ path, length, offset, isPadding, attr });
    offset = addToTotal(offset, length, `${field}.length`);
  }
  return { isSingleFile: false, files, spanLength: offset };
}

/**
 * Checks v1 `pieces` against the piece space: a string of 20-byte SHA-1 hashes, exactly one per
 * piece of `spanLength` bytes cut into `pieceLength` pieces. Returns the hashes (a view into the
 * source) and the piece count.
 */
export function parseV1Pieces(
  info: BencodeDict,
  pieceLength: number,
  spanLength: number,
): { pieces: Uint8Array; pieceCount: number } {
  const pieces = asBytes(info.get('pieces'));
  if (pieces === undefined)
    fail(ErrorCode.MetainfoInvalid, 'info.pieces is missing or not a string', 'info.pieces');
  if (pieces.length % V1_HASH_BYTES !== 0) {
    fail(
      ErrorCode.MetainfoInvalid,
      `info.pieces is ${pieces.length} bytes, not a multiple of ${V1_HASH_BYTES}`,
      'info.pieces',
    );
  }
  const pieceCount = Math.ceil(spanLength / pieceLength);
  if (pieceCount > MAX_TORRENT_PIECES) {
    fail(
      ErrorCode.MetainfoTooLarge,
      `torrent has ${pieceCount} pieces, more than ${MAX_TORRENT_PIECES}`,
      'info.piece length',
    );
  }
  if (pieces.length !== pieceCount * V1_HASH_BYTES) {
    fail(
      ErrorCode.MetainfoInvalid,
      `info.pieces holds ${pieces.length / V1_HASH_BYTES} hashes but the files make ${pieceCount} pieces`,
      'info.pieces',
    );
  }
  return { pieces, pieceCount };
}
