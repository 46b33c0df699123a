/**
 * Node-wide routes: settings, statistics, live events, auth, the OpenAPI document, metrics and
 * streaming.
 */
import { ErrorCode } from '../../shared/errors.js';
import { apiError } from '../errors.js';
import type { SettingsChange } from '../settings.js';
import type { TorrentManager } from '../torrent-manager.js';
import type { EventHub } from './events.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import type { ApiRoutes } from './route.js';
import * as S from './schemas.js';
import { type SecurityPolicy, TOKEN_COOKIE, tokenMatches } from './security.js';
import type { StreamService } from './stream.js';

export interface NodeRouteDeps {
  readonly manager: TorrentManager;
  readonly hub: EventHub;
  readonly streams: StreamService;
  readonly policy: SecurityPolicy;
  /** Whether the current request carried a valid token (set by the security hook). */
  readonly isAuthenticated: (req: object) => boolean;
  /** The OpenAPI document (built once all routes are declared). */
  readonly openapi: () => unknown;
}

/** Registers the node-wide routes. */
export function registerNodeRoutes(api: ApiRoutes, d: NodeRouteDeps): void {
  const { manager, hub, streams, policy } = d;

  api.add(
    {
      method: 'GET',
      url: '/api/v1/settings',
      operationId: 'getSettings',
      summary: 'Settings',
      tags: ['session'],
      responses: { 200: { description: 'current settings', schema: S.Settings } },
    },
    async () => manager.settings(),
  );

  api.add(
    {
      method: 'PUT',
      url: '/api/v1/settings',
      operationId: 'updateSettings',
      summary: 'Change settings',
      description: [
        'Any of the settings; fields left out keep their value. Kept across restarts. Global rate limits',
        '(bytes/s, 0 = unlimited), the queue (`maxActiveDownloads`, default 5; `maxActiveSeeds`, 0 = no',
        'limit), seed limits (`seedRatioLimit`, `seedIdleLimitMinutes`; 0 = none), the encryption policy,',
        'an IP blocklist file (read at once; a file that cannot be read refuses the change), a SOCKS5',
        'proxy (applied at the next start; its password is never sent back) and a watch folder whose',
        'new .torrent files are added (`watchDirAction`: rename them `.added`, or delete them).',
        'A change that cannot be applied is refused as a whole.',
      ].join(' '),
      tags: ['session'],
      body: S.SettingsBody,
      responses: { 200: { description: 'settings after the change', schema: S.Settings } },
    },
    async (req) => manager.setSettings(req.body as SettingsChange),
  );

  api.add(
    {
      method: 'POST',
      url: '/api/v1/blocklist/reload',
      operationId: 'reloadBlocklist',
      summary: 'Read the IP blocklist file again',
      description:
        'Reads the file of the `blocklistPath` setting again and puts it in force (connections to newly blocked addresses close). If it cannot be read, the list in force stays.',
      tags: ['session'],
      responses: {
        200: { description: 'the blocklist in force', schema: S.BlocklistInfo },
        409: { description: 'no blocklist is set', schema: S.ErrorBody },
      },
    },
    async () => manager.reloadBlocklist(),
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/bans',
      operationId: 'listBans',
      summary: 'Addresses banned for the whole node',
      description:
        'Peers banned on evidence (a piece only it sent failed its hash check, or its block differed from the verified copy), with that evidence; a banned address is neither dialled nor accepted by any torrent.',
      tags: ['session'],
      responses: { 200: { description: 'the bans, oldest first', schema: S.BanList } },
    },
    async () => ({ bans: manager.bans() }),
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/network',
      operationId: 'getNetwork',
      summary: 'How the node is reachable',
      description:
        'The external address (the router`s from port mapping when it is public, else the one a majority of peers name in BEP 10 `yourip`, else the DHT`s BEP 42 votes) with its source, the TCP port peers dial (the mapped external port, else the listen port), and the port-mapping status: state, method (pcp, natpmp, upnp), router, mappings and the last errors; null when port mapping is off.',
      tags: ['session'],
      responses: { 200: { description: 'external address and port mapping', schema: S.NetworkInfo } },
    },
    async () => manager.network(),
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/stats',
      operationId: 'getStats',
      summary: 'Session statistics',
      tags: ['session'],
      responses: { 200: { description: 'rates, totals, torrents by state, peers', schema: S.SessionStats } },
    },
    async () => manager.stats(),
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/events',
      operationId: 'events',
      summary: 'Live updates (Server-Sent Events)',
      description: [
        'Events: `torrent:added`, `torrent:removed`, `torrent:finished`, `torrent:paused`, `torrent:resumed`,',
        '`torrent:checking`, `torrent:metadata`, `torrent:updated`, `torrent:error`, `peer:banned`,',
        '`settings:changed`, `watch:added`, `watch:invalid`, `network:changed` (the body of',
        '`GET /api/v1/network`, when the external address, the port peers dial or the port mapping changed), each',
        'with a JSON `data` line; and `snapshot` (`{stats, torrents}`, see SnapshotEvent) about once a',
        'second and right after connecting, unless `snapshots=false`.',
      ].join(' '),
      tags: ['live'],
      querystring: S.EventsQuery,
      responses: {
        200: { description: 'an endless event stream', contentType: 'text/event-stream' },
        503: { description: 'too many listeners', schema: S.ErrorBody },
      },
    },
    async (req, reply) => {
      hub.subscribe(req, reply);
      return reply;
    },
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/openapi.json',
      operationId: 'openapi',
      summary: 'This API as an OpenAPI 3.1 document',
      tags: ['session'],
      auth: false,
      responses: { 200: { description: 'the OpenAPI document' } },
    },
    async () => d.openapi(),
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/auth',
      operationId: 'authStatus',
      summary: 'Whether a token is needed, and whether this request has it',
      tags: ['auth'],
      auth: false,
      responses: { 200: { description: 'token status', schema: S.AuthStatus } },
    },
    async (req) => ({ required: policy.requireToken, authenticated: d.isAuthenticated(req) }),
  );

  api.add(
    {
      method: 'POST',
      url: '/api/v1/auth',
      operationId: 'login',
      summary: 'Log a browser in',
      description:
        'Checks the token and sets it as an HttpOnly, SameSite=Strict cookie, so the web UI, EventSource and <video> need no header.',
      tags: ['auth'],
      auth: false,
      body: S.AuthBody,
      responses: {
        204: { description: 'cookie set' },
        401: { description: 'wrong token', schema: S.ErrorBody },
      },
    },
    async (req, reply) => {
      const { token } = req.body as { token: string };
      if (!tokenMatches(token, policy.token)) throw apiError(ErrorCode.ApiUnauthorized, 'wrong token');
      reply.header(
        'set-cookie',
        `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`,
      );
      return reply.code(204).send();
    },
  );

  api.add(
    {
      method: 'DELETE',
      url: '/api/v1/auth',
      operationId: 'logout',
      summary: 'Log a browser out (clears the cookie)',
      tags: ['auth'],
      auth: false,
      responses: { 204: { description: 'cookie cleared' } },
    },
    async (_req, reply) => {
      reply.header('set-cookie', `${TOKEN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      return reply.code(204).send();
    },
  );

  api.add(
    {
      method: 'GET',
      url: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      tags: ['live'],
      responses: { 200: { description: 'text exposition format 0.0.4', contentType: METRICS_CONTENT_TYPE } },
    },
    async (_req, reply) =>
      reply
        .header('content-type', METRICS_CONTENT_TYPE)
        .send(renderMetrics(manager, { sseClients: hub.clientCount, streams: streams.active })),
  );

  api.add(
    {
      method: 'GET',
      url: '/stream/:id/:file',
      operationId: 'streamFile',
      summary: 'Stream a file (HTTP Range)',
      description: [
        "Serves file `file` (its index in the torrent) while it downloads: the requested range's pieces",
        'jump ahead in the piece picker (with read-ahead) and the answer waits for them. One `bytes=`',
        'range per request (206 with Content-Range); unsatisfiable ranges get 416. Only verified data is',
        'served. A skipped file is set to normal priority.',
      ].join(' '),
      tags: ['live'],
      params: S.StreamParams,
      querystring: S.StreamQuery,
      responses: {
        200: { description: 'the whole file', contentType: 'application/octet-stream' },
        206: { description: 'the requested range', contentType: 'application/octet-stream' },
        409: { description: 'the torrent is paused or has no metadata yet', schema: S.ErrorBody },
        416: { description: 'range not satisfiable', schema: S.ErrorBody },
        503: { description: 'the torrent is starting or checking, or too many streams', schema: S.ErrorBody },
      },
    },
    (req, reply) => streams.handle(req, reply),
  );
}
