/**
 * Cleanup for a benchmark stopped by a signal (Ctrl-C, SIGTERM): the servers and client
 * processes it started are stopped, and its namespaces and temporary folders removed, before it
 * exits (130 for SIGINT, 143 for SIGTERM), as its `finally` blocks would have on a normal end.
 * Without it, an interrupted `bench:webseed` left its nginx and the client being measured running.
 *
 * The cleanups run one after the other, the last registered first, as nested `finally` blocks
 * do: a folder registered before the process that writes in it is removed once that process has
 * stopped. While they run, the interrupted run fails (its child is gone, its folder removed, or
 * {@link throwIfInterrupted} threw): those errors are expected then, so they are logged in one
 * line and do not end the process before the cleanup is done.
 *
 * Processes are only ever signalled by PID: the child itself and, for one that does not pass
 * signals on (`/usr/bin/time`, `sh -c`), its descendants, found by their parent PID in /proc.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Time a process gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 5000;
/** How often a stopping process is looked for in /proc. */
const POLL_MS = 50;

const cleanups = new Set<() => Promise<void> | void>();
let stopping: 'SIGINT' | 'SIGTERM' | undefined;
const onSigint = () => void interrupted('SIGINT');
const onSigterm = () => void interrupted('SIGTERM');

/**
 * Throws once the benchmark was interrupted: call it before starting a process or a run, so
 * that a loop does not start new work while the cleanup runs (it would outlive the exit).
 */
export function throwIfInterrupted(): void {
  if (stopping !== undefined) throw new Error(`interrupted (${stopping})`);
}

/**
 * Runs `stop` if the process is interrupted before the returned function is called (call it
 * once `stop`'s work is done the normal way). The signals are caught only while a cleanup is
 * registered: a benchmark busy in synchronous code could not run its handler, so with nothing
 * to clean it keeps the default of ending at once.
 */
export function onInterrupt(stop: () => Promise<void> | void): () => void {
  if (cleanups.size === 0 && stopping === undefined) {
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigterm);
  }
  cleanups.add(stop);
  return () => {
    if (!cleanups.delete(stop) || cleanups.size > 0 || stopping !== undefined) return;
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  };
}

/**
 * Stops `child` and its descendants (SIGTERM, then SIGKILL after {@link STOP_GRACE_MS}) if the
 * benchmark is interrupted while it runs; forgets it once it exited. Returns `child`.
 */
export function stopOnInterrupt<T extends ChildProcess>(child: T): T {
  const pid = child.pid;
  if (pid === undefined) return child; // not started: its 'error' event says why
  const undo = onInterrupt(() => stopProcessTree(pid));
  child.once('exit', undo);
  return child;
}

/**
 * Removes `path` (a temporary folder or file) if the benchmark is interrupted; call the
 * returned function once it was removed the normal way.
 */
export function removeOnInterrupt(path: string): () => void {
  return onInterrupt(() => rm(path, { recursive: true, force: true, maxRetries: 3 }));
}

/**
 * For helpers that start processes and make temporary folders without handing them out (the
 * swarm and attack labs of test/helpers): points `os.tmpdir()` (TMPDIR, inherited by children)
 * at a fresh folder and, if the benchmark is interrupted, stops every child process of this one
 * and then removes that folder. The returned function, for the end of a normal run, puts TMPDIR
 * back and removes the folder.
 */
export function confineTmpdir(prefix: string): () => void {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.env.TMPDIR = dir;
  const undo = onInterrupt(async () => {
    await Promise.all(childPids(process.pid).map(stopProcessTree));
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  return () => {
    undo();
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}

async function interrupted(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  stopping = signal;
  // A second signal, of either kind, ends the process at once (the default).
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);
  console.error(`\n${signal}: stopping what the benchmark started… (again to quit at once)`);
  process.on('uncaughtException', (e) => {
    console.error(`${signal}: the interrupted run failed: ${e instanceof Error ? e.message : String(e)}`);
  });
  for (const stop of [...cleanups].reverse()) {
    try {
      await stop();
    } catch (e) {
      console.error(`${signal}: a cleanup failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

/** The PID's parent PID and state (`Z` for a zombie), from /proc; undefined once it is gone. */
function procStat(pid: number): { ppid: number; state: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(ppid), state };
}

function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (Number.isInteger(pid) && procStat(pid)?.ppid === parent) pids.push(pid);
  }
  return pids;
}

function descendantPids(pid: number): number[] {
  return childPids(pid).flatMap((c) => [c, ...descendantPids(c)]);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * SIGTERM to `pid` and its descendants (listed before the signal: a child whose parent died is
 * no longer found by its parent PID), SIGKILL to those left after {@link STOP_GRACE_MS};
 * resolves once none of them runs (a zombie counts as stopped) or, after SIGKILL, at the next
 * grace period's end.
 */
async function stopProcessTree(pid: number): Promise<void> {
  const pids = [pid, ...descendantPids(pid)];
  for (const p of pids) signal(p, 'SIGTERM');
  if (await gone(pids)) return;
  for (const p of pids) signal(p, 'SIGKILL');
  await gone(pids);
}

/** Waits up to {@link STOP_GRACE_MS} for every PID to be gone or a zombie; true if they are. */
async function gone(pids: readonly number[]): Promise<boolean> {
  const deadline = Date.now() + STOP_GRACE_MS;
  for (;;) {
    if (pids.every((p) => (procStat(p)?.state ?? 'Z') === 'Z')) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
