/**
 * WebRTC data channels as {@link PeerStream}s, the way WebTorrent carries BitTorrent: one
 * reliable, ordered data channel per peer, the plain wire bytes sent as binary messages (no MSE,
 * no framing of its own: message boundaries mean nothing, the wire's own length prefixes do).
 *
 * WebRTC is not dialled by address: two peers exchange an SDP offer and answer through a
 * signalling channel (the WebSocket tracker, src/discovery/tracker-ws.ts) and then connect to
 * each other's ICE candidates. So this module gives the two halves of that exchange
 * ({@link WebRtc.offer}, {@link WebRtc.answer}); each ends in an open {@link WebRtcStream}.
 * Candidates are gathered before the description is handed out (no trickle): WebTorrent's
 * tracker carries one offer and one answer per peer, nothing after.
 *
 * The library (`node-datachannel`, libdatachannel) is loaded on first use with a dynamic import:
 * Shoal runs without it, and {@link loadWebRtc} then says so (undefined).
 *
 * Back-pressure: writes queue in the data channel (`bufferedAmount`); above
 * {@link WEBRTC_WRITE_HIGH_WATER_BYTES} a write returns false and `drain` follows when the
 * channel's buffered-amount-low event fires. Reads cannot be paused on a data channel, so a
 * paused stream keeps what arrives, up to {@link MAX_WEBRTC_PAUSED_BYTES}, and fails beyond
 * (an honest peer only sends what we asked for).
 */
import type { DataChannel, default as NodeDataChannel, PeerConnection } from 'node-datachannel';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import {
  MAX_SDP_BYTES,
  MAX_WEBRTC_PAUSED_BYTES,
  MAX_WEBRTC_PEER_CONNECTIONS,
  WEBRTC_CONNECT_TIMEOUT_MS,
  WEBRTC_GATHER_TIMEOUT_MS,
  WEBRTC_MESSAGE_BYTES,
  WEBRTC_WRITE_HIGH_WATER_BYTES,
} from '../shared/limits.js';
import type { PeerStream, StreamHandlers, TransportKind } from './transport.js';

/** The node-datachannel module. */
type Lib = typeof NodeDataChannel;

/** ICE and binding settings of every peer connection. */
export interface WebRtcConfig {
  /**
   * STUN/TURN servers in libdatachannel's URL form: `stun:host:port`,
   * `turn:user:password@host:port`. None: host candidates only.
   * @default []
   */
  readonly iceServers?: readonly string[];
  /** Local address ICE binds to (tests use 127.0.0.1). @default all interfaces */
  readonly bindAddress?: string;
  /** Most live peer connections. @default MAX_WEBRTC_PEER_CONNECTIONS */
  readonly maxPeerConnections?: number;
}

/** Peer connection names are process-wide in the library: one counter for every node. */
let pcSeq = 0;

/**
 * Open {@link WebRtc} factories in the process. The library keeps the event loop alive while it
 * has peer connections; once the last factory closes, its `cleanup()` lets the process exit.
 */
let openFactories = 0;

let loaded: Promise<Lib | undefined> | undefined;

/** node-datachannel, or undefined when it is not installed (or does not load on this system). */
export function loadWebRtcLibrary(): Promise<Lib | undefined> {
  loaded ??= import('node-datachannel').then(
    (m) => (m as { default: Lib }).default,
    () => undefined,
  );
  return loaded;
}

/**
 * Whether node-datachannel is installed (resolvable), without loading it: loading maps a 10 MB
 * native library, which a node that never meets a WebRTC peer should not pay for.
 */
export function webRtcInstalled(): boolean {
  try {
    import.meta.resolve('node-datachannel');
    return true;
  } catch {
    return false;
  }
}

/** WebRTC for a node, or undefined when the library is missing. */
export async function loadWebRtc(config: WebRtcConfig = {}): Promise<WebRtc | undefined> {
  const lib = await loadWebRtcLibrary();
  return lib === undefined ? undefined : new WebRtc(lib, config);
}

/**
 * A node's WebRTC, loaded on the first {@link LazyWebRtc.get}: a node that never meets a WebRTC
 * peer never maps the library. After {@link LazyWebRtc.close} it gives undefined, and a load
 * still under way is closed as it finishes.
 */
export class LazyWebRtc {
  readonly #config: WebRtcConfig;
  #load: Promise<WebRtc | undefined> | undefined;
  #closed = false;

  constructor(config: WebRtcConfig) {
    this.#config = config;
  }

  /** The factory, or undefined when the library is missing or this was closed. */
  get(): Promise<WebRtc | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    this.#load ??= loadWebRtc(this.#config).then((w) => {
      if (!this.#closed) return w;
      w?.close();
      return undefined;
    });
    return this.#load;
  }

  /** Closes the factory (now, or once its load finishes). */
  close(): void {
    this.#closed = true;
    void this.#load?.then((w) => w?.close());
  }
}

/** An offer made: its SDP to send, and what to do with the answer. */
export interface PendingOffer {
  readonly sdp: string;
  /** Applies the peer's answer; resolves with the open stream. */
  accept(answerSdp: string): Promise<WebRtcStream>;
  /** Drops the offer (no answer came). */
  cancel(): void;
}

/** An answer made to an offer: its SDP to send back, and the stream once open. */
export interface MadeAnswer {
  readonly sdp: string;
  readonly stream: Promise<WebRtcStream>;
}

function fail(code: ErrorCode, message: string): ShoalError {
  return new ShoalError(code, message, { transport: 'webrtc' });
}

/** Rejects SDP that is too long or not SDP at all, before the library parses it. */
export function checkSdp(sdp: unknown): string {
  if (typeof sdp !== 'string') throw fail(ErrorCode.NetRefused, 'SDP is not a string');
  if (Buffer.byteLength(sdp) > MAX_SDP_BYTES)
    throw fail(ErrorCode.NetLimit, `SDP longer than ${MAX_SDP_BYTES} bytes`);
  if (!sdp.startsWith('v=0')) throw fail(ErrorCode.NetRefused, 'not an SDP description');
  return sdp;
}

/** The peer-connection factory of one node; see the module notes. */
export class WebRtc {
  readonly #lib: Lib;
  readonly #config: WebRtcConfig;
  readonly #live = new Set<PeerConnection>();
  #closed = false;

  constructor(lib: Lib, config: WebRtcConfig) {
    this.#lib = lib;
    this.#config = config;
    openFactories++;
  }

  /** Peer connections alive now. */
  get liveCount(): number {
    return this.#live.size;
  }

  /** Makes an offer (a peer connection with one data channel, candidates gathered). */
  async offer(): Promise<PendingOffer> {
    const pc = this.#create();
    const channel = pc.createDataChannel('webtorrent');
    let sdp: string;
    try {
      sdp = await this.#gathered(pc);
    } catch (e) {
      this.#drop(pc);
      throw e;
    }
    let used = false;
    return {
      sdp,
      accept: (answer) => {
        if (used) return Promise.reject(fail(ErrorCode.NetRefused, 'offer already answered'));
        used = true;
        try {
          pc.setRemoteDescription(checkSdp(answer), 'answer');
        } catch (e) {
          this.#drop(pc);
          return Promise.reject(
            e instanceof ShoalError ? e : fail(ErrorCode.NetRefused, `bad answer: ${(e as Error).message}`),
          );
        }
        return this.#opened(pc, channel, true);
      },
      cancel: () => {
        if (!used) {
          safe(() => channel.close());
          this.#drop(pc);
        }
        used = true;
      },
    };
  }

  /** Answers a peer's offer. Rejects (and keeps nothing) when the offer is bad. */
  async answer(offerSdp: string): Promise<MadeAnswer> {
    checkSdp(offerSdp);
    const pc = this.#create();
    const channel = new Promise<DataChannel>((resolve) => pc.onDataChannel(resolve));
    try {
      pc.setRemoteDescription(offerSdp, 'offer');
    } catch (e) {
      this.#drop(pc);
      throw fail(ErrorCode.NetRefused, `bad offer: ${(e as Error).message}`);
    }
    let sdp: string;
    try {
      sdp = await this.#gathered(pc);
    } catch (e) {
      this.#drop(pc);
      throw e;
    }
    const stream = this.#opened(pc, channel, false);
    stream.catch(() => {}); // the caller may never wait for it
    return { sdp, stream };
  }

  /** Closes every peer connection this node has. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pc of [...this.#live]) this.#drop(pc);
    if (--openFactories === 0) this.#lib.cleanup();
  }

  #create(): PeerConnection {
    if (this.#closed) throw fail(ErrorCode.NetRefused, 'WebRTC is closed');
    const max = this.#config.maxPeerConnections ?? MAX_WEBRTC_PEER_CONNECTIONS;
    if (this.#live.size >= max) throw fail(ErrorCode.NetLimit, `${max} WebRTC peer connections live`);
    const pc = new this.#lib.PeerConnection(`shoal-${++pcSeq}`, {
      iceServers: [...(this.#config.iceServers ?? [])],
      ...(this.#config.bindAddress !== undefined ? { bindAddress: this.#config.bindAddress } : {}),
    });
    this.#live.add(pc);
    return pc;
  }

  #drop(pc: PeerConnection): void {
    if (!this.#live.delete(pc)) return;
    try {
      pc.close();
    } catch {}
  }

  /** Our description once every candidate is in it. */
  #gathered(pc: PeerConnection): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = () => {
        const d = pc.localDescription();
        if (d === null || d.sdp === '') return false;
        clearTimeout(timer);
        resolve(d.sdp);
        return true;
      };
      const timer = setTimeout(
        () => reject(fail(ErrorCode.NetTimeout, 'ICE candidates not gathered in time')),
        WEBRTC_GATHER_TIMEOUT_MS,
      );
      timer.unref();
      pc.onGatheringStateChange((state) => {
        if (state === 'complete') done();
      });
      if (pc.gatheringState() === 'complete') done();
    });
  }

  /** The stream once `channel` is open on `pc`; the peer connection is dropped on failure. */
  #opened(pc: PeerConnection, channel: DataChannel | Promise<DataChannel>, outgoing: boolean) {
    return new Promise<WebRtcStream>((resolve, reject) => {
      let settled = false;
      const give = (error: ShoalError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#drop(pc);
        reject(error);
      };
      const timer = setTimeout(
        () => give(fail(ErrorCode.NetTimeout, 'WebRTC connection not open in time')),
        WEBRTC_CONNECT_TIMEOUT_MS,
      );
      timer.unref();
      pc.onStateChange((state) => {
        if (state === 'failed' || state === 'closed')
          give(fail(ErrorCode.NetConnectFailed, `WebRTC connection ${state}`));
      });
      const ready = (dc: DataChannel) => {
        if (settled) {
          dc.close();
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(new WebRtcStream(pc, dc, outgoing, () => this.#drop(pc)));
      };
      void Promise.resolve(channel).then((dc) => {
        if (dc.isOpen()) ready(dc);
        else dc.onOpen(() => ready(dc));
      });
    });
  }
}

const NO_HANDLERS: StreamHandlers = { data: () => {}, drain: () => {}, close: () => {} };

/** One open data channel as a {@link PeerStream}. */
export class WebRtcStream implements PeerStream {
  readonly transport: TransportKind = 'webrtc';
  readonly outgoing: boolean;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly #pc: PeerConnection;
  readonly #dc: DataChannel;
  readonly #release: () => void;
  readonly #messageBytes: number;
  #handlers: StreamHandlers = NO_HANDLERS;
  #bound = false;
  #paused = true;
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #corked = 0;
  #corkedChunks: Uint8Array[] = [];
  #corkedBytes = 0;
  #closed = false;
  /** A write reported back-pressure: `drain` is owed once the queue is below the mark again. */
  #needDrain = false;

  constructor(pc: PeerConnection, dc: DataChannel, outgoing: boolean, release: () => void) {
    this.#pc = pc;
    this.#dc = dc;
    this.outgoing = outgoing;
    this.#release = release;
    const pair = safe(() => pc.getSelectedCandidatePair());
    this.remoteAddress = pair?.remote.address ?? '';
    this.remotePort = pair?.remote.port ?? 0;
    const negotiated = safe(() => dc.maxMessageSize()) ?? WEBRTC_MESSAGE_BYTES;
    this.#messageBytes = Math.max(1024, Math.min(WEBRTC_MESSAGE_BYTES, negotiated));
    dc.setBufferedAmountLowThreshold(WEBRTC_WRITE_HIGH_WATER_BYTES / 2);
    dc.onBufferedAmountLow(() => this.#maybeDrain());
    dc.onMessage((msg) => this.#onMessage(msg));
    dc.onClosed(() => this.#close());
    dc.onError((e) => this.#close(fail(ErrorCode.NetConnectFailed, `data channel: ${e}`)));
    pc.onStateChange((state) => {
      if (state === 'failed' || state === 'closed' || state === 'disconnected')
        this.#close(
          state === 'failed' ? fail(ErrorCode.NetConnectFailed, 'WebRTC connection failed') : undefined,
        );
    });
  }

  get writableLength(): number {
    if (this.#closed) return 0;
    return (safe(() => this.#dc.bufferedAmount()) ?? 0) + this.#corkedBytes;
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  bind(handlers: StreamHandlers): void {
    this.#handlers = handlers;
    if (!this.#bound) {
      this.#bound = true;
      this.resume();
    }
  }

  write(bytes: Uint8Array, onDone?: () => void): boolean {
    // `onDone` is called after this returns, as a socket's callback is: a caller may count the
    // write in flight after the call.
    if (onDone !== undefined) queueMicrotask(onDone);
    if (this.#closed) return false;
    if (this.#corked > 0) {
      // The bytes are kept until uncork: a copy, as the caller may reuse its buffer.
      this.#corkedChunks.push(Uint8Array.from(bytes));
      this.#corkedBytes += bytes.length;
      return this.#writable();
    }
    // The library copies the bytes into its own queue.
    this.#send(bytes);
    return this.#writable();
  }

  #writable(): boolean {
    const ok = this.writableLength < WEBRTC_WRITE_HIGH_WATER_BYTES;
    if (!ok) this.#needDrain = true;
    return ok;
  }

  /**
   * Says `drain` when one is owed and the queue is below the mark. The channel's
   * buffered-amount-low event only fires when its buffer *falls* past the threshold, and the
   * library often sends at once (the buffer never rose): a queue that emptied by an uncork, or
   * that never filled, must still answer a `false` from `write`.
   */
  #maybeDrain(): void {
    if (this.#closed || !this.#needDrain || this.writableLength >= WEBRTC_WRITE_HIGH_WATER_BYTES) return;
    this.#needDrain = false;
    this.#handlers.drain();
  }

  cork(): void {
    this.#corked++;
  }

  uncork(): void {
    if (this.#corked === 0) return;
    if (--this.#corked > 0) return;
    const chunks = this.#corkedChunks;
    const n = this.#corkedBytes;
    this.#corkedChunks = [];
    this.#corkedBytes = 0;
    if (chunks.length === 0 || this.#closed) return;
    this.#send(chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, n));
    if (this.#needDrain) queueMicrotask(() => this.#maybeDrain());
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (this.#closed || !this.#bound) return;
    this.#paused = false;
    while (!this.#paused && !this.#closed && this.#held.length > 0) {
      const chunk = this.#held.shift() as Uint8Array;
      this.#heldBytes -= chunk.length;
      this.#handlers.data(chunk);
    }
  }

  destroy(error?: Error): void {
    this.#close(error);
  }

  #send(bytes: Uint8Array): void {
    const step = this.#messageBytes;
    try {
      for (let i = 0; i < bytes.length; i += step)
        this.#dc.sendMessageBinary(bytes.subarray(i, Math.min(bytes.length, i + step)));
    } catch (e) {
      this.#close(fail(ErrorCode.NetConnectFailed, `data channel send: ${(e as Error).message}`));
    }
  }

  #onMessage(msg: string | Buffer | ArrayBuffer): void {
    if (this.#closed) return;
    if (typeof msg === 'string') {
      this.#close(fail(ErrorCode.NetRefused, 'text message on a BitTorrent data channel'));
      return;
    }
    const chunk = msg instanceof ArrayBuffer ? new Uint8Array(msg) : msg;
    if (!this.#paused && this.#held.length === 0) {
      this.#handlers.data(chunk);
      return;
    }
    if (this.#heldBytes + chunk.length > MAX_WEBRTC_PAUSED_BYTES) {
      this.#close(fail(ErrorCode.NetLimit, `more than ${MAX_WEBRTC_PAUSED_BYTES} bytes held while paused`));
      return;
    }
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
  }

  #close(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = [];
    this.#heldBytes = 0;
    this.#corkedChunks = [];
    safe(() => this.#dc.close());
    this.#release();
    const h = this.#handlers;
    this.#handlers = NO_HANDLERS;
    h.close(error);
  }

  /** Internal: the peer connection (tests read its state). */
  get peerConnection(): PeerConnection {
    return this.#pc;
  }
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
