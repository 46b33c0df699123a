/**
 * One torrent's WebSocket tracker (`ws://`, `wss://`; WebTorrent's protocol, see
 * tracker-protocol-ws.ts): announces with WebRTC offers, answers the offers the tracker relays,
 * and hands every data channel that opens to `onStream` — `outgoing` true for ours answered,
 * false for theirs we answered.
 *
 * Lifecycle: `start()` connects and announces `started`; every interval (the tracker's, at least
 * {@link WS_MIN_ANNOUNCE_INTERVAL_S}) it announces again with fresh offers while the torrent
 * wants peers; offers not answered in {@link WS_OFFER_TIMEOUT_MS} are dropped. A socket that
 * closes is reopened after {@link WS_RECONNECT_MS}. `stop()` announces `stopped` and closes.
 * Relayed offers are bounded by the WebRTC factory's live peer-connection cap.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { WebRtc, WebRtcStream } from '../net/webrtc-transport.js';
import {
  MAX_WS_OFFERS_PER_ANNOUNCE,
  MAX_WS_TRACKER_MESSAGE_BYTES,
  WS_MIN_ANNOUNCE_INTERVAL_S,
  WS_OFFER_TIMEOUT_MS,
  WS_OFFERS_PER_ANNOUNCE,
  WS_RECONNECT_MS,
} from '../shared/limits.js';
import {
  encodeWsAnnounce,
  encodeWsAnswer,
  parseWsServerMessage,
  type WsOffer,
} from './tracker-protocol-ws.js';

/** `readyState` of an open WebSocket (the WebSocket standard's OPEN). */
const WS_OPEN = 1;

/** Options of a {@link WsTrackerClient}. */
export interface WsTrackerClientInit {
  readonly url: string;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly webrtc: WebRtc;
  /** Transfer totals for announces. */
  getStats(): { uploaded: number; downloaded: number; left: number };
  /** How many more peers the torrent wants now (0: make no offers). */
  wantedPeers(): number;
  /** A data channel opened with a peer of the swarm. */
  onStream(stream: WebRtcStream, outgoing: boolean, peerId: Uint8Array): void;
  onWarning?(message: string): void;
}

export class WsTrackerClient {
  readonly #init: WsTrackerClientInit;
  #ws: WebSocket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #intervalS = 120;
  #stopped = false;
  #started = false;
  readonly #offers = new Map<string, { cancel(): void; accept(sdp: string): Promise<WebRtcStream> }>();
  /** Announces answered by the tracker (tests). */
  announces = 0;

  constructor(init: WsTrackerClientInit) {
    this.#init = init;
  }

  get url(): string {
    return this.#init.url;
  }

  start(): void {
    this.#connect();
  }

  /** Announces `completed` (the download finished). */
  completed(): void {
    void this.#announce('completed');
  }

  /** Announces `stopped`, closes the socket and drops pending offers. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    const ws = this.#ws;
    if (ws?.readyState === WS_OPEN) {
      const s = this.#init.getStats();
      ws.send(
        encodeWsAnnounce({
          infoHash: this.#init.infoHash,
          peerId: this.#init.peerId,
          numwant: 0,
          ...s,
          event: 'stopped',
          offers: [],
        }),
      );
    }
    ws?.close();
    ws?.terminate();
    for (const o of this.#offers.values()) o.cancel();
    this.#offers.clear();
  }

  #connect(): void {
    // `ws` is loaded with the first WebSocket tracker: most nodes never use one.
    void import('ws').then(
      ({ WebSocket: Ws }) => this.#open(Ws),
      (e: Error) => this.#init.onWarning?.(`WebSocket tracker ${this.#init.url}: ${e.message}`),
    );
  }

  #open(Ws: typeof WebSocket): void {
    if (this.#stopped) return;
    let ws: WebSocket;
    try {
      ws = new Ws(this.#init.url, {
        maxPayload: MAX_WS_TRACKER_MESSAGE_BYTES,
        handshakeTimeout: 15_000,
      });
    } catch (e) {
      this.#init.onWarning?.(`WebSocket tracker ${this.#init.url}: ${(e as Error).message}`);
      return;
    }
    this.#ws = ws;
    ws.on('open', () => {
      void this.#announce(this.#started ? undefined : 'started');
      this.#started = true;
    });
    ws.on('message', (data) => this.#onMessage(data as Buffer));
    ws.on('error', (e) => this.#init.onWarning?.(`WebSocket tracker ${this.#init.url}: ${e.message}`));
    ws.on('close', () => {
      if (this.#stopped || this.#ws !== ws) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#connect(), WS_RECONNECT_MS);
      this.#timer.unref();
    });
  }

  async #announce(event?: string): Promise<void> {
    const ws = this.#ws;
    if (this.#stopped || ws === undefined || ws.readyState !== WS_OPEN) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#announce(), this.#intervalS * 1000);
    this.#timer.unref();
    const n = Math.min(
      WS_OFFERS_PER_ANNOUNCE,
      MAX_WS_OFFERS_PER_ANNOUNCE,
      Math.max(0, this.#init.wantedPeers()),
    );
    const offers: WsOffer[] = [];
    for (let i = 0; i < n; i++) {
      try {
        const pending = await this.#init.webrtc.offer();
        const offerId = new Uint8Array(randomBytes(20));
        const key = Buffer.from(offerId).toString('hex');
        this.#offers.set(key, pending);
        const t = setTimeout(() => {
          if (this.#offers.get(key) === pending) {
            this.#offers.delete(key);
            pending.cancel();
          }
        }, WS_OFFER_TIMEOUT_MS);
        t.unref();
        offers.push({ offerId, sdp: pending.sdp });
      } catch (e) {
        this.#init.onWarning?.(`WebRTC offer: ${(e as Error).message}`);
        break;
      }
    }
    if (this.#stopped || ws.readyState !== WS_OPEN) {
      for (const o of offers) this.#offers.get(Buffer.from(o.offerId).toString('hex'))?.cancel();
      return;
    }
    const s = this.#init.getStats();
    ws.send(
      encodeWsAnnounce({
        infoHash: this.#init.infoHash,
        peerId: this.#init.peerId,
        numwant: offers.length,
        ...s,
        ...(event !== undefined ? { event } : {}),
        offers,
      }),
    );
  }

  #onMessage(data: Buffer): void {
    let m: ReturnType<typeof parseWsServerMessage>;
    try {
      m = parseWsServerMessage(data);
    } catch (e) {
      this.#init.onWarning?.(`WebSocket tracker ${this.#init.url}: ${(e as Error).message}`);
      return;
    }
    const mine = (h: Uint8Array) => Buffer.compare(h, this.#init.infoHash) === 0;
    switch (m.kind) {
      case 'announced':
        if (!mine(m.infoHash)) return;
        this.announces++;
        if (m.intervalS !== undefined) this.#intervalS = Math.max(WS_MIN_ANNOUNCE_INTERVAL_S, m.intervalS);
        return;
      case 'failure':
        this.#init.onWarning?.(`WebSocket tracker ${this.#init.url}: ${m.reason}`);
        return;
      case 'offer': {
        if (!mine(m.infoHash) || Buffer.compare(m.peerId, this.#init.peerId) === 0) return;
        const { peerId, offerId, sdp } = m;
        this.#init.webrtc.answer(sdp).then(
          (made) => {
            const ws = this.#ws;
            if (this.#stopped || ws === undefined || ws.readyState !== WS_OPEN) {
              void made.stream.then((s) => s.destroy()).catch(() => {});
              return;
            }
            ws.send(
              encodeWsAnswer({
                infoHash: this.#init.infoHash,
                peerId: this.#init.peerId,
                toPeerId: peerId,
                offerId,
                sdp: made.sdp,
              }),
            );
            made.stream.then(
              (s) => (this.#stopped ? s.destroy() : this.#init.onStream(s, false, peerId)),
              (e: Error) => {
                if (!this.#stopped)
                  this.#init.onWarning?.(`WebRTC connection (answered offer): ${e.message}`);
              },
            );
          },
          (e: Error) => this.#init.onWarning?.(`WebRTC offer refused: ${e.message}`),
        );
        return;
      }
      case 'answer': {
        if (!mine(m.infoHash)) return;
        const key = Buffer.from(m.offerId).toString('hex');
        const pending = this.#offers.get(key);
        if (pending === undefined) return;
        this.#offers.delete(key);
        const peerId = m.peerId;
        pending.accept(m.sdp).then(
          (s) => (this.#stopped ? s.destroy() : this.#init.onStream(s, true, peerId)),
          (e: Error) => this.#init.onWarning?.(`WebRTC answer: ${e.message}`),
        );
        return;
      }
      default:
        return;
    }
  }
}
