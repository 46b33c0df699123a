/**
 * What a request makes of a torrent's record: an add request's checks and its new record, saved
 * peers, and file priorities by file number turned into the record's (by file index).
 */
import {
  explainTorrentError,
  fileIndexOf,
  type Metainfo,
  parseTorrent,
  prioritiesByFileIndex,
  userFiles,
} from '../metainfo/index.js';
import { ErrorCode, isShoalError } from '../shared/errors.js';
import { MAX_API_TORRENT_BYTES, MAX_SAVED_PEERS_PER_TORRENT } from '../shared/limits.js';
import { ApiError, apiError, statusOf } from './errors.js';
import type { TorrentRecord } from './state-store.js';

/** Options of an add request. */
export interface AddOptions {
  /** Folder below an allowed folder (relative paths are below the default download folder). */
  readonly downloadDir?: string;
  /** Keep the torrent paused. @default false */
  readonly paused?: boolean;
  /**
   * Per-file priorities (0 skip, 1 normal, 2 high), one per file *number* (padding files not
   * counted, as `shoal info` and the API's file lists number them); must list every file.
   */
  readonly filePriorities?: readonly number[];
  /** Peer addresses to try at once (trackers and the DHT find more). */
  readonly peers?: readonly { readonly host: string; readonly port: number }[];
}

/** `saved` plus `more`, without duplicates, the latest {@link MAX_SAVED_PEERS_PER_TORRENT} kept. */
export function savedPeers(
  saved: readonly { readonly host: string; readonly port: number }[],
  more: readonly { readonly host: string; readonly port: number }[],
): { host: string; port: number }[] {
  const byKey = new Map<string, { host: string; port: number }>();
  for (const p of [...saved, ...more]) {
    const key = `${p.host}:${p.port}`;
    byKey.delete(key);
    byKey.set(key, { host: p.host, port: p.port });
  }
  return [...byKey.values()].slice(-MAX_SAVED_PEERS_PER_TORRENT);
}

/** The metainfo of an uploaded .torrent; API errors (413, 400 in words) when it is unusable. */
export function parseUploadedTorrent(bytes: Uint8Array): Metainfo {
  if (bytes.length > MAX_API_TORRENT_BYTES)
    throw apiError(ErrorCode.ApiPayloadTooLarge, `a .torrent may not exceed ${MAX_API_TORRENT_BYTES} bytes`);
  if (bytes.length === 0) throw apiError(ErrorCode.ApiBadRequest, 'the .torrent is empty');
  try {
    return parseTorrent(bytes);
  } catch (e) {
    if (!isShoalError(e)) throw e;
    throw new ApiError(e.code, `the .torrent is not usable: ${explainTorrentError(e)}`, {
      status: statusOf(e),
    });
  }
}

/** The record of a torrent an add request makes. */
export function newRecord(
  id: string,
  name: string,
  downloadDir: string,
  o: AddOptions,
  hasMetadata: boolean,
  filePriorities: readonly number[] | undefined,
): TorrentRecord {
  const peers = savedPeers([], o.peers ?? []);
  return {
    id,
    name,
    hasMetadata,
    downloadDir,
    ...(filePriorities !== undefined ? { filePriorities: [...filePriorities] } : {}),
    ...(peers.length > 0 ? { peers } : {}),
    paused: o.paused === true,
    addedAt: Date.now(),
  };
}

/** A change of file priorities: every file (`all`), or some files (`files`) to `priority`. */
export interface PriorityChange {
  readonly all?: readonly number[];
  readonly files?: readonly number[];
  readonly priority?: number;
}

/**
 * The priorities by file index after `change` (file numbers, padding files not counted) over
 * `current` (by file index); API errors for a wrong count or an unknown file number.
 */
export function changedPriorities(m: Metainfo, current: readonly number[], change: PriorityChange): number[] {
  const count = userFiles(m).length;
  if (change.all !== undefined) {
    if (change.all.length !== count)
      throw apiError(
        ErrorCode.ApiBadRequest,
        `priorities lists ${change.all.length} files; the torrent has ${count}`,
      );
    return prioritiesByFileIndex(m, change.all);
  }
  const next = [...current];
  for (const n of change.files ?? []) {
    const i = fileIndexOf(m, n);
    if (i === undefined)
      throw apiError(ErrorCode.ApiBadRequest, `file ${n} is out of range (0..${count - 1})`);
    next[i] = change.priority ?? 1;
  }
  return next;
}
