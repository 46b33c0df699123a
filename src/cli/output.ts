/** Formatting and error helpers shared by the CLI commands. */
import { ErrorCode, isShoalError, ShoalError } from '../shared/errors.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${UNITS[u]}`;
}

/** Parses "16384", "16k", "1m", "4MiB" into bytes; `undefined` when malformed. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (m === null) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()] ?? 1;
  const n = Number(m[1]) * mult;
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A rate a user typed (`500k`, `2m`, `1.5g`, bytes/s; K = 1024) for `flag`; 0 when absent. Throws
 * a usage error naming the flag.
 */
export function parseRate(text: string | undefined, flag: string): number {
  if (text === undefined) return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)$/i.exec(text.trim());
  if (m === null) throw new UsageError(`invalid ${flag} "${text}" (bytes/s, e.g. 500k, 2m)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * mult);
}

/** Seconds → "1h02m", "3m05s", "12s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** An error the user caused (bad arguments), printed without a stack. */
export class UsageError extends ShoalError<Record<string, never>> {
  constructor(message: string) {
    super(ErrorCode.CliUsage, message, {});
  }
}

/** Exit status of a command stopped by SIGINT (Ctrl-C): 128 + 2, as shells report it. */
export const EXIT_SIGINT = 130;
/** Exit status of a command stopped by SIGTERM: 128 + 15. */
export const EXIT_SIGTERM = 143;

/** The exit status for a command interrupted by `signal` (128 + the signal number). */
export function signalExitCode(signal: string): number {
  return signal === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT;
}

/** The one format of every error line the CLI prints: `shoal: error: <message> (<code>)`. */
export function errorLine(e: unknown): string {
  return `shoal: error: ${describeError(e)}\n`;
}

/**
 * `e` with `context` before its message (`cannot start the tracker: …`), keeping its code: a
 * ShoalError stays one (same code and details), an fs or net error keeps its errno code.
 */
export function withContext(context: string, e: unknown): Error {
  if (isShoalError(e)) return new ShoalError(e.code, `${context}: ${e.message}`, e.details, { cause: e });
  const message = `${context}: ${e instanceof Error ? e.message : String(e)}`;
  const code = (e as { code?: unknown } | undefined)?.code;
  return Object.assign(new Error(message, { cause: e }), typeof code === 'string' ? { code } : {});
}

/** One clear line for any error; stacks only for programmer errors and only with SHOAL_DEBUG. */
export function describeError(e: unknown): string {
  if (isShoalError(e)) return `${e.message} (${e.code})`;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}
