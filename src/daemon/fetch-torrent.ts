/**
 * Fetches a .torrent file from an http(s) URL named in an add request: at most
 * MAX_TORRENT_URL_REDIRECTS redirects (each checked to stay http/https), the whole exchange
 * within a timeout, and at most MAX_API_TORRENT_BYTES read (a larger body is abandoned as soon as
 * it crosses the cap, whatever `Content-Length` claimed).
 */
import { ErrorCode } from '../shared/errors.js';
import { MAX_API_TORRENT_BYTES, MAX_TORRENT_URL_REDIRECTS } from '../shared/limits.js';
import { apiError } from './errors.js';

/** Parses and checks a torrent URL: http or https, no credentials. */
export function checkTorrentUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw apiError(ErrorCode.ApiBadRequest, `not a valid URL: ${text.slice(0, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw apiError(ErrorCode.ApiBadRequest, `only http and https URLs can be fetched, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '')
    throw apiError(ErrorCode.ApiBadRequest, 'torrent URLs must not carry credentials');
  return url;
}

/** Downloads the .torrent at `text`; errors are `ApiError`s (400 bad URL, 413 too large, 502 fetch failed). */
export async function fetchTorrentFile(
  text: string,
  options: { timeoutMs: number; maxBytes?: number; signal?: AbortSignal },
): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? MAX_API_TORRENT_BYTES;
  let url = checkTorrentUrl(text);
  const signals = [AbortSignal.timeout(options.timeoutMs)];
  if (options.signal !== undefined) signals.push(options.signal);
  const signal = AbortSignal.any(signals);
  const failed = (why: string) =>
    apiError(ErrorCode.ApiFetchFailed, `cannot fetch ${url.href}: ${why}`, { url: url.href });
  try {
    for (let hop = 0; ; hop++) {
      const res = await fetch(url, {
        redirect: 'manual',
        signal,
        headers: { accept: 'application/x-bittorrent, */*;q=0.5', 'user-agent': 'Shoal/0.1.0' },
      });
      if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
        await res.body?.cancel();
        if (hop >= MAX_TORRENT_URL_REDIRECTS)
          throw failed(`more than ${MAX_TORRENT_URL_REDIRECTS} redirects`);
        url = checkTorrentUrl(new URL(res.headers.get('location')!, url).href);
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw failed(`HTTP ${res.status} ${res.statusText}`.trim());
      }
      const declared = Number(res.headers.get('content-length') ?? Number.NaN);
      const tooLarge = () =>
        apiError(ErrorCode.ApiPayloadTooLarge, `${url.href} is larger than ${maxBytes} bytes`, {
          url: url.href,
          limit: maxBytes,
        });
      if (Number.isFinite(declared) && declared > maxBytes) {
        await res.body?.cancel();
        throw tooLarge();
      }
      const chunks: Uint8Array[] = [];
      let total = 0;
      if (res.body !== null) {
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.length;
          if (total > maxBytes) {
            await reader.cancel();
            throw tooLarge();
          }
          chunks.push(value);
        }
      }
      return new Uint8Array(Buffer.concat(chunks));
    }
  } catch (e) {
    if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('SHOAL_ERR_'))
      throw e;
    if (signal.aborted) {
      throw failed(
        options.signal?.aborted === true ? 'cancelled' : `no complete answer within ${options.timeoutMs} ms`,
      );
    }
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw failed(cause?.code ?? cause?.message ?? (e as Error).message);
  }
}
