/**
 * bcoin 1.0.2 (the JavaScript Bitcoin node, from npm in test/interop/bcoin, installed there by
 * .ci/run) in regtest as a test partner: Bitcoin's own regtest chain with SHA-256d proof of work,
 * no BIP 157/158. Started on 127.0.0.1 with free ports, in memory, with a temporary prefix folder
 * for its log; driven over JSON-RPC; stopped by its PID in `stop()` (which removes the folder).
 * `spv: true` runs `bcoin-spvnode` instead (the header-only client, for bench:btc).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeSegwitAddress } from '../../src/bitcoin/index.js';
import { freePort, RpcNode } from './rpc-node.js';

const BIN = fileURLToPath(new URL('../interop/bcoin/node_modules/bcoin/bin/', import.meta.url));

/** Bound of each wait for bcoin (start, one RPC). */
const WAIT_MS = 120_000;

/** Lines of bcoin's debug log that blame a peer. */
export const BCOIN_MISBEHAVIOUR_PATTERNS: readonly RegExp[] = [
  /Ban threshold exceeded/,
  /Banning peer/,
  /Parse error/i,
  /Peer error/i,
  /Bad (packet|checksum|magic)/i,
];

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
      '--log-console=false',
      '--log-level=debug',
      '--bip37=true',
      '--index-tx=true',
      ...(o.connect !== undefined && o.connect.length > 0 ? [`--only=${o.connect.join(',')}`] : []),
    ];
    await this.launch(process.execPath, args);
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

  /** The debug log (bcoin writes it under the prefix, in a network folder). */
  async log(): Promise<string> {
    for (const d of [join(this.dir, 'regtest'), this.dir]) {
      const names = await readdir(d).catch(() => [] as string[]);
      if (names.includes('debug.log')) return readFile(join(d, 'debug.log'), 'utf8');
    }
    return '';
  }
}
