/**
 * The daemon's HTTP server (Fastify): content-type parsers with size caps, the security hook,
 * error mapping to `{error: {code, message}}`, and every route.
 *
 * Validation is strict for bodies (no coercion, no unknown properties); query strings and path
 * parameters are strings checked by pattern. Errors never carry a stack: 5xx answers say
 * "internal error" and the cause is logged.
 */
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { ErrorCode, isShoalError } from '../../shared/errors.js';
import { MAX_API_JSON_BODY_BYTES, MAX_API_TORRENT_BYTES } from '../../shared/limits.js';
import type { BtcService } from '../btc-service.js';
import { statusOf } from '../errors.js';
import type { FeedManager } from '../feeds.js';
import { DAEMON_VERSION, type TorrentManager } from '../torrent-manager.js';
import { EventHub } from './events.js';
import { buildOpenApi } from './openapi.js';
import { ApiRoutes } from './route.js';
import { registerBtcRoutes } from './routes-btc.js';
import { registerFeedRoutes } from './routes-feeds.js';
import { registerNodeRoutes } from './routes-node.js';
import { registerTorrentOptionRoutes } from './routes-torrent-options.js';
import { registerTorrentRoutes } from './routes-torrents.js';
import { registerWebSeedRoutes } from './routes-webseed.js';
import { checkRequest, type SecurityPolicy } from './security.js';
import { SiteService } from './site.js';
import { StaticFiles } from './static.js';
import { StreamService } from './stream.js';

/** Headers on every answer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

export interface ApiServerDeps {
  readonly manager: TorrentManager;
  /** The followed feeds (the `/api/v1/feeds` routes and the `/site/…` gateway). */
  readonly feeds: FeedManager;
  readonly policy: SecurityPolicy;
  readonly log: Logger | undefined;
  readonly webRoot: string | false;
  readonly snapshotIntervalMs: number;
  /** The daemon's URL (for the OpenAPI `servers` entry). */
  readonly url: () => string;
  /** The Bitcoin light node, when the daemon runs one (`/api/v1/btc`). @default none */
  readonly btc?: () => BtcService | undefined;
}

export interface ApiServer {
  readonly app: FastifyInstance;
  readonly hub: EventHub;
  readonly streams: StreamService;
}

interface AjvError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
  readonly parentSchema?: { readonly description?: string };
}

/** One clear sentence for a schema validation failure. */
export function validationMessage(context: string | undefined, errors: readonly AjvError[]): string {
  // Inside a oneOf, the branch errors say little; the oneOf error names the alternatives.
  const e =
    errors.find((x) => x.keyword === 'type' && x.instancePath === '') ??
    errors.find((x) => x.keyword === 'oneOf') ??
    errors[0];
  if (e === undefined) return 'invalid request';
  const where = `${context ?? 'request'}${e.instancePath.replace(/\//g, '.')}`;
  let text = `${where} ${e.message ?? 'is invalid'}`;
  if (e.keyword === 'additionalProperties')
    text = `${where} has an unknown property "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues))
    text += `: ${e.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'oneOf' && e.parentSchema?.description !== undefined)
    text += ` (${e.parentSchema.description})`;
  if (e.keyword === 'required') text = `${where} must have property "${String(e.params.missingProperty)}"`;
  return text;
}

const FASTIFY_CODES: Record<string, { code: ErrorCode; message?: (e: FastifyError) => string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: ErrorCode.ApiPayloadTooLarge,
    message: () =>
      `request body too large: at most ${MAX_API_TORRENT_BYTES} bytes for a .torrent, ${MAX_API_JSON_BODY_BYTES} bytes of JSON`,
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: ErrorCode.ApiUnsupportedMediaType,
    message: (e) =>
      `${e.message}; send application/json, or the .torrent as application/x-bittorrent where a file is expected`,
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: ErrorCode.ApiBadRequest, message: () => 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: ErrorCode.ApiBadRequest,
    message: (e) => `malformed JSON: ${e.message}`,
  },
};

/** Builds the server (routes registered, not listening). */
export async function buildApiServer(d: ApiServerDeps): Promise<ApiServer> {
  const app = Fastify({
    ...(d.log !== undefined ? { loggerInstance: d.log as FastifyBaseLogger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_API_JSON_BODY_BYTES,
    forceCloseConnections: true,
    return503OnClosing: true,
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: true,
        allErrors: false,
        verbose: true,
      },
    },
  });
  const hub = new EventHub(d.manager, d.snapshotIntervalMs, { ...SECURITY_HEADERS });
  const streams = new StreamService(d.manager);
  const statics = new StaticFiles(d.webRoot);
  const authenticated = new WeakSet<object>();

  // Bodies: JSON (an empty body reads as none), or a raw .torrent.
  app.removeAllContentTypeParsers();
  const json = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: MAX_API_JSON_BODY_BYTES },
    (req, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') {
        done(null, undefined);
        return;
      }
      json(req, text, done);
    },
  );
  for (const type of ['application/x-bittorrent', 'application/octet-stream']) {
    app.addContentTypeParser(
      type,
      { parseAs: 'buffer', bodyLimit: MAX_API_TORRENT_BYTES },
      (_req, body, done) => done(null, body),
    );
  }

  const openRoutes = new Set<string>(['/*', '/']);
  const crossSiteReadRoutes = new Set<string>();
  app.addHook('onRequest', async (req: FastifyRequest, reply) => {
    reply.headers(SECURITY_HEADERS);
    const route = req.routeOptions.url;
    const { authenticated: ok } = checkRequest(
      {
        method: req.method,
        url: req.url,
        headers: req.headers,
        isOpen: route === undefined || openRoutes.has(route),
        allowsCrossSiteReads: route !== undefined && crossSiteReadRoutes.has(route),
      },
      d.policy,
    );
    if (ok) authenticated.add(req);
  });

  // The `token` query parameter is for authentication only (checked above), not a route input.
  app.addHook('preValidation', async (req) => {
    const q = req.query as Record<string, unknown> | undefined;
    if (q !== undefined && q !== null && typeof q === 'object' && 'token' in q) delete q.token;
  });
  const api = new ApiRoutes(app);
  let openapi: unknown;
  registerTorrentRoutes(api, d.manager);
  registerWebSeedRoutes(api, d.manager);
  registerTorrentOptionRoutes(api, d.manager);
  registerFeedRoutes(api, d.feeds, new SiteService(d.feeds));
  registerBtcRoutes(api, d.btc ?? (() => undefined));
  registerNodeRoutes(api, {
    manager: d.manager,
    hub,
    streams,
    policy: d.policy,
    isAuthenticated: (req) => authenticated.has(req),
    openapi: () => {
      openapi ??= buildOpenApi(api.routes, { version: DAEMON_VERSION, serverUrl: d.url() });
      return openapi;
    },
  });
  for (const r of api.routes) {
    if (r.auth === false) openRoutes.add(r.url);
    if (r.crossSiteReads === true) crossSiteReadRoutes.add(r.url);
  }
  app.get('/*', (req, reply) => statics.handle(req, reply));

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      error: { code: ErrorCode.ApiNotFound, message: `no route ${req.method} ${req.url.split('?', 1)[0]}` },
    });
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    let status: number;
    let code: string;
    let message: string;
    const known = FASTIFY_CODES[err.code];
    if (err.validation !== undefined) {
      status = 400;
      code = ErrorCode.ApiBadRequest;
      message = validationMessage(err.validationContext, err.validation as unknown as AjvError[]);
    } else if (known !== undefined) {
      status = err.statusCode ?? 400;
      code = known.code;
      message = known.message?.(err) ?? err.message;
    } else if (isShoalError(err)) {
      status = statusOf(err);
      code = err.code;
      message = err.message;
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      code = status === 404 ? ErrorCode.ApiNotFound : ErrorCode.ApiBadRequest;
      message = err.message;
    } else {
      status = 500;
      code = ErrorCode.ApiInternal;
      message = 'internal error (see the daemon log)';
    }
    if (status >= 500 && status !== 501 && status !== 503) {
      req.log.error({ err, method: req.method, url: req.url.split('?', 1)[0] }, 'request failed');
      if (!isShoalError(err) || code === ErrorCode.ApiInternal)
        message = 'internal error (see the daemon log)';
    } else {
      req.log.debug({ code, status, url: req.url.split('?', 1)[0] }, message);
    }
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="shoal"');
    if (status === 503) reply.header('retry-after', '2');
    reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } });
  });

  await app.ready();
  return { app, hub, streams };
}
