/**
 * The HTTP facts of web seeding, as pure functions (no sockets, no clock of their own): the URL
 * of a file (BEP 19) or of a piece (BEP 17), what a range answer must look like, `Retry-After`,
 * and the back-off after failures. The runtime (`web-seed.ts`) applies them; unit tests cross
 * every rule.
 */
import type { Metainfo, TorrentFile } from '../../metainfo/index.js';
import { storagePath } from '../../metainfo/index.js';
import {
  MAX_WEB_SEED_RETRY_MS,
  MAX_WEB_SEED_URL_LENGTH,
  WEB_SEED_RETRY_BASE_MS,
} from '../../shared/limits.js';

/** How a web seed is spoken to: BEP 19 (`url-list`, files by byte range) or BEP 17 (`httpseeds`, pieces). */
export type WebSeedProtocol = 'bep19' | 'bep17';

/**
 * Why `url` cannot be a web seed (undefined when it can): only absolute `http:` / `https:` URLs
 * without credentials, at most {@link MAX_WEB_SEED_URL_LENGTH} characters.
 */
export function webSeedUrlProblem(url: string): string | undefined {
  if (url.length > MAX_WEB_SEED_URL_LENGTH) return `longer than ${MAX_WEB_SEED_URL_LENGTH} characters`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not an absolute URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${u.protocol} is not http: or https:`;
  if (u.username !== '' || u.password !== '') return 'credentials in the URL are not supported';
  return undefined;
}

/**
 * BEP 19: the URL of one file of the torrent. A single-file torrent's URL is the file itself,
 * unless it ends in `/` (then the torrent's name is added); a multi-file torrent's URL is a
 * folder, to which the name and the file's path are added. Every component is percent-encoded
 * (UTF-8), so spaces, `#`, `?` and non-ASCII names reach the server intact.
 */
export function bep19FileUrl(
  base: string,
  m: Pick<Metainfo, 'isSingleFile' | 'name'>,
  file: Pick<TorrentFile, 'path'>,
): string {
  const slash = base.endsWith('/');
  if (m.isSingleFile) return slash ? base + encodeURIComponent(m.name) : base;
  const path = storagePath(m, file as TorrentFile)
    .map((c) => encodeURIComponent(c))
    .join('/');
  return (slash ? base : `${base}/`) + path;
}

/**
 * BEP 17: the URL asking `base` for bytes `[start, end]` (inclusive) of piece `piece`; the
 * `ranges` parameter is left out when the whole piece (`pieceSize` bytes) is asked.
 */
export function bep17PieceUrl(
  base: string,
  infoHash: Uint8Array,
  piece: number,
  start: number,
  end: number,
  pieceSize: number,
): string {
  let hash = '';
  for (const b of infoHash) hash += `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
  const sep = base.includes('?') ? '&' : '?';
  const whole = start === 0 && end === pieceSize - 1;
  return `${base}${sep}info_hash=${hash}&piece=${piece}${whole ? '' : `&ranges=${start}-${end}`}`;
}

/** A parsed `Content-Range: bytes first-last/total` (total undefined for `*`). */
export interface ContentRange {
  readonly first: number;
  readonly last: number;
  readonly total: number | undefined;
}

/** Parses a `Content-Range` header value (RFC 9110 §14.4); undefined when malformed. */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/i.exec(value.trim());
  if (m === null) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (last < first || (total !== undefined && last >= total)) return undefined;
  return { first, last, total };
}

/** The part of a file one request asks for. */
export interface WantedRange {
  /** Offset in the file. */
  readonly start: number;
  readonly length: number;
  /** The file's length in the torrent. */
  readonly fileLength: number;
}

/**
 * Checks the status and headers of the answer to a range request (BEP 19). A `206` must carry a
 * `Content-Range` naming exactly the bytes asked (and the file's length, when it gives one) and,
 * if any, a `Content-Length` equal to their count; a `200` is accepted only when the whole file
 * was asked (an origin that ignores `Range`), with a `Content-Length` of the file's length if
 * any. Returns the problem, or undefined when the body may be read.
 */
export function rangeAnswerProblem(
  status: number,
  headers: { readonly 'content-range'?: string | undefined; readonly 'content-length'?: string | undefined },
  want: WantedRange,
): string | undefined {
  const length = headers['content-length'];
  const declared = length === undefined ? undefined : /^\d{1,16}$/.test(length) ? Number(length) : Number.NaN;
  if (status === 200) {
    if (want.start !== 0 || want.length !== want.fileLength)
      return `200 (the whole file) where bytes ${want.start}-${want.start + want.length - 1} were asked`;
    if (declared !== undefined && declared !== want.fileLength)
      return `Content-Length ${length}, expected ${want.fileLength}`;
    return undefined;
  }
  if (status !== 206) return `unexpected status ${status}`;
  const raw = headers['content-range'];
  const range = parseContentRange(raw);
  if (range === undefined)
    return raw === undefined ? '206 without Content-Range' : `bad Content-Range ${raw}`;
  const last = want.start + want.length - 1;
  if (range.first !== want.start || range.last !== last)
    return `Content-Range ${raw}, expected bytes ${want.start}-${last}`;
  if (range.total !== undefined && range.total !== want.fileLength)
    return `Content-Range ${raw}: the file has ${range.total} bytes, the torrent says ${want.fileLength}`;
  if (declared !== undefined && declared !== want.length)
    return `Content-Length ${length}, expected ${want.length}`;
  return undefined;
}

/**
 * The delay a `Retry-After` header asks for, ms (RFC 9110, Retry-After: seconds, or an HTTP date
 * compared with `nowMs`, the wall clock), within `[0, MAX_WEB_SEED_RETRY_MS]`; undefined when
 * absent or malformed. A BEP 17 `503` body (ASCII seconds) parses the same way.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d{1,12}$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (!Number.isFinite(at) || !/[a-z]/i.test(v)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(MAX_WEB_SEED_RETRY_MS, Math.max(0, ms));
}

/**
 * The back-off after `failures` failures in a row: `baseMs` doubled for each failure after the
 * first, at most {@link MAX_WEB_SEED_RETRY_MS}.
 */
export function backoffMs(failures: number, baseMs: number = WEB_SEED_RETRY_BASE_MS): number {
  const n = Math.max(0, Math.min(30, failures - 1));
  return Math.min(MAX_WEB_SEED_RETRY_MS, baseMs * 2 ** n);
}

/**
 * Whether an HTTP status is worth waiting for (the origin is busy or failing for a while:
 * `408`, `425`, `429`, `5xx`) rather than proof that the URL is wrong (any other `4xx`).
 */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}
