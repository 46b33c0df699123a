/**
 * The daemon's settings at run time: what `GET /api/v1/settings` shows (the proxy without its
 * password), a change from `PUT /api/v1/settings` checked, put in force on the session (rate
 * limits, queue limits, seed limits, encryption, the blocklist) and the watch folder, then
 * persisted. The proxy is taken by the session at start only: a changed proxy is stored and
 * `restartRequired` says so.
 *
 * A change that cannot be put in force (a blocklist that cannot be read, a watch folder that is
 * no folder) is refused as a whole: nothing of it is applied or stored. Changes are serialised.
 */
import type { Logger } from 'pino';
import { checkSocks5Proxy } from '../net/socks5-protocol.js';
import type { Session } from '../session/index.js';
import { ErrorCode } from '../shared/errors.js';
import type { BlocklistInfo, ProxySetting, SettingsInfo } from './api-types.js';
import { apiError } from './errors.js';
import { resolveAllowedDir } from './paths.js';
import { type DaemonSettings, mergeProxy, type SettingsChange } from './settings.js';
import { WatchFolder, type WatchFolderEvents } from './watch-folder.js';

export interface SettingsControllerDeps {
  readonly session: Session;
  readonly log: Logger;
  readonly downloadDir: string;
  readonly roots: readonly string[];
  /** The proxy the session was started with. */
  readonly runningProxy: ProxySetting | null;
  /** Saves the state (settings included). */
  persist(): Promise<void>;
  changed(info: SettingsInfo): void;
  /** Adds a .torrent from the watch folder; resolves with its id. */
  addFromWatch(bytes: Uint8Array): Promise<string>;
  /** The watch folder's outcomes. */
  watchEvent<K extends keyof WatchFolderEvents>(name: K, e: WatchFolderEvents[K]): void;
}

function sameProxy(a: ProxySetting | null, b: ProxySetting | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.host === b.host &&
    a.port === b.port &&
    a.username === b.username &&
    a.password === b.password &&
    (a.onlyProxy ?? true) === (b.onlyProxy ?? true)
  );
}

export class SettingsController {
  readonly #d: SettingsControllerDeps;
  #settings: DaemonSettings;
  #blocklistLoadedAt: number | null = null;
  #blocklistError: string | null = null;
  #watch: WatchFolder | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: SettingsControllerDeps, settings: DaemonSettings) {
    this.#d = deps;
    this.#settings = settings;
  }

  /** The settings in force (the proxy as stored, password included: never for the API). */
  get current(): DaemonSettings {
    return this.#settings;
  }

  /** The watch folder, while one is set and readable. */
  get watchFolder(): WatchFolder | undefined {
    return this.#watch;
  }

  /**
   * Loads the stored blocklist (before any torrent starts). A failure is logged, not thrown: the
   * daemon starts without it, and the settings show why.
   */
  async startBlocklist(): Promise<void> {
    const path = this.#settings.blocklistPath;
    if (path === null) return;
    try {
      await this.#loadBlocklist(path);
    } catch (e) {
      this.#d.log.warn({ path, err: e }, 'the IP blocklist was not loaded');
    }
  }

  /** Starts the stored watch folder (once the saved torrents are known); failures are logged. */
  async startWatch(): Promise<void> {
    const s = this.#settings;
    if (s.watchDir === null) return;
    try {
      this.#watch = await this.#openWatch(s.watchDir, s.watchDirAction);
    } catch (e) {
      this.#d.log.warn({ dir: s.watchDir, err: e }, 'the watch folder is not watched');
    }
  }

  /** What `GET /api/v1/settings` answers. */
  info(): SettingsInfo {
    const { proxy, ...rest } = this.#settings;
    return {
      ...rest,
      proxy:
        proxy === null
          ? null
          : {
              host: proxy.host,
              port: proxy.port,
              username: proxy.username ?? null,
              hasPassword: proxy.password !== undefined,
              onlyProxy: proxy.onlyProxy ?? true,
            },
      downloadDir: this.#d.downloadDir,
      allowedDirs: this.#d.roots,
      peerPort: this.#d.session.port,
      blocklist: this.blocklistInfo(),
      restartRequired: !sameProxy(proxy, this.#d.runningProxy),
    };
  }

  blocklistInfo(): BlocklistInfo {
    const b = this.#d.session.blocklist;
    return {
      path: this.#settings.blocklistPath,
      ranges: b?.rangesMerged ?? 0,
      malformed: b?.malformed ?? 0,
      loadedAt: this.#blocklistLoadedAt,
      error: this.#blocklistError,
    };
  }

  /** Checks and applies a change (see the module notes); resolves with the settings after it. */
  update(change: SettingsChange): Promise<SettingsInfo> {
    const run = this.#queue.then(() => this.#update(change));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #update(change: SettingsChange): Promise<SettingsInfo> {
    const cur = this.#settings;
    const next: { -readonly [K in keyof DaemonSettings]: DaemonSettings[K] } = { ...cur, ...change };
    if (change.proxy !== undefined) {
      const merged = mergeProxy(cur.proxy, change.proxy);
      if (merged === undefined)
        throw apiError(
          ErrorCode.ApiBadRequest,
          `proxy: give the password of user "${change.proxy?.username ?? ''}" (none is stored for that user)`,
        );
      if (merged !== null) {
        const why = checkSocks5Proxy(merged);
        if (why !== undefined) throw apiError(ErrorCode.ApiBadRequest, `proxy: ${why}`);
      }
      next.proxy = merged;
    }
    // What can fail goes first; only then is anything put in force.
    if (next.incompleteDir !== null && next.incompleteDir !== cur.incompleteDir)
      next.incompleteDir = await resolveAllowedDir(next.incompleteDir, this.#d.downloadDir, this.#d.roots);
    const watchChanged = next.watchDir !== cur.watchDir || next.watchDirAction !== cur.watchDirAction;
    if (watchChanged && next.watchDir !== null) await WatchFolder.check(next.watchDir);
    if (next.blocklistPath !== cur.blocklistPath) {
      if (next.blocklistPath === null) {
        await this.#d.session.setBlocklist(undefined);
        this.#blocklistLoadedAt = null;
        this.#blocklistError = null;
      } else await this.#loadBlocklist(next.blocklistPath, true);
    }
    if (watchChanged) {
      await this.#watch?.close();
      this.#watch = undefined;
      if (next.watchDir !== null) this.#watch = await this.#openWatch(next.watchDir, next.watchDirAction);
    }
    const s = this.#d.session;
    s.setRateLimits({ download: next.downloadRateLimit, upload: next.uploadRateLimit });
    s.setQueueLimits({ downloads: next.maxActiveDownloads, seeds: next.maxActiveSeeds });
    s.setSeedLimits({ ratio: next.seedRatioLimit, idleMs: next.seedIdleLimitMinutes * 60_000 });
    s.setEncryption(next.encryption);
    this.#settings = next;
    await this.#d.persist();
    const info = this.info();
    this.#d.changed(info);
    return info;
  }

  /** Reads the blocklist file again (it changed on disk). */
  reloadBlocklist(): Promise<BlocklistInfo> {
    const run = this.#queue.then(async () => {
      const path = this.#settings.blocklistPath;
      if (path === null)
        throw apiError(ErrorCode.ApiConflict, 'no blocklist is set (the blocklistPath setting)');
      await this.#loadBlocklist(path, true);
      this.#d.changed(this.info());
      return this.blocklistInfo();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Loads a blocklist; on failure the previous list stays in force and the error is kept. */
  async #loadBlocklist(path: string, asRequest = false): Promise<void> {
    try {
      const report = await this.#d.session.setBlocklist({ path });
      this.#blocklistLoadedAt = Date.now();
      this.#blocklistError = null;
      this.#d.log.info(
        { path, ranges: report?.ranges ?? 0, malformed: report?.malformed ?? 0 },
        'IP blocklist loaded',
      );
    } catch (e) {
      this.#blocklistError = (e as Error).message;
      if (!asRequest) throw e;
      throw apiError(ErrorCode.ApiBadRequest, `blocklist: ${(e as Error).message}`);
    }
  }

  #openWatch(dir: string, action: DaemonSettings['watchDirAction']): Promise<WatchFolder> {
    return WatchFolder.open(
      { add: (bytes) => this.#d.addFromWatch(bytes), log: this.#d.log.child({ component: 'watch' }) },
      { dir, action },
    ).then((w) => {
      w.on('file:added', (e) => this.#d.watchEvent('file:added', e));
      w.on('file:invalid', (e) => this.#d.watchEvent('file:invalid', e));
      w.on('file:failed', (e) => this.#d.watchEvent('file:failed', e));
      return w;
    });
  }

  /** Stops the watch folder. */
  async close(): Promise<void> {
    await this.#watch?.close();
    this.#watch = undefined;
  }
}
