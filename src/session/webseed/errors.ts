import { type ErrorCode, ShoalError } from '../../shared/errors.js';

/** Facts about a failed web seed request. */
export interface WebSeedErrorDetails {
  /** The URL asked (after redirects, the last one). */
  readonly url: string;
  /** The HTTP status, when one came. */
  readonly status?: number;
  /** How long the origin asked us to wait (`Retry-After`, a BEP 17 `503` body), ms. */
  readonly retryAfterMs?: number;
}

/**
 * A web seed request failed; it costs only that request (its range is asked again, of this origin
 * after a back-off or of other sources) and, when it keeps failing, that origin. Codes:
 * - `WebSeedBadUrl`: not an http(s) URL (the origin is never used);
 * - `WebSeedStatus`: an HTTP status that says the URL is wrong (404, 403, 416, …): the origin is dropped;
 * - `WebSeedBusy`: `503`, `429` or another transient status: retried after `Retry-After`;
 * - `WebSeedBadResponse`: a wrong `Content-Range` or `Content-Length`, or a body that is shorter or longer;
 * - `WebSeedRedirects`: more than MAX_WEB_SEED_REDIRECTS redirects (a loop), or a redirect elsewhere than http(s);
 * - `WebSeedTimeout`: nothing received for WEB_SEED_IDLE_TIMEOUT_MS;
 * - `WebSeedConnection`: the connection failed (refused, reset, TLS).
 */
export class WebSeedError extends ShoalError<WebSeedErrorDetails> {
  constructor(code: ErrorCode, message: string, details: WebSeedErrorDetails, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}
