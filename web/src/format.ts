/**
 * Number formatting for the dashboard: sizes and rates in binary units (KiB, MiB — as qBittorrent
 * and Transmission show them), percentages that never round up to 100% before a torrent is
 * complete, durations and dates. Pure functions, no DOM.
 */
import type { TorrentStateName } from '../../src/daemon/api-types.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** `1536` → `1.50 KiB`; three significant digits above 1 KiB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  if (n < 1024) return `${Math.round(n)} B`;
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${UNITS[i]}`;
}

/** A transfer rate; an idle rate shows as a dash so busy rows stand out. */
export function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : '–';
}

/** A rate limit: 0 means unlimited. */
export function formatLimit(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : 'unlimited';
}

/** 0..1 → `42.3%`; anything short of 1 stays below `100%`. */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction) || fraction <= 0) return '0%';
  if (fraction >= 1) return '100%';
  return `${Math.min(99.9, Math.floor(fraction * 1000) / 10).toFixed(1)}%`;
}

/** Seconds → `45s`, `3m 05s`, `2h 10m`, `3d 4h`; beyond 100 days `∞`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '∞';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s < 100 * 86_400) return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
  return '∞';
}

/** The ETA column: empty once complete or not transferring, `∞` when the rate is zero. */
export function formatEta(eta: number | null, state: TorrentStateName, progress: number): string {
  if (progress >= 1 || state === 'seeding' || state === 'paused' || state === 'error') return '';
  if (state !== 'downloading') return '';
  return eta === null ? '∞' : formatDuration(eta);
}

/** Share ratio with two decimals; `∞` when something was sent but nothing received. */
export function formatRatio(ratio: number, uploaded = 0, downloaded = 0): string {
  if (downloaded === 0 && uploaded > 0) return '∞';
  return Number.isFinite(ratio) ? ratio.toFixed(2) : '∞';
}

/** Milliseconds since the epoch → local date and time, or a dash. */
export function formatDate(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms <= 0) return '–';
  return new Date(ms).toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** What each state is called on screen. */
export const STATE_LABELS: Readonly<Record<TorrentStateName, string>> = {
  queued: 'Queued',
  metadata: 'Fetching metadata',
  checking: 'Checking',
  downloading: 'Downloading',
  seeding: 'Seeding',
  paused: 'Paused',
  error: 'Error',
};

/**
 * What a row's status badge says: the state, except that a download with no peer and no data
 * flowing is "Stalled" (as qBittorrent calls it). `badge` is the CSS modifier.
 */
export function statusOf(t: {
  readonly state: TorrentStateName;
  readonly downloadRate: number;
  readonly peerCount: number;
}): { readonly label: string; readonly badge: string } {
  if (t.state === 'downloading' && t.downloadRate === 0 && t.peerCount === 0)
    return { label: 'Stalled', badge: 'stalled' };
  return { label: STATE_LABELS[t.state], badge: t.state };
}

/** File extensions a `<video>` element can usually play. */
const PLAYABLE = new Set([
  'mp4',
  'm4v',
  'webm',
  'mkv',
  'mov',
  'ogv',
  'ogg',
  'mp3',
  'm4a',
  'aac',
  'flac',
  'wav',
  'opus',
]);

/** True when the file looks like audio or video a browser can play. */
export function isPlayable(path: string): boolean {
  const dot = path.lastIndexOf('.');
  return dot >= 0 && PLAYABLE.has(path.slice(dot + 1).toLowerCase());
}
