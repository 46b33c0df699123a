/**
 * The gateway: `GET /site/<public key>[/<salt>]/<path>` serves a file of the current version of a
 * followed feed, as a static web site (`index.html` for folders, content types by extension,
 * one `bytes=` Range per request, ETag revalidation).
 *
 * - The feed: the salted feed of that key whose salt (as text) is the first path segment, else
 *   the key's unsalted feed (FeedManager.site). `/site/<key>` and folders without a trailing
 *   slash are redirected to the slash form, so relative links in pages resolve.
 * - The version: the current one (`DIR/current`); before the first version is complete, the one
 *   downloading — a request then fetches the pieces it needs first, as `/stream` does, through
 *   `torrent.createReadStream`. A path is looked up among the torrent's files, never joined onto
 *   the file system, so no request can reach outside the version.
 * - Safety: published pages are strangers' HTML and JavaScript on the daemon's origin. Every
 *   answer carries `Content-Security-Policy: sandbox allow-scripts`: the page runs in an opaque
 *   origin, so its scripts cannot read the daemon's API or cookies (its requests arrive with
 *   `Origin: null` or as cross-site, and the security hook refuses those except for reads of
 *   `/site/…`). `Cross-Origin-Resource-Policy: cross-origin` lets the sandboxed page load its own
 *   images and styles. Answers are revalidated (`no-cache` + ETag of the version and file), so a
 *   reload after an update shows the new version.
 */
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Torrent, TorrentFileInfo } from '../../session/index.js';
import { ErrorCode } from '../../shared/errors.js';
import { MAX_CONCURRENT_SITE_RESPONSES } from '../../shared/limits.js';
import { apiError } from '../errors.js';
import type { FeedManager } from '../feeds.js';
import { webContentType } from './mime.js';
import { parseRange } from './range.js';

/** The policy of every gateway answer (see the module docs). */
export const SITE_CSP = 'sandbox allow-scripts';

/** Path segments of a request URL after `/site/<key>/` (percent-decoded; undefined if malformed). */
export function siteSegments(url: string): { key: string; segments: string[] } | undefined {
  const path = url.split('?', 1)[0]!;
  const m = /^\/site\/([0-9a-fA-F]{64})(\/.*)?$/.exec(path);
  if (m === null) return undefined;
  const rest = m[2] ?? '';
  const segments: string[] = [];
  if (rest !== '') {
    for (const raw of rest.slice(1).split('/')) {
      let s: string;
      try {
        s = decodeURIComponent(raw);
      } catch {
        return undefined;
      }
      if (s.includes('\0') || s.includes('/') || s === '.' || s === '..') return undefined;
      segments.push(s);
    }
  }
  return { key: m[1]!.toLowerCase(), segments };
}

/** The user files of a torrent by their path inside the site (`a/b.html`). */
const byPath = new WeakMap<Torrent, Map<string, TorrentFileInfo>>();

function filesOf(t: Torrent): Map<string, TorrentFileInfo> {
  let m = byPath.get(t);
  if (m === undefined) {
    m = new Map();
    // A single-file torrent's site is its one file, at the root.
    for (const f of t.files()) m.set(t.metainfo.isSingleFile ? '' : f.path.join('/'), f);
    byPath.set(t, m);
  }
  return m;
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/** Serves `/site/…`; counts open answers against MAX_CONCURRENT_SITE_RESPONSES. */
export class SiteService {
  readonly #feeds: FeedManager;
  #active = 0;

  constructor(feeds: FeedManager) {
    this.#feeds = feeds;
  }

  get active(): number {
    return this.#active;
  }

  async handle(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const parsed = siteSegments(request.url);
    if (parsed === undefined) throw apiError(ErrorCode.ApiBadRequest, 'malformed /site/ path');
    const site = this.#feeds.site(parsed.key, parsed.segments);
    if (site === undefined)
      throw apiError(ErrorCode.ApiNotFound, `no followed feed with public key ${parsed.key}`);
    if (site.path.length === 0) return reply.redirect(site.base, 301);
    const f = site.follower;
    const torrent = f.currentTorrent() ?? f.pendingTorrent();
    if (torrent === undefined)
      throw apiError(ErrorCode.ApiUnavailable, 'the feed has no version yet; try again soon');
    const files = filesOf(torrent);
    let rel = site.path.join('/');
    if (torrent.metainfo.isSingleFile) rel = '';
    else if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    const file = files.get(rel);
    if (file === undefined) {
      if (files.has(`${rel}/index.html`)) return reply.redirect(`${site.base}${encodePath(rel)}/`, 301);
      throw apiError(
        ErrorCode.ApiNotFound,
        `${site.path.join('/')} is not in version ${f.current()?.seq ?? '(pending)'} of the feed`,
      );
    }
    const etag = `"${torrent.id}-${file.index}"`;
    const name = file.path[file.path.length - 1] ?? torrent.name;
    reply
      .header('content-type', webContentType(name))
      .header('content-security-policy', SITE_CSP)
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('cache-control', 'no-cache')
      .header('etag', etag)
      .header('accept-ranges', 'bytes');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    const range = parseRange(request.headers.range, file.length);
    if (range.kind === 'unsatisfiable') {
      reply.header('content-range', `bytes */${file.length}`);
      throw apiError(
        ErrorCode.ApiRangeNotSatisfiable,
        `range not satisfiable for a file of ${file.length} bytes`,
      );
    }
    const start = range.kind === 'partial' ? range.start : 0;
    const end = range.kind === 'partial' ? range.end : file.length - 1;
    reply.header('content-length', String(Math.max(0, end - start + 1)));
    if (range.kind === 'partial')
      reply.code(206).header('content-range', `bytes ${start}-${end}/${file.length}`);
    if (request.method === 'HEAD' || file.length === 0) {
      // Written by hand: Fastify would set Content-Length to that of an empty body.
      reply.hijack();
      reply.raw.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>);
      reply.raw.end();
      return reply;
    }
    if (this.#active >= MAX_CONCURRENT_SITE_RESPONSES) {
      throw apiError(
        ErrorCode.ApiUnavailable,
        `at most ${MAX_CONCURRENT_SITE_RESPONSES} gateway answers at once; try again`,
      );
    }
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort(new Error('client went away')));
    const body = torrent.createReadStream(file.index, { start, end, signal: gone.signal });
    this.#active++;
    body.once('close', () => this.#active--);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>);
    // Headers go out at once; the body follows as its pieces are verified.
    res.flushHeaders();
    pipeline(body, res).catch(() => res.destroy());
    return reply;
  }
}
