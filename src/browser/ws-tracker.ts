/**
 * One torrent's WebSocket tracker in a web page: WebTorrent's protocol (the pure encoders and
 * parser of src/discovery/tracker-protocol-ws.ts) over the browser's `WebSocket`, the browser
 * twin of src/discovery/tracker-ws.ts. Announces with WebRTC offers (every interval the tracker
 * gives, at least {@link WS_MIN_ANNOUNCE_INTERVAL_S}), answers relayed offers, and hands every
 * data channel that opens to `onStream`. Offers not answered in {@link WS_OFFER_TIMEOUT_MS} are
 * dropped; a closed socket is reopened after {@link WS_RECONNECT_MS}.
 */
import {
  encodeWsAnnounce,
  encodeWsAnswer,
  parseWsServerMessage,
  type WsOffer,
} from '../discovery/tracker-protocol-ws.js';
import { bytesEqual, toHex } from '../shared/hash.js';
import {
  MAX_WS_OFFERS_PER_ANNOUNCE,
  MAX_WS_TRACKER_MESSAGE_BYTES,
  WS_MIN_ANNOUNCE_INTERVAL_S,
  WS_OFFER_TIMEOUT_MS,
  WS_OFFERS_PER_ANNOUNCE,
  WS_RECONNECT_MS,
} from '../shared/limits.js';
import { type BrowserWebSocket, randomBytes, WS_OPEN, webSocket } from './dom.js';
import type { BrowserRtc, RtcOffer, RtcStream } from './rtc.js';

export interface BrowserWsTrackerInit {
  readonly url: string;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly rtc: BrowserRtc;
  getStats(): { uploaded: number; downloaded: number; left: number };
  /** How many more peers the torrent wants now (0: make no offers). */
  wantedPeers(): number;
  onStream(stream: RtcStream, peerId: Uint8Array): void;
  onWarning?(message: string): void;
}

export class BrowserWsTracker {
  readonly #init: BrowserWsTrackerInit;
  #ws: BrowserWebSocket | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #intervalS = 120;
  #started = false;
  #stopped = false;
  readonly #offers = new Map<string, RtcOffer>();
  /** Each pending offer's expiry. */
  readonly #offerTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Announces the tracker answered. */
  announces = 0;

  constructor(init: BrowserWsTrackerInit) {
    this.#init = init;
  }

  start(): void {
    this.#connect();
  }

  /** Announces now (e.g. `completed`). */
  announce(event?: string): void {
    void this.#announce(event);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    const ws = this.#ws;
    if (ws?.readyState === WS_OPEN) {
      ws.send(
        encodeWsAnnounce({
          infoHash: this.#init.infoHash,
          peerId: this.#init.peerId,
          numwant: 0,
          ...this.#init.getStats(),
          event: 'stopped',
          offers: [],
        }),
      );
    }
    ws?.close();
    for (const o of this.#offers.values()) o.cancel();
    this.#offers.clear();
    for (const t of this.#offerTimers.values()) clearTimeout(t);
    this.#offerTimers.clear();
  }

  #warn(m: string): void {
    this.#init.onWarning?.(`${this.#init.url}: ${m}`);
  }

  #connect(): void {
    if (this.#stopped) return;
    let ws: BrowserWebSocket;
    try {
      ws = new (webSocket())(this.#init.url);
    } catch (e) {
      this.#warn((e as Error).message);
      return;
    }
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      void this.#announce(this.#started ? undefined : 'started');
      this.#started = true;
    };
    ws.onmessage = (e) => this.#onMessage(e.data);
    ws.onerror = () => this.#warn('WebSocket error');
    ws.onclose = () => {
      if (this.#stopped || this.#ws !== ws) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#connect(), WS_RECONNECT_MS);
    };
  }

  async #announce(event?: string): Promise<void> {
    const ws = this.#ws;
    if (this.#stopped || ws === undefined || ws.readyState !== WS_OPEN) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#announce(), this.#intervalS * 1000);
    const n = Math.min(
      WS_OFFERS_PER_ANNOUNCE,
      MAX_WS_OFFERS_PER_ANNOUNCE,
      Math.max(0, this.#init.wantedPeers()),
    );
    const made = await Promise.allSettled(Array.from({ length: n }, () => this.#init.rtc.offer()));
    const offers: WsOffer[] = [];
    for (const r of made) {
      if (r.status === 'rejected') {
        this.#warn(`WebRTC offer: ${(r.reason as Error).message}`);
        continue;
      }
      const offerId = randomBytes(20);
      const key = toHex(offerId);
      this.#offers.set(key, r.value);
      this.#offerTimers.set(
        key,
        setTimeout(() => {
          this.#offerTimers.delete(key);
          if (this.#offers.get(key) === r.value) {
            this.#offers.delete(key);
            r.value.cancel();
          }
        }, WS_OFFER_TIMEOUT_MS),
      );
      offers.push({ offerId, sdp: r.value.sdp });
    }
    if (this.#stopped || ws.readyState !== WS_OPEN) {
      for (const o of offers) this.#offers.get(toHex(o.offerId))?.cancel();
      return;
    }
    ws.send(
      encodeWsAnnounce({
        infoHash: this.#init.infoHash,
        peerId: this.#init.peerId,
        numwant: offers.length,
        ...this.#init.getStats(),
        ...(event !== undefined ? { event } : {}),
        offers,
      }),
    );
  }

  #onMessage(data: unknown): void {
    let text: string | Uint8Array;
    if (typeof data === 'string') text = data;
    else if (data instanceof ArrayBuffer) text = new Uint8Array(data);
    else return;
    if (text.length > MAX_WS_TRACKER_MESSAGE_BYTES) {
      this.#warn('message too long');
      return;
    }
    let m: ReturnType<typeof parseWsServerMessage>;
    try {
      m = parseWsServerMessage(text);
    } catch (e) {
      this.#warn((e as Error).message);
      return;
    }
    const mine = (h: Uint8Array) => bytesEqual(h, this.#init.infoHash);
    switch (m.kind) {
      case 'announced':
        if (!mine(m.infoHash)) return;
        this.announces++;
        if (m.intervalS !== undefined) this.#intervalS = Math.max(WS_MIN_ANNOUNCE_INTERVAL_S, m.intervalS);
        return;
      case 'failure':
        this.#warn(m.reason);
        return;
      case 'offer': {
        if (!mine(m.infoHash) || bytesEqual(m.peerId, this.#init.peerId)) return;
        const { peerId, offerId, sdp } = m;
        this.#init.rtc.answer(sdp).then(
          (made) => {
            const ws = this.#ws;
            if (this.#stopped || ws === undefined || ws.readyState !== WS_OPEN) {
              void made.stream.then((s) => s.close()).catch(() => {});
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
              (s) => (this.#stopped ? s.close() : this.#init.onStream(s, peerId)),
              () => {},
            );
          },
          (e: Error) => this.#warn(`WebRTC offer refused: ${e.message}`),
        );
        return;
      }
      case 'answer': {
        if (!mine(m.infoHash)) return;
        const key = toHex(m.offerId);
        const pending = this.#offers.get(key);
        if (pending === undefined) return;
        this.#offers.delete(key);
        clearTimeout(this.#offerTimers.get(key));
        this.#offerTimers.delete(key);
        const peerId = m.peerId;
        pending.accept(m.sdp).then(
          (s) => (this.#stopped ? s.close() : this.#init.onStream(s, peerId)),
          (e: Error) => this.#warn(`WebRTC answer: ${e.message}`),
        );
        return;
      }
      default:
        return;
    }
  }
}
