/**
 * `GET /stream/:id/:file`: serves one file of a torrent with HTTP Range support while it is still
 * downloading (what a `<video>` element needs to play a partly downloaded file).
 *
 * For each piece of the requested range, in order: if the piece is verified it is read from disk
 * (`torrent.storage.readBlock`, never unverified data); otherwise the torrent's streaming window
 * is moved to it — the piece and STREAM_READAHEAD_BYTES after it, within the file, jump ahead of
 * every other piece in the picker — and the response waits for its `piece` event. The wait ends
 * when the client goes away or the torrent leaves the session (pause, remove), never on a timer.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fileIndexOf, userFiles } from '../../metainfo/index.js';
import type { Torrent } from '../../session/index.js';
import { ErrorCode } from '../../shared/errors.js';
import { MAX_CONCURRENT_STREAMS } from '../../shared/limits.js';
import type { Bitfield } from '../../wire/index.js';
import { apiError } from '../errors.js';
import type { TorrentEntry } from '../torrent-entry.js';
import type { TorrentManager } from '../torrent-manager.js';
import { streamContentType } from './mime.js';
import { parseRange } from './range.js';

/** Bytes after the read position prioritised together with it. */
export const STREAM_READAHEAD_BYTES = 8 * 1024 * 1024;
/** Fewest pieces in the streaming window (the current one and at least one ahead). */
export const STREAM_MIN_WINDOW_PIECES = 2;
/** Largest single disk read while streaming, in bytes. */
export const STREAM_CHUNK_BYTES = 1024 * 1024;

/** Verified pieces of a running torrent, kept current from its `piece` events. */
class PieceWatch {
  readonly #torrent: Torrent;
  readonly #have: Bitfield;
  readonly #waiters = new Map<number, Set<() => void>>();
  readonly #onPiece = ({ index }: { index: number }): void => {
    if (index >= 0 && index < this.#have.length) this.#have.set(index);
    const w = this.#waiters.get(index);
    if (w === undefined) return;
    this.#waiters.delete(index);
    for (const f of w) f();
  };
  readonly #onError = (): void => {
    for (const w of this.#waiters.values()) for (const f of w) f();
    this.#waiters.clear();
  };

  constructor(torrent: Torrent) {
    this.#torrent = torrent;
    this.#have = torrent.bitfield();
    torrent.on('piece', this.#onPiece);
    torrent.on('error', this.#onError);
  }

  has(index: number): boolean {
    return this.#have.get(index);
  }

  /** Resolves when piece `index` is verified; rejects when `signal` aborts or the torrent fails. */
  wait(index: number, signal: AbortSignal): Promise<void> {
    if (this.has(index)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        signal.removeEventListener('abort', onAbort);
        if (this.has(index)) resolve();
        else reject(new Error(`torrent stopped: ${this.#torrent.error?.message ?? 'error'}`));
      };
      const onAbort = (): void => {
        this.#waiters.get(index)?.delete(done);
        reject(signal.reason ?? new Error('aborted'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
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

/** Which stream last set each torrent's window (only that one clears it). */
const windowOwner = new WeakMap<Torrent, symbol>();

interface RangeJob {
  readonly torrent: Torrent;
  /** Piece-space offsets, end exclusive. */
  readonly from: number;
  readonly to: number;
  /** Last piece of the file (the window never reaches past it). */
  readonly fileLastPiece: number;
  readonly signal: AbortSignal;
}

async function* readRange(job: RangeJob): AsyncGenerator<Uint8Array> {
  const { torrent, from, to, signal } = job;
  const pl = torrent.metainfo.pieceLength;
  const ahead = Math.max(STREAM_MIN_WINDOW_PIECES, Math.ceil(STREAM_READAHEAD_BYTES / pl));
  const watch = new PieceWatch(torrent);
  const me = Symbol('stream');
  let windowAt = -1;
  const moveWindow = (p: number): void => {
    const count = Math.min(ahead, job.fileLastPiece - p + 1);
    let missing = false;
    for (let i = p; i < p + count; i++) if (!watch.has(i)) missing = true;
    if (!missing || (windowAt === p && windowOwner.get(torrent) === me)) return;
    windowAt = p;
    windowOwner.set(torrent, me);
    torrent.setStreamingWindow(p, count);
  };
  try {
    for (let p = Math.floor(from / pl); p * pl < to; p++) {
      signal.throwIfAborted();
      moveWindow(p);
      await watch.wait(p, signal);
      const start = Math.max(from, p * pl);
      const end = Math.min(to, (p + 1) * pl);
      for (let at = start; at < end; at += STREAM_CHUNK_BYTES) {
        signal.throwIfAborted();
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

/** Serves `/stream/:id/:file`; counts open streams against MAX_CONCURRENT_STREAMS. */
export class StreamService {
  readonly #manager: TorrentManager;
  #active = 0;

  constructor(manager: TorrentManager) {
    this.#manager = manager;
  }

  get active(): number {
    return this.#active;
  }

  async handle(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const { id, file } = request.params as { id: string; file: string };
    const query = request.query as { download?: string };
    const entry = this.#manager.require(id);
    const m = entry.metainfo;
    if (m === undefined)
      throw apiError(ErrorCode.ApiConflict, 'the torrent has no metadata yet; its files are not known');
    // `file` is the file number (padding files not counted), as the file list shows it.
    const number = Number(file);
    const index = fileIndexOf(m, number);
    const f = index === undefined ? undefined : m.files[index];
    if (index === undefined || f === undefined) {
      const count = userFiles(m).length;
      throw apiError(
        ErrorCode.ApiNotFound,
        `torrent ${entry.id} has no file ${number} (it has ${count}, numbered 0-${count - 1})`,
      );
    }
    const range = parseRange(request.headers.range, f.length);
    if (range.kind === 'unsatisfiable') {
      reply.header('content-range', `bytes */${f.length}`);
      throw apiError(
        ErrorCode.ApiRangeNotSatisfiable,
        `range ${JSON.stringify(request.headers.range ?? '')} is not satisfiable for a file of ${f.length} bytes`,
      );
    }
    // HEAD needs no data: it is answered whether the torrent runs yet or not. A torrent still
    // checking its data (just added, or resumed) is waited for: a player asks right away.
    if (request.method !== 'HEAD') await leftChecking(entry.torrent, request.raw);
    const torrent = request.method === 'HEAD' ? undefined : this.#running(entry);
    const start = range.kind === 'partial' ? range.start : 0;
    const end = range.kind === 'partial' ? range.end : f.length - 1;
    const name = f.path[f.path.length - 1] ?? m.name;
    const disposition = query.download === 'true' || query.download === '1' ? 'attachment' : 'inline';
    reply
      .header('accept-ranges', 'bytes')
      .header('content-type', streamContentType(name))
      .header('content-disposition', `${disposition}; filename*=UTF-8''${encodeURIComponent(name)}`)
      .header('content-security-policy', "sandbox; default-src 'none'")
      .header('cache-control', 'no-store')
      .header('content-length', String(Math.max(0, end - start + 1)));
    if (range.kind === 'partial')
      reply.code(206).header('content-range', `bytes ${start}-${end}/${f.length}`);
    if (torrent === undefined || f.length === 0) {
      // Written by hand: Fastify would set Content-Length to that of an empty body.
      reply.hijack();
      reply.raw.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>);
      reply.raw.end();
      return reply;
    }
    if (this.#active >= MAX_CONCURRENT_STREAMS)
      throw apiError(
        ErrorCode.ApiUnavailable,
        `at most ${MAX_CONCURRENT_STREAMS} streams at once; try again later`,
      );
    if (entry.priorities()[index] === 0)
      await this.#manager.setFilePriorities(entry.id, { files: [number], priority: 1 });
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort(new Error('client went away')));
    const signal = AbortSignal.any([gone.signal, entry.life.signal]);
    this.#active++;
    entry.streams++;
    const body = Readable.from(
      readRange({
        torrent,
        from: f.offset + start,
        to: f.offset + end + 1,
        fileLastPiece: Math.floor((f.offset + f.length - 1) / m.pieceLength),
        signal,
      }),
      { objectMode: false, highWaterMark: STREAM_CHUNK_BYTES },
    );
    body.once('close', () => {
      this.#active--;
      entry.streams--;
    });
    // Headers go out at once (a player learns the length and type before the first piece
    // arrives); the body follows as pieces are verified. A stream cut by the client or by a
    // pause is not the server's fault: the socket is closed without an error log.
    reply.hijack();
    const res = reply.raw;
    res.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>);
    res.flushHeaders();
    pipeline(body, res).catch(() => res.destroy());
    return reply;
  }

  #running(entry: TorrentEntry): Torrent {
    const t = entry.torrent;
    if (t !== undefined && (t.state === 'downloading' || t.state === 'seeding')) return t;
    const state = entry.state;
    if (state === 'paused')
      throw apiError(ErrorCode.ApiConflict, 'the torrent is paused; resume it to stream');
    if (state === 'error')
      throw apiError(ErrorCode.ApiConflict, `the torrent stopped: ${entry.errorMessage ?? ''}`);
    throw apiError(ErrorCode.ApiUnavailable, `the torrent is ${state}; try again in a moment`);
  }
}

/** Resolves once `t` is no longer checking its data (at once if it is not), or the client left. */
function leftChecking(t: Torrent | undefined, req: NodeJS.EventEmitter): Promise<void> {
  if (t === undefined || t.state !== 'checking') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      t.off('state', onState);
      req.off('close', done);
      resolve();
    };
    const onState = (e: { readonly state: string }) => {
      if (e.state !== 'checking') done();
    };
    t.on('state', onState);
    req.once('close', done);
  });
}
