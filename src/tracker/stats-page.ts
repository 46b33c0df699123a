/**
 * The tracker's `/stats` page (HTML) and `/stats.json`: totals and request counters only — no
 * list of info-hashes, which on a private tracker would disclose what it tracks.
 */
import type { SwarmTotals } from './swarm-state.js';
import type { TrackerCore, TrackerCounters } from './tracker-core.js';

/** The body of `/stats.json`. */
export interface TrackerStats extends SwarmTotals {
  readonly uptimeS: number;
  readonly intervalS: number;
  /** Size of the whitelist; absent on an open tracker. */
  readonly whitelist?: number;
  readonly requests: Readonly<TrackerCounters>;
}

/** Current statistics of a tracker. */
export function trackerStats(core: TrackerCore): TrackerStats {
  const wl = core.whitelistSize;
  return {
    ...core.state.totals(),
    uptimeS: Math.floor((core.clock() - core.startedAt) / 1000),
    intervalS: core.intervalS,
    ...(wl !== undefined ? { whitelist: wl } : {}),
    requests: { ...core.counters },
  };
}

/** The `/stats` HTML page. All values are numbers, so nothing needs escaping. */
export function renderStatsHtml(core: TrackerCore): string {
  const s = trackerStats(core);
  const row = (k: string, v: number | string): string => `<tr><th>${k}</th><td>${v}</td></tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shoal tracker</title>
<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:2em}td{text-align:right}</style>
</head><body><h1>Shoal tracker</h1>
<table>
${row('torrents', s.torrents)}
${row('peers', s.peers)}
${row('seeders', s.seeders)}
${row('leechers', s.leechers)}
${row('completed', s.completed)}
${row('interval (s)', s.intervalS)}
${row('uptime (s)', s.uptimeS)}
${row('access', s.whitelist === undefined ? 'open' : `whitelist of ${s.whitelist}`)}
</table>
<h2>Requests</h2>
<table>
${Object.entries(s.requests)
  .map(([k, v]) => row(k, v))
  .join('\n')}
</table>
<p><a href="/stats.json">JSON</a></p>
</body></html>
`;
}
