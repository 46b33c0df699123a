/**
 * Cleanup for a benchmark stopped by a signal (Ctrl-C, SIGTERM): the servers and client
 * processes it started are stopped before it exits, as its `finally` blocks would have on a
 * normal end. Without it, an interrupted `bench:webseed` left its nginx and the client being
 * measured running.
 */
const cleanups = new Set<() => Promise<void> | void>();
let installed = false;
let stopping: NodeJS.Signals | undefined;

/**
 * Throws once the benchmark was interrupted: call it before starting a process or a run, so
 * that a loop does not start new work while the cleanup runs (it would outlive the exit).
 */
export function throwIfInterrupted(): void {
  if (stopping !== undefined) throw new Error(`interrupted (${stopping})`);
}

/**
 * Runs `stop` if the process is interrupted before the returned function is called (call it
 * once `stop`'s work is done the normal way).
 */
export function onInterrupt(stop: () => Promise<void> | void): () => void {
  if (!installed) {
    installed = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void interrupted(signal));
  }
  cleanups.add(stop);
  return () => {
    cleanups.delete(stop);
  };
}

async function interrupted(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  stopping = signal;
  console.error(`\n${signal}: stopping what the benchmark started…`);
  await Promise.allSettled([...cleanups].map(async (stop) => stop()));
  process.exit(signal === 'SIGINT' ? 130 : 143);
}
