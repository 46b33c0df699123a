/**
 * The dashboard's state: the torrent list and session statistics (refreshed by the `snapshot`
 * event about once a second), the settings, the selection, the list's filter, search and sort.
 * Views subscribe and re-render on the next animation frame after any change.
 */
import type { SessionStatsInfo, SettingsInfo, TorrentSummary } from '../../src/daemon/api-types.js';
import { type FilterName, matchesFilter, type SortKey, type SortOrder, sortTorrents } from './sorting.js';

export type { FilterName, SortKey, SortOrder } from './sorting.js';
export { matchesFilter } from './sorting.js';

const SORT_KEY = 'shoal.sort';
const SORT_KEYS: readonly SortKey[] = [
  'name',
  'size',
  'progress',
  'state',
  'downloadRate',
  'uploadRate',
  'peers',
  'ratio',
  'eta',
  'addedAt',
  'queue',
];

function loadSort(): SortOrder {
  try {
    const raw = JSON.parse(localStorage.getItem(SORT_KEY) ?? 'null') as {
      key?: unknown;
      dir?: unknown;
    } | null;
    if (raw !== null && SORT_KEYS.includes(raw.key as SortKey) && (raw.dir === 1 || raw.dir === -1))
      return { key: raw.key as SortKey, dir: raw.dir };
  } catch {
    // a damaged entry falls back to the default
  }
  return { key: 'addedAt', dir: 1 };
}

export type Connection = 'connecting' | 'live' | 'offline';

type Listener = () => void;

export class Store {
  torrents: TorrentSummary[] = [];
  stats: SessionStatsInfo | null = null;
  settings: SettingsInfo | null = null;
  /** Ids of the selected rows. */
  selected = new Set<string>();
  /** The torrent shown in the detail pane. */
  focused: string | null = null;
  filter: FilterName = 'all';
  search = '';
  sort: SortOrder = loadSort();
  connection: Connection = 'connecting';
  /** True once the first list arrived (the empty state is shown only then). */
  loaded = false;

  readonly #listeners = new Set<Listener>();
  #scheduled = false;

  subscribe(fn: Listener): void {
    this.#listeners.add(fn);
  }

  /** Applies `fn` and re-renders on the next frame. */
  update(fn: (s: this) => void): void {
    fn(this);
    this.changed();
  }

  changed(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    requestAnimationFrame(() => {
      this.#scheduled = false;
      for (const l of this.#listeners) l();
    });
  }

  setTorrents(list: readonly TorrentSummary[]): void {
    this.torrents = [...list];
    this.loaded = true;
    const ids = new Set(list.map((t) => t.id));
    for (const id of this.selected) if (!ids.has(id)) this.selected.delete(id);
    if (this.focused !== null && !ids.has(this.focused)) this.focused = null;
    this.changed();
  }

  /** Replaces or appends one row (after an action answered with the new summary). */
  upsert(t: TorrentSummary): void {
    const i = this.torrents.findIndex((x) => x.id === t.id);
    if (i >= 0) this.torrents[i] = t;
    else this.torrents.push(t);
    this.changed();
  }

  removeLocal(id: string): void {
    this.torrents = this.torrents.filter((t) => t.id !== id);
    this.selected.delete(id);
    if (this.focused === id) this.focused = null;
    this.changed();
  }

  setSort(key: SortKey): void {
    this.sort = {
      key,
      dir:
        this.sort.key === key ? (this.sort.dir === 1 ? -1 : 1) : key === 'name' || key === 'queue' ? 1 : -1,
    };
    try {
      localStorage.setItem(SORT_KEY, JSON.stringify(this.sort));
    } catch {
      // storage may be disabled; sorting still works for this page
    }
    this.changed();
  }

  /** The rows to show: filtered, searched, sorted. */
  visible(): TorrentSummary[] {
    const q = this.search.trim().toLowerCase();
    const rows = this.torrents.filter(
      (t) =>
        matchesFilter(t, this.filter) && (q === '' || t.name.toLowerCase().includes(q) || t.id.startsWith(q)),
    );
    return sortTorrents(rows, this.sort);
  }

  selectedTorrents(): TorrentSummary[] {
    return this.torrents.filter((t) => this.selected.has(t.id));
  }

  byId(id: string): TorrentSummary | undefined {
    return this.torrents.find((t) => t.id === id);
  }
}
