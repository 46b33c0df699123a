/**
 * The `/api/v1/feeds` routes (follow, list with versions, details, unfollow) and the gateway
 * `/site/<public key>[/<salt>]/<path>` (site.ts).
 */
import type { FeedManager } from '../feeds.js';
import type { ApiRoutes } from './route.js';
import * as S from './schemas.js';
import type { SiteService } from './site.js';

const TAGS = ['feeds'];

const FeedIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9a-fA-F]{64}(-([0-9a-fA-F]{2}){1,64})?$' } },
};

const FollowBody = {
  type: 'object',
  additionalProperties: false,
  required: ['feed'],
  properties: {
    feed: {
      type: 'string',
      maxLength: 4096,
      description: 'a BEP 46 link (magnet:?xs=urn:btpk:…&s=…) or a public key (64 hex digits)',
    },
    salt: { type: 'string', maxLength: 64, description: 'the salt as text, when the link has none' },
    dir: {
      type: 'string',
      maxLength: 4096,
      description: 'folder (below an allowed folder); default feeds/<id>',
    },
  },
};

const Version = {
  type: 'object',
  properties: {
    seq: { type: 'string', description: 'sequence number (decimal; 64-bit)' },
    infoHash: { type: 'string' },
    name: { type: ['string', 'null'] },
    seenAt: { type: 'integer', description: 'first seen, ms since the epoch' },
    completedAt: { type: ['integer', 'null'] },
    switchedAt: { type: ['integer', 'null'], description: 'when DIR/current was switched to it' },
    downloadedBytes: { type: ['integer', 'null'] },
    reusedFiles: { type: ['integer', 'null'] },
    fetchedFiles: { type: ['integer', 'null'] },
    removedFiles: { type: ['integer', 'null'] },
  },
};

const Feed = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    publicKey: { type: 'string' },
    salt: { type: 'string' },
    saltText: { type: ['string', 'null'] },
    magnet: { type: 'string' },
    dir: { type: 'string' },
    sitePath: { type: 'string' },
    highestSeq: { type: 'string' },
    current: { oneOf: [Version, { type: 'null' }] },
    pending: { oneOf: [Version, { type: 'null' }] },
    versions: { type: 'array', items: Version },
    addedAt: { type: 'integer' },
    error: { type: ['string', 'null'] },
  },
};

/** Registers the feed routes and the gateway. */
export function registerFeedRoutes(api: ApiRoutes, feeds: FeedManager, site: SiteService): void {
  api.add(
    {
      method: 'GET',
      url: '/api/v1/feeds',
      operationId: 'listFeeds',
      summary: 'Followed feeds',
      description:
        'Every followed feed with its current and pending version and the versions seen (when each was seen, completed and switched to).',
      tags: TAGS,
      responses: {
        200: {
          description: 'the feeds',
          schema: { type: 'object', properties: { feeds: { type: 'array', items: Feed } } },
        },
      },
    },
    async () => ({ feeds: feeds.list() }),
  );

  api.add(
    {
      method: 'POST',
      url: '/api/v1/feeds',
      operationId: 'followFeed',
      summary: 'Follow a feed (BEP 46)',
      description:
        'Downloads the current version, then each newer one (only what changed), into its folder; `current` there always points at a complete version. Following a feed already followed returns it.',
      tags: TAGS,
      body: FollowBody,
      responses: {
        201: { description: 'the feed', schema: Feed },
        400: { description: 'not a feed link or key', schema: S.ErrorBody },
        409: { description: 'the folder cannot be used, or too many feeds', schema: S.ErrorBody },
      },
    },
    async (req, reply) => {
      const body = req.body as { feed: string; salt?: string; dir?: string };
      return reply.code(201).send(await feeds.follow(body));
    },
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/feeds/:id',
      operationId: 'getFeed',
      summary: 'One feed',
      tags: TAGS,
      params: FeedIdParams,
      responses: {
        200: { description: 'the feed', schema: Feed },
        404: { description: 'not followed', schema: S.ErrorBody },
      },
    },
    async (req) => feeds.get((req.params as { id: string }).id),
  );

  api.add(
    {
      method: 'POST',
      url: '/api/v1/feeds/:id/check',
      operationId: 'checkFeed',
      summary: 'Look for a new version now',
      description:
        'Runs a DHT lookup of the feed now instead of at the next poll; answers once it is handled (a new version then downloads).',
      tags: TAGS,
      params: FeedIdParams,
      responses: {
        200: { description: 'the feed', schema: Feed },
        404: { description: 'not followed', schema: S.ErrorBody },
      },
    },
    async (req) => feeds.check((req.params as { id: string }).id),
  );

  api.add(
    {
      method: 'DELETE',
      url: '/api/v1/feeds/:id',
      operationId: 'unfollowFeed',
      summary: 'Stop following a feed',
      description: '`deleteData=true` also deletes its folder.',
      tags: TAGS,
      params: FeedIdParams,
      querystring: S.DeleteQuery,
      responses: {
        204: { description: 'no longer followed' },
        404: { description: 'not followed', schema: S.ErrorBody },
      },
    },
    async (req, reply) => {
      const q = req.query as { deleteData?: string };
      await feeds.unfollow(
        (req.params as { id: string }).id,
        q.deleteData === 'true' || q.deleteData === '1',
      );
      return reply.code(204).send();
    },
  );

  // GET routes answer HEAD too (Fastify adds them; the handler sends no body then).
  for (const url of ['/site/:key', '/site/:key/*']) {
    api.add(
      {
        method: 'GET',
        url,
        operationId: url.endsWith('*') ? 'siteFile' : 'siteRoot',
        summary: 'Gateway: a file of the current version of a followed feed',
        description: [
          '`/site/<public key>[/<salt>]/<path>`: `index.html` for folders, content type by extension, one `bytes=`',
          'range (206/416), ETag revalidation. Before the first version is complete the needed pieces are',
          'fetched first. Answers are sandboxed (`Content-Security-Policy: sandbox allow-scripts`).',
        ].join(' '),
        tags: TAGS,
        crossSiteReads: true,
        responses: {
          200: { description: 'the file', contentType: 'application/octet-stream' },
          206: { description: 'the requested range', contentType: 'application/octet-stream' },
          301: { description: 'to the folder form (trailing slash)' },
          304: { description: 'not modified' },
          404: { description: 'no such feed or file', schema: S.ErrorBody },
          503: { description: 'no version yet, or too many answers at once', schema: S.ErrorBody },
        },
      },
      (req, reply) => site.handle(req, reply),
    );
  }
}
