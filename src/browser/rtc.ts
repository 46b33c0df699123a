/**
 * WebRTC in a web page (`RTCPeerConnection`), the browser twin of src/net/webrtc-transport.ts:
 * one reliable, ordered data channel per peer carrying the plain wire bytes as binary messages,
 * as WebTorrent frames them. Candidates are gathered before a description is handed out (no
 * trickle: WebTorrent's tracker carries one offer and one answer per peer).
 *
 * Back-pressure: {@link RtcStream.write} returns false once the channel holds
 * {@link WEBRTC_WRITE_HIGH_WATER_BYTES}; `drain` follows the channel's buffered-amount-low event.
 */
import { ErrorCode, ShoalError } from '../shared/errors.js';
import {
  MAX_SDP_BYTES,
  MAX_WEBRTC_PEER_CONNECTIONS,
  WEBRTC_CONNECT_TIMEOUT_MS,
  WEBRTC_GATHER_TIMEOUT_MS,
  WEBRTC_MESSAGE_BYTES,
  WEBRTC_WRITE_HIGH_WATER_BYTES,
} from '../shared/limits.js';
import {
  type RtcConfiguration,
  type RtcDataChannel,
  type RtcPeerConnection,
  rtcPeerConnection,
} from './dom.js';

function fail(code: ErrorCode, message: string): ShoalError {
  return new ShoalError(code, message, { transport: 'webrtc' });
}

/** Rejects SDP that is too long or not SDP, before the browser parses it. */
function checkSdp(sdp: string): string {
  if (sdp.length > MAX_SDP_BYTES) throw fail(ErrorCode.NetLimit, `SDP longer than ${MAX_SDP_BYTES} bytes`);
  if (!sdp.startsWith('v=0')) throw fail(ErrorCode.NetRefused, 'not an SDP description');
  return sdp;
}

/** What a stream tells its owner. */
export interface RtcStreamHandlers {
  data(chunk: Uint8Array): void;
  drain(): void;
  close(error?: ShoalError): void;
}

/** One open data channel. */
export class RtcStream {
  readonly #pc: RtcPeerConnection;
  readonly #dc: RtcDataChannel;
  #handlers: RtcStreamHandlers | undefined;
  #held: Uint8Array[] = [];
  #closed = false;

  constructor(pc: RtcPeerConnection, dc: RtcDataChannel) {
    this.#pc = pc;
    this.#dc = dc;
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = WEBRTC_WRITE_HIGH_WATER_BYTES / 2;
    dc.onbufferedamountlow = () => this.#handlers?.drain();
    dc.onmessage = (e) => {
      if (typeof e.data === 'string') return; // the wire is binary; text means nothing here
      const chunk = new Uint8Array(e.data);
      if (this.#handlers === undefined) this.#held.push(chunk);
      else this.#handlers.data(chunk);
    };
    dc.onclose = () => this.close();
    dc.onerror = () => this.close(fail(ErrorCode.NetConnectFailed, 'data channel error'));
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      if (s === 'failed' || s === 'closed' || s === 'disconnected')
        this.close(s === 'failed' ? fail(ErrorCode.NetConnectFailed, 'WebRTC connection failed') : undefined);
    };
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  /** Starts delivering data (what arrived before is delivered first). */
  bind(handlers: RtcStreamHandlers): void {
    this.#handlers = handlers;
    const held = this.#held;
    this.#held = [];
    for (const c of held) handlers.data(c);
  }

  /** Queues `data` (copied by the browser); false once the channel is above its high-water mark. */
  write(data: Uint8Array): boolean {
    if (this.#closed) return false;
    for (let at = 0; at < data.length; at += WEBRTC_MESSAGE_BYTES) {
      this.#dc.send(data.subarray(at, Math.min(data.length, at + WEBRTC_MESSAGE_BYTES)));
    }
    return this.#dc.bufferedAmount < WEBRTC_WRITE_HIGH_WATER_BYTES;
  }

  get writableLength(): number {
    return this.#closed ? 0 : this.#dc.bufferedAmount;
  }

  close(error?: ShoalError): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#dc.close();
      this.#pc.close();
    } catch {}
    this.#handlers?.close(error);
  }
}

/** An offer made: its SDP, and what to do with the answer. */
export interface RtcOffer {
  readonly sdp: string;
  accept(answerSdp: string): Promise<RtcStream>;
  cancel(): void;
}

/** A page's peer-connection factory. */
export class BrowserRtc {
  readonly #config: RtcConfiguration;
  readonly #live = new Set<RtcPeerConnection>();

  /** @param iceServers STUN/TURN servers (`stun:host:port`); none: host candidates only. */
  constructor(iceServers: RtcConfiguration['iceServers'] = []) {
    this.#config = { iceServers };
  }

  get liveCount(): number {
    return this.#live.size;
  }

  async offer(): Promise<RtcOffer> {
    const pc = this.#create();
    const dc = pc.createDataChannel('webtorrent');
    let sdp: string;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      sdp = await gathered(pc);
    } catch (e) {
      this.#drop(pc);
      throw e;
    }
    let used = false;
    return {
      sdp,
      accept: async (answer) => {
        if (used) throw fail(ErrorCode.NetRefused, 'offer already answered');
        used = true;
        try {
          await pc.setRemoteDescription({ type: 'answer', sdp: checkSdp(answer) });
        } catch (e) {
          this.#drop(pc);
          throw e instanceof ShoalError
            ? e
            : fail(ErrorCode.NetRefused, `bad answer: ${(e as Error).message}`);
        }
        return this.#opened(pc, Promise.resolve(dc));
      },
      cancel: () => {
        if (!used) this.#drop(pc);
        used = true;
      },
    };
  }

  async answer(offerSdp: string): Promise<{ sdp: string; stream: Promise<RtcStream> }> {
    checkSdp(offerSdp);
    const pc = this.#create();
    const dc = new Promise<RtcDataChannel>((resolve) => {
      pc.ondatachannel = (e) => resolve(e.channel);
    });
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      await pc.setLocalDescription(await pc.createAnswer());
      const sdp = await gathered(pc);
      const stream = this.#opened(pc, dc);
      stream.catch(() => {});
      return { sdp, stream };
    } catch (e) {
      this.#drop(pc);
      throw e instanceof ShoalError ? e : fail(ErrorCode.NetRefused, `bad offer: ${(e as Error).message}`);
    }
  }

  close(): void {
    for (const pc of [...this.#live]) this.#drop(pc);
  }

  #create(): RtcPeerConnection {
    if (this.#live.size >= MAX_WEBRTC_PEER_CONNECTIONS)
      throw fail(ErrorCode.NetLimit, `${MAX_WEBRTC_PEER_CONNECTIONS} WebRTC peer connections being set up`);
    const pc = new (rtcPeerConnection())(this.#config);
    this.#live.add(pc);
    return pc;
  }

  #drop(pc: RtcPeerConnection): void {
    if (!this.#live.delete(pc)) return;
    try {
      pc.close();
    } catch {}
  }

  #opened(pc: RtcPeerConnection, channel: Promise<RtcDataChannel>): Promise<RtcStream> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const give = (e: ShoalError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#drop(pc);
        reject(e);
      };
      const timer = setTimeout(
        () => give(fail(ErrorCode.NetTimeout, 'WebRTC connection not open in time')),
        WEBRTC_CONNECT_TIMEOUT_MS,
      );
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === 'failed' || pc.connectionState === 'closed')
          give(fail(ErrorCode.NetConnectFailed, `WebRTC connection ${pc.connectionState}`));
      };
      void channel.then((dc) => {
        const ready = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          // The stream owns the connection from here; it leaves the live set when it closes.
          this.#live.delete(pc);
          resolve(new RtcStream(pc, dc));
        };
        if (dc.readyState === 'open') ready();
        else dc.onopen = ready;
      });
    });
  }
}

/** Our description once ICE gathering is complete. */
function gathered(pc: RtcPeerConnection): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      clearTimeout(timer);
      const d = pc.localDescription;
      if (d === null) reject(fail(ErrorCode.NetRefused, 'no local description'));
      else resolve(d.sdp);
    };
    const timer = setTimeout(
      () => reject(fail(ErrorCode.NetTimeout, 'ICE candidates not gathered in time')),
      WEBRTC_GATHER_TIMEOUT_MS,
    );
    pc.onicegatheringstatechange = done;
    done();
  });
}
