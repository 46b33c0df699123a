/**
 * bcoin 1.0.2 (the JavaScript Bitcoin node, from npm in test/interop/bcoin, installed there by
 * .ci/run) in regtest as a test partner: Bitcoin's own regtest chain with SHA-256d proof of work,
 * no BIP 157/158. Started on 127.0.0.1 with free ports, in memory, with a temporary prefix folder
 * for its log; driven over JSON-RPC; stopped by its PID in `stop()` (which removes the folder).
 * `spv: true` runs `bcoin-spvnode` instead (the header-only client, for bench:btc).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeSegwitAddress } from '../../src/bitcoin/index.js';
import { freePort } from './litecoind.js';

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
export class Bcoin {
  proc: ChildProcess | undefined;
  output = '';
  dir = '';
  httpPort = 0;
  p2pPort = 0;
  #id = 0;

  static installed(): boolean {
    return existsSync(join(BIN, 'node'));
  }

  async start(o: BcoinOptions = {}): Promise<void> {
    if (!Bcoin.installed())
      throw new Error('bcoin is not installed: npm ci --prefix test/interop/bcoin (see .ci/run)');
    this.dir = await mkdtemp(join(tmpdir(), 'shoal-bcoin-'));
    this.httpPort = await freePort();
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
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    // If the test process ends without stop() (a crash, a cancelled hook), bcoin goes with it.
    const orphan = () => {
      if (proc.exitCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
    };
    process.once('exit', orphan);
    proc.once('exit', () => process.off('exit', orphan));
    const keep = (b: Buffer) => {
      this.output = (this.output + b.toString()).slice(-20_000);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`bcoin exited (${code}): ${this.output.slice(-2000)}`))),
    );
    exited.catch(() => {});
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      try {
        await Promise.race([this.rpc('getblockcount'), exited]);
        return;
      } catch (e) {
        if (proc.exitCode !== null) throw e;
        if (Date.now() > deadline)
          throw new Error(`bcoin not ready in ${WAIT_MS} ms: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** One JSON-RPC call. */
  async rpc<T>(method: string, ...params: unknown[]): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}/`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('x:k').toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ id: ++this.#id, method, params }),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    const text = await res.text();
    let body: { result: T; error: { message: string } | null };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`${method}: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
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

  /** Resolves once `check` returns true, asking every 100 ms, or rejects at the deadline. */
  async until(what: string, check: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
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

  /** Lines of the log that blame a peer (see {@link BCOIN_MISBEHAVIOUR_PATTERNS}). */
  async misbehaviour(): Promise<string[]> {
    const text = await this.log();
    return text.split('\n').filter((l) => BCOIN_MISBEHAVIOUR_PATTERNS.some((re) => re.test(l)));
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc !== undefined && proc.exitCode === null && proc.pid !== undefined) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      process.kill(proc.pid, 'SIGTERM');
      const timer = setTimeout(
        () => proc.pid !== undefined && proc.exitCode === null && process.kill(proc.pid, 'SIGKILL'),
        10_000,
      );
      await exited;
      clearTimeout(timer);
    }
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }
}
