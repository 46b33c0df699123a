/**
 * The torrent list: one row per torrent, keyed by id and updated in place on every snapshot (so
 * selection, hover and scroll survive the 1 Hz refresh). Click selects and opens the details,
 * Ctrl/⌘-click toggles, Shift-click selects a range; column headers sort.
 */
import type { TorrentSummary } from '../../src/daemon/api-types.js';
import { h, replaceChildren, setAttr, setText } from './dom.js';
import {
  formatBytes,
  formatEta,
  formatPercent,
  formatRate,
  formatRatio,
  STATE_LABELS,
  statusOf,
} from './format.js';
import { type IconName, icon } from './icons.js';
import type { SortKey, Store } from './store.js';

interface Column {
  readonly key: SortKey;
  readonly label: string;
  readonly className: string;
  readonly title?: string;
}

const COLUMNS: readonly Column[] = [
  {
    key: 'queue',
    label: '#',
    className: 'col-queue num',
    title: 'Queue position: within the active limits the first torrents run, the others wait',
  },
  { key: 'name', label: 'Name', className: 'col-name' },
  { key: 'size', label: 'Size', className: 'col-size num' },
  { key: 'progress', label: 'Progress', className: 'col-progress' },
  { key: 'state', label: 'Status', className: 'col-state' },
  { key: 'downloadRate', label: 'Down', className: 'col-rate num', title: 'Download rate' },
  { key: 'uploadRate', label: 'Up', className: 'col-rate num', title: 'Upload rate' },
  { key: 'peers', label: 'Peers', className: 'col-peers num', title: 'Connected peers (seeds)' },
  { key: 'ratio', label: 'Ratio', className: 'col-ratio num', title: 'Share ratio: uploaded / downloaded' },
  { key: 'eta', label: 'ETA', className: 'col-eta num', title: 'Time left at the current rate' },
];

const STATE_ICON: Readonly<Record<TorrentSummary['state'], IconName>> = {
  queued: 'queued',
  metadata: 'magnet',
  checking: 'recheck',
  downloading: 'down',
  seeding: 'up',
  paused: 'pause',
  error: 'alert',
};

interface RowRefs {
  readonly tr: HTMLTableRowElement;
  readonly queue: HTMLElement;
  readonly stateIcon: HTMLElement;
  readonly name: HTMLElement;
  readonly size: HTMLElement;
  readonly bar: HTMLElement;
  readonly barFill: HTMLElement;
  readonly barText: HTMLElement;
  readonly state: HTMLElement;
  readonly down: HTMLElement;
  readonly up: HTMLElement;
  readonly peers: HTMLElement;
  readonly ratio: HTMLElement;
  readonly eta: HTMLElement;
  lastState: string;
}

export interface TableActions {
  /** Opens the add dialog (the empty state's button). */
  add(): void;
  /** Double-click: pause a running torrent, resume a paused one. */
  toggle(id: string): void;
}

export class TorrentTable {
  readonly #store: Store;
  readonly #actions: TableActions;
  readonly #table: HTMLTableElement;
  readonly #scroll: HTMLElement;
  readonly #tbody: HTMLTableSectionElement;
  readonly #headCells = new Map<SortKey, HTMLTableCellElement>();
  readonly #rows = new Map<string, RowRefs>();
  readonly #empty: HTMLElement;
  #anchor: string | null = null;
  #order: string[] = [];

  constructor(root: HTMLElement, store: Store, actions: TableActions) {
    this.#store = store;
    this.#actions = actions;
    const headRow = h('tr');
    for (const col of COLUMNS) {
      const th = h(
        'th',
        { class: `${col.className} sortable`, scope: 'col', title: col.title, 'data-sort': col.key },
        h(
          'button',
          { type: 'button', class: 'th-btn', onClick: () => store.setSort(col.key) },
          col.label,
          h('span', { class: 'sort-arrow', 'aria-hidden': 'true' }),
        ),
      );
      this.#headCells.set(col.key, th);
      headRow.appendChild(th);
    }
    this.#tbody = h('tbody');
    this.#table = h(
      'table',
      { class: 'torrents', id: 'torrent-table' },
      h('thead', null, headRow),
      this.#tbody,
    );
    this.#empty = h('div', { class: 'empty-state', id: 'empty-state', hidden: true });
    this.#scroll = h('div', { class: 'table-scroll' }, this.#table);
    replaceChildren(root, this.#scroll, this.#empty);
  }

  render(): void {
    const s = this.#store;
    for (const [key, th] of this.#headCells) {
      const active = s.sort.key === key;
      th.classList.toggle('sorted', active);
      setAttr(th, 'aria-sort', active ? (s.sort.dir === 1 ? 'ascending' : 'descending') : 'none');
    }
    const rows = s.visible();
    const seen = new Set<string>();
    rows.forEach((t, i) => {
      seen.add(t.id);
      let r = this.#rows.get(t.id);
      if (r === undefined) {
        r = this.#makeRow(t.id);
        this.#rows.set(t.id, r);
      }
      this.#fill(r, t);
      if (this.#tbody.children[i] !== r.tr) this.#tbody.insertBefore(r.tr, this.#tbody.children[i] ?? null);
    });
    for (const [id, r] of this.#rows) {
      if (!seen.has(id)) {
        r.tr.remove();
        if (s.byId(id) === undefined) this.#rows.delete(id);
      }
    }
    this.#order = rows.map((t) => t.id);
    this.#renderEmpty(rows.length);
  }

  #renderEmpty(visible: number): void {
    const s = this.#store;
    const none = s.loaded && visible === 0;
    this.#scroll.hidden = none;
    this.#empty.hidden = !none;
    if (!none) return;
    const key = s.torrents.length === 0 ? 'none' : 'filtered';
    if (this.#empty.dataset.kind === key) return;
    this.#empty.dataset.kind = key;
    if (key === 'none') {
      replaceChildren(
        this.#empty,
        h('div', { class: 'empty-icon' }, icon('magnet', 'icon icon-xl')),
        h('h2', null, 'No torrents yet'),
        h(
          'p',
          null,
          'Paste a magnet link, choose a .torrent file, or drop .torrent files anywhere on this page.',
        ),
        h(
          'button',
          { type: 'button', class: 'btn btn-primary', onClick: () => this.#actions.add() },
          icon('plus'),
          'Add torrent',
        ),
      );
    } else {
      replaceChildren(
        this.#empty,
        h('div', { class: 'empty-icon' }, icon('search', 'icon icon-xl')),
        h('h2', null, 'Nothing matches'),
        h('p', null, 'No torrent matches this filter or search.'),
      );
    }
  }

  #makeRow(id: string): RowRefs {
    const td = (cls: string, ...kids: Node[]) => h('td', { class: cls }, ...kids);
    const stateIcon = h('span', { class: 'state-icon' });
    const name = h('span', { class: 'name-text' });
    const size = h('span');
    const barFill = h('div', { class: 'bar-fill' });
    const barText = h('span', { class: 'bar-text' });
    const bar = h(
      'div',
      { class: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' },
      h('div', { class: 'bar-track' }, barFill),
      barText,
    );
    const state = h('span', { class: 'badge' });
    const down = h('span');
    const up = h('span');
    const peers = h('span');
    const ratio = h('span');
    const eta = h('span');
    const queue = h('span');
    const tr = h(
      'tr',
      { class: 'torrent-row', 'data-id': id, tabindex: '-1' },
      td('col-queue num', queue),
      td('col-name', h('div', { class: 'name-cell' }, stateIcon, name)),
      td('col-size num', size),
      td('col-progress', bar),
      td('col-state', state),
      td('col-rate num rate-down', down),
      td('col-rate num rate-up', up),
      td('col-peers num', peers),
      td('col-ratio num', ratio),
      td('col-eta num', eta),
    );
    tr.addEventListener('click', (e) => this.#click(id, e));
    tr.addEventListener('dblclick', () => this.#actions.toggle(id));
    return {
      tr,
      queue,
      stateIcon,
      name,
      size,
      bar,
      barFill,
      barText,
      state,
      down,
      up,
      peers,
      ratio,
      eta,
      lastState: '',
    };
  }

  #fill(r: RowRefs, t: TorrentSummary): void {
    const s = this.#store;
    const pct = formatPercent(t.progress);
    setAttr(r.tr, 'data-name', t.name);
    setAttr(r.tr, 'data-state', t.state);
    setAttr(r.tr, 'data-progress', String(t.progress));
    setAttr(r.tr, 'data-queue', String(t.queuePosition));
    setText(r.queue, String(t.queuePosition + 1));
    setAttr(r.tr, 'aria-selected', String(s.selected.has(t.id)));
    r.tr.classList.toggle('selected', s.selected.has(t.id));
    r.tr.classList.toggle('focused', s.focused === t.id);
    if (r.lastState !== t.state) {
      r.tr.classList.remove(`state-${r.lastState}`);
      r.tr.classList.add(`state-${t.state}`);
      replaceChildren(r.stateIcon, icon(STATE_ICON[t.state]));
      r.lastState = t.state;
    }
    setText(r.name, t.name);
    setAttr(r.name, 'title', t.name);
    setText(r.size, t.hasMetadata ? formatBytes(Math.min(t.wantedBytes, t.size)) : '–');
    const width = `${Math.max(0, Math.min(100, t.progress * 100)).toFixed(2)}%`;
    if (r.barFill.style.width !== width) r.barFill.style.width = width;
    setText(r.barText, pct);
    setAttr(r.bar, 'aria-valuenow', (t.progress * 100).toFixed(1));
    const status = statusOf(t);
    setText(r.state, status.label);
    setAttr(r.state, 'class', `badge badge-${status.badge}`);
    setAttr(r.state, 'title', t.error ?? STATE_LABELS[t.state]);
    setText(r.down, formatRate(t.downloadRate));
    setText(r.up, formatRate(t.uploadRate));
    setText(r.peers, t.seedCount > 0 ? `${t.peerCount} (${t.seedCount})` : String(t.peerCount));
    setText(r.ratio, formatRatio(t.ratio, t.uploadedBytes, t.downloadedBytes));
    setText(r.eta, formatEta(t.eta, t.state, t.progress));
  }

  #click(id: string, e: MouseEvent): void {
    const s = this.#store;
    if (e.shiftKey && this.#anchor !== null) {
      const a = this.#order.indexOf(this.#anchor);
      const b = this.#order.indexOf(id);
      if (a >= 0 && b >= 0) {
        s.selected = new Set(this.#order.slice(Math.min(a, b), Math.max(a, b) + 1));
      }
    } else if (e.ctrlKey || e.metaKey) {
      if (s.selected.has(id)) s.selected.delete(id);
      else s.selected.add(id);
      this.#anchor = id;
    } else {
      s.selected = new Set([id]);
      this.#anchor = id;
    }
    s.focused = s.selected.has(id) ? id : ([...s.selected][0] ?? null);
    s.changed();
  }

  /** Moves the selection up or down (arrow keys). */
  step(delta: number): void {
    const s = this.#store;
    if (this.#order.length === 0) return;
    const cur = s.focused === null ? -1 : this.#order.indexOf(s.focused);
    const next = this.#order[Math.max(0, Math.min(this.#order.length - 1, cur + delta))];
    if (next === undefined) return;
    s.selected = new Set([next]);
    s.focused = next;
    this.#anchor = next;
    this.#rows.get(next)?.tr.scrollIntoView({ block: 'nearest' });
    s.changed();
  }

  /** Selects every visible row. */
  selectAll(): void {
    this.#store.selected = new Set(this.#order);
    this.#store.changed();
  }
}
