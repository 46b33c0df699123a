/**
 * The detail pane under the list (qBittorrent-style): General (piece map, transfer and torrent
 * facts), Files (progress, priority, stream/play), Options (its own limits, priority and seed
 * limits), Peers (with transport and encryption), Peer events (connects, disconnects, refusals,
 * hash failures, bans, with reasons) and Trackers. While open it re-reads
 * `GET /api/v1/torrents/:id` (and the peer log, on its tab) on every snapshot; rows are updated in
 * place so an open priority menu is not torn down by the refresh.
 */
import type { FileInfo, PeerEventInfo, TorrentDetails } from '../../src/daemon/api-types.js';
import { ApiFailure, api, describeError } from './api.js';
import { OptionsForm } from './details-options.js';
import { peerEventsView, peersView, trackersView } from './details-tables.js';
import { h, replaceChildren, setAttr, setText } from './dom.js';
import {
  formatBytes,
  formatDate,
  formatEta,
  formatPercent,
  formatRate,
  formatRatio,
  isPlayable,
  statusOf,
} from './format.js';
import { icon } from './icons.js';
import { PieceMap } from './piece-map.js';
import type { Store } from './store.js';
import { toast } from './toasts.js';

const HEIGHT_KEY = 'shoal.detailsHeight';

function readStored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

type TabName = 'general' | 'files' | 'options' | 'peers' | 'events' | 'trackers';

const TABS: readonly { name: TabName; label: string }[] = [
  { name: 'general', label: 'General' },
  { name: 'files', label: 'Files' },
  { name: 'options', label: 'Options' },
  { name: 'peers', label: 'Peers' },
  { name: 'events', label: 'Peer events' },
  { name: 'trackers', label: 'Trackers' },
];

const PRIORITIES: readonly { value: number; label: string }[] = [
  { value: 2, label: 'High' },
  { value: 1, label: 'Normal' },
  { value: 0, label: 'Skip' },
];

export interface DetailActions {
  play(torrent: TorrentDetails, file: FileInfo): void;
  close(): void;
}

interface FileRow {
  readonly tr: HTMLTableRowElement;
  readonly fill: HTMLElement;
  readonly text: HTMLElement;
  readonly done: HTMLElement;
  readonly select: HTMLSelectElement;
}

type Field = readonly [label: string, value: (d: TorrentDetails) => string, cls?: string];

const TRANSFER: readonly Field[] = [
  [
    'Progress',
    (d) => `${formatPercent(d.progress)} — ${formatBytes(d.doneBytes)} of ${formatBytes(d.wantedBytes)}`,
  ],
  ['Download speed', (d) => formatRate(d.downloadRate)],
  ['Upload speed', (d) => formatRate(d.uploadRate)],
  ['Downloaded', (d) => formatBytes(d.downloadedBytes)],
  ['Uploaded', (d) => formatBytes(d.uploadedBytes)],
  ['Share ratio', (d) => formatRatio(d.ratio, d.uploadedBytes, d.downloadedBytes)],
  ['Time left', (d) => formatEta(d.eta, d.state, d.progress) || '–'],
  [
    'Peers',
    (d) =>
      `${d.peerCount} connected${d.seedCount > 0 ? ` (${d.seedCount} seed${d.seedCount === 1 ? '' : 's'})` : ''}`,
  ],
  ['Wasted', (d) => `${formatBytes(d.wastedBytes)} (${d.hashFailures} hash failures)`],
];

const INFO: readonly Field[] = [
  ['Total size', (d) => (d.hasMetadata ? formatBytes(d.size) : 'waiting for metadata')],
  [
    'Pieces',
    (d) => (d.pieceCount > 0 ? `${d.pieceCount} × ${formatBytes(d.pieceLength)} (have ${d.haveCount})` : '–'),
  ],
  ['Save path', (d) => d.downloadDir, 'mono'],
  ['Added on', (d) => formatDate(d.addedAt)],
  ['Completed on', (d) => formatDate(d.completedAt)],
  [
    'Created',
    (d) =>
      [d.createdBy, d.creationDate !== null ? formatDate(d.creationDate * 1000) : null]
        .filter((x) => x !== null)
        .join(', ') || '–',
  ],
  ['Comment', (d) => d.comment ?? '–'],
  ['Info hash v1', (d) => d.infoHashV1 ?? '–', 'mono'],
  ['Info hash v2', (d) => d.infoHashV2 ?? '–', 'mono'],
  ['Format', (d) => `${d.version ?? '–'}${d.isPrivate ? ', private' : ''}`],
];

export class DetailsPane {
  readonly #root: HTMLElement;
  readonly #store: Store;
  readonly #actions: DetailActions;
  #tab: TabName = 'general';
  #id: string | null = null;
  #data: TorrentDetails | null = null;
  #inFlight = false;
  #again = false;
  readonly #title = h('h2', { class: 'details-title' });
  readonly #badge = h('span', { class: 'badge' });
  readonly #tabButtons = new Map<TabName, HTMLButtonElement>();
  readonly #body = h('div', { class: 'details-body' });
  readonly #pieceMap = new PieceMap();
  readonly #fields = new Map<string, HTMLElement>();
  readonly #fileRows = new Map<number, FileRow>();
  #generalFor: string | null = null;
  readonly #splitter: HTMLElement;
  #filesFor: string | null = null;
  readonly #options = new OptionsForm((d) => {
    if (this.#data?.id === d.id) this.#data = d;
  });
  #optionsShown = false;
  /** The peer log of the shown torrent (read while its tab is open). */
  #events: PeerEventInfo[] | null = null;

  constructor(root: HTMLElement, store: Store, actions: DetailActions) {
    this.#root = root;
    this.#store = store;
    this.#actions = actions;
    const tabs = h('div', { class: 'tabs', role: 'tablist' });
    for (const t of TABS) {
      const b = h(
        'button',
        {
          type: 'button',
          class: 'tab',
          role: 'tab',
          'data-tab': t.name,
          onClick: () => this.#select(t.name),
        },
        t.label,
      );
      this.#tabButtons.set(t.name, b);
      tabs.appendChild(b);
    }
    replaceChildren(
      root,
      h(
        'div',
        { class: 'details-head' },
        h('div', { class: 'details-name' }, this.#title, this.#badge),
        tabs,
        h(
          'button',
          {
            type: 'button',
            class: 'icon-btn',
            title: 'Close details (Esc)',
            'aria-label': 'Close details',
            onClick: () => actions.close(),
          },
          icon('close'),
        ),
      ),
      this.#body,
    );
    this.#markTabs();
    this.#splitter = this.#makeSplitter();
  }

  /** The handle above the pane: drag to share the height between list and details (kept). */
  #makeSplitter(): HTMLElement {
    const root = this.#root;
    const saved = Number(readStored(HEIGHT_KEY));
    if (saved > 0) root.style.flexBasis = `${saved}px`;
    const bar = h('div', {
      class: 'splitter',
      role: 'separator',
      'aria-orientation': 'horizontal',
      'aria-label': 'Resize the details',
      title: 'Drag to resize',
      hidden: true,
    });
    root.before(bar);
    bar.addEventListener('pointerdown', (down) => {
      down.preventDefault();
      bar.setPointerCapture(down.pointerId);
      const parent = root.parentElement!.getBoundingClientRect();
      const move = (e: PointerEvent) => {
        const height = Math.max(140, Math.min(parent.height - 140, parent.bottom - e.clientY));
        root.style.flexBasis = `${Math.round(height)}px`;
      };
      const up = () => {
        bar.removeEventListener('pointermove', move);
        bar.removeEventListener('pointerup', up);
        try {
          localStorage.setItem(HEIGHT_KEY, String(parseInt(root.style.flexBasis, 10)));
        } catch {
          // not kept, still applied
        }
      };
      bar.addEventListener('pointermove', move);
      bar.addEventListener('pointerup', up);
    });
    return bar;
  }

  /** Shows the focused torrent, or hides the pane. */
  sync(): void {
    const id = this.#store.focused;
    if (id === this.#id) return;
    this.#id = id;
    this.#data = null;
    this.#generalFor = null;
    this.#filesFor = null;
    this.#optionsShown = false;
    this.#events = null;
    this.#fileRows.clear();
    this.#root.hidden = id === null;
    this.#splitter.hidden = id === null;
    document.body.classList.toggle('with-details', id !== null);
    if (id === null) return;
    const summary = this.#store.byId(id);
    setText(this.#title, summary?.name ?? id);
    replaceChildren(this.#body, h('div', { class: 'details-loading' }, 'Loading…'));
    void this.refresh();
  }

  /** Re-reads the details (called on every snapshot while open). */
  async refresh(): Promise<void> {
    const id = this.#id;
    if (id === null) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    this.#inFlight = true;
    try {
      const [d, log] = await Promise.all([
        api.details(id),
        this.#tab === 'events' ? api.peerLog(id) : Promise.resolve(undefined),
      ]);
      if (this.#id === id) {
        this.#data = d;
        if (log !== undefined) this.#events = log.entries;
        this.#render();
      }
    } catch (e) {
      if (e instanceof ApiFailure && e.status === 404) this.#actions.close();
    } finally {
      this.#inFlight = false;
      if (this.#again) {
        this.#again = false;
        void this.refresh();
      }
    }
  }

  #select(tab: TabName): void {
    this.#tab = tab;
    this.#generalFor = null;
    this.#filesFor = null;
    this.#optionsShown = false;
    if (tab === 'events') void this.refresh();
    this.#fileRows.clear();
    this.#markTabs();
    this.#render();
  }

  #markTabs(): void {
    for (const [name, b] of this.#tabButtons) {
      b.classList.toggle('active', name === this.#tab);
      b.setAttribute('aria-selected', String(name === this.#tab));
    }
  }

  #render(): void {
    const d = this.#data;
    if (d === null) return;
    setText(this.#title, d.name);
    setAttr(this.#title, 'title', d.name);
    const status = statusOf(d);
    setText(this.#badge, status.label);
    setAttr(this.#badge, 'class', `badge badge-${status.badge}`);
    setText(this.#tabButtons.get('files')!, d.files.length > 0 ? `Files (${d.files.length})` : 'Files');
    const ws = d.webSeeds.length;
    setText(
      this.#tabButtons.get('peers')!,
      ws > 0 ? `Peers (${d.peers.length} + ${ws} web)` : `Peers (${d.peers.length})`,
    );
    setText(this.#tabButtons.get('trackers')!, `Trackers (${d.trackers.length})`);
    switch (this.#tab) {
      case 'general':
        this.#renderGeneral(d);
        return;
      case 'files':
        this.#renderFiles(d);
        return;
      case 'options':
        if (!this.#optionsShown) {
          this.#optionsShown = true;
          replaceChildren(this.#body, this.#options.el);
        }
        this.#options.update(d, this.#store.settings);
        return;
      case 'peers':
        this.#renderPeers(d);
        return;
      case 'events':
        replaceChildren(this.#body, peerEventsView(this.#events));
        return;
      case 'trackers':
        this.#renderTrackers(d);
        return;
    }
  }

  #renderGeneral(d: TorrentDetails): void {
    if (this.#generalFor !== d.id) {
      this.#generalFor = d.id;
      this.#fields.clear();
      const grid = (title: string, fields: readonly Field[]) =>
        h(
          'section',
          { class: 'info-card' },
          h('h3', null, title),
          h(
            'dl',
            { class: 'info-grid' },
            fields.map(([label, , cls]) => {
              const dd = h('dd', { class: cls });
              this.#fields.set(label, dd);
              return [h('dt', null, label), dd];
            }),
          ),
        );
      const magnet = h('input', { class: 'magnet-input mono', readonly: true, 'aria-label': 'Magnet link' });
      this.#fields.set('magnet', magnet);
      const error = h('div', { class: 'banner banner-error', hidden: true });
      this.#fields.set('error', error);
      replaceChildren(
        this.#body,
        h(
          'div',
          { class: 'general', id: 'details-general' },
          error,
          h(
            'section',
            { class: 'pieces-card' },
            h(
              'div',
              { class: 'pieces-head' },
              h('h3', null, 'Pieces'),
              h(
                'span',
                { class: 'legend' },
                h('i', { class: 'swatch swatch-have' }),
                'verified',
                h('i', { class: 'swatch swatch-missing' }),
                'missing',
              ),
              h('span', { class: 'pieces-count muted' }),
            ),
            this.#pieceMap.canvas,
          ),
          h('div', { class: 'info-cards' }, grid('Transfer', TRANSFER), grid('Information', INFO)),
          h(
            'div',
            { class: 'magnet-row' },
            icon('magnet'),
            magnet,
            h(
              'button',
              {
                type: 'button',
                class: 'btn btn-small',
                onClick: () => {
                  magnet.select();
                  void navigator.clipboard
                    ?.writeText(magnet.value)
                    .then(() => toast('Magnet link copied', 'success'))
                    .catch(() => {});
                },
              },
              'Copy',
            ),
          ),
        ),
      );
    }
    for (const [label, fn] of [...TRANSFER, ...INFO]) {
      const el = this.#fields.get(label);
      if (el !== undefined) setText(el, fn(d));
    }
    const magnet = this.#fields.get('magnet') as HTMLInputElement | undefined;
    if (magnet !== undefined && magnet.value !== (d.magnet ?? '')) magnet.value = d.magnet ?? '';
    const error = this.#fields.get('error');
    if (error !== undefined) {
      error.hidden = d.error === null;
      setText(error, d.error ?? '');
    }
    const count = this.#body.querySelector('.pieces-count');
    if (count !== null)
      setText(
        count,
        d.pieces.pieceCount > 0 ? `${d.pieces.haveCount} / ${d.pieces.pieceCount}` : 'no metadata yet',
      );
    this.#pieceMap.update(d.pieces.bitfield, d.pieces.pieceCount);
  }

  #renderFiles(d: TorrentDetails): void {
    if (this.#filesFor !== d.id) {
      this.#filesFor = d.id;
      this.#fileRows.clear();
      if (d.files.length === 0) {
        replaceChildren(
          this.#body,
          h(
            'div',
            { class: 'details-empty' },
            'The file list appears once the metadata has arrived from peers.',
          ),
        );
        this.#filesFor = null;
        return;
      }
      const tbody = h('tbody');
      for (const f of d.files) {
        const row = this.#makeFileRow(d, f);
        this.#fileRows.set(f.index, row);
        tbody.appendChild(row.tr);
      }
      replaceChildren(
        this.#body,
        h(
          'table',
          { class: 'grid files', id: 'files-table' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { class: 'col-name' }, 'Name'),
              h('th', { class: 'num col-fsize' }, 'Size'),
              h('th', { class: 'num col-fsize col-done' }, 'Done'),
              h('th', { class: 'col-progress' }, 'Progress'),
              h('th', { class: 'col-prio' }, 'Priority'),
              h('th', { class: 'col-actions' }, 'Stream'),
            ),
          ),
          tbody,
        ),
      );
    }
    for (const f of d.files) {
      const r = this.#fileRows.get(f.index);
      if (r === undefined) continue;
      const width = `${(f.progress * 100).toFixed(2)}%`;
      if (r.fill.style.width !== width) r.fill.style.width = width;
      setText(r.text, formatPercent(f.progress));
      setText(r.done, formatBytes(f.doneBytes));
      setAttr(r.tr, 'data-priority', String(f.priority));
      r.tr.classList.toggle('skipped', f.priority === 0);
      if (document.activeElement !== r.select && r.select.value !== String(f.priority))
        r.select.value = String(f.priority);
    }
  }

  #makeFileRow(d: TorrentDetails, f: FileInfo): FileRow {
    // Paths are below the download folder; a multi-file torrent's own folder is not repeated.
    const shown = f.path.startsWith(`${d.name}/`) ? f.path.slice(d.name.length + 1) : f.path;
    const slash = shown.lastIndexOf('/');
    const fill = h('div', { class: 'bar-fill' });
    const text = h('span', { class: 'bar-text' });
    const done = h('td', { class: 'num col-done' });
    const select = h(
      'select',
      { class: 'prio-select', 'aria-label': `Priority of ${f.path}`, 'data-index': String(f.index) },
      PRIORITIES.map((p) => h('option', { value: String(p.value) }, p.label)),
    );
    select.value = String(f.priority);
    select.addEventListener('change', () => void this.#setPriority(d.id, f.index, Number(select.value)));
    const playable = isPlayable(f.path);
    const tr = h(
      'tr',
      { 'data-index': String(f.index), 'data-path': f.path },
      h(
        'td',
        { class: 'col-name', title: f.path },
        h(
          'div',
          { class: 'name-cell' },
          icon(playable ? 'play' : 'file', 'icon file-icon'),
          slash >= 0 ? h('span', { class: 'muted path-dir' }, shown.slice(0, slash + 1)) : null,
          h('span', { class: 'name-text' }, shown.slice(slash + 1)),
        ),
      ),
      h('td', { class: 'num' }, formatBytes(f.length)),
      done,
      h(
        'td',
        { class: 'col-progress' },
        h('div', { class: 'bar' }, h('div', { class: 'bar-track' }, fill), text),
      ),
      h('td', null, select),
      h(
        'td',
        { class: 'col-actions' },
        playable
          ? h(
              'button',
              {
                type: 'button',
                class: 'btn btn-small play-btn',
                onClick: () => this.#actions.play(this.#data ?? d, f),
              },
              icon('play'),
              'Play',
            )
          : null,
        h(
          'a',
          {
            class: 'btn btn-small btn-ghost',
            href: f.streamUrl,
            target: '_blank',
            rel: 'noopener',
            title: 'Open the stream in a new tab',
          },
          icon('external'),
        ),
      ),
    );
    return { tr, fill, text, done, select };
  }

  async #setPriority(id: string, index: number, priority: number): Promise<void> {
    try {
      const { files } = await api.setFilePriority(id, [index], priority);
      if (this.#data !== null && this.#data.id === id) {
        this.#data = { ...this.#data, files };
        if (this.#tab === 'files') this.#renderFiles(this.#data);
      }
    } catch (e) {
      toast(describeError(e), 'error', 'Cannot change the priority');
      void this.refresh();
    }
  }

  #renderPeers(d: TorrentDetails): void {
    replaceChildren(this.#body, peersView(d));
  }

  #renderTrackers(d: TorrentDetails): void {
    replaceChildren(this.#body, trackersView(d));
  }
}
