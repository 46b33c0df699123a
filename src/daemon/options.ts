/**
 * `DaemonOptions`: the configuration of a long-running Shoal node (`shoal daemon`). Every field is
 * optional; {@link defaultStateDir} and {@link defaultDownloadDir} are where the defaults live.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { SessionOptions } from '../session/index.js';
import { TORRENT_URL_FETCH_TIMEOUT_MS } from '../shared/limits.js';
import type { DaemonBtcOptions } from './btc-service.js';
import type { SettingsChange } from './settings.js';

/** Port of the HTTP API and web UI. */
export const DEFAULT_API_PORT = 9080;
/** Address of the HTTP API: loopback only, so no token is needed. */
export const DEFAULT_API_HOST = '127.0.0.1';

export interface DaemonOptions {
  /** Folder holding torrents, settings, resume records and the API token. @default {@link defaultStateDir} */
  readonly stateDir?: string;
  /** Address the HTTP API listens on. Anything but loopback requires the bearer token. @default '127.0.0.1' */
  readonly host?: string;
  /** Port of the HTTP API; 0 picks a free one. @default 9080 */
  readonly port?: number;
  /**
   * TCP port for peers. @default the port used last time (kept in the state), else 0 (any free
   * port, then kept for the next start)
   */
  readonly peerPort?: number;
  /** Address to accept peers on. @default '0.0.0.0' */
  readonly peerHost?: string;
  /**
   * Folder new torrents are downloaded into, unless a request names another allowed folder.
   * @default the one kept in the state, else {@link defaultDownloadDir}
   */
  readonly downloadDir?: string;
  /** Extra folders requests may name as `downloadDir` (the default download folder always is). */
  readonly allowedDirs?: readonly string[];
  /**
   * Host names (without port) the API answers to besides loopback names and IP literals, e.g.
   * the name of a reverse proxy. Other `Host` headers are refused (DNS rebinding).
   */
  readonly allowedHosts?: readonly string[];
  /** Require `Authorization: Bearer <token>`. @default true unless `host` is a loopback address */
  readonly requireToken?: boolean;
  /**
   * Folder of the built web dashboard served at `/`; `false` serves none.
   * @default `web/dist` of the Shoal package
   */
  readonly webRoot?: string | false;
  /** pino logger; `false` logs nothing. @default pino at `logLevel` to stderr */
  readonly logger?: Logger | false;
  /** @default 'info' */
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Time allowed to fetch a .torrent URL, ms. @default TORRENT_URL_FETCH_TIMEOUT_MS */
  readonly fetchTimeoutMs?: number;
  /** Period of the `snapshot` event on `/api/v1/events`, ms. @default 1000 */
  readonly snapshotIntervalMs?: number;
  /**
   * Extra session options (hash threads, connection limits, engine tunables). What the daemon's
   * settings cover (rate, queue and seed limits, encryption, proxy, blocklist) comes from
   * {@link settings} and the state instead.
   */
  readonly session?: Omit<
    SessionOptions,
    | 'port'
    | 'host'
    | 'downloadDir'
    | 'resumeDir'
    | 'downloadRateLimit'
    | 'uploadRateLimit'
    | 'maxActiveDownloads'
    | 'maxActiveSeeds'
    | 'seedRatioLimit'
    | 'seedIdleLimitMs'
    | 'encryption'
    | 'proxy'
    | 'blocklist'
  >;
  /**
   * Settings applied over the ones kept in the state at start (and kept from then on), as
   * `PUT /api/v1/settings` takes them. @default none: the saved settings, else the defaults
   */
  readonly settings?: SettingsChange;
  /** Torrents started at once while restoring the state. @default 8 */
  readonly restoreConcurrency?: number;
  /**
   * Runs a Bitcoin light node beside the torrents (`/api/v1/btc`, the dashboard's Bitcoin page).
   * @default none (its modules are then never loaded)
   */
  readonly btc?: DaemonBtcOptions;
}

/** Options with every default applied (see {@link DaemonOptions} for each field). */
export interface ResolvedDaemonOptions {
  readonly stateDir: string;
  readonly host: string;
  readonly port: number;
  readonly peerPort: number | undefined;
  readonly peerHost: string;
  readonly downloadDir: string | undefined;
  readonly allowedDirs: readonly string[];
  readonly allowedHosts: readonly string[];
  readonly requireToken: boolean;
  readonly webRoot: string | false;
  readonly fetchTimeoutMs: number;
  readonly snapshotIntervalMs: number;
  readonly restoreConcurrency: number;
}

/** `$XDG_DATA_HOME/shoal`, else `~/.local/share/shoal`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME;
  return xdg !== undefined && xdg !== '' && xdg.startsWith('/')
    ? join(xdg, 'shoal')
    : join(homedir(), '.local', 'share', 'shoal');
}

/** `~/Downloads/shoal`. */
export function defaultDownloadDir(): string {
  return join(homedir(), 'Downloads', 'shoal');
}

/** The built web dashboard of this package (`<package>/web/dist`, from `src/` or `dist/`). */
export function defaultWebRoot(): string {
  return new URL('../../web/dist/', import.meta.url).pathname;
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1'
  );
}

export function resolveDaemonOptions(o: DaemonOptions): ResolvedDaemonOptions {
  const host = o.host ?? DEFAULT_API_HOST;
  return {
    stateDir: resolve(o.stateDir ?? defaultStateDir()),
    host,
    port: o.port ?? DEFAULT_API_PORT,
    peerPort: o.peerPort,
    peerHost: o.peerHost ?? '0.0.0.0',
    downloadDir: o.downloadDir === undefined ? undefined : resolve(o.downloadDir),
    allowedDirs: (o.allowedDirs ?? []).map((d) => resolve(d)),
    allowedHosts: (o.allowedHosts ?? []).map((h) => h.toLowerCase()),
    requireToken: o.requireToken ?? !isLoopbackHost(host),
    webRoot: o.webRoot === undefined ? defaultWebRoot() : o.webRoot === false ? false : resolve(o.webRoot),
    fetchTimeoutMs: o.fetchTimeoutMs ?? TORRENT_URL_FETCH_TIMEOUT_MS,
    snapshotIntervalMs: o.snapshotIntervalMs ?? 1000,
    restoreConcurrency: Math.max(1, o.restoreConcurrency ?? 8),
  };
}
