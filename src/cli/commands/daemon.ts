/**
 * `shoal daemon`: runs a Shoal node — torrents, HTTP JSON API and web UI — until SIGINT/SIGTERM,
 * which save everything and close the session cleanly (a second signal exits at once). The state
 * (torrents, settings, resume records, API token) lives in `--state DIR` and is restored on the
 * next start. A thin user of `startDaemon` (src/daemon).
 */
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { DAEMON_LOG_LEVELS } from '../../daemon/logger.js';
import { DEFAULT_API_HOST, DEFAULT_API_PORT, defaultStateDir } from '../../daemon/options.js';
import { parseHostPort } from '../../metainfo/index.js';
import type { TransportPolicy } from '../../net/dial-policy.js';
import { withContext } from '../output.js';
import {
  ICE_SERVER_HELP,
  LOW_MEMORY_HELP,
  parseIceServer,
  parseUtpPolicy,
  webRtcOptions,
} from './network-flags.js';

/** Parsed options of `shoal daemon`. */
export interface DaemonCommandOptions {
  readonly state: string;
  readonly host: string;
  readonly port: number;
  readonly peerPort?: number;
  readonly peerHost: string;
  readonly downloadDir?: string;
  readonly allowDir: string[];
  readonly allowHost: string[];
  readonly webRoot?: string;
  readonly web: boolean;
  readonly dht: boolean;
  readonly portMapping?: boolean;
  readonly lowMemory?: boolean;
  readonly dhtPort?: number;
  readonly dhtBootstrap: string[];
  readonly lsd: boolean;
  readonly utpPolicy?: TransportPolicy;
  readonly webrtc: boolean;
  readonly iceServer: string[];
  readonly btc?: string;
  readonly btcPeer: string[];
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

const LEVELS: readonly string[] = DAEMON_LOG_LEVELS;

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
}

function parseLevel(v: string): string {
  if (!LEVELS.includes(v)) throw new InvalidArgumentError(`expected one of ${LEVELS.join(', ')}`);
  return v;
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** Adds `shoal daemon` to the program. */
export function registerDaemonCommand(program: Command): void {
  program
    .command('daemon')
    .description(
      'run a Shoal node with an HTTP API and web UI; torrents and settings persist in the state folder',
    )
    .option('--state <dir>', 'state folder (torrents, settings, resume data, API token)', defaultStateDir())
    .option(
      '--host <address>',
      'address of the API and web UI; beyond loopback a token is required',
      DEFAULT_API_HOST,
    )
    .option('--port <port>', 'port of the API and web UI (0: any free port)', parsePort, DEFAULT_API_PORT)
    .option(
      '--peer-port <port>',
      'TCP port for peers (default: the one used last time, else any free port)',
      parsePort,
    )
    .option('--peer-host <address>', 'address to accept peers on', '0.0.0.0')
    .option(
      '--download-dir <dir>',
      'default download folder (default: the one used last time, else ~/Downloads/shoal)',
    )
    .option('--allow-dir <dir>', 'another folder API requests may download into (repeatable)', collect, [])
    .option(
      '--allow-host <name>',
      'a host name the API answers to besides IP addresses and localhost (repeatable)',
      collect,
      [],
    )
    .option('--web-root <dir>', 'folder of the built web dashboard (default: web/dist of this package)')
    .option('--no-web', 'serve no web dashboard')
    .option('--no-dht', 'do not use the Mainline DHT')
    .option('--dht-port <port>', 'UDP port of the DHT node (default: any)', parsePort)
    .option(
      '--dht-bootstrap <host:port>',
      'DHT bootstrap node (default: the public routers); repeatable',
      collect,
      [],
    )
    .option('--no-lsd', 'do not use local service discovery (LAN multicast)')
    .option('--port-mapping', 'map the peer ports on the home router (PCP, NAT-PMP, UPnP IGD)')
    .option(
      '--utp-policy <policy>',
      'run uTP (BEP 29) on the peer port and dial: utp-first, tcp-first, utp-only, tcp-only (default: no uTP)',
      parseUtpPolicy,
    )
    .option('--no-webrtc', "do not use WebRTC peers (found through a torrent's ws:// trackers)")
    .option('--ice-server <url>', ICE_SERVER_HELP, parseIceServer, [])
    .option('--low-memory', LOW_MEMORY_HELP)
    .option(
      '--btc <network>',
      'also run a Bitcoin light node (mainnet, testnet4, signet, regtest, litecoin-regtest); off by default',
    )
    .option(
      '--btc-peer <host:port>',
      'a Bitcoin peer to dial (repeatable; only these are dialled)',
      collect,
      [],
    )
    .option(
      '--log-level <level>',
      `log level (${LEVELS.join(', ')}); on stderr, readable lines on a terminal, JSON lines otherwise`,
      parseLevel,
      'info',
    )
    .action(async (o: DaemonCommandOptions) => {
      const bootstrap = o.dhtBootstrap.map((t) => parseHostPort(t, '--dht-bootstrap'));
      // Loaded here, not at start-up: every command pays only for what it uses.
      const { startDaemon } = await import('../../daemon/daemon.js');
      const { createDaemonLogger } = await import('../../daemon/logger.js');
      // The stop signals are caught before the daemon starts: one that comes while it starts (or
      // while its first lines are written) stops it once started, state saved, instead of
      // killing it half-way.
      const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      let daemon: Awaited<ReturnType<typeof startDaemon>>;
      try {
        daemon = await startDaemon({
          stateDir: o.state,
          host: o.host,
          port: o.port,
          ...(o.peerPort !== undefined ? { peerPort: o.peerPort } : {}),
          peerHost: o.peerHost,
          ...(o.downloadDir !== undefined ? { downloadDir: o.downloadDir } : {}),
          allowedDirs: o.allowDir,
          allowedHosts: o.allowHost,
          ...(!o.web ? { webRoot: false } : o.webRoot !== undefined ? { webRoot: o.webRoot } : {}),
          logger: createDaemonLogger(o.logLevel),
          ...(o.btc !== undefined ? { btc: { network: o.btc, peers: o.btcPeer } } : {}),
          session: {
            ...(o.dht
              ? {
                  dht: {
                    ...(o.dhtPort !== undefined ? { port: o.dhtPort } : {}),
                    ...(bootstrap.length > 0 ? { bootstrap } : {}),
                    statePath: join(o.state, 'dht.state'),
                  },
                }
              : {}),
            ...(o.lsd ? { lsd: true } : {}),
            ...(o.utpPolicy !== undefined ? { utp: true, transportPolicy: o.utpPolicy } : {}),
            ...(o.portMapping === true ? { portMapping: true } : {}),
            ...(o.lowMemory === true ? { lowMemory: true } : {}),
            ...webRtcOptions(o.webrtc, o.iceServer),
          },
        });
      } catch (e) {
        throw withContext('cannot start the daemon', e);
      }
      const settings = daemon.manager.settings();
      console.log(
        `shoal daemon: listening on ${daemon.url} (web UI and API; OpenAPI at ${daemon.url}/api/v1/openapi.json)`,
      );
      console.log(
        `shoal daemon: state ${daemon.stateDir}, downloads ${settings.downloadDir}, peers on port ${settings.peerPort}`,
      );
      if (daemon.btc !== undefined)
        console.log(
          `shoal daemon: bitcoin light node on ${daemon.btc.node.params.name} (${daemon.url}/bitcoin.html)`,
        );
      if (daemon.tokenRequired)
        console.log(`shoal daemon: API token required; it is in ${daemon.stateDir}/token`);
      const signal = await stopSignal;
      const force = (): void => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      console.log(`shoal daemon: ${signal}, saving state and stopping`);
      await daemon.close();
      process.off('SIGINT', force);
      process.off('SIGTERM', force);
      console.log('shoal daemon: stopped');
    });
}
