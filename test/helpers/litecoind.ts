/**
 * litecoind (Debian's Litecoin Core 0.21) in regtest as a test partner: started on 127.0.0.1 with
 * free ports and a temporary data folder, driven over JSON-RPC, stopped by its PID in `stop()`
 * (which also removes the folder). `-debug=net` writes every peer event to `debug.log`;
 * {@link Litecoind.misbehaviour} returns the lines that would blame a peer, for the teardown scan.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, RpcNode } from './rpc-node.js';

export { freePort };

export const LITECOIND = '/usr/bin/litecoind';

/** Bound of each wait for litecoind (start, one RPC). */
const WAIT_MS = 60_000;

/**
 * Lines of a `-debug=net` log that blame a peer: misbehaviour scores, frames it could not read,
 * protocol violations. (Disconnects we cause by closing, and peers litecoind drops for being
 * slow, are not in this list.)
 */
export const MISBEHAVIOUR_PATTERNS: readonly RegExp[] = [
  /Misbehaving/,
  /HEADER ERROR/,
  /CHECKSUM ERROR/,
  /violation of protocol/,
  /Unsupported message/,
  /Unknown command/,
  /Unknown inv type/,
  /locator size/,
  /obsolete version/,
  /Ignoring repeated "getaddr"/,
  /does not offer the expected services/,
  /Timeout downloading/,
  /non-continuous headers sequence/,
];

/**
 * The line `-debug=net` writes when a Shoal node's `version` arrives (its user agent is
 * `/Shoal:<version>/`). A log without one proves nothing: no Shoal peer ever got that far.
 */
export const SHOAL_HANDSHAKE = /receive version message: \/Shoal:[^/]*\/: version \d+/;

export interface LitecoindOptions {
  /** Run with a wallet (for partner-wallet payments); mining then goes to raw scripts. @default false */
  readonly wallet?: boolean;
  readonly extraArgs?: readonly string[];
}

/** One litecoind process; see the module notes. */
export class Litecoind extends RpcNode {
  constructor() {
    super({
      name: 'litecoind',
      auth: 'u:p',
      waitMs: WAIT_MS * 2,
      stopGraceMs: 20_000,
      bodyExtra: { jsonrpc: '1.0' },
      misbehaviour: MISBEHAVIOUR_PATTERNS,
      handshake: SHOAL_HANDSHAKE,
    });
  }

  async start(o: LitecoindOptions = {}): Promise<void> {
    if (!existsSync(LITECOIND)) throw new Error('litecoind is not installed');
    this.dir = await mkdtemp(join(tmpdir(), 'shoal-ltc-'));
    this.rpcPort = await freePort();
    this.p2pPort = await freePort();
    const args = [
      '-regtest',
      `-datadir=${this.dir}`,
      '-listen=1',
      '-bind=127.0.0.1',
      `-port=${this.p2pPort}`,
      '-rpcbind=127.0.0.1',
      '-rpcallowip=127.0.0.1',
      `-rpcport=${this.rpcPort}`,
      '-rpcuser=u',
      '-rpcpassword=p',
      '-blockfilterindex=1',
      '-peerblockfilters=1',
      '-txindex=1',
      '-dnsseed=0',
      '-discover=0',
      '-upnp=0',
      '-listenonion=0',
      '-debug=net',
      '-printtoconsole=0',
      '-vbparams=mweb:-2:0',
      '-fallbackfee=0.001',
      ...(o.wallet === true ? [] : ['-disablewallet']),
      ...(o.extraArgs ?? []),
    ];
    await this.launch(LITECOIND, args);
  }

  async walletRpc<T>(wallet: string, method: string, ...params: unknown[]): Promise<T> {
    return this.rpcAt<T>(`/wallet/${wallet}`, method, params);
  }

  async descriptor(d: string): Promise<string> {
    return (await this.rpc<{ descriptor: string }>('getdescriptorinfo', d)).descriptor;
  }

  /** Mines `n` blocks to `descriptor` (default: anyone-can-spend), 500 per call. Returns the last hash. */
  async mine(n: number, descriptor = 'raw(51)'): Promise<string> {
    const d = await this.descriptor(descriptor);
    let last = '';
    for (let done = 0; done < n; done += 500) {
      const hashes = await this.rpc<string[]>('generatetodescriptor', Math.min(500, n - done), d);
      last = hashes[hashes.length - 1]!;
    }
    return last;
  }

  /** Resolves once the block filter index reaches `height`. */
  async filterIndexAt(height: number): Promise<void> {
    await this.until(`the filter index at ${height}`, async () => {
      const info = await this.rpc<Record<string, { best_block_height: number }>>('getindexinfo');
      return (info['basic block filter index']?.best_block_height ?? -1) >= height;
    });
  }

  /** The `-debug=net` log; throws if litecoind never wrote one (a missing log blames nobody). */
  async log(): Promise<string> {
    if (this.dir === '') throw new Error('litecoind was never started');
    return readFile(join(this.dir, 'regtest', 'debug.log'), 'utf8');
  }
}
