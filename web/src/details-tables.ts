/**
 * The Peers, Peer events and Trackers tabs of the detail pane: tables rebuilt from each details
 * refresh (they hold nothing the user edits). The Peers tab lists the web seeds (HTTP origins)
 * below the peers: they are sources too.
 */
import type { PeerEventInfo, TorrentDetails, WebSeedApiInfo } from '../../src/daemon/api-types.js';
import { h } from './dom.js';
import { formatBytes, formatDate, formatDuration, formatPercent, formatRate } from './format.js';

const FLAG_HELP =
  'D downloading from it · d we want but are choked · U uploading to it · u it wants but we choke · O optimistic unchoke · S snubbed · I incoming · E seed';

export function peersView(d: TorrentDetails): HTMLElement {
  const web = d.webSeeds;
  if (web.length === 0) return peerTable(d);
  return h('div', null, peerTable(d), h('h3', { class: 'details-subhead' }, 'Web seeds'), webSeedTable(web));
}

const WEB_STATE: Record<WebSeedApiInfo['state'], string> = {
  idle: 'idle',
  active: 'active',
  'backing-off': 'waiting',
  dropped: 'dropped',
};

function webSeedTable(list: readonly WebSeedApiInfo[]): HTMLElement {
  return h(
    'table',
    { class: 'grid webseeds', id: 'webseeds-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { class: 'col-url' }, 'URL'),
        h('th', null, 'State'),
        h('th', { class: 'num col-pnum' }, 'Down'),
        h('th', { class: 'num col-pnum' }, 'Downloaded'),
        h('th', { class: 'num col-tier' }, 'Requests'),
        h('th', { class: 'num col-tier' }, 'Errors'),
        h('th', null, 'Last error / reason'),
      ),
    ),
    h(
      'tbody',
      null,
      list.map((w) =>
        h(
          'tr',
          null,
          h('td', { class: 'mono', title: `${w.url} (${w.protocol.toUpperCase()})` }, w.url),
          h(
            'td',
            null,
            w.state === 'backing-off' && w.retryInMs !== null
              ? `waiting ${formatDuration(w.retryInMs / 1000)}`
              : WEB_STATE[w.state],
          ),
          h('td', { class: 'num' }, formatRate(w.downloadRate)),
          h('td', { class: 'num' }, formatBytes(w.downloadedBytes)),
          h('td', { class: 'num' }, String(w.requestsInFlight)),
          h('td', { class: 'num' }, String(w.errors)),
          h('td', { class: 'muted' }, w.reason ?? w.lastError ?? ''),
        ),
      ),
    ),
  );
}

function peerTable(d: TorrentDetails): HTMLElement {
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
        h('th', { class: 'col-transport', title: 'What carries the connection' }, 'Transport'),
        h('th', { class: 'col-transport', title: 'MSE/PE: RC4-encrypted, or plaintext' }, 'Encryption'),
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
          h('td', { class: 'mono peer-address' }, p.address),
          h('td', null, p.client ?? h('span', { class: 'muted' }, 'unknown')),
          h('td', null, p.transport),
          h('td', { class: 'mono', title: FLAG_HELP }, p.flags || '–'),
          h('td', { class: 'peer-transport' }, p.transport),
          h(
            'td',
            { class: `peer-encryption ${p.encrypted ? 'is-encrypted' : ''}` },
            p.encrypted ? 'encrypted' : 'plaintext',
          ),
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

const EVENT_LABELS: Readonly<Record<PeerEventInfo['type'], string>> = {
  connected: 'Connected',
  disconnected: 'Disconnected',
  refused: 'Refused',
  'hash-failed': 'Hash failed',
  banned: 'Banned',
  holepunch: 'Holepunch',
};

/** What a connection was: client, transport, encryption. */
function connectionOf(e: PeerEventInfo): string {
  const how = [e.transport, e.encrypted === true ? 'encrypted' : e.encrypted === false ? 'plaintext' : null]
    .filter((x) => x !== null)
    .join(', ');
  return [e.client, how === '' ? null : `(${how})`].filter((x) => x !== null).join(' ');
}

/** A torrent's peer log, newest first: connects, disconnects and refusals with reasons, hash failures, bans. */
export function peerEventsView(entries: readonly PeerEventInfo[] | null): HTMLElement {
  if (entries === null) return h('div', { class: 'details-loading' }, 'Loading…');
  if (entries.length === 0)
    return h(
      'div',
      { class: 'details-empty' },
      'No peer events yet: they appear as peers connect, leave or misbehave.',
    );
  const rows = [...entries].reverse();
  const bans = entries.filter((e) => e.type === 'banned').length;
  return h(
    'div',
    { class: 'peer-events' },
    bans > 0
      ? h(
          'div',
          { class: 'banner banner-error', id: 'peer-bans' },
          `${bans} peer${bans === 1 ? '' : 's'} banned on evidence of bad data`,
        )
      : null,
    h(
      'table',
      { class: 'grid peer-events', id: 'peer-events-table' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { class: 'col-when' }, 'Time'),
          h('th', { class: 'col-tstatus' }, 'Event'),
          h('th', { class: 'col-addr' }, 'Address'),
          h('th', null, 'Connection'),
          h('th', null, 'Reason'),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((e) =>
          h(
            'tr',
            { 'data-type': e.type, class: `event-${e.type}` },
            h('td', { class: 'mono' }, new Date(e.at).toLocaleTimeString()),
            h('td', null, EVENT_LABELS[e.type] ?? e.type),
            h('td', { class: 'mono', title: e.address }, e.address),
            h('td', null, e.type === 'connected' ? connectionOf(e) : (e.client ?? '')),
            h('td', { class: 'muted event-reason' }, e.reason ?? ''),
          ),
        ),
      ),
    ),
  );
}
