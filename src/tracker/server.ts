/**
 * `startTracker`: the built-in BitTorrent tracker (HTTP + UDP on one swarm state, and WebTorrent's
 * WebSocket protocol for WebRTC peers on the HTTP port), runnable on its own (`shoal tracker`) or
 * inside the daemon.
 *
 * Owns: an optional node:http server (with the WebSocket tracker on its upgrades), an optional
 * UDP socket, and one expiry timer. `close()` releases all of them (and drops open HTTP
 * connections and WebSockets).
 */
import dgram from 'node:dgram';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { handleHttpRequest } from './http-handler.js';
import { type TrackerStats, trackerStats } from './stats-page.js';
import { TrackerCore, type TrackerCoreOptions } from './tracker-core.js';
import { UdpTrackerHandler } from './udp-handler.js';
import { WsSwarms, type WsSwarmsOptions, WsTrackerServer } from './ws-handler.js';

/** Options of {@link startTracker}. */
export interface TrackerServerOptions extends TrackerCoreOptions {
  /** Address to bind. `::` binds both families where the OS allows. @default '127.0.0.1' */
  readonly host?: string;
  /** HTTP port; 0 picks a free one; `null` disables HTTP. @default 0 */
  readonly httpPort?: number | null;
  /** UDP port; 0 picks a free one; `null` disables UDP. @default 0 */
  readonly udpPort?: number | null;
  /** How often expired peers are swept, in ms. @default min(60 s, peer timeout / 4) */
  readonly sweepIntervalMs?: number;
  /** Time one HTTP request may take to arrive, in ms (slow-client bound). @default 10 000 */
  readonly httpRequestTimeoutMs?: number;
  /**
   * WebSocket tracker (WebTorrent's protocol) on the HTTP port: `false` turns it off, an object
   * sets its bounds. Needs HTTP. @default on
   */
  readonly ws?: boolean | Omit<WsSwarmsOptions, 'isAllowed'>;
  /**
   * Serve HTTPS and `wss://` on the HTTP port instead of HTTP and `ws://`: a PEM certificate
   * (with its chain) and its private key, as PEM text. Pages served over HTTPS may only open `wss://`.
   * @default plain HTTP
   */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** A running tracker. */
export interface TrackerServer {
  readonly host: string;
  /** Bound HTTP port, when HTTP is on. */
  readonly httpPort: number | undefined;
  /** Bound UDP port, when UDP is on. */
  readonly udpPort: number | undefined;
  /** `http://host:port/announce` (`https://` with {@link TrackerServerOptions.tls}), when HTTP is on. */
  readonly httpAnnounceUrl: string | undefined;
  /** `udp://host:port/announce`, when UDP is on. */
  readonly udpAnnounceUrl: string | undefined;
  /** `ws://host:port/` (`wss://` with TLS), when the WebSocket tracker is on. */
  readonly wsAnnounceUrl: string | undefined;
  /** The WebSocket tracker, when on. */
  readonly ws: WsTrackerServer | undefined;
  /** The shared state and counters. */
  readonly core: TrackerCore;
  /** Current statistics (as served on `/stats.json`). */
  stats(): TrackerStats;
  /** Replaces the whitelist (`undefined`: open tracker). */
  setWhitelist(hashes: Iterable<Uint8Array> | undefined): void;
  /** Stops serving and releases sockets and timers. Idempotent. */
  close(): Promise<void>;
}

function urlHost(host: string): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return h.includes(':') ? `[${h}]` : h;
}

/** Starts the tracker. Resolves once every enabled socket is listening. */
export async function startTracker(opts: TrackerServerOptions = {}): Promise<TrackerServer> {
  const host = opts.host ?? '127.0.0.1';
  const core = new TrackerCore(opts);
  let httpServer: http.Server | https.Server | undefined;
  let udpSocket: dgram.Socket | undefined;
  let closed = false;
  let sweep: NodeJS.Timeout | undefined;
  let wsServer: WsTrackerServer | undefined;

  const closeAll = async (): Promise<void> => {
    clearInterval(sweep);
    const tasks: Promise<void>[] = [];
    if (wsServer !== undefined) tasks.push(wsServer.close());
    if (httpServer !== undefined) {
      const s = httpServer;
      tasks.push(new Promise<void>((resolve) => s.close(() => resolve())));
      s.closeAllConnections();
    }
    if (udpSocket !== undefined) {
      const u = udpSocket;
      tasks.push(new Promise<void>((resolve) => u.close(() => resolve())));
    }
    await Promise.all(tasks);
  };

  try {
    if (opts.httpPort !== null) {
      const serverOptions = { requestTimeout: opts.httpRequestTimeoutMs ?? 10_000 };
      const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
        let reply: ReturnType<typeof handleHttpRequest>;
        try {
          reply = handleHttpRequest(
            core,
            req.method ?? 'GET',
            req.url ?? '/',
            req.socket.remoteAddress ?? '',
          );
        } catch {
          res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
          return;
        }
        res.writeHead(reply.status, {
          'content-type': reply.contentType,
          'content-length': reply.body.length,
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : reply.body);
      };
      const server =
        opts.tls === undefined
          ? http.createServer(serverOptions, onRequest)
          : https.createServer({ ...serverOptions, cert: opts.tls.cert, key: opts.tls.key }, onRequest);
      server.headersTimeout = Math.min(opts.httpRequestTimeoutMs ?? 10_000, 60_000);
      server.keepAliveTimeout = 5_000;
      server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
        if (!socket.writable) {
          socket.destroy();
          return;
        }
        const status =
          err.code === 'HPE_HEADER_OVERFLOW'
            ? '431 Request Header Fields Too Large'
            : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
              ? '408 Request Timeout'
              : '400 Bad Request';
        socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      });
      httpServer = server;
      if (opts.ws !== false) {
        const ws = new WsTrackerServer(
          new WsSwarms({
            ...(typeof opts.ws === 'object' ? opts.ws : {}),
            isAllowed: (key) => core.isAllowed(key),
          }),
        );
        wsServer = ws;
        server.on('upgrade', (req, socket, head) => ws.upgrade(req, socket, head));
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.httpPort ?? 0, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
    if (opts.udpPort !== null) {
      const handler = new UdpTrackerHandler(core);
      const socket = dgram.createSocket({
        type: host.includes(':') ? 'udp6' : 'udp4',
        // Replies go to the literal address a datagram came from: skip the per-send DNS lookup
        // (and its nextTick) that dgram would otherwise make.
        lookup: (address, _options, callback) => callback(null, address, address.includes(':') ? 6 : 4),
      });
      udpSocket = socket;
      socket.on('message', (msg, rinfo) => {
        const reply = handler.handle(msg, rinfo.address, rinfo.port);
        if (reply !== undefined) socket.send(reply, rinfo.port, rinfo.address);
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(opts.udpPort ?? 0, host, () => {
          socket.off('error', reject);
          // A failed send (e.g. an unreachable client) must not take the tracker down.
          socket.on('error', () => {});
          resolve();
        });
      });
    }
  } catch (e) {
    await closeAll();
    throw e;
  }

  const peerTimeoutMs = opts.peerTimeoutMs ?? core.intervalS * 1500;
  sweep = setInterval(() => core.state.expire(), opts.sweepIntervalMs ?? Math.min(60_000, peerTimeoutMs / 4));
  sweep.unref();

  const httpPort = httpServer === undefined ? undefined : (httpServer.address() as AddressInfo).port;
  const udpPort = udpSocket === undefined ? undefined : udpSocket.address().port;
  const secure = opts.tls !== undefined;
  return {
    host,
    httpPort,
    udpPort,
    httpAnnounceUrl:
      httpPort === undefined
        ? undefined
        : `${secure ? 'https' : 'http'}://${urlHost(host)}:${httpPort}/announce`,
    udpAnnounceUrl: udpPort === undefined ? undefined : `udp://${urlHost(host)}:${udpPort}/announce`,
    wsAnnounceUrl:
      httpPort === undefined || wsServer === undefined
        ? undefined
        : `${secure ? 'wss' : 'ws'}://${urlHost(host)}:${httpPort}/`,
    ws: wsServer,
    core,
    stats: () => trackerStats(core),
    setWhitelist: (hashes) => core.setWhitelist(hashes),
    async close() {
      if (closed) return;
      closed = true;
      await closeAll();
    },
  };
}
