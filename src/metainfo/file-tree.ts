/**
 * The file list shared by the v1 and v2 parsers: reading lengths and attributes, checking that
 * no two files claim the same path, and mapping files to where they live on disk.
 *
 * Invariants of a parsed file list (all enforced here or by the callers before a `Metainfo` is
 * returned): every path is safe (path-safety.ts); no two non-padding files share a path, and no
 * file's path is a directory of another; lengths are safe non-negative integers whose sum stays
 * within MAX_TORRENT_TOTAL_BYTES; at most MAX_TORRENT_FILES entries.
 */
import type { BencodeValue } from '../codec/index.js';
import { bytesToUtf8 } from '../codec/index.js';
import { ErrorCode } from '../shared/errors.js';
import { MAX_METAINFO_WARNINGS, MAX_TORRENT_TOTAL_BYTES } from '../shared/limits.js';
import { MetainfoError } from './errors.js';
import type { Metainfo, TorrentFile } from './types.js';

/** A TorrentFile while it is being built. */
export type MutableTorrentFile = { -readonly [K in keyof TorrentFile]: TorrentFile[K] };

/** Throws a {@link MetainfoError}. */
export function fail(code: ErrorCode, message: string, field: string): never {
  throw new MetainfoError(code, message, field);
}

/**
 * A byte length from a torrent (file `length`): a non-negative safe integer no larger than
 * MAX_TORRENT_TOTAL_BYTES. Larger values (including 64-bit ones decoded as bigint) raise
 * `MetainfoTooLarge`; negative or non-integer values `MetainfoInvalid`.
 */
export function readLength(value: BencodeValue | undefined, field: string): number {
  if (value === undefined) fail(ErrorCode.MetainfoInvalid, `${field} is missing`, field);
  if (typeof value === 'bigint') {
    if (value < 0n) fail(ErrorCode.MetainfoInvalid, `${field} is negative (${value})`, field);
    fail(
      ErrorCode.MetainfoTooLarge,
      `${field} of ${value} bytes is larger than ${MAX_TORRENT_TOTAL_BYTES}`,
      field,
    );
  }
  if (typeof value !== 'number') fail(ErrorCode.MetainfoInvalid, `${field} is not an integer`, field);
  if (value < 0) fail(ErrorCode.MetainfoInvalid, `${field} is negative (${value})`, field);
  if (value > MAX_TORRENT_TOTAL_BYTES) {
    fail(
      ErrorCode.MetainfoTooLarge,
      `${field} of ${value} bytes is larger than ${MAX_TORRENT_TOTAL_BYTES}`,
      field,
    );
  }
  return value;
}

/** BEP 47 `attr` letters; anything that is not a byte string of ASCII letters counts as none. */
export function readAttr(value: BencodeValue | undefined): string {
  if (!(value instanceof Uint8Array)) return '';
  const text = bytesToUtf8(value);
  return text !== undefined && /^[A-Za-z]*$/.test(text) ? text : '';
}

/** Adds `length` to a running total, enforcing MAX_TORRENT_TOTAL_BYTES. */
export function addToTotal(total: number, length: number, field: string): number {
  const sum = total + length;
  if (sum > MAX_TORRENT_TOTAL_BYTES) {
    fail(
      ErrorCode.MetainfoTooLarge,
      `files add up to more than ${MAX_TORRENT_TOTAL_BYTES} bytes (at ${field})`,
      field,
    );
  }
  return sum;
}

interface PathNode {
  /** Index of the file at this node, if one ends here. */
  file: number;
  children: Map<string, PathNode> | undefined;
}

/**
 * Rejects two non-padding files with the same path, and a file whose path is also a directory
 * of another file (`a` and `a/b`): either would make two files share bytes on disk.
 * `fieldOf(i)` names file `i` in errors. Works on a trie of components, so time and memory stay
 * linear in the total number of components.
 */
export function assertNoPathConflicts(files: readonly TorrentFile[], fieldOf: (i: number) => string): void {
  const root: PathNode = { file: -1, children: undefined };
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    if (f.isPadding) continue;
    let node = root;
    for (const component of f.path) {
      if (node.file >= 0) {
        fail(
          ErrorCode.MetainfoInvalid,
          `${fieldOf(i)} lies inside file ${node.file}, which is not a directory`,
          fieldOf(i),
        );
      }
      node.children ??= new Map();
      let next = node.children.get(component);
      if (next === undefined) {
        next = { file: -1, children: undefined };
        node.children.set(component, next);
      }
      node = next;
    }
    if (node.file >= 0) {
      fail(
        ErrorCode.MetainfoInvalid,
        `${fieldOf(i)} has the same path ${JSON.stringify(f.path.join('/'))} as file ${node.file}`,
        fieldOf(i),
      );
    }
    if (node.children !== undefined) {
      fail(
        ErrorCode.MetainfoInvalid,
        `${fieldOf(i)} path ${JSON.stringify(f.path.join('/'))} is also a directory of other files`,
        fieldOf(i),
      );
    }
    node.file = i;
  }
}

/**
 * Where a file lives below the download folder, as components to give to `joinSafe`: the file's
 * own path for a single-file torrent, and the torrent name followed by the path otherwise.
 */
export function storagePath(m: Pick<Metainfo, 'isSingleFile' | 'name'>, file: TorrentFile): string[] {
  return m.isSingleFile ? [...file.path] : [m.name, ...file.path];
}

/** Warnings collected while parsing, bounded by MAX_METAINFO_WARNINGS. */
export class WarningLog {
  readonly #items: string[] = [];
  #dropped = 0;

  add(message: string): void {
    if (this.#items.length < MAX_METAINFO_WARNINGS) this.#items.push(message);
    else this.#dropped++;
  }

  list(): string[] {
    return this.#dropped === 0 ? [...this.#items] : [...this.#items, `${this.#dropped} more warnings`];
  }
}
