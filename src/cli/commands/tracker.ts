/**
 * `shoal tracker`: runs the built-in BitTorrent tracker (HTTP + UDP) until SIGINT/SIGTERM.
 * SIGHUP re-reads the whitelist file.
 */
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import type { TrackerServer } from '../../tracker/index.js';
import { UsageError, withContext } from '../output.js';

/** Parsed options of `shoal tracker`. */
export interface TrackerCommandOptions {
  readonly http: number | false;
  readonly udp: number | false;
  readonly host: string;
  readonly whitelist?: string;
  readonly interval: number;
  /** `interval` told to WebRTC peers, s. @default WS_TRACKER_INTERVAL_S (120) */
  readonly wsInterval?: number;
  /** Serve WebTorrent's WebSocket protocol on the HTTP port. @default true */
  readonly ws?: boolean;
  /** PEM certificate file: HTTPS and wss:// on the HTTP port (with {@link key}). */
  readonly cert?: string;
  /** PEM private key file of {@link cert}. */
  readonly key?: string;
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 86_400) throw new InvalidArgumentError('expected seconds (1-86400)');
  return n;
}

async function loadWhitelist(file: string): Promise<Uint8Array[]> {
  const { parseWhitelist } = await import('../../tracker/whitelist.js');
  return parseWhitelist(await readFile(file, 'utf8'), file);
}

/**
 * Starts the tracker for CLI options and returns it (the command then waits for a signal).
 * Exported for tests and for the daemon's `--tracker` flag.
 */
export async function startTrackerFromCli(o: TrackerCommandOptions): Promise<TrackerServer> {
  const whitelist = o.whitelist === undefined ? undefined : await loadWhitelist(o.whitelist);
  if ((o.cert === undefined) !== (o.key === undefined))
    throw new UsageError('--cert and --key go together (a PEM certificate and its private key)');
  const tls =
    o.cert === undefined || o.key === undefined
      ? undefined
      : { cert: await readFile(o.cert, 'utf8'), key: await readFile(o.key, 'utf8') };
  // Loaded here, not at start-up: every command pays only for what it uses.
  const { startTracker } = await import('../../tracker/server.js');
  return startTracker({
    host: o.host,
    httpPort: o.http === false ? null : o.http,
    udpPort: o.udp === false ? null : o.udp,
    ...(o.ws === false
      ? { ws: false }
      : o.wsInterval !== undefined
        ? { ws: { intervalS: o.wsInterval } }
        : {}),
    intervalS: o.interval,
    ...(whitelist !== undefined ? { whitelist } : {}),
    ...(tls !== undefined ? { tls } : {}),
  });
}

/** Adds `shoal tracker` to the program. */
export function registerTrackerCommand(program: Command): void {
  program
    .command('tracker')
    .description(
      'run a BitTorrent tracker (HTTP(S) and UDP announce/scrape, ws(s):// for WebRTC, /stats page)',
    )
    .option('--http <port>', 'HTTP port (0: any free port)', parsePort, 6969)
    .option('--no-http', 'do not serve HTTP')
    .option('--udp <port>', 'UDP port (0: any free port)', parsePort, 6969)
    .option('--no-udp', 'do not serve UDP')
    .option('--no-ws', "do not serve WebTorrent's WebSocket tracker (ws://) on the HTTP port")
    .option('--cert <file>', 'PEM certificate: serve HTTPS and wss:// on the HTTP port (with --key)')
    .option('--key <file>', 'PEM private key of --cert')
    .option('--host <address>', 'address to bind (use :: for IPv6 and IPv4)', '0.0.0.0')
    .option(
      '--whitelist <file>',
      'private tracker: info-hashes allowed, 40 hex digits per line (SIGHUP reloads)',
    )
    .option('--interval <seconds>', 'announce interval sent to clients', parseSeconds, 1800)
    .option(
      '--ws-interval <seconds>',
      'announce interval sent to WebRTC peers on ws:// (how soon they offer again) [default: 120]',
      parseSeconds,
    )
    .action(async (o: TrackerCommandOptions) => {
      if (o.http === false && o.udp === false)
        throw new UsageError('nothing to serve: both --no-http and --no-udp given');
      let server: TrackerServer;
      try {
        server = await startTrackerFromCli(o);
      } catch (e) {
        throw withContext('cannot start the tracker', e);
      }
      if (server.httpAnnounceUrl !== undefined) {
        console.log(
          `tracker: ${server.httpAnnounceUrl}  (stats: ${server.httpAnnounceUrl.replace(/\/announce$/, '/stats')})`,
        );
      }
      if (server.udpAnnounceUrl !== undefined) console.log(`tracker: ${server.udpAnnounceUrl}`);
      if (server.wsAnnounceUrl !== undefined)
        console.log(`tracker: ${server.wsAnnounceUrl}  (WebSocket, WebRTC peers)`);
      if (o.whitelist !== undefined)
        console.log(`tracker: private, ${server.stats().whitelist ?? 0} info-hashes allowed`);
      const whitelistFile = o.whitelist;
      const onHup = (): void => {
        if (whitelistFile === undefined) return;
        loadWhitelist(whitelistFile).then(
          (w) => {
            server.setWhitelist(w);
            console.log(`tracker: whitelist reloaded, ${w.length} info-hashes`);
          },
          (e: unknown) =>
            console.error(`tracker: whitelist not reloaded: ${e instanceof Error ? e.message : String(e)}`),
        );
      };
      process.on('SIGHUP', onHup);
      await new Promise<void>((resolve) => {
        const onSignal = (): void => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      process.off('SIGHUP', onHup);
      await server.close();
      console.log('tracker: stopped');
    });
}
