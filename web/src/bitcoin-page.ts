/**
 * The dashboard's Bitcoin page (`/bitcoin.html`): the daemon's light node — tip and sync progress
 * (headers, filter headers, wallet scan), peers, watched addresses with a form to add one, the
 * balance and the wallet history. Polls `/api/v1/btc` and `/api/v1/btc/history` every
 * {@link REFRESH_MS}; a daemon without a node shows how to start one.
 */
import './styles.css';
import type { BtcHistoryInfo, BtcInfo } from '../../src/daemon/api-types.js';
import { ApiFailure, api, describeError } from './api.js';
import { loginScreen } from './dialogs.js';
import { byId, h, replaceChildren } from './dom.js';
import { logo } from './icons.js';
import { toast } from './toasts.js';

/** Period of the refresh, ms. */
const REFRESH_MS = 2000;

/** Base units as a coin amount (8 decimals), exact (no float). */
export function formatCoins(units: string): string {
  const neg = units.startsWith('-');
  const digits = (neg ? units.slice(1) : units).padStart(9, '0');
  const whole = digits.slice(0, -8).replace(/^0+(?=\d)/, '');
  return `${neg ? '−' : ''}${whole}.${digits.slice(-8)}`;
}

function pct(done: number, of: number): number {
  return of <= 0 ? 100 : Math.max(0, Math.min(100, Math.round((done / of) * 100)));
}

function progressRow(label: string, id: string, done: number, of: number): HTMLElement {
  const p = pct(done, of);
  return h(
    'div',
    { class: 'btc-progress', id },
    h('span', { class: 'btc-progress-label' }, label),
    h('progress', { max: 100, value: p, 'aria-label': label }),
    h(
      'span',
      { class: 'btc-progress-value' },
      `${Math.max(done, 0).toLocaleString('en')} / ${of.toLocaleString('en')}`,
    ),
  );
}

function table(
  id: string,
  head: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  empty: string,
) {
  return h(
    'table',
    { class: 'btc-table', id },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        head.map((c) => h('th', null, c)),
      ),
    ),
    h(
      'tbody',
      null,
      rows.length === 0
        ? h('tr', null, h('td', { colspan: head.length, class: 'btc-empty' }, empty))
        : rows.map((r) =>
            h(
              'tr',
              null,
              r.map((c) => h('td', null, String(c))),
            ),
          ),
    ),
  );
}

function render(info: BtcInfo, history: readonly BtcHistoryInfo[]): void {
  const target = Math.max(info.bestKnownHeight, info.tip.height);
  replaceChildren(
    byId('btc-main'),
    h(
      'section',
      { class: 'btc-card', id: 'btc-sync' },
      h('h2', null, 'Chain'),
      h(
        'dl',
        { class: 'btc-facts' },
        h('dt', null, 'Network'),
        h('dd', { id: 'btc-network' }, info.network),
        h('dt', null, 'Tip'),
        h('dd', { id: 'btc-tip-height' }, String(info.tip.height)),
        h('dt', null, 'Tip hash'),
        h('dd', { id: 'btc-tip-hash', class: 'mono' }, info.tip.hash),
        h('dt', null, 'State'),
        h('dd', { id: 'btc-state' }, info.synced ? 'synced' : 'syncing'),
      ),
      progressRow('Headers', 'btc-progress-headers', info.tip.height, target),
      progressRow('Filter headers', 'btc-progress-filters', info.filterHeaderHeight, info.tip.height),
      progressRow('Wallet scan', 'btc-progress-scan', info.scannedHeight, info.tip.height),
    ),
    h(
      'section',
      { class: 'btc-card', id: 'btc-balance' },
      h('h2', null, 'Balance'),
      h(
        'dl',
        { class: 'btc-facts' },
        h('dt', null, 'Confirmed'),
        h('dd', { id: 'btc-confirmed' }, formatCoins(info.balance.confirmed)),
        h('dt', null, 'Unconfirmed'),
        h('dd', { id: 'btc-unconfirmed' }, formatCoins(info.balance.unconfirmed)),
        h('dt', null, 'Immature'),
        h('dd', { id: 'btc-immature' }, formatCoins(info.balance.immature)),
        h('dt', null, 'Coins'),
        h('dd', null, String(info.balance.utxoCount)),
      ),
    ),
    h(
      'section',
      { class: 'btc-card btc-wide' },
      h('h2', null, 'Peers'),
      table(
        'btc-peers',
        ['Peer', 'Agent', 'Height', 'Filters', 'Ping', 'Syncing'],
        info.peers.map((p) => [
          p.endpoint,
          p.userAgent,
          p.bestHeight,
          p.filters ? 'yes' : 'no',
          p.pingMs === null ? '—' : `${Math.round(p.pingMs)} ms`,
          p.syncing ? 'yes' : '',
        ]),
        'no peers',
      ),
    ),
    h(
      'section',
      { class: 'btc-card btc-wide' },
      h('h2', null, 'Watched'),
      table(
        'btc-watched',
        ['Address or descriptor', 'Label', 'From height'],
        info.watched.map((w) => [w.address ?? w.descriptor, w.label, w.rescanFrom]),
        'nothing watched yet',
      ),
      watchForm,
    ),
    h(
      'section',
      { class: 'btc-card btc-wide' },
      h('h2', null, 'History'),
      table(
        'btc-history',
        ['Transaction', 'Amount', 'Height', 'Confirmations'],
        history.map((t) => [t.txid, formatCoins(t.delta), t.height ?? 'unconfirmed', t.confirmations]),
        'no transactions',
      ),
    ),
  );
}

const itemInput = h('input', {
  id: 'btc-watch-item',
  type: 'text',
  placeholder: 'address or descriptor',
  'aria-label': 'Address or descriptor to watch',
});
const rescanInput = h('input', {
  id: 'btc-watch-from',
  type: 'number',
  min: 0,
  placeholder: 'rescan from height',
  'aria-label': 'Rescan from height',
});
const watchForm = h(
  'form',
  {
    class: 'btc-watch',
    onSubmit: (ev: SubmitEvent) => {
      ev.preventDefault();
      const item = itemInput.value.trim();
      if (item === '') return;
      const from = rescanInput.value === '' ? undefined : Number(rescanInput.value);
      api
        .btcWatch(item, from === undefined ? {} : { rescanFrom: from })
        .then(() => {
          itemInput.value = '';
          rescanInput.value = '';
          toast(`watching ${item}`, 'info');
          void refresh();
        })
        .catch((e: unknown) => toast(describeError(e), 'error'));
    },
  },
  itemInput,
  rescanInput,
  h('button', { type: 'submit', class: 'btn btn-primary', id: 'btc-watch-add' }, 'Watch'),
);

function showOff(message: string): void {
  replaceChildren(
    byId('btc-main'),
    h(
      'section',
      { class: 'btc-card btc-wide', id: 'btc-off' },
      h('h2', null, 'No Bitcoin node'),
      h('p', null, message),
    ),
  );
}

let timer: ReturnType<typeof setTimeout> | undefined;

async function refresh(): Promise<void> {
  if (timer !== undefined) clearTimeout(timer);
  try {
    const [info, { history }] = await Promise.all([api.btc(), api.btcHistory()]);
    // Keep what is being typed: the form is reused across renders.
    render(info, history);
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401) {
      document.body.appendChild(loginScreen(() => window.location.reload()));
      return;
    }
    if (e instanceof ApiFailure && e.status === 404) {
      showOff(e.message);
      return;
    }
    showOff(describeError(e));
  }
  timer = setTimeout(() => void refresh(), REFRESH_MS);
}

replaceChildren(
  byId('toolbar'),
  h('div', { class: 'brand' }, logo(), h('span', null, 'Shoal · Bitcoin')),
  h('div', { class: 'spacer' }),
  h('a', { class: 'btn', href: '/', id: 'btc-back' }, 'Torrents'),
);
void refresh();
