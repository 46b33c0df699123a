/**
 * The Peers and Trackers tabs of the detail pane: tables rebuilt from each details refresh (they
 * hold nothing the user edits).
 */
import type { TorrentDetails } from '../../src/daemon/api-types.js';
import { h } from './dom.js';
import { formatBytes, formatDate, formatDuration, formatPercent, formatRate } from './format.js';

const FLAG_HELP =
  'D downloading from it · d we want but are choked · U uploading to it · u it wants but we choke · O optimistic unchoke · S snubbed · I incoming · E seed';

export function peersView(d: TorrentDetails): HTMLElement {
  if (d.peers.length === 0) {
    return h('div', { class: 'details-empty' }, 'No connected peers.');
  }
  const peers = [...d.peers].sort((a, b) => b.downloadRate + b.uploadRate - (a.downloadRate + a.uploadRate));
  return h(
    'table',
    { class: 'grid peers', id: 'peers-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { class: 'col-addr' }, 'Address'),
        h('th', null, 'Client'),
        h('th', null, 'Transport'),
        h('th', { class: 'col-flags', title: FLAG_HELP }, 'Flags'),
        h('th', { class: 'num col-pnum' }, 'Progress'),
        h('th', { class: 'num col-pnum' }, 'Down'),
        h('th', { class: 'num col-pnum' }, 'Up'),
        h('th', { class: 'num col-pnum' }, 'Downloaded'),
        h('th', { class: 'num col-pnum' }, 'Uploaded'),
      ),
    ),
    h(
      'tbody',
      null,
      peers.map((p) =>
        h(
          'tr',
          null,
          h('td', { class: 'mono' }, p.address),
          h('td', null, p.client ?? h('span', { class: 'muted' }, 'unknown')),
          h('td', null, p.transport),
          h('td', { class: 'mono', title: FLAG_HELP }, p.flags || '–'),
          h('td', { class: 'num' }, formatPercent(p.progress)),
          h('td', { class: 'num' }, formatRate(p.downloadRate)),
          h('td', { class: 'num' }, formatRate(p.uploadRate)),
          h('td', { class: 'num' }, formatBytes(p.downloadedBytes)),
          h('td', { class: 'num' }, formatBytes(p.uploadedBytes)),
        ),
      ),
    ),
  );
}

export function trackersView(d: TorrentDetails): HTMLElement {
  if (d.trackers.length === 0) {
    return h(
      'div',
      { class: 'details-empty' },
      'This torrent has no trackers; peers come from the magnet link, DHT, PEX or local discovery.',
    );
  }
  const now = Date.now();
  const when = (ms: number | null, future: boolean) =>
    ms === null
      ? '–'
      : future
        ? ms > now
          ? `in ${formatDuration((ms - now) / 1000)}`
          : 'now'
        : formatDate(ms);
  const n = (v: number | null) => (v === null ? '–' : String(v));
  return h(
    'table',
    { class: 'grid trackers', id: 'trackers-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { class: 'col-url' }, 'URL'),
        h('th', { class: 'num col-tier' }, 'Tier'),
        h('th', { class: 'col-tstatus' }, 'Status'),
        h('th', { class: 'num col-tier' }, 'Seeds'),
        h('th', { class: 'num col-tier' }, 'Leechers'),
        h('th', { class: 'num col-tier' }, 'Peers'),
        h('th', { class: 'col-when' }, 'Last announce'),
        h('th', { class: 'col-when' }, 'Next announce'),
        h('th', null, 'Message'),
      ),
    ),
    h(
      'tbody',
      null,
      d.trackers.map((t) =>
        h(
          'tr',
          null,
          h('td', { class: 'mono', title: t.url }, t.url),
          h('td', { class: 'num' }, String(t.tier)),
          h('td', null, t.status),
          h('td', { class: 'num' }, n(t.seeders)),
          h('td', { class: 'num' }, n(t.leechers)),
          h('td', { class: 'num' }, n(t.peers)),
          h('td', null, when(t.lastAnnounceAt, false)),
          h('td', null, when(t.nextAnnounceAt, true)),
          h('td', { class: 'muted' }, t.message ?? ''),
        ),
      ),
    ),
  );
}
