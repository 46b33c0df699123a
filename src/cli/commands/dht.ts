/**
 * `shoal dht`: one-shot Mainline DHT queries (BEP 5) from a throw-away node.
 *
 *   shoal dht get-peers <infohash|magnet> [--bootstrap host:port ...] [--port N] [--host ADDR]
 *                       [--timeout S] [--json]
 *   shoal dht ping <host:port> [--port N] [--host ADDR] [--timeout S] [--json]
 *
 * `get-peers` joins the DHT (the public routers unless `--bootstrap` is given), runs one
 * `get_peers` lookup and prints each peer as it is found (`host:port`, one a line), then a
 * summary on stderr; it exits 1 when no peer was found. `ping` prints the node's id and the
 * round-trip time. `--json` prints one JSON object instead.
 */
import { type Command, InvalidArgumentError } from 'commander';
import {
  DHT_DEFAULT_BOOTSTRAP,
  type DhtEndpoint,
  formatDhtEndpoint,
  parseDhtEndpoint,
} from '../../discovery/dht-bootstrap.js';
import type { DhtRuntime } from '../../discovery/dht-runtime.js';
import { base32Decode, parseMagnet } from '../../metainfo/index.js';
import { fromHex, toHex } from '../../shared/hash.js';
import { UsageError } from '../output.js';

/** Parsed options of `shoal dht get-peers`. */
export interface DhtGetPeersCommandOptions {
  readonly bootstrap: readonly DhtEndpoint[];
  readonly port: number;
  readonly host: string;
  /** Seconds for the whole command (joining included). */
  readonly timeout: number;
  readonly json: boolean;
}

/** Parsed options of `shoal dht ping`. */
export interface DhtPingCommandOptions {
  readonly port: number;
  readonly host: string;
  readonly timeout: number;
  readonly json: boolean;
}

/** What `shoal dht get-peers --json` prints. */
export interface DhtGetPeersReport {
  readonly infoHash: string;
  readonly peers: readonly { readonly host: string; readonly port: number }[];
  /** Queries the lookups sent. */
  readonly queries: number;
  /** Nodes in our routing tables when the lookup ended. */
  readonly nodes: number;
  readonly elapsedMs: number;
  /** The time limit (or Ctrl-C) ended the command before the lookup finished. */
  readonly timedOut: boolean;
}

/**
 * An info-hash from the command line: 40 hex digits, 32 base32 characters, 64 hex digits (a v2
 * hash, truncated to 20 bytes for the DHT as BEP 52 says) or a magnet URI.
 */
export function parseInfoHashArg(text: string): Uint8Array {
  const t = text.trim();
  if (t.startsWith('magnet:')) {
    const m = parseMagnet(t);
    const h = m.infoHashV1 ?? m.infoHashV2?.subarray(0, 20);
    if (h === undefined) throw new UsageError('the magnet link has no info-hash');
    return h;
  }
  if (/^[0-9a-fA-F]{40}$/.test(t)) return fromHex(t)!;
  if (/^[0-9a-fA-F]{64}$/.test(t)) return fromHex(t)!.subarray(0, 20);
  if (/^[A-Za-z2-7]{32}$/.test(t)) {
    const b = base32Decode(t.toUpperCase());
    if (b !== undefined && b.length === 20) return b;
  }
  throw new UsageError(
    `"${text}" is not an info-hash (40 hex digits, 32 base32 characters or a magnet link)`,
  );
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d{1,5}$/.test(v) || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 3600)
    throw new InvalidArgumentError('expected seconds, more than 0 and at most 3600');
  return n;
}

function parseEndpointOption(v: string, acc: DhtEndpoint[]): DhtEndpoint[] {
  try {
    return [...acc, parseDhtEndpoint(v)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** Aborts on the time limit or on SIGINT/SIGTERM; `dispose()` removes the signal handlers. */
function deadline(seconds: number): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('timeout')), seconds * 1000);
  const onSignal = () => ac.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    dispose() {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * Runs `get-peers`: `onPeer` is called for each new peer. Resolves with the report (also on
 * time-out: `timedOut` then says the lookup did not finish). Exported for tests.
 */
export async function runDhtGetPeers(
  infoHash: Uint8Array,
  o: DhtGetPeersCommandOptions,
  onPeer: (host: string, port: number) => void = () => {},
): Promise<DhtGetPeersReport> {
  const t0 = performance.now();
  const limit = deadline(o.timeout);
  let dht: DhtRuntime;
  try {
    // Loaded here, not at start-up: every command pays only for what it uses.
    const { DhtRuntime: Runtime } = await import('../../discovery/dht-runtime.js');
    dht = await Runtime.create({ port: o.port, host: o.host, bootstrap: o.bootstrap });
  } catch (e) {
    limit.dispose();
    throw e;
  }
  const peers: { host: string; port: number }[] = [];
  const seen = new Set<string>();
  let queries = 0;
  let timedOut = false;
  try {
    await dht.bootstrapped({ signal: limit.signal });
    for await (const p of dht.getPeers(infoHash, { signal: limit.signal })) {
      if (p.type === 'finished') {
        queries += p.queries;
        continue;
      }
      for (const a of p.peers) {
        const key = formatDhtEndpoint(a);
        if (seen.has(key)) continue;
        seen.add(key);
        peers.push({ host: a.host, port: a.port });
        onPeer(a.host, a.port);
      }
    }
  } catch (e) {
    if (!limit.signal.aborted) throw e;
    timedOut = true;
  } finally {
    limit.dispose();
  }
  const nodes = dht.stats().nodes;
  await dht.close();
  return {
    infoHash: toHex(infoHash),
    peers,
    queries,
    nodes,
    elapsedMs: Math.round(performance.now() - t0),
    timedOut,
  };
}

/** Adds `shoal dht get-peers` and `shoal dht ping` to the program. */
export function registerDhtCommands(program: Command): void {
  const dht = program.command('dht').description('query the Mainline DHT (BEP 5) from a temporary node');

  dht
    .command('get-peers')
    .description('find the peers of a torrent through the DHT and print them (host:port, one a line)')
    .argument('<infohash>', '40 hex digits, 32 base32 characters, a v2 hash (64 hex) or a magnet link')
    .option(
      '--bootstrap <host:port>',
      `a node to join through (repeatable; default: ${DHT_DEFAULT_BOOTSTRAP.map(formatDhtEndpoint).join(', ')})`,
      parseEndpointOption,
      [],
    )
    .option('--port <port>', 'UDP port of our temporary node (0: any free port)', parsePort, 0)
    .option('--host <address>', 'local IPv4 address to bind (0.0.0.0 also binds IPv6)', '0.0.0.0')
    .option('--timeout <seconds>', 'give up after this long, joining included', parseSeconds, 30)
    .option('--json', 'print one JSON object at the end', false)
    .action(
      async (
        text: string,
        raw: Omit<DhtGetPeersCommandOptions, 'bootstrap'> & { bootstrap: DhtEndpoint[] },
      ) => {
        const infoHash = parseInfoHashArg(text);
        const o: DhtGetPeersCommandOptions = {
          ...raw,
          bootstrap: raw.bootstrap.length > 0 ? raw.bootstrap : DHT_DEFAULT_BOOTSTRAP,
        };
        const report = await runDhtGetPeers(infoHash, o, (host, port) => {
          if (!o.json) console.log(formatDhtEndpoint({ host, port }));
        });
        if (o.json) console.log(JSON.stringify(report));
        else {
          const how = report.timedOut ? 'time limit reached' : 'lookup finished';
          console.error(
            `dht: ${report.peers.length} peers for ${report.infoHash} in ${(report.elapsedMs / 1000).toFixed(1)} s ` +
              `(${how}, ${report.queries} queries, ${report.nodes} nodes known)`,
          );
        }
        if (report.peers.length === 0) throw new UsageError(`no peers found for ${report.infoHash}`);
      },
    );

  dht
    .command('ping')
    .description('ping a DHT node and print its node id and the round-trip time')
    .argument('<host:port>', 'the node (IPv6 as [address]:port)')
    .option('--port <port>', 'UDP port of our temporary node (0: any free port)', parsePort, 0)
    .option('--host <address>', 'local IPv4 address to bind (0.0.0.0 also binds IPv6)', '0.0.0.0')
    .option('--timeout <seconds>', 'how long to wait for the answer', parseSeconds, 5)
    .option('--json', 'print one JSON object', false)
    .action(async (target: string, o: DhtPingCommandOptions) => {
      let to: DhtEndpoint;
      try {
        to = parseDhtEndpoint(target);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const { DhtRuntime: Runtime } = await import('../../discovery/dht-runtime.js');
      const rt = await Runtime.create({
        port: o.port,
        host: o.host,
        bootstrap: [],
        node: { queryTimeoutMs: Math.round(o.timeout * 1000) },
      });
      try {
        const r = await rt.ping(to.host, to.port);
        const id = toHex(r.id);
        const rttMs = Math.round(r.rttMs * 10) / 10;
        if (o.json) console.log(JSON.stringify({ host: r.host, port: r.port, id, rttMs }));
        else console.log(`${formatDhtEndpoint(r)}  id ${id}  rtt ${rttMs} ms`);
      } finally {
        await rt.close();
      }
    });
}
