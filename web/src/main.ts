/**
 * The Shoal web dashboard: a toolbar, status filters, the live torrent list, a detail pane and a
 * status bar, fed by the daemon's `/api/v1` JSON API and its Server-Sent Events. Plain TypeScript
 * and the DOM (see dom.ts); built by Vite into `web/dist`, which the daemon serves.
 */
import './styles.css';
import type { NetworkInfo, TorrentSummary } from '../../src/daemon/api-types.js';
import { api, describeError } from './api.js';
import { DetailsPane } from './details.js';
import { AddDialog, type AddOutcome, loginScreen, PlayerDialog, RemoveDialog } from './dialogs.js';
import { byId, h, replaceChildren, setAttr, setText } from './dom.js';
import { setupDrop } from './drop.js';
import { formatBytes, formatDuration, formatRate } from './format.js';
import { type IconName, icon, logo } from './icons.js';
import { connectLive } from './live.js';
import { NetworkPanel } from './network-panel.js';
import { limitsLabel, SettingsDialog } from './settings-dialog.js';
import { SpeedGraph } from './speed-graph.js';
import { type FilterName, matchesFilter, Store } from './store.js';
import { eventToast, toast } from './toasts.js';
import { TorrentTable } from './torrent-table.js';

const store = new Store();

// ---------------------------------------------------------------- theme

const THEME_KEY = 'shoal.theme';

function applyTheme(theme: string | null): void {
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

function effectiveTheme(): 'light' | 'dark' {
  const t = document.documentElement.dataset.theme;
  if (t === 'light' || t === 'dark') return t;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function readStored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

applyTheme(readStored(THEME_KEY));

// ---------------------------------------------------------------- actions

function nameOf(t: TorrentSummary | undefined, fallback: string): string {
  return t === undefined ? fallback : `“${t.name}”`;
}

async function runOn(
  ids: readonly string[],
  what: string,
  fn: (id: string) => Promise<{ torrent: TorrentSummary }>,
): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      try {
        const { torrent } = await fn(id);
        store.upsert(torrent);
      } catch (e) {
        toast(describeError(e), 'error', `Cannot ${what} ${nameOf(store.byId(id), 'the torrent')}`);
      }
    }),
  );
}

const selectedIds = (): string[] => store.selectedTorrents().map((t) => t.id);

const actions = {
  pause: () =>
    runOn(
      selectedIds().filter((id) => store.byId(id)?.state !== 'paused'),
      'pause',
      api.pause,
    ),
  resume: () =>
    runOn(
      selectedIds().filter((id) => {
        const s = store.byId(id)?.state;
        return s === 'paused' || s === 'error';
      }),
      'resume',
      api.resume,
    ),
  verify: () => runOn(selectedIds(), 'verify', api.verify),
  /** Moves the selection one place; the one nearest the goal moves first, so their order stays. */
  async move(dir: 'up' | 'down'): Promise<void> {
    const sel = store
      .selectedTorrents()
      .sort((a, b) => (a.queuePosition - b.queuePosition) * (dir === 'up' ? 1 : -1));
    for (const t of sel) {
      try {
        store.upsert((await api.move(t.id, dir)).torrent);
      } catch (e) {
        toast(describeError(e), 'error', `Cannot move “${t.name}”`);
      }
    }
    refreshListSoon();
  },
  toggle: (id: string) => {
    const t = store.byId(id);
    if (t === undefined) return;
    void runOn(
      [id],
      t.state === 'paused' ? 'resume' : 'pause',
      t.state === 'paused' ? api.resume : api.pause,
    );
  },
  async remove(): Promise<void> {
    const torrents = store.selectedTorrents();
    if (torrents.length === 0) return;
    const choice = await removeDialog.ask(torrents);
    if (choice === null) return;
    let deleted = 0;
    let removed = 0;
    await Promise.all(
      torrents.map(async (t) => {
        try {
          const r = await api.remove(t.id, choice.deleteData);
          deleted += r.deletedFiles;
          removed++;
          store.removeLocal(t.id);
          for (const s of r.skippedFiles) toast(`${s.path}: ${s.reason}`, 'error', 'A file was kept');
        } catch (e) {
          toast(describeError(e), 'error', `Cannot remove “${t.name}”`);
        }
      }),
    );
    if (removed > 0)
      toast(
        choice.deleteData
          ? `${deleted} file${deleted === 1 ? '' : 's'} deleted from disk.`
          : 'The downloaded files were kept.',
        'success',
        removed === 1 ? 'Torrent removed' : `${removed} torrents removed`,
      );
  },
};

function added(outcomes: readonly AddOutcome[]): void {
  for (const o of outcomes) {
    if (o.torrent === undefined) continue;
    store.upsert(o.torrent);
    toast(
      o.created === false
        ? 'It was already in the list.'
        : o.torrent.hasMetadata
          ? 'Download started.'
          : 'Fetching its metadata from peers…',
      o.created === false ? 'info' : 'success',
      `“${o.torrent.name}”`,
    );
  }
  const last = outcomes.at(-1)?.torrent;
  if (last !== undefined) {
    store.selected = new Set([last.id]);
    store.focused = last.id;
    store.changed();
  }
}

// ---------------------------------------------------------------- layout

const addDialog = new AddDialog(added);
const removeDialog = new RemoveDialog();
const settingsDialog = new SettingsDialog((s) => {
  store.settings = s;
  store.changed();
  toast(limitsLabel(s), 'success', 'Settings saved');
});
const player = new PlayerDialog();

function toolButton(
  id: string,
  name: IconName,
  label: string,
  onClick: () => void,
  title = label,
): HTMLButtonElement {
  return h(
    'button',
    { type: 'button', class: 'tool', id, title, onClick },
    icon(name),
    h('span', null, label),
  );
}

const btnResume = toolButton(
  'btn-resume',
  'play',
  'Resume',
  () => void actions.resume(),
  'Resume the selected torrents',
);
const btnPause = toolButton(
  'btn-pause',
  'pause',
  'Pause',
  () => void actions.pause(),
  'Pause the selected torrents',
);
const btnVerify = toolButton(
  'btn-verify',
  'recheck',
  'Verify',
  () => void actions.verify(),
  'Re-check the data on disk',
);
const btnUp = toolButton('btn-queue-up', 'up', 'Up', () => void actions.move('up'), 'Move up the queue');
const btnDown = toolButton(
  'btn-queue-down',
  'down',
  'Down',
  () => void actions.move('down'),
  'Move down the queue',
);
const btnRemove = toolButton(
  'btn-remove',
  'trash',
  'Remove',
  () => void actions.remove(),
  'Remove the selected torrents (Del)',
);
const search = h('input', {
  id: 'search',
  type: 'search',
  placeholder: 'Filter by name',
  'aria-label': 'Filter torrents by name',
  autocomplete: 'off',
});
search.addEventListener('input', () => store.update((s) => (s.search = search.value)));
const themeBtn = h('button', {
  type: 'button',
  class: 'icon-btn',
  id: 'btn-theme',
  title: 'Switch between light and dark',
  'aria-label': 'Switch theme',
});
const paintThemeButton = () => replaceChildren(themeBtn, icon(effectiveTheme() === 'dark' ? 'sun' : 'moon'));
themeBtn.addEventListener('click', () => {
  const next = effectiveTheme() === 'dark' ? 'light' : 'dark';
  applyTheme(next);
  try {
    localStorage.setItem(THEME_KEY, next);
  } catch {
    // not kept, still applied
  }
  paintThemeButton();
  store.changed();
});
paintThemeButton();

function buildToolbar(): void {
  replaceChildren(
    byId('toolbar'),
    h('div', { class: 'brand' }, logo(), h('span', null, 'Shoal')),
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-primary',
        id: 'btn-add',
        title: 'Add a magnet link or a .torrent file',
        onClick: () => addDialog.open(store.settings),
      },
      icon('plus'),
      h('span', { class: 'btn-label' }, 'Add'),
    ),
    h('div', { class: 'tool-group' }, btnResume, btnPause, btnVerify, btnRemove),
    h('div', { class: 'tool-group tool-group-queue', 'aria-label': 'Queue' }, btnUp, btnDown),
    h('div', { class: 'search' }, icon('search'), search),
    h('div', { class: 'spacer' }),
    themeBtn,
    h(
      'button',
      {
        type: 'button',
        class: 'icon-btn',
        id: 'btn-settings',
        title: 'Settings and speed limits',
        'aria-label': 'Settings',
        onClick: () => settingsDialog.open(store.settings, store.stats?.version ?? null),
      },
      icon('settings'),
    ),
  );
}

const FILTERS: readonly { name: FilterName; label: string; icon: IconName }[] = [
  { name: 'all', label: 'All', icon: 'list' },
  { name: 'downloading', label: 'Downloading', icon: 'down' },
  { name: 'seeding', label: 'Seeding', icon: 'up' },
  { name: 'active', label: 'Active', icon: 'peers' },
  { name: 'paused', label: 'Paused', icon: 'pause' },
  { name: 'checking', label: 'Checking', icon: 'recheck' },
  { name: 'error', label: 'Errored', icon: 'alert' },
];

const filterCounts = new Map<FilterName, HTMLElement>();
const filterButtons = new Map<FilterName, HTMLButtonElement>();
const graph = new SpeedGraph();
const sideDown = h('span', { class: 'big-rate', id: 'rate-down' });
const sideUp = h('span', { class: 'big-rate', id: 'rate-up' });
const network = new NetworkPanel();

function buildSidebar(): void {
  const list = h('nav', { class: 'filters', 'aria-label': 'Status filters' });
  for (const f of FILTERS) {
    const count = h('span', { class: 'count' });
    const b = h(
      'button',
      {
        type: 'button',
        class: 'filter',
        'data-filter': f.name,
        onClick: () => store.update((s) => (s.filter = f.name)),
      },
      icon(f.icon),
      h('span', { class: 'filter-label' }, f.label),
      count,
    );
    filterCounts.set(f.name, count);
    filterButtons.set(f.name, b);
    list.appendChild(b);
  }
  replaceChildren(
    byId('sidebar'),
    h('h3', { class: 'side-title' }, 'Status'),
    list,
    h(
      'section',
      { class: 'transfer-card' },
      h('h3', { class: 'side-title' }, 'Transfer'),
      h('div', { class: 'rate-line down' }, icon('down'), sideDown),
      h('div', { class: 'rate-line up' }, icon('up'), sideUp),
      graph.canvas,
    ),
    network.el,
    btcLink,
  );
}

// Shown once the daemon answers that it runs a Bitcoin light node (shoal daemon --btc …).
const btcLink = h(
  'a',
  { class: 'side-link', href: '/bitcoin.html', id: 'btc-link', hidden: true },
  'Bitcoin',
);
api
  .btc()
  .then(() => btcLink.removeAttribute('hidden'))
  .catch(() => undefined);

const sb = {
  conn: h('span', { class: 'conn', id: 'connection' }),
  torrents: h('span'),
  peers: h('span'),
  dht: h('span'),
  session: h('span', { class: 'sb-session' }),
  down: h('button', {
    type: 'button',
    class: 'sb-rate down',
    title: 'Speed limits',
    onClick: () => settingsDialog.open(store.settings, store.stats?.version ?? null),
  }),
  up: h('button', {
    type: 'button',
    class: 'sb-rate up',
    title: 'Speed limits',
    onClick: () => settingsDialog.open(store.settings, store.stats?.version ?? null),
  }),
};

function buildStatusbar(): void {
  replaceChildren(
    byId('statusbar'),
    sb.conn,
    h('span', { class: 'sep' }),
    sb.torrents,
    h('span', { class: 'sep' }),
    sb.peers,
    h('span', { class: 'sep' }),
    sb.dht,
    h('span', { class: 'spacer' }),
    sb.session,
    h('span', { class: 'sep' }),
    sb.down,
    sb.up,
  );
}

function renderChrome(): void {
  const sel = store.selectedTorrents();
  btnResume.disabled = !sel.some((t) => t.state === 'paused' || t.state === 'error');
  btnPause.disabled = !sel.some((t) => t.state !== 'paused');
  btnVerify.disabled = !sel.some((t) => t.hasMetadata);
  btnRemove.disabled = sel.length === 0;
  btnUp.disabled = !sel.some((t) => t.queuePosition > 0);
  btnDown.disabled = !sel.some((t) => t.queuePosition < store.torrents.length - 1);

  for (const f of FILTERS) {
    setText(filterCounts.get(f.name)!, String(store.torrents.filter((t) => matchesFilter(t, f.name)).length));
    filterButtons.get(f.name)!.classList.toggle('active', store.filter === f.name);
  }

  const st = store.stats;
  const down = st?.downloadRate ?? store.torrents.reduce((a, t) => a + t.downloadRate, 0);
  const up = st?.uploadRate ?? store.torrents.reduce((a, t) => a + t.uploadRate, 0);
  setText(sideDown, formatRate(down) === '–' ? '0 B/s' : formatRate(down));
  setText(sideUp, formatRate(up) === '–' ? '0 B/s' : formatRate(up));

  const conn = store.connection;
  setAttr(sb.conn, 'data-state', conn);
  setText(sb.conn, conn === 'live' ? 'Live' : conn === 'connecting' ? 'Connecting…' : 'Daemon unreachable');
  const n = store.torrents.length;
  setText(sb.torrents, `${n} torrent${n === 1 ? '' : 's'}`);
  setText(sb.peers, st === null ? 'Peers –' : `Peers ${st.peerCount}`);
  setText(sb.dht, st === null ? '' : st.dhtNodes === null ? 'DHT off' : `DHT ${st.dhtNodes} nodes`);
  setText(
    sb.session,
    st === null
      ? ''
      : `Session ↓ ${formatBytes(st.sessionDownloadedBytes)} ↑ ${formatBytes(st.sessionUploadedBytes)} · up ${formatDuration(st.uptimeSeconds)}`,
  );
  const lim = store.settings;
  const limited = (v: number | undefined) => (v !== undefined && v > 0 ? ` [${formatRate(v)}]` : '');
  replaceChildren(
    sb.down,
    icon('down'),
    `${formatRate(down) === '–' ? '0 B/s' : formatRate(down)}${limited(lim?.downloadRateLimit)}`,
  );
  replaceChildren(
    sb.up,
    icon('up'),
    `${formatRate(up) === '–' ? '0 B/s' : formatRate(up)}${limited(lim?.uploadRateLimit)}`,
  );

  document.title = down > 0 || up > 0 ? `↓ ${formatRate(down)} ↑ ${formatRate(up)} · Shoal` : 'Shoal';
}

// ---------------------------------------------------------------- keyboard

function setupKeys(table: TorrentTable): void {
  document.addEventListener('keydown', (e) => {
    const target = e.target as HTMLElement | null;
    if (target !== null && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
    if (document.querySelector('dialog[open]') !== null) return;
    if (e.key === 'Delete') void actions.remove();
    else if (e.key === 'Escape') store.update((s) => (s.focused = null));
    else if (e.key === 'ArrowDown') {
      e.preventDefault();
      table.step(1);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      table.step(-1);
    } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'a') {
      e.preventDefault();
      table.selectAll();
    }
  });
}

// ---------------------------------------------------------------- start

let listTimer: number | undefined;
function refreshListSoon(): void {
  window.clearTimeout(listTimer);
  listTimer = window.setTimeout(() => {
    api
      .list()
      .then((r) => store.setTorrents(r.torrents))
      .catch(() => {});
  }, 120);
}

function startDashboard(): void {
  buildToolbar();
  buildSidebar();
  buildStatusbar();
  const table = new TorrentTable(byId('list'), store, {
    add: () => addDialog.open(store.settings),
    toggle: actions.toggle,
  });
  const details = new DetailsPane(byId('details'), store, {
    play: (t, f) => player.play(t, f),
    close: () => store.update((s) => (s.focused = null)),
  });
  store.subscribe(() => {
    table.render();
    details.sync();
    renderChrome();
  });
  setupDrop(() => addDialog.el.open, added);
  setupKeys(table);

  void api
    .list()
    .then((r) => store.setTorrents(r.torrents))
    .catch((e: unknown) => toast(describeError(e), 'error', 'Cannot load the torrents'));
  void api
    .network()
    .then((n) => network.render(n))
    .catch(() => {});
  void api
    .settings()
    .then((s) => store.update((st) => (st.settings = s)))
    .catch(() => {});

  connectLive({
    onSnapshot(s) {
      store.stats = s.stats;
      store.setTorrents(s.torrents);
      graph.push(s.stats.downloadRate, s.stats.uploadRate);
      void details.refresh();
    },
    onEvent(name, data) {
      const t = store.byId(String(data.id));
      if (name === 'torrent:finished') eventToast('Download complete.', 'success', `“${String(data.name)}”`);
      else if (name === 'torrent:error')
        eventToast(String(data.message), 'error', t === undefined ? 'Torrent error' : `“${t.name}” stopped`);
      else if (name === 'torrent:metadata')
        eventToast('Metadata received; downloading.', 'info', `“${String(data.name)}”`);
      else if (name === 'watch:invalid')
        eventToast(String(data.reason), 'error', `${String(data.file)} in the watch folder is no torrent`);
      else if (name === 'torrent:paused' && typeof data.reason === 'string')
        eventToast(`Paused: ${data.reason}.`, 'info', t === undefined ? 'Seeding stopped' : `“${t.name}”`);
      if (name === 'network:changed') return network.render(data as unknown as NetworkInfo);
      if (name === 'settings:changed') {
        store.update((s) => (s.settings = data as unknown as NonNullable<typeof s.settings>));
        return;
      }
      refreshListSoon();
      void details.refresh();
    },
    onConnection(c) {
      store.update((s) => (s.connection = c));
    },
  });
  store.changed();
}

async function boot(): Promise<void> {
  try {
    const auth = await api.authStatus();
    if (auth.required && !auth.authenticated) {
      const app = byId('app');
      app.hidden = true;
      document.body.appendChild(loginScreen(() => window.location.reload()));
      return;
    }
  } catch {
    // the status endpoint is open; if it fails, the list request will say why
  }
  startDashboard();
}

void boot();
