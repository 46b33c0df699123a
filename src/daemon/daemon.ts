/**
 * `startDaemon`: a long-running Shoal node — a {@link Session}, the daemon's state directory and
 * the HTTP API / web UI — that restores its torrents on start and saves everything on `close()`.
 *
 * ```ts
 * const daemon = await startDaemon({ stateDir: '/var/lib/shoal', port: 9080 });
 * console.log(daemon.url); // http://127.0.0.1:9080
 * process.once('SIGTERM', () => void daemon.close());
 * ```
 */
import { realpath } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { type Logger, pino } from 'pino';
import { Session } from '../session/index.js';
import { ErrorCode } from '../shared/errors.js';
import { ensureWritableDirectory, folderProblem } from '../storage/index.js';
import { BtcService } from './btc-service.js';
import { DaemonError } from './errors.js';
import { FeedManager } from './feeds.js';
import { buildApiServer } from './http/server.js';
import { type DaemonOptions, defaultDownloadDir, isLoopbackHost, resolveDaemonOptions } from './options.js';
import { realpathLoose } from './paths.js';
import { readSettings, sessionSettings } from './settings.js';
import { StateStore } from './state-store.js';
import { TorrentManager } from './torrent-manager.js';

export interface Daemon {
  /** Base URL of the API and web UI, e.g. `http://127.0.0.1:9080`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly stateDir: string;
  /** The API token (required only when {@link tokenRequired}). */
  readonly token: string;
  readonly tokenRequired: boolean;
  readonly session: Session;
  readonly manager: TorrentManager;
  /** The followed feeds (BEP 46) and the `/site/…` gateway's source. */
  readonly feeds: FeedManager;
  /** The Bitcoin light node, when started with {@link DaemonOptions.btc}. */
  readonly btc: BtcService | undefined;
  /** Resolves once every restored torrent has been started. */
  readonly restored: Promise<void>;
  /** Stops the API, saves the state, closes the session (resume data saved, peers closed). Idempotent. */
  close(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIPv6(host) ? `[${host}]` : host;
}

function errno(e: unknown): string | undefined {
  return (e as { code?: string }).code;
}

/**
 * Starts a daemon; rejects with a {@link DaemonError} when the state folder is in use by another
 * daemon (its `lock` names a live pid; a lock left by a dead one is taken over), or the state
 * or a port is unusable.
 */
export async function startDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const o = resolveDaemonOptions(options);
  const log: Logger =
    options.logger === false
      ? pino({ level: 'silent' })
      : (options.logger ?? pino({ level: options.logLevel ?? 'info' }, pino.destination(2)));
  const store = new StateStore(o.stateDir);
  await store.init();
  const unlock = await store.acquireLock();
  try {
    return await startLocked(options, o, log, store, unlock);
  } catch (e) {
    await unlock();
    throw e;
  }
}

/** The rest of {@link startDaemon}, once the state folder is ours. */
async function startLocked(
  options: DaemonOptions,
  o: ReturnType<typeof resolveDaemonOptions>,
  log: Logger,
  store: StateStore,
  unlock: () => Promise<void>,
): Promise<Daemon> {
  const token = await store.ensureToken();
  const { state, rejected } = await store.load();
  if (rejected > 0)
    log.warn({ rejected, path: store.statePath }, 'torrent records that did not check out were skipped');

  const downloadDir = o.downloadDir ?? state.settings.downloadDir ?? defaultDownloadDir();
  let realDownloadDir: string;
  try {
    // Writable, not only present: a read-only folder is said plainly now, not as a failed
    // write (or an ENOENT) once the first torrent starts.
    await ensureWritableDirectory(downloadDir);
    realDownloadDir = await realpath(downloadDir);
  } catch (e) {
    throw new DaemonError(
      ErrorCode.DaemonState,
      `cannot use the download folder ${downloadDir}: ${folderProblem(e, downloadDir)}`,
      { path: downloadDir },
      { cause: e },
    );
  }
  const roots = [realDownloadDir];
  for (const d of o.allowedDirs) {
    const real = await realpathLoose(d);
    if (!roots.includes(real)) roots.push(real);
  }

  // The saved settings, with those given at start over them (checked by the settings schema).
  const { peerPort: _p, downloadDir: _d, ...saved } = state.settings;
  const settings = readSettings({ ...saved, ...options.settings });
  for (const [k, v] of Object.entries(options.settings ?? {}))
    if ((settings as unknown as Record<string, unknown>)[k] !== v)
      throw new DaemonError(ErrorCode.DaemonState, `the setting ${k} is not valid: ${JSON.stringify(v)}`, {
        path: store.dir,
      });
  const sessionOptions = {
    ...options.session,
    host: o.peerHost,
    downloadDir: realDownloadDir,
    resumeDir: store.resumeDir,
    ...sessionSettings(settings),
  };
  const savedPort = o.peerPort === undefined ? state.settings.peerPort : undefined;
  let session: Session;
  try {
    session = await Session.create({ ...sessionOptions, port: o.peerPort ?? savedPort ?? 0 });
  } catch (e) {
    if (savedPort === undefined || errno(e) !== 'EADDRINUSE') {
      throw new DaemonError(
        ErrorCode.DaemonState,
        errno(e) === 'EADDRINUSE'
          ? `cannot listen for peers on port ${o.peerPort ?? 0}: ${(e as Error).message} (choose another with --peer-port)`
          : `cannot start the session: ${(e as Error).message}`,
        { path: store.dir },
        { cause: e },
      );
    }
    log.warn({ port: savedPort }, 'the peer port used last time is taken; picking another');
    session = await Session.create({ ...sessionOptions, port: 0 });
  }

  const manager = new TorrentManager({
    session,
    store,
    log: log.child({ component: 'torrents' }),
    downloadDir: realDownloadDir,
    roots,
    fetchTimeoutMs: o.fetchTimeoutMs,
    settings,
    runningProxy: settings.proxy,
    restoreConcurrency: o.restoreConcurrency,
  });
  session.on('warning', ({ message }) => log.warn({ component: 'session' }, message));
  const feeds = new FeedManager({
    session,
    stateDir: store.dir,
    downloadDir: realDownloadDir,
    roots,
    log: log.child({ component: 'feeds' }),
  });
  const policy = {
    token,
    requireToken: o.requireToken,
    allowedHosts: o.allowedHosts,
    publicBind: !isLoopbackHost(o.host),
  };
  let url = '';
  let server: Awaited<ReturnType<typeof buildApiServer>>;
  let btc: BtcService | undefined;
  try {
    if (options.btc !== undefined)
      btc = await BtcService.start(options.btc, o.stateDir, log.child({ component: 'btc' }));
    await manager.loadBlocklist();
    await manager.restore(state.torrents);
    await manager.startWatchFolder();
    await feeds.restore();
    server = await buildApiServer({
      manager,
      feeds,
      policy,
      log: log.child({ component: 'http' }),
      webRoot: o.webRoot,
      snapshotIntervalMs: o.snapshotIntervalMs,
      url: () => url,
      btc: () => btc,
    });
    try {
      await server.app.listen({ host: o.host, port: o.port });
    } catch (e) {
      await server.app.close();
      const hint = errno(e) === 'EADDRINUSE' ? ' (another daemon running? choose another with --port)' : '';
      throw new DaemonError(
        ErrorCode.DaemonState,
        `cannot listen on ${o.host}:${o.port}: ${(e as Error).message}${hint}`,
        { path: store.dir },
        { cause: e },
      );
    }
  } catch (e) {
    await btc?.close();
    await manager.close();
    await feeds.close();
    await session.close();
    await manager.restored;
    throw e;
  }
  const addr = server.app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : o.port;
  url = `http://${urlHost(o.host)}:${port}`;
  await manager.save();
  log.info(
    {
      url,
      stateDir: o.stateDir,
      downloadDir: realDownloadDir,
      peerPort: session.port,
      torrents: manager.size,
    },
    'shoal daemon started',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      log.info('shoal daemon stopping');
      server.hub.close();
      await manager.close();
      await server.app.close();
      await btc?.close();
      await feeds.close();
      await session.close();
      await manager.restored;
      await manager.save().catch((e: unknown) => log.error({ err: e }, 'cannot save the daemon state'));
      await unlock();
      log.info('shoal daemon stopped');
    })();
    return closing;
  };

  return {
    url,
    host: o.host,
    port,
    stateDir: o.stateDir,
    token,
    tokenRequired: o.requireToken,
    session,
    manager,
    feeds,
    btc,
    restored: manager.restored,
    close,
  };
}
