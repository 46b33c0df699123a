/**
 * Builds the OpenAPI 3.1 document (`GET /api/v1/openapi.json`) from the declared routes
 * (route.ts). Schemas listed in `NAMED_SCHEMAS` become `components.schemas` and are referenced
 * by `$ref`; OpenAPI 3.1 takes JSON Schema as is, so the validation schemas are published unchanged.
 */
import { ErrorCode } from '../../shared/errors.js';
import type { RouteDoc } from './route.js';
import { ErrorBody, type JsonSchema, NAMED_SCHEMAS } from './schemas.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function convert(schema: unknown, top?: JsonSchema): Json {
  if (Array.isArray(schema)) return schema.map((s) => convert(s));
  if (typeof schema !== 'object' || schema === null) return schema as Json;
  const name = NAMED_SCHEMAS.get(schema as JsonSchema);
  if (name !== undefined && schema !== top) return { $ref: `#/components/schemas/${name}` };
  const out: { [key: string]: Json } = {};
  for (const [k, v] of Object.entries(schema)) out[k] = convert(v);
  return out;
}

function parameters(schema: JsonSchema | undefined, where: 'path' | 'query'): Json[] {
  if (schema === undefined) return [];
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: convert(s),
  }));
}

const ERRORS: Record<number, string> = {
  400: 'bad input (malformed JSON, wrong types, invalid torrent or magnet, unsafe path)',
  401: 'token missing or wrong (only when the daemon requires one)',
  403: "refused: foreign Origin, Host not the daemon's own, or a folder outside the allowed ones",
  404: 'no such torrent or file',
  413: 'body or .torrent too large',
};

export interface OpenApiInfo {
  readonly version: string;
  readonly serverUrl: string;
}

/** The OpenAPI document for `routes`. */
export function buildOpenApi(routes: readonly RouteDoc[], info: OpenApiInfo): Json {
  const paths: { [path: string]: { [method: string]: Json } } = {};
  for (const r of routes) {
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const responses: { [code: string]: Json } = {};
    for (const [code, res] of Object.entries(r.responses)) {
      const media = res.contentType ?? 'application/json';
      responses[code] = {
        description: res.description,
        ...(res.schema !== undefined || res.contentType !== undefined
          ? { content: { [media]: res.schema !== undefined ? { schema: convert(res.schema) } : {} } }
          : {}),
      };
    }
    const withBody = r.body !== undefined || r.bodyContent !== undefined;
    for (const code of [400, 401, 403, 404, 413]) {
      if (responses[code] !== undefined) continue;
      if (code === 413 && !withBody) continue;
      if (code === 401 && r.auth === false) continue;
      if (code === 404 && r.params === undefined) continue;
      responses[code] = {
        description: ERRORS[code]!,
        content: { 'application/json': { schema: convert(ErrorBody) } },
      };
    }
    const content: { [media: string]: Json } = {};
    if (r.body !== undefined) content['application/json'] = { schema: convert(r.body) };
    for (const [media, s] of Object.entries(r.bodyContent ?? {})) content[media] = { schema: convert(s) };
    const op: { [key: string]: Json } = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description !== undefined ? { description: r.description } : {}),
      tags: [...r.tags],
      parameters: [...parameters(r.params, 'path'), ...parameters(r.querystring, 'query')],
      ...(withBody ? { requestBody: { required: true, content } } : {}),
      responses,
      ...(r.auth === false ? { security: [] } : {}),
    };
    paths[path] ??= {};
    paths[path][r.method.toString().toLowerCase()] = op;
  }
  const schemas: { [name: string]: Json } = {};
  for (const [schema, name] of NAMED_SCHEMAS) schemas[name] = convert(schema, schema);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Shoal daemon API',
      version: info.version,
      description: [
        'Control a Shoal BitTorrent node: add torrents (upload, magnet, URL), list and inspect them,',
        'pause, resume, verify, remove, set file priorities and rate limits, stream files with HTTP',
        'Range (`/stream/{id}/{file}`), follow live updates (`/api/v1/events`, Server-Sent Events) and',
        'scrape metrics (`/metrics`, Prometheus).',
        '',
        'Errors are `{"error": {"code": "SHOAL_ERR_…", "message": "…"}}` with a 4xx/5xx status. Codes:',
        Object.values(ErrorCode)
          .filter((c) => c.startsWith('SHOAL_ERR_API_') || c.startsWith('SHOAL_ERR_DAEMON_'))
          .map((c) => `\`${c}\``)
          .join(', '),
        '',
        'Bound to 127.0.0.1 no token is needed. Bound elsewhere, every call needs the token kept in',
        '`<state>/token`: as `Authorization: Bearer <token>`, the `shoal_token` cookie set by',
        '`POST /api/v1/auth`, or a `token` query parameter (EventSource, media players). Requests',
        'with a foreign `Origin`, or a `Host` that is not the daemon’s, are refused.',
      ].join('\n'),
    },
    servers: [{ url: info.serverUrl }],
    tags: [
      { name: 'torrents', description: 'adding, listing and controlling torrents' },
      { name: 'session', description: 'settings and statistics of the whole node' },
      { name: 'live', description: 'Server-Sent Events, streaming and metrics' },
      { name: 'auth', description: 'token handling for browsers' },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'shoal_token' },
        query: { type: 'apiKey', in: 'query', name: 'token' },
      },
    },
    security: [{ bearer: [] }, { cookie: [] }, { query: [] }],
  };
}
