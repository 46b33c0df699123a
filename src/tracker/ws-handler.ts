/**
 * The built-in tracker's WebSocket side (WebTorrent's protocol, see
 * src/discovery/tracker-protocol-ws.ts): `ws://host:port/` on the HTTP server's port, for WebRTC
 * peers, which have no address to hand out — the tracker relays their SDP offers and answers.
 *
 * DEV NOTES
 * - Owns: one {@link WsSwarms} (peers by info-hash, each with the socket it announced on) and,
 *   when attached, a `ws` server in no-server mode fed by the HTTP server's `upgrade` events.
 * - A WebRTC peer is identified by its peer id within a swarm, and bound to its socket: an
 *   answer or offer for it goes down that socket, and the socket closing removes it everywhere.
 *   A peer id already held by another socket is refused (no hijacking of a peer's offers).
 * - Bounds: message size ({@link MAX_WS_TRACKER_MESSAGE_BYTES}, enforced by `ws` before parsing),
 *   offers per announce ({@link MAX_WS_OFFERS_PER_ANNOUNCE}, the rest ignored), peers per swarm
 *   ({@link WS_TRACKER_MAX_PEERS_PER_SWARM}), swarms ({@link WS_TRACKER_MAX_SWARMS}), swarms per
 *   socket ({@link WS_TRACKER_MAX_SWARMS_PER_SOCKET}) and messages per socket and window
 *   ({@link WS_TRACKER_MESSAGES_PER_WINDOW}): a socket over that rate is closed.
 * - The counts of a WebRTC swarm are its own (`complete`/`incomplete` in the announce reply and in
 *   a WebSocket scrape); the HTTP/UDP swarm of the same hash is counted on its side.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  parseWsClientMessage,
  toBinaryString,
  type WsClientMessage,
} from '../discovery/tracker-protocol-ws.js';
import {
  MAX_WS_OFFERS_PER_ANNOUNCE,
  MAX_WS_TRACKER_MESSAGE_BYTES,
  WS_TRACKER_INTERVAL_S,
  WS_TRACKER_MAX_PEERS_PER_SWARM,
  WS_TRACKER_MAX_SWARMS,
  WS_TRACKER_MAX_SWARMS_PER_SOCKET,
  WS_TRACKER_MESSAGES_PER_WINDOW,
  WS_TRACKER_WINDOW_MS,
} from '../shared/limits.js';

/** What the swarm logic needs of a socket. */
export interface WsPeerSocket {
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

interface WsPeer {
  readonly socket: WsPeerSocket;
  readonly peerId: string;
  left: number;
}

/** Options of {@link WsSwarms}. */
export interface WsSwarmsOptions {
  /** @default WS_TRACKER_MAX_PEERS_PER_SWARM */
  readonly maxPeersPerSwarm?: number;
  /** @default WS_TRACKER_MAX_SWARMS */
  readonly maxSwarms?: number;
  /** Uniform in [0, 1). @default Math.random */
  readonly random?: () => number;
  /**
   * `interval` told to WebRTC peers, in seconds: how often they announce with fresh offers, and so
   * how soon a failed WebRTC connection is tried again. Shorter than the HTTP/UDP interval because
   * an offer is the only way two WebRTC peers meet. @default WS_TRACKER_INTERVAL_S
   */
  readonly intervalS?: number;
  /** Which info-hashes (20-char latin1 keys) may be tracked; all when absent. */
  readonly isAllowed?: (infoHashKey: string) => boolean;
}

/** The WebRTC swarms and their relaying; sockets are given, not owned. */
export class WsSwarms {
  readonly #opts: WsSwarmsOptions;
  /** info-hash (latin1) → peer id (latin1) → peer. */
  readonly #swarms = new Map<string, Map<string, WsPeer>>();
  /** socket → the swarms it is in, and its id there. */
  readonly #bySocket = new Map<WsPeerSocket, Map<string, string>>();
  /** Offers relayed (for stats and tests). */
  relayedOffers = 0;
  relayedAnswers = 0;
  refused = 0;

  constructor(opts: WsSwarmsOptions = {}) {
    this.#opts = opts;
  }

  /** Peers in the swarm of `infoHash` (20-char latin1 key). */
  peerCount(infoHashKey: string): number {
    return this.#swarms.get(infoHashKey)?.size ?? 0;
  }

  get swarmCount(): number {
    return this.#swarms.size;
  }

  /** A text message from `socket`: parsed, acted on, answered on the socket. */
  handle(socket: WsPeerSocket, text: string | Uint8Array): void {
    let m: WsClientMessage;
    try {
      m = parseWsClientMessage(text);
    } catch (e) {
      this.refused++;
      socket.send(JSON.stringify({ 'failure reason': (e as Error).message }));
      return;
    }
    if (m.action === 'scrape') {
      const keys =
        m.infoHashes.length > 0
          ? m.infoHashes.map((h) => toBinaryString(h))
          : [...this.#swarms.keys()].slice(0, 64);
      const files: Record<string, { complete: number; incomplete: number; downloaded: number }> = {};
      for (const k of keys) files[k] = { ...this.#counts(k), downloaded: 0 };
      socket.send(JSON.stringify({ action: 'scrape', files }));
      return;
    }
    const key = toBinaryString(m.infoHash);
    const id = toBinaryString(m.peerId);
    const fail = (reason: string) => {
      this.refused++;
      socket.send(JSON.stringify({ action: 'announce', info_hash: key, 'failure reason': reason }));
    };
    if (this.#opts.isAllowed !== undefined && !this.#opts.isAllowed(key)) {
      fail('torrent not allowed');
      return;
    }
    if (m.event === 'stopped') {
      this.#remove(socket, key);
      return;
    }
    let swarm = this.#swarms.get(key);
    const existing = swarm?.get(id);
    if (existing !== undefined && existing.socket !== socket) {
      fail('peer id in use on another socket');
      return;
    }
    const joined = this.#bySocket.get(socket);
    if (existing === undefined) {
      if ((joined?.get(key) ?? id) !== id) {
        fail('one peer id per swarm and socket');
        return;
      }
      if ((joined?.size ?? 0) >= WS_TRACKER_MAX_SWARMS_PER_SOCKET && joined?.has(key) !== true) {
        fail('too many swarms on this socket');
        return;
      }
      if (swarm === undefined) {
        if (this.#swarms.size >= (this.#opts.maxSwarms ?? WS_TRACKER_MAX_SWARMS)) {
          fail('tracker full');
          return;
        }
        swarm = new Map();
        this.#swarms.set(key, swarm);
      }
      if (swarm.size >= (this.#opts.maxPeersPerSwarm ?? WS_TRACKER_MAX_PEERS_PER_SWARM)) {
        if (swarm.size === 0) this.#swarms.delete(key);
        fail('swarm full');
        return;
      }
      swarm.set(id, { socket, peerId: id, left: m.left ?? 0 });
      if (joined === undefined) this.#bySocket.set(socket, new Map([[key, id]]));
      else joined.set(key, id);
    } else if (m.left !== undefined) existing.left = m.left;
    const peers = swarm as Map<string, WsPeer>;
    if (m.answer !== undefined) {
      const to = peers.get(toBinaryString(m.answer.toPeerId));
      if (to !== undefined && to.socket !== socket) {
        this.relayedAnswers++;
        to.socket.send(
          JSON.stringify({
            action: 'announce',
            info_hash: key,
            peer_id: id,
            offer_id: toBinaryString(m.answer.offerId),
            answer: { type: 'answer', sdp: m.answer.sdp },
          }),
        );
      }
      return;
    }
    socket.send(
      JSON.stringify({
        action: 'announce',
        info_hash: key,
        interval: this.#opts.intervalS ?? WS_TRACKER_INTERVAL_S,
        ...this.#counts(key),
      }),
    );
    const offers = (m.offers ?? []).slice(0, MAX_WS_OFFERS_PER_ANNOUNCE);
    if (offers.length === 0) return;
    const targets = this.#sample(peers, id, Math.min(offers.length, m.numwant ?? offers.length));
    targets.forEach((t, i) => {
      const o = offers[i];
      if (o === undefined) return;
      this.relayedOffers++;
      t.socket.send(
        JSON.stringify({
          action: 'announce',
          info_hash: key,
          peer_id: id,
          offer_id: toBinaryString(o.offerId),
          offer: { type: 'offer', sdp: o.sdp },
        }),
      );
    });
  }

  /** The socket closed: it leaves every swarm. */
  drop(socket: WsPeerSocket): void {
    const joined = this.#bySocket.get(socket);
    if (joined === undefined) return;
    for (const key of [...joined.keys()]) this.#remove(socket, key);
  }

  #remove(socket: WsPeerSocket, key: string): void {
    const joined = this.#bySocket.get(socket);
    const id = joined?.get(key);
    if (joined === undefined || id === undefined) return;
    joined.delete(key);
    if (joined.size === 0) this.#bySocket.delete(socket);
    const swarm = this.#swarms.get(key);
    if (swarm?.get(id)?.socket === socket) swarm.delete(id);
    if (swarm?.size === 0) this.#swarms.delete(key);
  }

  #counts(key: string): { complete: number; incomplete: number } {
    let complete = 0;
    let incomplete = 0;
    for (const p of this.#swarms.get(key)?.values() ?? []) {
      if (p.left === 0) complete++;
      else incomplete++;
    }
    return { complete, incomplete };
  }

  /** Up to `n` distinct peers other than `self`, from a random start. */
  #sample(peers: Map<string, WsPeer>, self: string, n: number): WsPeer[] {
    const all = [...peers.values()];
    const out: WsPeer[] = [];
    if (all.length === 0 || n <= 0) return out;
    const start = Math.floor((this.#opts.random ?? Math.random)() * all.length);
    for (let i = 0; i < all.length && out.length < n; i++) {
      const p = all[(start + i) % all.length] as WsPeer;
      if (p.peerId !== self) out.push(p);
    }
    return out;
  }
}

/** Serves {@link WsSwarms} on WebSocket upgrades; close it with the HTTP server. */
export class WsTrackerServer {
  readonly swarms: WsSwarms;
  readonly #wss: WebSocketServer;

  constructor(swarms: WsSwarms) {
    this.swarms = swarms;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_TRACKER_MESSAGE_BYTES });
    this.#wss.on('connection', (ws: WebSocket) => this.#serve(ws));
  }

  /** Open WebSockets. */
  get socketCount(): number {
    return this.#wss.clients.size;
  }

  /** Takes an HTTP upgrade request. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit('connection', ws, req));
  }

  close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate();
    return new Promise((resolve) => this.#wss.close(() => resolve()));
  }

  #serve(ws: WebSocket): void {
    let windowStart = performance.now();
    let messages = 0;
    const peer: WsPeerSocket = {
      send: (text) => {
        if (ws.readyState === ws.OPEN) ws.send(text);
      },
      close: (code, reason) => ws.close(code, reason),
    };
    ws.on('message', (data, isBinary) => {
      const now = performance.now();
      if (now - windowStart > WS_TRACKER_WINDOW_MS) {
        windowStart = now;
        messages = 0;
      }
      if (++messages > WS_TRACKER_MESSAGES_PER_WINDOW) {
        this.swarms.refused++;
        ws.close(1008, 'too many messages');
        return;
      }
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : (data as Buffer);
      void isBinary;
      this.swarms.handle(peer, bytes);
    });
    // An oversized frame (maxPayload) or bad framing: ws closes the socket and reports here.
    ws.on('error', () => ws.terminate());
    ws.on('close', () => this.swarms.drop(peer));
  }
}
