/**
 * What the Bitcoin-protocol test partners (litecoind.ts, bcoin.ts) share: a node process started
 * with free ports and a temporary folder, killed with the test process if a test forgets it, its
 * output kept (the last 20,000 characters) for error messages, driven over JSON-RPC (HTTP Basic
 * auth), ready once `getblockcount` answers, and stopped by its PID in `stop()` (SIGTERM, then
 * SIGKILL after a grace period) which also removes the folder. Subclasses give the command line,
 * the credentials, the log and the patterns of log lines that blame a peer. A node that logs to
 * its console (bcoin) can have stdout and stderr written straight to a file: the child writes a
 * file synchronously, so every line is on disk the moment the node logs it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (closed again at once). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** How a subclass runs and talks to its node. */
export interface RpcNodeSpec {
  /** Name in error messages. */
  readonly name: string;
  /** `user:password` of the RPC server. */
  readonly auth: string;
  /** Bound of the start and of each RPC call, ms. */
  readonly waitMs: number;
  /** Grace between SIGTERM and SIGKILL in `stop()`, ms. */
  readonly stopGraceMs: number;
  /** Fields added to every JSON-RPC request body (litecoind: `jsonrpc: '1.0'`). */
  readonly bodyExtra?: Readonly<Record<string, unknown>>;
  /** Log lines that blame a peer. */
  readonly misbehaviour: readonly RegExp[];
  /**
   * A line the node logs for every completed peer handshake. When given, `misbehaviour()` throws
   * on a log without one: an empty or wrong log would otherwise blame nobody. @default none
   */
  readonly handshake?: RegExp;
}

/** See the module notes. */
export abstract class RpcNode {
  proc: ChildProcess | undefined;
  output = '';
  dir = '';
  rpcPort = 0;
  p2pPort = 0;
  #id = 0;
  readonly #spec: RpcNodeSpec;

  protected constructor(spec: RpcNodeSpec) {
    this.#spec = spec;
  }

  /** The node's log (where its peer events are written). */
  abstract log(): Promise<string>;

  /**
   * Spawns `command args` and resolves once its RPC answers. With `outputFile`, the child's stdout
   * and stderr go to that file (appended) instead of `output`.
   */
  protected async launch(command: string, args: readonly string[], outputFile?: string): Promise<void> {
    const { name, waitMs } = this.#spec;
    let proc: ChildProcess;
    if (outputFile === undefined) {
      proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (b: Buffer) => {
        this.output = (this.output + b.toString()).slice(-20_000);
      };
      proc.stdout!.on('data', keep);
      proc.stderr!.on('data', keep);
    } else {
      const fd = openSync(outputFile, 'a');
      try {
        proc = spawn(command, args, { stdio: ['ignore', fd, fd] });
      } finally {
        closeSync(fd);
      }
    }
    this.proc = proc;
    const tail = () => {
      if (outputFile === undefined) return this.output.slice(-2000);
      try {
        return readFileSync(outputFile, 'utf8').slice(-2000);
      } catch (e) {
        return `(no ${outputFile}: ${(e as Error).message})`;
      }
    };
    // If the test process ends without stop() (a crash, a cancelled hook), the node goes with it.
    const orphan = () => {
      if (proc.exitCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
    };
    process.once('exit', orphan);
    proc.once('exit', () => process.off('exit', orphan));
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${tail()}`))),
    );
    exited.catch(() => {});
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        await Promise.race([this.rpc('getblockcount'), exited]);
        return;
      } catch (e) {
        if (proc.exitCode !== null) throw e;
        if (Date.now() > deadline)
          throw new Error(`${name} not ready in ${waitMs} ms: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** One JSON-RPC call. */
  async rpc<T>(method: string, ...params: unknown[]): Promise<T> {
    return this.rpcAt<T>('/', method, params);
  }

  /** One JSON-RPC call to `path` (litecoind's wallet endpoints). */
  async rpcAt<T>(path: string, method: string, params: unknown[]): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.rpcPort}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(this.#spec.auth).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ ...this.#spec.bodyExtra, id: ++this.#id, method, params }),
      signal: AbortSignal.timeout(this.#spec.waitMs),
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

  /** Resolves once `check` returns true, asking every 100 ms, or rejects at the deadline. */
  async until(what: string, check: () => Promise<boolean>, timeoutMs = this.#spec.waitMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Lines of the log that blame a peer. Throws when the spec names a handshake line and the log
   * has none (empty, not the node's log, or no peer ever connected): such a log proves nothing.
   */
  async misbehaviour(): Promise<string[]> {
    const { name, handshake, misbehaviour } = this.#spec;
    const lines = (await this.log()).split('\n');
    if (handshake !== undefined && !lines.some((l) => handshake.test(l)))
      throw new Error(`${name}'s log (${lines.length} lines) has no peer handshake (${handshake})`);
    return lines.filter((l) => misbehaviour.some((re) => re.test(l)));
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    // Still running: neither exited nor ended by a signal (a Ctrl-C reaches the whole group).
    const running = (): boolean => proc?.exitCode === null && proc.signalCode === null;
    if (proc !== undefined && running() && proc.pid !== undefined) {
      const pid = proc.pid;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => running() && process.kill(pid, 'SIGKILL'), this.#spec.stopGraceMs);
      await exited;
      clearTimeout(timer);
    }
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }
}
