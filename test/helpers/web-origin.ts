/**
 * A small HTTP origin for web seed tests, serving a folder with `Range` (BEP 19) or pieces
 * (BEP 17), with the faults nginx will not commit on demand: `503` with `Retry-After`, a redirect
 * loop, a body cut mid-way, a wrong `Content-Length`. It records every request and the most
 * requests it ever had in flight at once. Listens on 127.0.0.1 only; `close()` ends every socket.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { Metainfo } from '../../src/metainfo/index.js';
import { storagePath } from '../../src/metainfo/index.js';
import { PieceMap } from '../../src/storage/piece-map.js';

export type OriginFault =
  /** Every request: 503 with `Retry-After: 1` (BEP 17: a body of `1`). */
  | 'busy'
  /** Every request: a redirect to another path of this origin, which redirects back. */
  | 'redirect-loop'
  /** Every body stops half-way: the socket is destroyed. */
  | 'close-mid-body'
  /** Every 206 says one byte less in `Content-Length` than it sends. */
  | 'wrong-content-length'
  /** Every 206 names the wrong bytes in `Content-Range` (shifted by one). */
  | 'wrong-content-range'
  /** Every answer sends its headers, then nothing (the socket stays open). */
  | 'stall'
  /** Every 503 carries a body of 1 MB (and `Retry-After: 1`). */
  | 'busy-long-body';

export interface OriginRequest {
  readonly path: string;
  readonly range: string | undefined;
}

export interface WebOriginOptions {
  /** Folder served at `/` (BEP 19 layout). */
  readonly root: string;
  readonly fault?: OriginFault;
  /** Serve BEP 17 piece requests at `/seed` for this torrent (files under `root`). */
  readonly bep17?: Metainfo;
  /** Redirect `/r/<n>/...` n times before serving (`/r/0/x` serves `/x`). */
  readonly redirects?: boolean;
}

export class WebOrigin {
  readonly requests: OriginRequest[] = [];
  #inFlight = 0;
  #maxInFlight = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #o: WebOriginOptions;

  private constructor(o: WebOriginOptions) {
    this.#o = o;
    this.#server = createServer((req, res) => {
      this.#inFlight++;
      this.#maxInFlight = Math.max(this.#maxInFlight, this.#inFlight);
      res.once('close', () => this.#inFlight--);
      this.requests.push({ path: req.url ?? '', range: req.headers.range });
      this.#serve(req, res).catch(() => res.destroy());
    });
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  static async start(o: WebOriginOptions): Promise<WebOrigin> {
    const w = new WebOrigin(o);
    await new Promise<void>((resolve) => w.#server.listen(0, '127.0.0.1', resolve));
    return w;
  }

  /** `http://127.0.0.1:PORT/` */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/`;
  }

  /** The most requests in flight at once so far. */
  get maxInFlight(): number {
    return this.#maxInFlight;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fault = this.#o.fault;
    const u = new URL(req.url ?? '/', 'http://x');
    if (fault === 'busy') {
      res.writeHead(503, { 'retry-after': '1', 'content-length': '1' });
      res.end('1');
      return;
    }
    if (fault === 'busy-long-body') {
      res.writeHead(503, { 'retry-after': '1', 'content-length': String(1_000_000) });
      res.write(Buffer.alloc(1_000_000, 0x31));
      return;
    }
    if (fault === 'redirect-loop') {
      const next = u.pathname.startsWith('/loop-a') ? '/loop-b' : '/loop-a';
      res.writeHead(302, { location: next + u.pathname, 'content-length': '0' });
      res.end();
      return;
    }
    const r = /^\/r\/(\d+)(\/.*)$/.exec(u.pathname);
    if (this.#o.redirects && r !== null) {
      const n = Number(r[1]);
      res.writeHead(307, { location: n === 0 ? r[2]! : `/r/${n - 1}${r[2]}`, 'content-length': '0' });
      res.end();
      return;
    }
    if (this.#o.bep17 !== undefined && u.pathname === '/seed') {
      await this.#servePiece(u, res);
      return;
    }
    const path = join(this.#o.root, ...decodeURIComponent(u.pathname).split('/').filter(Boolean));
    const size = (await stat(path).catch(() => undefined))?.size;
    if (size === undefined) {
      res.writeHead(404, { 'content-length': '0' });
      res.end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const first = m ? Number(m[1]) : 0;
    const last = m ? Math.min(Number(m[2]), size - 1) : size - 1;
    const length = last - first + 1;
    const shift = fault === 'wrong-content-range' ? 1 : 0;
    res.writeHead(m ? 206 : 200, {
      'content-length': String(fault === 'wrong-content-length' ? length - 1 : length),
      ...(m ? { 'content-range': `bytes ${first + shift}-${last + shift}/${size}` } : {}),
    });
    if (length === 0) {
      res.end();
      return;
    }
    if (fault === 'stall') {
      res.flushHeaders();
      return;
    }
    const stream = createReadStream(path, {
      start: first,
      end: fault === 'close-mid-body' ? first + Math.floor(length / 2) : last,
    });
    stream.pipe(res, { end: fault !== 'close-mid-body' });
    if (fault === 'close-mid-body') stream.once('end', () => setImmediate(() => res.socket?.destroy()));
  }

  /** BEP 17: `?info_hash=…&piece=N[&ranges=a-b,…]` → the bytes of the piece (or of its ranges). */
  async #servePiece(u: URL, res: ServerResponse): Promise<void> {
    const m = this.#o.bep17!;
    const map = new PieceMap(m);
    const piece = Number(u.searchParams.get('piece'));
    const size = map.pieceSize(piece);
    const ranges = (u.searchParams.get('ranges') ?? `0-${size - 1}`)
      .split(',')
      .map((r) => r.split('-').map(Number) as [number, number]);
    const parts: Buffer[] = [];
    for (const [a, b] of ranges) {
      for (const s of map.segments(piece, a, b - a + 1)) {
        if (s.file < 0) {
          parts.push(Buffer.alloc(s.length));
          continue;
        }
        const f = await open(join(this.#o.root, ...storagePath(m, m.files[s.file]!)));
        try {
          const buf = Buffer.alloc(s.length);
          await f.read(buf, 0, s.length, s.fileOffset);
          parts.push(buf);
        } finally {
          await f.close();
        }
      }
    }
    const body = Buffer.concat(parts);
    res.writeHead(200, { 'content-length': String(body.length) });
    res.end(body);
  }
}
