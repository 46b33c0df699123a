/**
 * litecoind (Debian's Litecoin Core 0.21) in regtest as a test partner: started on 127.0.0.1 with
 * free ports and a temporary data folder, driven over JSON-RPC, stopped by its PID in `stop()`
 * (which also removes the folder). `-debug=net` writes every peer event to `debug.log`;
 * {@link Litecoind.misbehaviour} returns the lines that would blame a peer, for the teardown scan.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LITECOIND = '/usr/bin/litecoind';

/** Bound of each wait for litecoind (start, one RPC). */
const WAIT_MS = 60_000;

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

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

export interface LitecoindOptions {
  /** Run with a wallet (for partner-wallet payments); mining then goes to raw scripts. @default false */
  readonly wallet?: boolean;
  readonly extraArgs?: readonly string[];
}

/** One litecoind process; see the module notes. */
export class Litecoind {
  proc: ChildProcess | undefined;
  output = '';
  dir = '';
  rpcPort = 0;
  p2pPort = 0;
  #id = 0;

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
    const proc = spawn(LITECOIND, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    // If the test process ends without stop() (a crash, a cancelled hook), litecoind goes with it.
    const orphan = () => {
      if (proc.exitCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
    };
    process.once('exit', orphan);
    proc.once('exit', () => process.off('exit', orphan));
    proc.stdout!.on('data', (b: Buffer) => {
      this.output = (this.output + b.toString()).slice(-20_000);
    });
    proc.stderr!.on('data', (b: Buffer) => {
      this.output = (this.output + b.toString()).slice(-20_000);
    });
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code) =>
        reject(new Error(`litecoind exited (${code}): ${this.output.slice(-2000)}`)),
      ),
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
          throw new Error(`litecoind not ready in ${WAIT_MS} ms: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** One JSON-RPC call (`wallet`: the wallet endpoint to use). */
  async rpc<T>(method: string, ...params: unknown[]): Promise<T> {
    return this.rpcAt<T>('/', method, params);
  }

  async walletRpc<T>(wallet: string, method: string, ...params: unknown[]): Promise<T> {
    return this.rpcAt<T>(`/wallet/${wallet}`, method, params);
  }

  async rpcAt<T>(path: string, method: string, params: unknown[]): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.rpcPort}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ jsonrpc: '1.0', id: ++this.#id, method, params }),
      signal: AbortSignal.timeout(WAIT_MS * 2),
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

  /** Resolves once `check` returns true, asking every 100 ms, or rejects at the deadline. */
  async until(what: string, check: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The `-debug=net` log. */
  async log(): Promise<string> {
    return readFile(join(this.dir, 'regtest', 'debug.log'), 'utf8').catch(() => '');
  }

  /** Lines of the log that blame a peer (see {@link MISBEHAVIOUR_PATTERNS}). */
  async misbehaviour(): Promise<string[]> {
    const text = await this.log();
    return text.split('\n').filter((l) => MISBEHAVIOUR_PATTERNS.some((re) => re.test(l)));
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc !== undefined && proc.exitCode === null && proc.pid !== undefined) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      process.kill(proc.pid, 'SIGTERM');
      const timer = setTimeout(
        () => proc.pid !== undefined && proc.exitCode === null && process.kill(proc.pid, 'SIGKILL'),
        20_000,
      );
      await exited;
      clearTimeout(timer);
    }
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }
}
