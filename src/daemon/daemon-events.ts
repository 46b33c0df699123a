/** The daemon's event map and version (STYLE §3: one event map per emitter). */
import type { NetworkInfo, SettingsInfo } from './api-types.js';

/** Version string reported by the API. */
export const DAEMON_VERSION = '0.1.0';

/** Events of the daemon, streamed unchanged over `/api/v1/events`. */
export interface DaemonEvents {
  'torrent:added': { readonly id: string; readonly name: string };
  'torrent:removed': { readonly id: string };
  /** Every wanted piece is verified. */
  'torrent:finished': { readonly id: string; readonly name: string };
  /** Paused by a request, or by a seed limit (`reason` says which limit). */
  'torrent:paused': { readonly id: string; readonly reason?: string };
  'torrent:resumed': { readonly id: string };
  /** A verify (full recheck) started. */
  'torrent:checking': { readonly id: string };
  /** A magnet's info dictionary arrived; the torrent now has files. */
  'torrent:metadata': { readonly id: string; readonly name: string };
  /** File priorities, the torrent's own limits or its queue position changed. */
  'torrent:updated': { readonly id: string };
  'torrent:error': { readonly id: string; readonly message: string };
  /** A peer address was banned for the whole node (its evidence in `reason`). */
  'peer:banned': { readonly id: string; readonly address: string; readonly reason: string };
  'settings:changed': SettingsInfo;
  /** The watch folder added a .torrent (`file` is its name in the folder). */
  'watch:added': { readonly file: string; readonly id: string };
  /** A file in the watch folder is no usable torrent: renamed `<file>.invalid`. */
  'watch:invalid': { readonly file: string; readonly reason: string };
  /** Our external address, the port peers dial or the port mapping changed (as `GET /api/v1/network`). */
  'network:changed': NetworkInfo;
}

/** Names of the events, in a stable order (what `/api/v1/events` forwards). */
export const DAEMON_EVENT_NAMES: readonly (keyof DaemonEvents)[] = [
  'torrent:added',
  'torrent:removed',
  'torrent:finished',
  'torrent:paused',
  'torrent:resumed',
  'torrent:checking',
  'torrent:metadata',
  'torrent:updated',
  'torrent:error',
  'peer:banned',
  'settings:changed',
  'watch:added',
  'watch:invalid',
  'network:changed',
];
