/**
 * Restoring the daemon's torrents at start: each saved record becomes a {@link TorrentEntry} at
 * once (metadata from its stored .torrent, last progress from its resume record, so the list
 * shows every torrent right away), in queue order; then they go into the session a few at a
 * time, first of the queue first, paused ones paused. A magnet still without metadata starts
 * fetching it unless it is paused.
 */
import type { Logger } from 'pino';
import { type Metainfo, parseTorrent } from '../metainfo/index.js';
import { toHex } from '../shared/hash.js';
import { decodeResume, readResumeFile } from '../storage/index.js';
import { Bitfield } from '../wire/index.js';
import type { StateStore, TorrentRecord } from './state-store.js';
import { TorrentEntry } from './torrent-entry.js';

/** What restoring needs from the manager. */
export interface RestoreHost {
  readonly store: StateStore;
  readonly log: Logger;
  /** Indexes and queues a restored entry (in the order given). */
  adopt(entry: TorrentEntry): void;
  /** True while `entry` is the one kept for its id. */
  isCurrent(entry: TorrentEntry): boolean;
  isClosed(): boolean;
  /** Puts a torrent in the session (or starts a magnet's metadata fetch). */
  start(entry: TorrentEntry): Promise<void>;
}

/** Records in queue order (their saved `queuePosition`; records without one keep file order). */
export function inQueueOrder(records: readonly TorrentRecord[]): TorrentRecord[] {
  return records
    .map((r, i) => ({ r, key: r.queuePosition ?? i, i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((x) => x.r);
}

/**
 * Builds the entries of `records` (see the module notes) and starts putting them in the session
 * with `concurrency` at a time; resolves (once every entry is listed) with `started`, which
 * resolves once every one was started (or the host closed).
 */
export async function restoreEntries(
  h: RestoreHost,
  records: readonly TorrentRecord[],
  concurrency: number,
): Promise<{ readonly started: Promise<void> }> {
  const entries: TorrentEntry[] = [];
  for (const record of inQueueOrder(records)) {
    let metainfo: Metainfo | undefined;
    let failure: string | undefined;
    if (record.hasMetadata) {
      try {
        metainfo = parseTorrent(await h.store.readTorrent(record.id));
        if (toHex(metainfo.infoHashV1 ?? metainfo.infoHashV2!) !== record.id)
          throw new Error('its info-hash does not match the record');
      } catch (e) {
        metainfo = undefined;
        failure = `cannot load the stored .torrent: ${(e as Error).message}`;
        h.log.warn({ id: record.id, err: e }, 'torrent not restored');
      }
    }
    const entry = new TorrentEntry(record, metainfo);
    entry.failure = failure;
    h.adopt(entry);
    entries.push(entry);
    if (metainfo !== undefined) await loadSnapshot(h.store, entry, h.log);
  }
  const pending = entries.filter(
    (e) => e.failure === undefined && !(e.record.paused && e.metainfo === undefined),
  );
  const worker = async (): Promise<void> => {
    for (let e = pending.shift(); e !== undefined && !h.isClosed(); e = pending.shift()) {
      const entry = e;
      await entry.run(async () => {
        if (h.isClosed() || !h.isCurrent(entry) || entry.torrent !== undefined) return;
        if (entry.record.paused && entry.metainfo === undefined) return;
        await h.start(entry);
      });
    }
  };
  return { started: Promise.all(Array.from({ length: concurrency }, worker)).then(() => {}) };
}

/** The last progress of `entry` from its resume record, shown until it is in the session. */
async function loadSnapshot(store: StateStore, entry: TorrentEntry, log: Logger): Promise<void> {
  const m = entry.metainfo!;
  try {
    const bytes = await readResumeFile(store.resumePath(entry.id));
    const rec =
      bytes === undefined
        ? undefined
        : decodeResume(bytes, {
            infoHashV1: m.infoHashV1,
            infoHashV2: m.infoHashV2,
            pieceCount: m.pieceCount,
            fileCount: m.files.length,
          });
    if (rec !== undefined) {
      entry.snapshot = {
        have: Bitfield.fromWire(rec.pieces, m.pieceCount),
        uploaded: rec.uploaded,
        downloaded: rec.downloaded,
      };
    }
  } catch (e) {
    log.debug({ id: entry.id, err: e }, 'no usable resume record');
  }
}
