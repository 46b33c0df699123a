/**
 * The one numbering of a torrent's files that users see.
 *
 * `metainfo.files` lists BEP 47 padding files among the real ones (hybrid and some v1 torrents
 * have one after nearly every file), so its indices skip numbers: files 0, 2, 3, 5, 7 with
 * padding at 1, 4, 6. Users never see padding files, so every interface a person or a script
 * uses — `shoal info` (text and `--json`), `shoal download --only N`, the daemon's file lists,
 * file priorities and `/stream/<id>/<N>` — numbers the *user files* only: padding left out,
 * counted from 0 in torrent order. That number is a **file number**; an index into
 * `metainfo.files` (what `TorrentOptions.filePriorities`, the piece map and the storage use) is
 * a **file index**. This module is the only place that converts between the two.
 *
 * BEP 53 `so` indices in magnet links stay file indices (as libtorrent, which counts padding
 * files, writes them).
 */
import { storagePath } from './file-tree.js';
import type { Metainfo, TorrentFile } from './types.js';

/** A file as users see it. */
export interface UserFile {
  /** The file number shown to users: padding files left out, from 0 in torrent order. */
  readonly number: number;
  /** Index into `metainfo.files` (padding files counted), as the session and storage use it. */
  readonly fileIndex: number;
  readonly file: TorrentFile;
  /** Path below the download folder, `/`-separated (the torrent's name first for multi-file torrents). */
  readonly path: string;
}

const cache = new WeakMap<Metainfo, readonly UserFile[]>();

/** The user files of `m` (padding files left out), numbered from 0. Cached per metainfo. */
export function userFiles(m: Metainfo): readonly UserFile[] {
  const hit = cache.get(m);
  if (hit !== undefined) return hit;
  const out: UserFile[] = [];
  m.files.forEach((file, fileIndex) => {
    if (file.isPadding) return;
    out.push({ number: out.length, fileIndex, file, path: storagePath(m, file).join('/') });
  });
  const frozen = Object.freeze(out);
  cache.set(m, frozen);
  return frozen;
}

/** The file index of file number `n`, or `undefined` when there is no such file. */
export function fileIndexOf(m: Metainfo, n: number): number | undefined {
  if (!Number.isSafeInteger(n) || n < 0) return undefined;
  return userFiles(m)[n]?.fileIndex;
}

/** The file number of file index `i`, or `undefined` for padding files and out-of-range indices. */
export function fileNumberOf(m: Metainfo, i: number): number | undefined {
  const f = m.files[i];
  if (f === undefined || f.isPadding) return undefined;
  // Padding files are few and sorted: count those before `i`.
  let padding = 0;
  for (let k = 0; k < i; k++) if (m.files[k]!.isPadding) padding++;
  return i - padding;
}

/**
 * Priorities by file number (one per user file) → priorities by file index (padding files get
 * 0, they are never downloaded). `byNumber` must list every user file.
 */
export function prioritiesByFileIndex(m: Metainfo, byNumber: readonly number[]): number[] {
  const out = new Array<number>(m.files.length).fill(0);
  for (const u of userFiles(m)) out[u.fileIndex] = byNumber[u.number] ?? 1;
  return out;
}

/** Priorities by file index → by file number (padding files dropped; missing entries are 1). */
export function prioritiesByFileNumber(m: Metainfo, byIndex: readonly number[] | undefined): number[] {
  return userFiles(m).map((u) => byIndex?.[u.fileIndex] ?? 1);
}
