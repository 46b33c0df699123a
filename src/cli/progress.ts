/**
 * Progress output of `shoal download` and `shoal seed`: a live bar on a terminal, plain lines
 * otherwise.
 *
 * - The bar's every frame, the first included, is drawn from the torrent's figures (the bar
 *   library would otherwise print its `{down}` placeholders until the first update).
 * - Plain lines (logs, pipes) are printed only when what they say changed — a seed nobody
 *   downloads from says nothing — and at most every {@link PROGRESS_LINE_INTERVAL_MS}.
 * - Progress counts the selected files only: its total is the bytes of the pieces that hold
 *   them (what the engine's `leftBytes` counts down).
 */
import type * as CliProgress from 'cli-progress';
import type { Torrent } from '../session/index.js';
import { formatBytes, formatDuration } from './output.js';

/** Shortest time between two plain progress lines, ms. */
export const PROGRESS_LINE_INTERVAL_MS = 2000;
/** Redraw period of the terminal bar, ms. */
export const PROGRESS_BAR_INTERVAL_MS = 250;

/** What the progress output reads of a torrent. */
export type ProgressSource = Pick<Torrent, 'stats'>;

export interface ProgressOptions {
  /** Where to write. @default process.stderr */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** The bar library (loaded by the caller); plain lines without it. */
  readonly bars?: typeof CliProgress;
  /** Bytes of the pieces holding the selected files. @default every piece */
  readonly wantedBytes?: number;
  /** @default PROGRESS_LINE_INTERVAL_MS */
  readonly lineIntervalMs?: number;
}

/** The figures one frame or line shows. */
export function progressFigures(torrent: ProgressSource, wantedBytes: number | undefined) {
  const s = torrent.stats();
  const total = wantedBytes ?? 0;
  const done = total > 0 ? Math.max(0, total - s.leftBytes) : s.haveCount;
  const fraction = s.isFinished
    ? 1
    : total > 0
      ? done / total
      : s.pieceCount === 0
        ? 1
        : s.haveCount / s.pieceCount;
  return {
    stats: s,
    fraction: Math.min(1, Math.max(0, fraction)),
    payload: {
      down: formatBytes(Math.round(s.downloadRate)),
      up: formatBytes(Math.round(s.uploadRate)),
      peers: s.peerCount,
      eta_h:
        s.leftBytes === 0 || s.isFinished
          ? '0s'
          : s.downloadRate > 0
            ? formatDuration(s.leftBytes / s.downloadRate)
            : '--',
    },
  };
}

/** A running progress output. */
export interface ProgressHandle {
  /** Prints the last frame or line and stops. */
  stop(): void;
  /** Prints a message line without tearing the bar. */
  log(line: string): void;
}

/** Starts printing progress. */
export function startProgress(
  torrent: ProgressSource,
  label: string,
  options: ProgressOptions = {},
): ProgressHandle {
  const stream = options.stream ?? process.stderr;
  const lib = stream.isTTY === true ? options.bars : undefined;
  if (lib !== undefined) return startBar(torrent, label, lib, stream, options.wantedBytes);
  return startLines(torrent, label, stream, options);
}

function startBar(
  torrent: ProgressSource,
  label: string,
  lib: typeof CliProgress,
  stream: NodeJS.WritableStream,
  wantedBytes: number | undefined,
): ProgressHandle {
  const multi = new lib.MultiBar(
    {
      format: `${label} [{bar}] {percentage}% | ↓ {down}/s ↑ {up}/s | {peers} peers | ETA {eta_h}`,
      barsize: 28,
      hideCursor: true,
      stream: stream as NodeJS.WriteStream,
      clearOnComplete: false,
    },
    lib.Presets.shades_classic,
  );
  // The bar runs on a per-mille scale: byte totals beyond 2^53 / 1000 stay exact enough.
  const first = progressFigures(torrent, wantedBytes);
  const bar = multi.create(1000, Math.round(first.fraction * 1000), first.payload);
  const tick = () => {
    const f = progressFigures(torrent, wantedBytes);
    bar.update(Math.round(f.fraction * 1000), f.payload);
  };
  const timer = setInterval(tick, PROGRESS_BAR_INTERVAL_MS);
  return {
    stop() {
      clearInterval(timer);
      tick();
      multi.stop();
    },
    log(line: string) {
      multi.log(`${line}\n`);
    },
  };
}

function startLines(
  torrent: ProgressSource,
  label: string,
  stream: NodeJS.WritableStream,
  options: ProgressOptions,
): ProgressHandle {
  const interval = options.lineIntervalMs ?? PROGRESS_LINE_INTERVAL_MS;
  const t0 = performance.now();
  let last: string | undefined;
  let lastAt = Number.NEGATIVE_INFINITY;
  const line = (): string => {
    const { stats: s, fraction, payload } = progressFigures(torrent, options.wantedBytes);
    return `${label} ${(100 * fraction).toFixed(1)}% ${s.haveCount}/${s.pieceCount} pieces, ↓ ${payload.down}/s ↑ ${payload.up}/s, ${s.peerCount} peers, left ${formatBytes(s.leftBytes)}`;
  };
  const print = (force: boolean): void => {
    const now = performance.now();
    const text = line();
    if (text === last || (!force && now - lastAt < interval)) return;
    last = text;
    lastAt = now;
    stream.write(`[${((now - t0) / 1000).toFixed(0)}s] ${text}\n`);
  };
  print(false);
  // Checked more often than printed, so a change shows within one interval, not two.
  const timer = setInterval(() => print(false), Math.max(50, Math.floor(interval / 4)));
  return {
    stop() {
      clearInterval(timer);
      print(true);
    },
    log(line: string) {
      stream.write(`${line}\n`);
    },
  };
}
