/**
 * Turns a {@link TorrentEntry} into the API's JSON shapes (api-types.ts): the list row, the file
 * list with per-file progress, peers, trackers and the piece bitfield.
 *
 * Per-file progress comes from the verified-piece bitfield and the piece layout: a file's done
 * bytes are, over the pieces it spans, the overlap of each verified piece with the file.
 */
import { buildMagnet, magnetFromMetainfo, type TorrentFile, userFiles } from '../metainfo/index.js';
import type { TorrentPeerInfo } from '../session/index.js';
import type { Bitfield } from '../wire/index.js';
import type {
  FileInfo,
  PeerInfo,
  PiecesInfo,
  TorrentDetails,
  TorrentSummary,
  TrackerInfo,
} from './api-types.js';
import type { Layout, TorrentEntry } from './torrent-entry.js';

/** Read access to verified pieces. */
export interface HaveView {
  get(index: number): boolean;
}

/** Verified bytes of `file` given which pieces are verified. */
export function fileDoneBytes(file: TorrentFile, pieceLength: number, have: HaveView): number {
  if (file.length === 0) return 0;
  const start = file.offset;
  const end = file.offset + file.length;
  const first = Math.floor(start / pieceLength);
  const last = Math.floor((end - 1) / pieceLength);
  let done = 0;
  for (let i = first; i <= last; i++) {
    if (!have.get(i)) continue;
    done += Math.min(end, (i + 1) * pieceLength) - Math.max(start, i * pieceLength);
  }
  return done;
}

const doneCache = new WeakMap<Bitfield, { key: Layout; done: number }>();

/** Verified bytes of the wanted files (cached per bitfield object and layout). */
function wantedDone(entry: TorrentEntry, layout: Layout, have: Bitfield): number {
  const hit = doneCache.get(have);
  if (hit !== undefined && hit.key === layout) return hit.done;
  const m = entry.metainfo!;
  const prio = entry.priorities();
  let done = 0;
  m.files.forEach((f, i) => {
    if (!f.isPadding && prio[i] !== 0) done += fileDoneBytes(f, m.pieceLength, have);
  });
  doneCache.set(have, { key: layout, done });
  return done;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The torrent's list row. */
export function torrentSummary(entry: TorrentEntry): TorrentSummary {
  const m = entry.metainfo;
  const t = entry.torrent;
  const layout = entry.layout();
  const state = entry.state;
  const hashes = entry.hashes();
  let downloadRate = 0;
  let uploadRate = 0;
  let downloaded = entry.snapshot?.downloaded ?? 0;
  let uploaded = entry.snapshot?.uploaded ?? 0;
  let peerCount = 0;
  let seedCount = 0;
  let haveCount = entry.snapshot?.have.count() ?? 0;
  let progress = 0;
  let left = 0;
  const wantedBytes = layout?.wantedBytes ?? 0;
  const fromSnapshot = () => {
    const snap = entry.snapshot;
    if (layout === undefined || snap === undefined) return 0;
    return wantedBytes === 0 ? 1 : wantedDone(entry, layout, snap.have) / wantedBytes;
  };
  if (t !== undefined && state !== 'checking') {
    const s = entry.stats()!;
    downloadRate = s.downloadRate;
    uploadRate = s.uploadRate;
    downloaded = s.totalDownloaded;
    uploaded = s.totalUploaded;
    peerCount = s.peerCount;
    seedCount = s.seedCount;
    haveCount = s.haveCount;
    left = s.leftBytes;
    const wpb = layout?.wantedPieceBytes ?? 0;
    progress = s.isFinished || wpb === 0 ? 1 : Math.min(1, Math.max(0, 1 - s.leftBytes / wpb));
  } else {
    progress = fromSnapshot();
    if (layout !== undefined) left = Math.max(0, wantedBytes - Math.round(progress * wantedBytes));
    if (entry.pendingMagnet !== undefined) peerCount = entry.pendingMagnet.connections;
  }
  if (state === 'error' || state === 'paused' || state === 'queued') {
    // Nothing moves: the torrent's last measured rates (a torrent in error still holds them)
    // would show a stalled transfer as running.
    downloadRate = 0;
    uploadRate = 0;
    peerCount = 0;
    seedCount = 0;
  }
  if (m === undefined) progress = 0;
  const eta =
    m === undefined ? null : progress >= 1 ? 0 : downloadRate > 0 ? Math.ceil(left / downloadRate) : null;
  return {
    id: entry.id,
    infoHashV1: hashes.v1,
    infoHashV2: hashes.v2,
    name: entry.name,
    state,
    error: state === 'error' ? (entry.errorMessage ?? 'unknown error') : null,
    size: m?.totalLength ?? 0,
    wantedBytes,
    doneBytes: Math.round(progress * wantedBytes),
    progress: round(progress, 6),
    downloadRate: Math.round(downloadRate),
    uploadRate: Math.round(uploadRate),
    downloadedBytes: downloaded,
    uploadedBytes: uploaded,
    ratio: downloaded > 0 ? round(uploaded / downloaded, 4) : 0,
    eta,
    peerCount,
    seedCount,
    pieceCount: m?.pieceCount ?? 0,
    haveCount,
    downloadDir: entry.record.downloadDir,
    addedAt: entry.record.addedAt,
    completedAt: entry.record.completedAt ?? null,
    hasMetadata: m !== undefined,
  };
}

/** The verified-piece bitfield the daemon knows of (running torrent, else last snapshot). */
export function currentHave(entry: TorrentEntry): Bitfield | undefined {
  const t = entry.torrent;
  if (t !== undefined && t.state !== 'checking') return t.bitfield();
  return entry.snapshot?.have;
}

/**
 * The torrent's files with progress and priority. `index` is the file *number*: padding files
 * are left out and not counted (the numbering of `shoal info`, `--only` and `/stream/<id>/<n>`).
 */
export function fileInfos(entry: TorrentEntry): FileInfo[] {
  const m = entry.metainfo;
  if (m === undefined) return [];
  const have: HaveView = currentHave(entry) ?? { get: () => false };
  const prio = entry.priorities();
  return userFiles(m).map((u) => {
    const f = u.file;
    const done = fileDoneBytes(f, m.pieceLength, have);
    return {
      index: u.number,
      path: u.path,
      length: f.length,
      doneBytes: done,
      progress: f.length === 0 ? 1 : round(done / f.length, 6),
      priority: prio[u.fileIndex] ?? 1,
      streamUrl: `/stream/${entry.id}/${u.number}`,
    };
  });
}

function peerFlags(p: TorrentPeerInfo): string {
  let f = '';
  if (p.amInterested) f += p.peerChoking ? 'd' : 'D';
  if (p.peerInterested) f += p.amChoking ? 'u' : 'U';
  if (p.isOptimistic) f += 'O';
  if (p.isSnubbed) f += 'S';
  if (!p.outgoing) f += 'I';
  if (p.isSeed) f += 'E';
  return f;
}

/** Connected peers of a running torrent. */
export function peerInfos(entry: TorrentEntry): PeerInfo[] {
  const t = entry.torrent;
  if (t === undefined) return [];
  const pieces = entry.metainfo?.pieceCount ?? 0;
  return t.peers().map((p) => ({
    address: p.address,
    client: p.client ?? null,
    downloadRate: Math.round(p.downloadRate),
    uploadRate: Math.round(p.uploadRate),
    downloadedBytes: p.downloadedBytes,
    uploadedBytes: p.uploadedBytes,
    progress: pieces === 0 ? 0 : round(p.pieceCount / pieces, 4),
    flags: peerFlags(p),
    transport: p.transport,
    outgoing: p.outgoing,
    isSeed: p.isSeed,
    amChoking: p.amChoking,
    amInterested: p.amInterested,
    peerChoking: p.peerChoking,
    peerInterested: p.peerInterested,
  }));
}

const orNull = <T>(v: unknown, check: (v: unknown) => v is T): T | null => (check(v) ? v : null);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/**
 * The torrent's trackers. When the session's torrent reports tracker status (a `trackers()`
 * method returning objects shaped like {@link TrackerInfo}), that is used; until then the
 * metainfo's tiers are listed as `not-contacted`.
 */
export function trackerInfos(entry: TorrentEntry): TrackerInfo[] {
  const t = entry.torrent as unknown as { trackers?: unknown } | undefined;
  if (t !== undefined && typeof t.trackers === 'function') {
    const list = (t.trackers as () => unknown)();
    if (Array.isArray(list)) {
      return list
        .filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null && isStr(x.url))
        .map((x) => ({
          url: x.url as string,
          tier: isNum(x.tier) ? x.tier : 0,
          status: isStr(x.status) ? x.status : 'unknown',
          message: orNull(x.message, isStr),
          peers: orNull(x.peers, isNum),
          seeders: orNull(x.seeders, isNum),
          leechers: orNull(x.leechers, isNum),
          lastAnnounceAt: orNull(x.lastAnnounceAt, isNum),
          nextAnnounceAt: orNull(x.nextAnnounceAt, isNum),
        }));
    }
  }
  const tiers = entry.metainfo?.trackers ?? [];
  const out: TrackerInfo[] = [];
  tiers.forEach((tier, i) => {
    for (const url of tier) {
      out.push({
        url,
        tier: i,
        status: 'not-contacted',
        message: null,
        peers: null,
        seeders: null,
        leechers: null,
        lastAnnounceAt: null,
        nextAnnounceAt: null,
      });
    }
  });
  return out;
}

/** The verified pieces as a base64 BEP 3 bitfield. */
export function piecesInfo(entry: TorrentEntry): PiecesInfo {
  const m = entry.metainfo;
  const have = currentHave(entry);
  const count = m?.pieceCount ?? 0;
  const bytes = have?.toWire() ?? new Uint8Array(Math.ceil(count / 8));
  return {
    pieceCount: count,
    haveCount: have?.count() ?? 0,
    pieceLength: m?.pieceLength ?? 0,
    bitfield: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64'),
  };
}

/** Everything about the torrent. */
export function torrentDetails(entry: TorrentEntry): TorrentDetails {
  const m = entry.metainfo;
  const s = entry.torrent !== undefined && entry.state !== 'checking' ? entry.stats() : undefined;
  let magnet: string | null = entry.record.magnet ?? null;
  if (m !== undefined) {
    try {
      magnet = buildMagnet(magnetFromMetainfo(m));
    } catch {
      // keep the stored one
    }
  }
  return {
    ...torrentSummary(entry),
    version: m?.version ?? null,
    pieceLength: m?.pieceLength ?? 0,
    isPrivate: m?.isPrivate ?? false,
    comment: m?.comment ?? null,
    createdBy: m?.createdBy ?? null,
    creationDate: m?.creationDate ?? null,
    magnet,
    wastedBytes: s?.wastedBytes ?? 0,
    hashFailures: s?.hashFailures ?? 0,
    files: fileInfos(entry),
    peers: peerInfos(entry),
    trackers: trackerInfos(entry),
    pieces: piecesInfo(entry),
  };
}
