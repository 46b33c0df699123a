/**
 * Web seeds in the daemon:
 *
 * - `GET /api/v1/torrents/:id/web-seeds` lists a torrent's web seeds (HTTP origins) with their
 *   rate, bytes, errors and state; `POST` adds one (`{"url": …}`, for this run of the torrent).
 * - `GET /webseed/:id/<name>[/<path>…]` serves the torrent's files in the BEP 19 layout, so one
 *   Shoal node can be the HTTP origin of another: give the other node
 *   `http://host:port/webseed/<id>/` as a web seed (BEP 19 adds the name and the path). A `Range`
 *   of one span is answered with 206, or 200 for the whole file; only verified pieces are
 *   served: a range that touches a piece not verified yet gets 503 with `Retry-After`, which a
 *   web seed client waits out.
 *
 * The serving route needs no token: it serves the bytes this node already gives any BitTorrent
 * peer that knows the info-hash (its id). Private torrents (BEP 27) are never served over HTTP.
 * At most MAX_WEB_SEED_SERVE_REQUESTS answers are in flight at once.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Metainfo } from '../../metainfo/index.js';
import { storagePath } from '../../metainfo/index.js';
import type { Torrent } from '../../session/index.js';
import { ErrorCode, isShoalError } from '../../shared/errors.js';
import { MAX_WEB_SEED_SERVE_REQUESTS, WEB_SEED_SERVE_RETRY_S } from '../../shared/limits.js';
import { apiError } from '../errors.js';
import type { TorrentManager } from '../torrent-manager.js';
import { webSeedInfos } from '../torrent-view.js';
import { parseRange } from './range.js';
import type { ApiRoutes } from './route.js';
import * as S from './schemas.js';

/** Largest disk read per chunk of a served range, in bytes. */
const SERVE_CHUNK_BYTES = 1024 * 1024;

const WebSeedList: S.JsonSchema = {
  type: 'object',
  properties: { webSeeds: { type: 'array', items: S.WebSeedInfo } },
};
const AddWebSeedBody: S.JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    url: { type: 'string', minLength: 1, maxLength: 4096, description: 'an http(s) URL (BEP 19)' },
  },
};

/** File index by its BEP 19 path (components below the served folder), per torrent. */
const pathIndex = new WeakMap<Metainfo, Map<string, number>>();

function fileByPath(m: Metainfo, components: readonly string[]): number | undefined {
  let index = pathIndex.get(m);
  if (index === undefined) {
    index = new Map();
    m.files.forEach((f, i) => {
      if (!f.isPadding) index!.set(storagePath(m, f).join('/'), i);
    });
    pathIndex.set(m, index);
  }
  return index.get(components.join('/'));
}

let serving = 0;

/** Registers the web seed routes. */
export function registerWebSeedRoutes(api: ApiRoutes, manager: TorrentManager): void {
  api.add(
    {
      method: 'GET',
      url: '/api/v1/torrents/:id/web-seeds',
      operationId: 'getTorrentWebSeeds',
      summary: "A torrent's web seeds",
      description:
        'HTTP origins (BEP 19 `url-list` and `ws=`, BEP 17 `httpseeds`, added ones) as sources, with rate, bytes, errors and state.',
      tags: ['torrents'],
      params: S.IdParams,
      responses: { 200: { description: 'the web seeds', schema: WebSeedList } },
    },
    async (req) => ({ webSeeds: webSeedInfos(manager.require((req.params as { id: string }).id)) }),
  );

  api.add(
    {
      method: 'POST',
      url: '/api/v1/torrents/:id/web-seeds',
      operationId: 'addTorrentWebSeed',
      summary: 'Add a web seed',
      description:
        'Uses the HTTP origin as a seed of the running torrent (BEP 19: a file, or a folder ending in `/`), until it stops.',
      tags: ['torrents'],
      params: S.IdParams,
      body: AddWebSeedBody,
      responses: {
        200: { description: 'the web seeds after the change', schema: WebSeedList },
        400: { description: 'not an http(s) URL, or too many web seeds', schema: S.ErrorBody },
        409: { description: 'the torrent is not running', schema: S.ErrorBody },
      },
    },
    async (req) => {
      const entry = manager.require((req.params as { id: string }).id);
      const t = entry.torrent;
      if (t === undefined)
        throw apiError(
          ErrorCode.ApiConflict,
          `the torrent is ${entry.state}; web seeds are added to a running torrent`,
        );
      try {
        t.addWebSeed((req.body as { url: string }).url);
      } catch (e) {
        if (isShoalError(e)) throw apiError(ErrorCode.ApiBadRequest, e.message);
        throw e;
      }
      return { webSeeds: webSeedInfos(entry) };
    },
  );

  api.add(
    {
      method: 'GET',
      url: '/webseed/:id/*',
      operationId: 'webSeedFile',
      summary: 'A file of a torrent, as a BEP 19 web seed',
      description:
        'The BEP 19 layout: `/webseed/<id>/<name>` for a single-file torrent, `/webseed/<id>/<name>/<path>` for a multi-file one (each part percent-encoded). Only verified bytes are served. No token needed; private torrents are not served.',
      tags: ['streaming'],
      auth: false,
      params: {
        type: 'object',
        properties: {
          id: { type: 'string', pattern: '^[0-9a-fA-F]{40}$|^[0-9a-fA-F]{64}$' },
          '*': { type: 'string' },
        },
      },
      responses: {
        200: { description: 'the whole file', contentType: 'application/octet-stream' },
        206: { description: 'the requested range', contentType: 'application/octet-stream' },
        404: { description: 'no such torrent or file, or a private torrent', schema: S.ErrorBody },
        416: { description: 'the range is past the end of the file', schema: S.ErrorBody },
        503: {
          description: 'bytes not verified yet, or too many requests: see Retry-After',
          schema: S.ErrorBody,
        },
      },
    },
    (req, reply) => serveFile(manager, req, reply),
  );
}

async function serveFile(
  manager: TorrentManager,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const { id } = req.params as { id: string };
  const entry = manager.get(id);
  const m = entry?.metainfo;
  if (entry === undefined || m === undefined) throw apiError(ErrorCode.ApiNotFound, `no torrent ${id}`);
  if (m.isPrivate) throw apiError(ErrorCode.ApiNotFound, 'private torrents are not served over HTTP');
  const rest = req.url.split('?', 1)[0]!.split('/').slice(3);
  let components: string[];
  try {
    components = rest.map((c) => decodeURIComponent(c));
  } catch {
    throw apiError(ErrorCode.ApiNotFound, 'bad path');
  }
  const index = fileByPath(m, components);
  const f = index === undefined ? undefined : m.files[index];
  if (f === undefined)
    throw apiError(ErrorCode.ApiNotFound, `torrent ${entry.id} has no file ${components.join('/')}`);
  const range = parseRange(req.headers.range, f.length);
  if (range.kind === 'unsatisfiable') {
    reply.header('content-range', `bytes */${f.length}`);
    throw apiError(ErrorCode.ApiRangeNotSatisfiable, `range not satisfiable for a file of ${f.length} bytes`);
  }
  const start = range.kind === 'partial' ? range.start : 0;
  const end = range.kind === 'partial' ? range.end : f.length - 1;
  const t = entry.torrent;
  // Written here rather than thrown: the error handler would set its own Retry-After.
  const busy = (why: string) =>
    reply
      .code(503)
      .header('retry-after', String(WEB_SEED_SERVE_RETRY_S))
      .type('application/json; charset=utf-8')
      .send({ error: { code: ErrorCode.ApiUnavailable, message: why } });
  if (f.length > 0) {
    if (t === undefined || (t.state !== 'downloading' && t.state !== 'seeding'))
      return busy(`the torrent is ${entry.state}`);
    if (!verified(t, f.offset + start, f.offset + end + 1)) return busy('those bytes are not verified yet');
    if (serving >= MAX_WEB_SEED_SERVE_REQUESTS)
      return busy(`at most ${MAX_WEB_SEED_SERVE_REQUESTS} web seed requests at once`);
  }
  reply
    .code(range.kind === 'partial' ? 206 : 200)
    .header('accept-ranges', 'bytes')
    .header('content-type', 'application/octet-stream')
    .header('content-length', String(Math.max(0, end - start + 1)))
    .header('cache-control', 'no-store');
  if (range.kind === 'partial') reply.header('content-range', `bytes ${start}-${end}/${f.length}`);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>);
  if (req.method === 'HEAD' || f.length === 0 || t === undefined) {
    res.end();
    return reply;
  }
  serving++;
  const body = Readable.from(readVerified(t, f.offset + start, f.offset + end + 1), {
    objectMode: false,
    highWaterMark: SERVE_CHUNK_BYTES,
  });
  body.once('close', () => serving--);
  pipeline(body, res).catch(() => res.destroy());
  return reply;
}

/** True when every piece holding piece-space bytes `[from, to)` is verified. */
function verified(t: Torrent, from: number, to: number): boolean {
  const pl = t.metainfo.pieceLength;
  const have = t.bitfield();
  for (let p = Math.floor(from / pl); p * pl < to; p++) if (!have.get(p)) return false;
  return true;
}

/** Piece-space bytes `[from, to)` read from disk, verified pieces only, in chunks. */
async function* readVerified(t: Torrent, from: number, to: number): AsyncGenerator<Uint8Array> {
  const pl = t.metainfo.pieceLength;
  for (let p = Math.floor(from / pl); p * pl < to; p++) {
    const start = Math.max(from, p * pl);
    const end = Math.min(to, (p + 1) * pl);
    for (let at = start; at < end; at += SERVE_CHUNK_BYTES)
      yield await t.storage.readBlock(p, at - p * pl, Math.min(SERVE_CHUNK_BYTES, end - at));
  }
}
