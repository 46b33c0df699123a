/**
 * The web dashboard's static files: `GET /` and every path outside `/api/`, `/stream/` and
 * `/metrics` are served from the web root (the built `web/dist`). Paths are checked to stay inside
 * the root (no `..`, no NUL, real path inside); an unknown path without an extension gets
 * `index.html` (client-side routing). Without a built UI, `/` explains where the API is.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../../shared/errors.js';
import { apiError } from '../errors.js';
import { isInside } from '../paths.js';
import { webContentType } from './mime.js';

/** Content-Security-Policy of the dashboard's HTML. */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const PLACEHOLDER = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shoal</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#123}
code{background:#eef3f7;padding:.1rem .3rem;border-radius:3px}</style></head>
<body><h1>Shoal daemon</h1>
<p>The daemon is running, but its web dashboard has not been built (<code>web/dist</code> is missing).</p>
<p>The HTTP API is under <code>/api/v1</code>; its OpenAPI document is
<a href="/api/v1/openapi.json"><code>/api/v1/openapi.json</code></a>. Metrics: <a href="/metrics"><code>/metrics</code></a>.</p>
</body></html>
`;

export class StaticFiles {
  readonly #root: string | false;
  #realRoot: string | undefined;

  constructor(root: string | false) {
    this.#root = root;
  }

  async handle(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const path = decodeURIComponentSafe(request.url.split('?', 1)[0]!);
    if (path.startsWith('/api/') || path === '/api' || path.startsWith('/stream/') || path === '/metrics')
      throw apiError(ErrorCode.ApiNotFound, `no route ${request.method} ${request.url.split('?', 1)[0]}`);
    const real = await this.#resolve(path);
    if (real === undefined) {
      if (path === '/' || path === '/index.html') {
        return reply
          .header('content-type', 'text/html; charset=utf-8')
          .header('content-security-policy', WEB_CSP)
          .send(PLACEHOLDER);
      }
      throw apiError(ErrorCode.ApiNotFound, `no file ${path}`);
    }
    const isHtml = real.file.endsWith('.html');
    reply
      .header('content-type', webContentType(real.file))
      .header('content-length', String(real.size))
      .header(
        'cache-control',
        path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    if (isHtml) reply.header('content-security-policy', WEB_CSP);
    if (request.method === 'HEAD') {
      reply.hijack();
      reply.raw.writeHead(200, reply.getHeaders() as Record<string, string>);
      reply.raw.end();
      return reply;
    }
    return reply.send(createReadStream(real.file));
  }

  async #resolve(path: string): Promise<{ file: string; size: number } | undefined> {
    if (this.#root === false) return undefined;
    if (path.includes('\0') || path.split('/').includes('..')) return undefined;
    if (this.#realRoot === undefined) {
      try {
        this.#realRoot = await realpath(this.#root);
      } catch {
        return undefined;
      }
    }
    const root = this.#realRoot;
    const tryFile = async (rel: string) => {
      try {
        const real = await realpath(join(root, rel));
        if (!isInside(root, real)) return undefined;
        const st = await stat(real);
        return st.isFile() ? { file: real, size: st.size } : undefined;
      } catch {
        return undefined;
      }
    };
    const rel = path === '/' ? 'index.html' : path.slice(1);
    const direct = await tryFile(rel);
    if (direct !== undefined) return direct;
    const last = rel.split('/').pop() ?? '';
    if (!last.includes('.')) return tryFile('index.html');
    return undefined;
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '\0';
  }
}
