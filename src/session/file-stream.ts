/**
 * Reading a torrent's files while they download (what a video player or an HTTP range request
 * needs): {@link readFileRange} yields the bytes of a range in order. For each piece, a verified
 * one is read from disk (never unverified data); a missing one moves the torrent's streaming
 * window to it — the piece and {@link STREAM_READAHEAD_BYTES} after it, within the file, jump
 * ahead of every other piece — and the read waits for its `piece` event. The wait ends when the
 * reader aborts or the torrent fails, never on a timer.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { type Metainfo, userFiles } from '../metainfo/index.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { explainErrno, makeDirectory } from '../storage/directory.js';
import { StorageError } from '../storage/errors.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';
import type { Bitfield } from '../wire/index.js';
import type { Torrent } from './torrent.js';

/** Bytes after the read position prioritised together with it. */
export const STREAM_READAHEAD_BYTES = 8 * 1024 * 1024;
/** Fewest pieces in the streaming window (the current one and at least one ahead). */
export const STREAM_MIN_WINDOW_PIECES = 2;
/** Largest single disk read while streaming, in bytes. */
export const STREAM_CHUNK_BYTES = 1024 * 1024;

/** One user-visible file of a torrent (padding files are not listed). */
export interface TorrentFileInfo {
  /** The file's number among the user files (what `shoal info`, `--only` and `/stream` use). */
  readonly index: number;
  /** Its index in the metainfo's file list (padding files included). */
  readonly metainfoIndex: number;
  /** Path components under the torrent's folder (or the file name of a single-file torrent). */
  readonly path: readonly string[];
  readonly length: number;
  /** Offset of the file in the torrent's piece space. */
  readonly offset: number;
}

/** The user files of `m`, numbered without padding files (metainfo `userFiles`). */
export function torrentFiles(m: Metainfo): TorrentFileInfo[] {
  return userFiles(m).map((u) => ({
    index: u.number,
    metainfoIndex: u.fileIndex,
    path: u.file.path,
    length: u.file.length,
    offset: u.file.offset,
  }));
}

/** What reading needs from its torrent. */
export interface StreamSource {
  readonly metainfo: Metainfo;
  readonly name: string;
  files(): TorrentFileInfo[];
  readonly storage: TorrentStorage;
  bitfield(): Bitfield;
  setStreamingWindow(first: number, count: number): void;
  on(event: 'piece', listener: (e: { readonly index: number }) => void): unknown;
  on(event: 'error', listener: (e: { readonly error: Error }) => void): unknown;
  off(event: 'piece', listener: (e: { readonly index: number }) => void): unknown;
  off(event: 'error', listener: (e: { readonly error: Error }) => void): unknown;
}

/** Verified pieces of a torrent, kept current from its `piece` events. */
class PieceWatch {
  readonly #torrent: StreamSource;
  readonly #have: Bitfield;
  readonly #waiters = new Map<number, Set<() => void>>();
  #failure: Error | undefined;
  readonly #onPiece = ({ index }: { readonly index: number }): void => {
    if (index >= 0 && index < this.#have.length) this.#have.set(index);
    const w = this.#waiters.get(index);
    if (w === undefined) return;
    this.#waiters.delete(index);
    for (const f of w) f();
  };
  readonly #onError = ({ error }: { readonly error: Error }): void => {
    this.#failure = error;
    for (const w of this.#waiters.values()) for (const f of w) f();
    this.#waiters.clear();
  };

  constructor(torrent: StreamSource) {
    this.#torrent = torrent;
    this.#have = torrent.bitfield();
    torrent.on('piece', this.#onPiece);
    torrent.on('error', this.#onError);
  }

  has(index: number): boolean {
    return this.#have.get(index);
  }

  /** Resolves when piece `index` is verified; rejects when `signal` aborts or the torrent fails. */
  wait(index: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.has(index)) return Promise.resolve();
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        if (this.has(index)) resolve();
        else reject(this.#failure ?? new ShoalError(ErrorCode.SessionClosed, 'the torrent stopped', {}));
      };
      const onAbort = (): void => {
        this.#waiters.get(index)?.delete(done);
        reject(signal?.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const set = this.#waiters.get(index) ?? new Set<() => void>();
      this.#waiters.set(index, set);
      set.add(done);
    });
  }

  dispose(): void {
    this.#torrent.off('piece', this.#onPiece);
    this.#torrent.off('error', this.#onError);
    this.#waiters.clear();
  }
}

/** Which reader last set each torrent's window (only that one clears it). */
const windowOwner = new WeakMap<StreamSource, symbol>();

/** A range of a torrent to read, in piece-space offsets (end exclusive). */
export interface FileRange {
  readonly from: number;
  readonly to: number;
  /** Last piece of the file (the window never reaches past it). */
  readonly fileLastPiece: number;
  readonly signal?: AbortSignal;
}

/** Yields the bytes of `range` in order, fetching missing pieces first (see the module notes). */
export async function* readFileRange(torrent: StreamSource, range: FileRange): AsyncGenerator<Uint8Array> {
  const { from, to, signal } = range;
  const pl = torrent.metainfo.pieceLength;
  const ahead = Math.max(STREAM_MIN_WINDOW_PIECES, Math.ceil(STREAM_READAHEAD_BYTES / pl));
  const watch = new PieceWatch(torrent);
  const me = Symbol('reader');
  let windowAt = -1;
  const moveWindow = (p: number): void => {
    const count = Math.min(ahead, range.fileLastPiece - p + 1);
    let missing = false;
    for (let i = p; i < p + count; i++) if (!watch.has(i)) missing = true;
    if (!missing || (windowAt === p && windowOwner.get(torrent) === me)) return;
    windowAt = p;
    windowOwner.set(torrent, me);
    torrent.setStreamingWindow(p, count);
  };
  try {
    for (let p = Math.floor(from / pl); p * pl < to; p++) {
      signal?.throwIfAborted();
      moveWindow(p);
      await watch.wait(p, signal);
      const start = Math.max(from, p * pl);
      const end = Math.min(to, (p + 1) * pl);
      for (let at = start; at < end; at += STREAM_CHUNK_BYTES) {
        signal?.throwIfAborted();
        yield await torrent.storage.readBlock(p, at - p * pl, Math.min(STREAM_CHUNK_BYTES, end - at));
      }
    }
  } finally {
    watch.dispose();
    if (windowOwner.get(torrent) === me) {
      windowOwner.delete(torrent);
      torrent.setStreamingWindow(0, 0);
    }
  }
}

/** Opens a readable stream of bytes `start`..`end` (inclusive) of file `index` (see `Torrent.createReadStream`). */
export function openReadStream(
  torrent: StreamSource,
  index: number,
  want: (f: TorrentFileInfo) => void,
  options: { readonly start?: number; readonly end?: number; readonly signal?: AbortSignal },
): Readable {
  const f = torrent.files()[index];
  if (f === undefined)
    throw new ShoalError(ErrorCode.SessionInvalidArgument, `${torrent.name} has no file ${index}`, { index });
  want(f);
  const start = options.start ?? 0;
  const end = options.end ?? f.length - 1;
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    end >= f.length ||
    start > end + 1
  )
    throw new ShoalError(
      ErrorCode.SessionInvalidArgument,
      `range ${start}-${end} is outside file ${f.index} (${f.length} bytes)`,
      { index: f.index, start, end },
    );
  const gone = new AbortController();
  const signal = options.signal === undefined ? gone.signal : AbortSignal.any([gone.signal, options.signal]);
  const body = Readable.from(
    readFileRange(torrent, {
      from: f.offset + start,
      to: f.offset + end + 1,
      fileLastPiece: Math.floor((f.offset + Math.max(0, f.length - 1)) / torrent.metainfo.pieceLength),
      signal,
    }),
    { objectMode: false, highWaterMark: STREAM_CHUNK_BYTES },
  );
  body.once('close', () => gone.abort(new Error('stream closed')));
  return body;
}

/** What {@link waitUntilDone} watches. */
export type DoneSource = Pick<Torrent, 'name' | 'state' | 'error' | 'isFinished' | 'on' | 'off'>;

/**
 * Resolves once every wanted piece of `t` is verified (at once if that is already so); rejects
 * with its error if it fails, with `SHOAL_ERR_SESSION_CLOSED` if it stops first, or with
 * `signal`'s reason.
 */
export function waitUntilDone(t: DoneSource, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = () => {
      t.off('done', onDone);
      t.off('error', onError);
      t.off('state', onState);
      signal?.removeEventListener('abort', onAbort);
    };
    const onDone = () => {
      settle();
      resolve();
    };
    const onError = (e: { readonly error: Error }) => {
      settle();
      reject(e.error);
    };
    const stopped = () =>
      new ShoalError(ErrorCode.SessionClosed, `torrent ${t.name} was closed before it was done`, {});
    const onState = (e: { readonly state: string }) => {
      if (e.state !== 'stopped') return;
      settle();
      reject(stopped());
    };
    const onAbort = () => {
      settle();
      reject(signal?.reason);
    };
    if (t.error !== undefined) return reject(t.error);
    if (signal?.aborted) return reject(signal.reason);
    if (t.state === 'stopped') return reject(stopped());
    if (t.state !== 'checking' && t.isFinished) return resolve();
    t.on('done', onDone);
    t.on('error', onError);
    t.on('state', onState);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A download folder that can take data, checked before any peer sends some: made if missing
 * (a file in the way fails here), and writable (`access(W_OK)`: a read-only file system answers
 * EROFS even to root). Creates nothing else in it. Rejects with a `StorageError` in plain words.
 */
export async function usableFolder(dir: string): Promise<void> {
  await makeDirectory(dir);
  try {
    await access(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = explainErrno(code) ?? (e as Error).message;
    throw new StorageError(
      ErrorCode.StorageIo,
      `cannot write in ${dir}: ${why}${code ? ` (${code})` : ''}`,
      dir,
      'write',
      e,
    );
  }
}
