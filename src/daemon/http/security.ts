/**
 * Request checks run before any route (an `onRequest` hook):
 *
 * 1. **Host** (DNS rebinding): the `Host` header must name this daemon — an IP literal,
 *    `localhost`, the machine's host name when bound beyond loopback, or a configured
 *    `allowedHosts` name. A rebinding attack always arrives with the attacker's DNS name.
 * 2. **Origin** (CSRF, cross-site reads): a request carrying `Origin` must come from the daemon's
 *    own origin (same host and port as `Host`); `Origin: null` is refused. Browsers that send
 *    `Sec-Fetch-Site: cross-site|same-site` are refused too, except for top-level navigations
 *    (a link to a stream) and reads of gateway routes (a sandboxed site's own images and
 *    styles). CLI requests send neither header and pass.
 * 3. **Token**, when required (bound beyond loopback): `Authorization: Bearer <token>`, the
 *    `shoal_token` cookie, or a `token` query parameter, compared in constant time. The web UI's
 *    static files, `/api/v1/auth` and the OpenAPI document are open, so a browser can load the
 *    page and log in.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { ErrorCode } from '../../shared/errors.js';
import { apiError } from '../errors.js';

/** Name of the cookie `POST /api/v1/auth` sets. */
export const TOKEN_COOKIE = 'shoal_token';

export interface SecurityPolicy {
  readonly token: string;
  readonly requireToken: boolean;
  /** Extra host names accepted in `Host` (lowercase, no port). */
  readonly allowedHosts: readonly string[];
  /** True when the API listens beyond loopback (the machine's host name is then accepted too). */
  readonly publicBind: boolean;
}

/** Splits a `Host` header into name (lowercase, IPv6 without brackets) and port. */
export function parseHostHeader(h: string): { name: string; port: string } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(h.trim());
  if (m === null) return undefined;
  return { name: m[1]!.replace(/^\[|\]$/g, '').toLowerCase(), port: m[2] ?? '' };
}

/** True when `Host` names this daemon (see the module header). */
export function isAllowedHost(hostHeader: string | undefined, policy: SecurityPolicy): boolean {
  if (hostHeader === undefined) return false;
  const h = parseHostHeader(hostHeader);
  if (h === undefined) return false;
  if (isIP(h.name) !== 0 || h.name === 'localhost') return true;
  if (policy.allowedHosts.includes(h.name)) return true;
  return policy.publicBind && h.name === hostname().toLowerCase();
}

/** True when `origin` is the daemon's own origin as named by `hostHeader`. */
export function isSameOrigin(origin: string, hostHeader: string | undefined): boolean {
  if (hostHeader === undefined || origin === 'null') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return url.host.toLowerCase() === hostHeader.trim().toLowerCase();
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time token comparison. */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined || given === '') return false;
  return timingSafeEqual(digest(given), digest(token));
}

/** The token a request carries: bearer header, cookie, or `token` query parameter. */
export function requestToken(
  headers: Record<string, string | string[] | undefined>,
  url: string,
): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m !== null) return m[1];
  }
  const cookie = headers.cookie;
  if (typeof cookie === 'string') {
    for (const part of cookie.split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === TOKEN_COOKIE) return decodeURIComponent(v.join('='));
    }
  }
  const q = url.indexOf('?');
  if (q >= 0) {
    const t = new URLSearchParams(url.slice(q + 1)).get('token');
    if (t !== null) return t;
  }
  return undefined;
}

export interface RequestFacts {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /**
   * True when the matched route is open without a token (the web UI's files, `/api/v1/auth`, the
   * OpenAPI document). Decided from the route the router matched, never from the raw URL.
   */
  readonly isOpen: boolean;
  /**
   * True when the matched route serves reads that a sandboxed page loads as cross-site requests
   * (the gateway, `/site/…`): a cross-site GET or HEAD is then let through (the token is still
   * required when the daemon requires one).
   */
  readonly allowsCrossSiteReads?: boolean;
}

/**
 * Checks a request against the policy; throws an `ApiError` (403 for Host/Origin, 401 for the
 * token) or returns whether it carried a valid token.
 */
export function checkRequest(req: RequestFacts, policy: SecurityPolicy): { authenticated: boolean } {
  const host = typeof req.headers.host === 'string' ? req.headers.host : undefined;
  if (!isAllowedHost(host, policy)) {
    const shown = host === undefined ? '(none)' : JSON.stringify(host.slice(0, 100));
    throw apiError(
      ErrorCode.ApiForbidden,
      `refused: Host ${shown} does not name this daemon (DNS rebinding protection); use its IP address or localhost, or start it with --allow-host NAME`,
    );
  }
  const origin = req.headers.origin;
  if (typeof origin === 'string' && !isSameOrigin(origin, host)) {
    throw apiError(
      ErrorCode.ApiForbidden,
      `refused: requests from origin ${JSON.stringify(origin.slice(0, 100))} are not allowed (only the daemon's own web UI may call it)`,
    );
  }
  const site = req.headers['sec-fetch-site'];
  const mode = req.headers['sec-fetch-mode'];
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (
    (site === 'cross-site' || site === 'same-site') &&
    !(req.method === 'GET' && mode === 'navigate') &&
    !(read && req.allowsCrossSiteReads === true)
  ) {
    throw apiError(ErrorCode.ApiForbidden, `refused: ${site} browser requests are not allowed`);
  }
  const authenticated = tokenMatches(requestToken(req.headers, req.url), policy.token);
  if (policy.requireToken && !authenticated && !req.isOpen) {
    throw apiError(
      ErrorCode.ApiUnauthorized,
      'this daemon requires its token: send "Authorization: Bearer <token>" (the token is in the state folder, file "token")',
    );
  }
  return { authenticated };
}
