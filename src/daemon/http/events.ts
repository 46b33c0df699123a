/**
 * `/api/v1/events`: live updates as Server-Sent Events.
 *
 * Every {@link DaemonEvents} event is sent as it happens, named as in the map (`event:
 * torrent:added`, `data: {"id": …}`). While at least one listener wants them, a `snapshot` event
 * (session statistics and every torrent's list row) goes out every `intervalMs`, and right after a
 * listener connects. The snapshot is built and serialised once per tick for all listeners.
 *
 * A listener that does not read: past MAX_SSE_BUFFERED_BYTES unread, its snapshots are skipped
 * (counted in `dropped`); past four times that it is disconnected. At most MAX_SSE_CLIENTS
 * listeners at once. A comment line every HEARTBEAT_MS keeps proxies from closing idle streams.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../../shared/errors.js';
import { MAX_SSE_BUFFERED_BYTES, MAX_SSE_CLIENTS } from '../../shared/limits.js';
import type { SnapshotEvent } from '../api-types.js';
import { DAEMON_EVENT_NAMES, type DaemonEvents } from '../daemon-events.js';
import { apiError } from '../errors.js';
import type { TorrentManager } from '../torrent-manager.js';
import { torrentSummary } from '../torrent-view.js';
import { jsonChunks } from './json-chunks.js';

/** A comment is sent this often on an otherwise quiet stream, ms. */
export const HEARTBEAT_MS = 15_000;

const FORWARDED: readonly (keyof DaemonEvents)[] = DAEMON_EVENT_NAMES;

interface Client {
  readonly res: ServerResponse;
  readonly snapshots: boolean;
}

export class EventHub {
  readonly #manager: TorrentManager;
  readonly #intervalMs: number;
  readonly #clients = new Set<Client>();
  readonly #headers: Record<string, string>;
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;
  #lastWrite = 0;
  #closed = false;
  /** Snapshots skipped for slow listeners. */
  dropped = 0;

  constructor(manager: TorrentManager, intervalMs: number, headers: Record<string, string>) {
    this.#manager = manager;
    this.#intervalMs = intervalMs;
    this.#headers = headers;
    for (const name of FORWARDED) {
      manager.on(name, (payload) => this.broadcast(name, payload));
    }
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Builds the `snapshot` payload. */
  snapshot(): SnapshotEvent {
    return { stats: this.#manager.stats(), torrents: this.#manager.list().map((e) => torrentSummary(e)) };
  }

  /** Takes over the response of a `GET /api/v1/events` request. */
  subscribe(request: FastifyRequest, reply: FastifyReply): void {
    if (this.#closed) throw apiError(ErrorCode.ApiUnavailable, 'the daemon is shutting down');
    if (this.#clients.size >= MAX_SSE_CLIENTS)
      throw apiError(ErrorCode.ApiUnavailable, `at most ${MAX_SSE_CLIENTS} event listeners at once`);
    const q = request.query as { snapshots?: string };
    const client: Client = { res: reply.raw, snapshots: q.snapshots !== 'false' && q.snapshots !== '0' };
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...this.#headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    res.write('retry: 3000\n\n');
    this.#clients.add(client);
    res.once('close', () => {
      this.#clients.delete(client);
      if (this.#clients.size === 0) this.#stopTimer();
    });
    if (client.snapshots) this.#writeFrames(client, this.#snapshotFrames(), true);
    this.#startTimer();
  }

  /** Sends one event to every listener. */
  broadcast(name: string, payload: unknown): void {
    if (this.#clients.size === 0) return;
    const frame = this.#frame(name, payload);
    for (const c of this.#clients) this.#write(c, frame, false);
  }

  /** The `snapshot` event in small pieces (see json-chunks.ts): one `data:` line, written in parts. */
  #snapshotFrames(): string[] {
    const s = this.snapshot();
    const head = `id: ${++this.#seq}\nevent: snapshot\ndata: {"stats":${JSON.stringify(s.stats)},"torrents":[`;
    return jsonChunks(head, s.torrents, ']}\n\n');
  }

  #writeFrames(c: Client, frames: readonly string[], droppable: boolean): void {
    const buffered = c.res.writableLength;
    if (buffered > 4 * MAX_SSE_BUFFERED_BYTES) {
      c.res.destroy();
      return;
    }
    if (droppable && buffered > MAX_SSE_BUFFERED_BYTES) {
      this.dropped++;
      return;
    }
    for (const f of frames) c.res.write(f);
    this.#lastWrite = performance.now();
  }

  #frame(name: string, payload: unknown): string {
    return `id: ${++this.#seq}\nevent: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
  }

  #write(c: Client, frame: string, droppable: boolean): void {
    this.#writeFrames(c, [frame], droppable);
  }

  #startTimer(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.tick(), this.#intervalMs);
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Sends the periodic snapshot (and heartbeat); called by the timer, public for tests. */
  tick(): void {
    const wanting = [...this.#clients].filter((c) => c.snapshots);
    if (wanting.length > 0) {
      const frames = this.#snapshotFrames();
      for (const c of wanting) this.#writeFrames(c, frames, true);
    }
    if (performance.now() - this.#lastWrite >= HEARTBEAT_MS) {
      for (const c of this.#clients) this.#write(c, ': ping\n\n', true);
    }
  }

  /** Ends every stream. */
  close(): void {
    this.#closed = true;
    this.#stopTimer();
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }
}
