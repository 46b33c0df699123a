/**
 * `GET /stream/:id/:file`: serves one file of a torrent with HTTP Range support while it is still
 * downloading (what a `<video>` element needs to play a partly downloaded file).
 *
 * The bytes come from the library's `torrent.createReadStream` (verified pieces read from disk,
 * missing ones fetched first and waited for). What is HTTP's is here: the Range header, the
 * headers of the answer, HEAD, the cap on streams at once, waiting for a torrent still checking
 * its data (a player asks right away after an add), and refusing a torrent that cannot deliver
 * (paused or queued with pieces missing, failed). The wait ends when the client goes away or the
 * torrent stops running (pause, remove, error), never on a timer.
 */
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fileIndexOf, userFiles } from '../../metainfo/index.js';
import type { Torrent } from '../../session/index.js';
import { ErrorCode } from '../../shared/errors.js';
import { MAX_CONCURRENT_STREAMS } from '../../shared/limits.js';
import { apiError } from '../errors.js';
import type { TorrentEntry } from '../torrent-entry.js';
import type { TorrentManager } from '../torrent-manager.js';
import { streamContentType } from './mime.js';
import { parseRange } from './range.js';

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
    const start = range.kind === 'partial' ? range.start : 0;
    const end = range.kind === 'partial' ? range.end : f.length - 1;
    const torrent =
      request.method === 'HEAD' ? undefined : this.#deliverable(entry, f.offset + start, f.offset + end + 1);
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
    const body = torrent.createReadStream(number, { start, end, signal });
    this.#active++;
    entry.streams++;
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

  /**
   * The torrent, when it can deliver bytes `from`..`to` (piece-space offsets, end exclusive): it
   * runs, or every piece of the range is verified already (a paused or queued torrent serves
   * what it has, it fetches nothing).
   */
  #deliverable(entry: TorrentEntry, from: number, to: number): Torrent {
    const t = entry.torrent;
    if (t !== undefined && (t.state === 'downloading' || t.state === 'seeding')) return t;
    const state = entry.state;
    if (t !== undefined && (state === 'paused' || state === 'queued') && hasRange(t, from, to)) return t;
    if (state === 'paused')
      throw apiError(
        ErrorCode.ApiConflict,
        'the torrent is paused; resume it to stream (pieces of this range are missing)',
      );
    if (state === 'queued' && t !== undefined)
      throw apiError(
        ErrorCode.ApiConflict,
        'the torrent is queued behind others; move it up the queue to stream (pieces of this range are missing)',
      );
    if (state === 'error')
      throw apiError(ErrorCode.ApiConflict, `the torrent stopped: ${entry.errorMessage ?? ''}`);
    throw apiError(ErrorCode.ApiUnavailable, `the torrent is ${state}; try again in a moment`);
  }
}

/** True when every piece holding bytes `from`..`to` (end exclusive) is verified. */
function hasRange(t: Torrent, from: number, to: number): boolean {
  if (to <= from) return true;
  const pl = t.metainfo.pieceLength;
  const have = t.bitfield();
  for (let p = Math.floor(from / pl); p * pl < to; p++) if (!have.get(p)) return false;
  return true;
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
