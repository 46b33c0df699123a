/**
 * The daemon's logger: JSON lines (pino's own format, for log collectors) when stderr is a file
 * or a pipe, one human-readable line per record when it is a terminal — so a terminal never
 * shows JSON mixed with the daemon's plain status lines.
 *
 * The readable form is made with pino alone: records are written as JSON to a destination that
 * reformats each line (`HH:MM:SS LEVEL component: message key=value …`) before it reaches the
 * terminal. No pretty-printing dependency.
 */
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';

/** Log levels the daemon accepts (`--log-level`). */
export const DAEMON_LOG_LEVELS: readonly LevelWithSilent[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** Fields every record has, shown in the line's head rather than as key=value. */
const HEAD = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'component', 'err']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[\w./:@+-]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

function clock(ms: unknown): string {
  const d = typeof ms === 'number' ? new Date(ms) : new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** One pino JSON record → one readable line (with a newline). Unparsable input passes through. */
export function formatLogLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = LEVEL_NAMES[rec.level as number] ?? String(rec.level);
  const component = typeof rec.component === 'string' ? `${rec.component}: ` : '';
  const fields = Object.entries(rec)
    .filter(([k]) => !HEAD.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  const err = rec.err as { message?: unknown; code?: unknown } | undefined;
  if (err !== undefined && typeof err === 'object' && err !== null) {
    fields.push(
      `error=${value(String(err.message ?? ''))}${typeof err.code === 'string' ? ` (${err.code})` : ''}`,
    );
  }
  const tail = fields.length > 0 ? ` ${fields.join(' ')}` : '';
  return `${clock(rec.time)} ${level.padEnd(5)} ${component}${String(rec.msg ?? '')}${tail}\n`;
}

/** A pino destination that writes readable lines to `out`. */
export function readableDestination(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(chunk: string) {
      // pino writes one record per call, newline-terminated.
      for (const line of chunk.split('\n')) if (line !== '') out.write(formatLogLine(line));
    },
  };
}

/**
 * The daemon's logger on stderr: readable lines when `readable` (stderr is a terminal), JSON
 * lines otherwise.
 */
export function createDaemonLogger(
  level: LevelWithSilent,
  readable: boolean = process.stderr.isTTY === true,
): Logger {
  return readable
    ? pino({ level, base: null }, readableDestination(process.stderr))
    : pino({ level }, pino.destination(2));
}
