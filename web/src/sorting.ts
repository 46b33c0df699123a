/**
 * The torrent list's filters and sort orders: pure functions over `TorrentSummary` rows (no DOM),
 * so they are unit-tested in Node.
 */
import type { TorrentStateName, TorrentSummary } from '../../src/daemon/api-types.js';

/** The sidebar's filters. */
export type FilterName = 'all' | 'downloading' | 'seeding' | 'active' | 'paused' | 'checking' | 'error';

/** Sortable columns of the torrent list. */
export type SortKey =
  | 'name'
  | 'size'
  | 'progress'
  | 'state'
  | 'downloadRate'
  | 'uploadRate'
  | 'peers'
  | 'ratio'
  | 'eta'
  | 'addedAt'
  | 'queue';

export interface SortOrder {
  readonly key: SortKey;
  readonly dir: 1 | -1;
}

/** Which torrents each filter shows. */
export function matchesFilter(t: TorrentSummary, f: FilterName): boolean {
  switch (f) {
    case 'all':
      return true;
    case 'downloading':
      return t.state === 'downloading' || t.state === 'metadata' || t.state === 'queued';
    case 'seeding':
      return t.state === 'seeding';
    case 'active':
      return t.downloadRate > 0 || t.uploadRate > 0;
    case 'paused':
      return t.state === 'paused';
    case 'checking':
      return t.state === 'checking';
    case 'error':
      return t.state === 'error';
  }
}

const STATE_ORDER: Readonly<Record<TorrentStateName, number>> = {
  downloading: 0,
  metadata: 1,
  checking: 2,
  queued: 3,
  seeding: 4,
  paused: 5,
  error: 6,
};

function sortValue(t: TorrentSummary, key: SortKey): number | string {
  switch (key) {
    case 'name':
      return t.name.toLowerCase();
    case 'size':
      return t.size;
    case 'progress':
      return t.progress;
    case 'state':
      return STATE_ORDER[t.state];
    case 'downloadRate':
      return t.downloadRate;
    case 'uploadRate':
      return t.uploadRate;
    case 'peers':
      return t.peerCount;
    case 'ratio':
      return t.ratio;
    case 'eta':
      return t.eta ?? Number.POSITIVE_INFINITY;
    case 'addedAt':
      return t.addedAt;
    case 'queue':
      return t.queuePosition;
  }
}

/** Sorts a copy of `list` (ties keep the order of addition). */
export function sortTorrents(list: readonly TorrentSummary[], order: SortOrder): TorrentSummary[] {
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  return list
    .map((t, i) => ({ t, i }))
    .sort((a, b) => {
      const va = sortValue(a.t, order.key);
      const vb = sortValue(b.t, order.key);
      const c =
        typeof va === 'string' && typeof vb === 'string'
          ? collator.compare(va, vb)
          : (va as number) < (vb as number)
            ? -1
            : (va as number) > (vb as number)
              ? 1
              : 0;
      return c !== 0 ? c * order.dir : a.i - b.i;
    })
    .map((x) => x.t);
}
