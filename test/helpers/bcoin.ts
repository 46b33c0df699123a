/**
 * bcoin 1.0.2 (the JavaScript Bitcoin node, from npm in test/interop/bcoin, installed there by
 * .ci/run) in regtest as a test partner: Bitcoin's own regtest chain with SHA-256d proof of work,
 * no BIP 157/158. Started on 127.0.0.1 with free ports, in memory, with a temporary prefix folder
 * for its log; driven over JSON-RPC; stopped by its PID in `stop()` (which removes the folder).
 * `spv: true` runs `bcoin-spvnode` instead (the header-only client, for bench:btc).
 *
 * The log: bcoin writes no `debug.log` at all with `--memory=true` (its node passes no file name
 * to its logger then, whatever `--log-file` says), and on disk it would write through an
 * asynchronous stream that a SIGTERM cuts short. So bcoin logs to its console at debug level and
 * its stdout and stderr go straight to `bcoin.log` in the prefix folder, written synchronously:
 * a line is in the file once bcoin has logged it. Lines look like
 * `[debug] (net) Version handshake complete (127.0.0.1:40312).`
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeSegwitAddress } from '../../src/bitcoin/index.js';
import { freePort, RpcNode } from './rpc-node.js';

const BIN = fileURLToPath(new URL('../interop/bcoin/node_modules/bcoin/bin/', import.meta.url));

/** Bound of each wait for bcoin (start, one RPC). */
const WAIT_MS = 120_000;

/**
 * Lines of bcoin 1.0.2's debug log that blame a peer (its own wording, from lib/net/peer.js,
 * parser.js and pool.js): a ban, a reject it sends, a frame it cannot parse, a protocol breach
 * (`Peer sent …`), a stall or an unanswered ping. Not here: `Unknown packet` (messages newer than
 * bcoin, which a peer may send) and `Socket hangup` (every disconnect).
 */
export const BCOIN_MISBEHAVIOUR_PATTERNS: readonly RegExp[] = [
  /Ban threshold exceeded/,
  /Banning peer/,
  /Rejecting /,
  /Invalid checksum|Invalid magic value|Packet length too large|Non NULL-terminated command/,
  /Peer sent /,
  /Peer advertised too many/,
  /Peer is stalling|Peer stalled|Peer has not responded to ping/,
  /Header hash mismatch|Received unrequested block/,
];

/** The line bcoin logs when a peer's version handshake completes (one per connection). */
export const BCOIN_HANDSHAKE = /Version handshake complete \(127\.0\.0\.1:\d+\)/;

/**
 * The `host:port` of each inbound peer whose handshake `log` shows. bcoin also dials regtest's
 * seed 127.0.0.1:48444 itself (usually refused), so a handshake alone may not be a test's peer.
 */
export function bcoinInboundHandshakes(log: string): string[] {
  const inbound = new Set([...log.matchAll(/Added inbound peer \((\S+)\)\./g)].map((m) => m[1]!));
  return [...log.matchAll(/Version handshake complete \((\S+)\)\./g)]
    .map((m) => m[1]!)
    .filter((h) => inbound.has(h));
}

/** bcoin's regtest address of a P2WPKH key hash (bcoin 1.0.2 uses its own prefixes: bech32 `rb`). */
export function bcoinRegtestAddress(pubKeyHash: Uint8Array): string {
  return encodeSegwitAddress('rb', 0, pubKeyHash);
}

export interface BcoinOptions {
  /** Run the SPV node (`bcoin-spvnode`) instead of a full node. @default false */
  readonly spv?: boolean;
  /** Peers to connect to, `host:port`. @default none */
  readonly connect?: readonly string[];
}

/** One bcoin process; see the module notes. */
export class Bcoin extends RpcNode {
  constructor() {
    super({
      name: 'bcoin',
      auth: 'x:k',
      waitMs: WAIT_MS,
      stopGraceMs: 10_000,
      misbehaviour: BCOIN_MISBEHAVIOUR_PATTERNS,
      handshake: BCOIN_HANDSHAKE,
    });
  }

  /** Port of its HTTP (JSON-RPC) server. */
  get httpPort(): number {
    return this.rpcPort;
  }

  static installed(): boolean {
    return existsSync(join(BIN, 'node'));
  }

  async start(o: BcoinOptions = {}): Promise<void> {
    if (!Bcoin.installed())
      throw new Error('bcoin is not installed: npm ci --prefix test/interop/bcoin (see .ci/run)');
    this.dir = await mkdtemp(join(tmpdir(), 'shoal-bcoin-'));
    this.rpcPort = await freePort();
    this.p2pPort = await freePort();
    const args = [
      join(BIN, o.spv === true ? 'spvnode' : 'node'),
      '--network=regtest',
      '--memory=true',
      `--prefix=${this.dir}`,
      '--host=127.0.0.1',
      `--port=${this.p2pPort}`,
      `--listen=${o.spv === true ? 'false' : 'true'}`,
      '--http-host=127.0.0.1',
      `--http-port=${this.httpPort}`,
      '--api-key=k',
      '--workers=false',
      '--no-wallet=true',
      '--log-console=true',
      '--log-level=debug',
      '--bip37=true',
      '--index-tx=true',
      ...(o.connect !== undefined && o.connect.length > 0 ? [`--only=${o.connect.join(',')}`] : []),
    ];
    await this.launch(process.execPath, args, this.logPath);
  }

  /** Where bcoin's console log goes (see the module notes). */
  get logPath(): string {
    if (this.dir === '') throw new Error('bcoin was not started');
    return join(this.dir, 'bcoin.log');
  }

  /** Mines `n` blocks to `address`, 1,000 per call. Returns the last hash. */
  async mine(n: number, address: string): Promise<string> {
    let last = '';
    for (let done = 0; done < n; done += 1000) {
      const hashes = await this.rpc<string[]>('generatetoaddress', Math.min(1000, n - done), address);
      last = hashes[hashes.length - 1]!;
    }
    return last;
  }

  /** Resident memory of the bcoin process, bytes (Linux `/proc`), 0 when gone. */
  async rssBytes(): Promise<number> {
    const pid = this.proc?.pid;
    if (pid === undefined) return 0;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m === null ? 0 : Number(m[1]) * 1024;
  }

  /** The debug log so far (see the module notes); throws if bcoin was never started. */
  async log(): Promise<string> {
    return readFile(this.logPath, 'utf8');
  }

  /** Resolves once bcoin holds no inbound peer: it has handled (and logged) all they sent. */
  async noPeers(timeoutMs = 30_000): Promise<void> {
    await this.until(
      'bcoin to drop every inbound peer',
      async () => (await this.rpc<{ inbound: boolean }[]>('getpeerinfo')).every((p) => !p.inbound),
      timeoutMs,
    );
  }
}
