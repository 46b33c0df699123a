/**
 * Route declaration with documentation: every API route is declared once, with its JSON schemas
 * and prose, through {@link ApiRoutes.add}. Fastify gets the schemas for validation and
 * serialisation; {@link buildOpenApi} (openapi.ts) turns the same declarations into the OpenAPI
 * document, so the published contract cannot drift from what the server checks.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { JsonSchema } from './schemas.js';

/** One documented response of a route. */
export interface ResponseDoc {
  readonly description: string;
  /**
   * JSON body schema, for the OpenAPI document. Answers are serialised with JSON.stringify, not
   * from the schema: handlers build exactly these shapes (api-types.ts), and fast-json-stringify
   * made the 1,000-torrent list slower and heavier on garbage.
   */
  readonly schema?: JsonSchema;
  /** Media type when not JSON (`text/event-stream`, `video/mp4`…). */
  readonly contentType?: string;
}

export interface RouteDoc {
  readonly method: HTTPMethods;
  /** Fastify path (`/api/v1/torrents/:id`). */
  readonly url: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly params?: JsonSchema;
  readonly querystring?: JsonSchema;
  /** JSON body. */
  readonly body?: JsonSchema;
  /** Bodies by media type, when more than JSON is accepted. */
  readonly bodyContent?: Readonly<Record<string, JsonSchema>>;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Needs the token when the daemon requires one. @default true */
  readonly auth?: boolean;
  /**
   * GET/HEAD may come from another site's page (the gateway: a sandboxed page's own images and
   * styles arrive as cross-site requests). @default false
   */
  readonly crossSiteReads?: boolean;
}

export type RouteHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** The routes declared so far, in order. */
export class ApiRoutes {
  readonly routes: RouteDoc[] = [];
  readonly #app: FastifyInstance;

  constructor(app: FastifyInstance) {
    this.#app = app;
  }

  add(doc: RouteDoc, handler: RouteHandler): void {
    this.routes.push(doc);
    const body =
      doc.bodyContent !== undefined
        ? {
            content: Object.fromEntries(
              Object.entries(doc.bodyContent).map(([k, schema]) => [k, { schema }]),
            ),
          }
        : doc.body;
    this.#app.route({
      method: doc.method,
      url: doc.url,
      schema: {
        ...(doc.params !== undefined ? { params: doc.params } : {}),
        ...(doc.querystring !== undefined ? { querystring: doc.querystring } : {}),
        ...(body !== undefined ? { body } : {}),
      },
      handler,
    });
  }
}
