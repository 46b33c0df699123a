/**
 * Runs the real `shoal` command (src/cli/main.ts through tsx) as a child process, for the CLI
 * tests: `runShoal` waits for it to exit; `spawnShoal` keeps it running, waits (bounded) for a
 * line on its output, signals it by PID and always stops it in `stop()`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
/** The CLI's entry point. */
export const CLI_MAIN = join(ROOT, 'src/cli/main.ts');
// Resolved here so the child finds tsx whatever its working directory.
const TSX = import.meta.resolve('tsx');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Environment of a CLI child: no inherited node options, no daemon URL or token. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, NODE_OPTIONS: '', SHOAL_URL: '', SHOAL_TOKEN: '', ...extra };
}

/** Runs `shoal <args>` to its end (at most `timeoutMs`). */
export function runShoal(
  args: readonly string[],
  o: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, CLI_MAIN, ...args],
      { cwd: o.cwd ?? ROOT, timeout: o.timeoutMs ?? 60_000, env: childEnv(o.env) },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface SpawnShoalOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string>;
  /**
   * The whole command line instead of `node --import tsx main.ts <args>` (e.g. the CLI inside
   * `unshare`); it must exec the CLI, so that the child's PID is the CLI's.
   */
  readonly command?: readonly string[];
}

/** A running `shoal` child. */
export class ShoalChild {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout = '';
  stderr = '';
  readonly #waiters = new Set<() => void>();

  constructor(args: readonly string[], o: SpawnShoalOptions = {}) {
    const [file, ...rest] = o.command ?? [process.execPath, '--import', TSX, CLI_MAIN, ...args];
    this.child = spawn(file!, rest, {
      cwd: o.cwd ?? ROOT,
      env: childEnv(o.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        resolve({ code, signal });
        this.#wake();
      });
    });
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
      this.#wake();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
      this.#wake();
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the match once stdout or stderr (as chosen) matches `re`; rejects on exit or timeout. */
  waitFor(re: RegExp, stream: 'stdout' | 'stderr' = 'stderr', timeoutMs = 30_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      let exited = false;
      void this.exited.then(() => {
        exited = true;
      });
      const check = (): void => {
        const m = re.exec(this[stream]);
        if (m !== null) {
          finish();
          resolve(m);
        } else if (exited || this.child.exitCode !== null || this.child.signalCode !== null) {
          finish();
          reject(new Error(`shoal exited before ${re} on ${stream}:\n${this.stdout}\n${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no ${re} on ${stream} within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends `signal` to this child only (by PID). */
  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, signal);
  }

  /** Stops the child (SIGKILL) if it still runs and waits for its exit. */
  async stop(): Promise<void> {
    this.kill('SIGKILL');
    await this.exited;
  }
}

/** Starts `shoal <args>`; call `stop()` in `after()` / `finally`. */
export function spawnShoal(args: readonly string[], o: SpawnShoalOptions = {}): ShoalChild {
  return new ShoalChild(args, o);
}
