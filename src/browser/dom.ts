/**
 * The little of the browser's WebRTC and WebSocket APIs the bundle uses, typed here: the project
 * compiles against Node's types, without the DOM library. Each constructor is looked up on
 * `globalThis` when used, so importing the bundle's modules in Node (tests) costs nothing.
 */

export interface RtcSessionDescription {
  readonly type: 'offer' | 'answer';
  readonly sdp: string;
}

export interface RtcDataChannel {
  binaryType: 'arraybuffer' | 'blob';
  readonly readyState: 'connecting' | 'open' | 'closing' | 'closed';
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  onerror: ((e: unknown) => void) | null;
  onmessage: ((e: { readonly data: ArrayBuffer | string }) => void) | null;
  onbufferedamountlow: (() => void) | null;
  send(data: Uint8Array): void;
  close(): void;
}

export interface RtcPeerConnection {
  readonly localDescription: RtcSessionDescription | null;
  readonly iceGatheringState: 'new' | 'gathering' | 'complete';
  readonly connectionState: string;
  onicegatheringstatechange: (() => void) | null;
  onconnectionstatechange: (() => void) | null;
  ondatachannel: ((e: { readonly channel: RtcDataChannel }) => void) | null;
  createDataChannel(label: string): RtcDataChannel;
  createOffer(): Promise<RtcSessionDescription>;
  createAnswer(): Promise<RtcSessionDescription>;
  setLocalDescription(d: RtcSessionDescription): Promise<void>;
  setRemoteDescription(d: RtcSessionDescription): Promise<void>;
  close(): void;
}

export interface RtcConfiguration {
  readonly iceServers: readonly {
    readonly urls: string | readonly string[];
    readonly username?: string;
    readonly credential?: string;
  }[];
}

export type RtcPeerConnectionConstructor = new (config: RtcConfiguration) => RtcPeerConnection;

export interface BrowserWebSocket {
  readonly readyState: number;
  binaryType: string;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  onerror: (() => void) | null;
  onmessage: ((e: { readonly data: unknown }) => void) | null;
  send(text: string): void;
  close(): void;
}

export type WebSocketConstructor = new (url: string) => BrowserWebSocket;

/** `WebSocket.OPEN`. */
export const WS_OPEN = 1;

function global<T>(name: string): T {
  const v = (globalThis as Record<string, unknown>)[name];
  if (v === undefined) throw new Error(`${name} is not available here`);
  return v as T;
}

export const rtcPeerConnection = (): RtcPeerConnectionConstructor => global('RTCPeerConnection');
export const webSocket = (): WebSocketConstructor => global('WebSocket');

/** Random bytes from the platform (`crypto.getRandomValues`, in browsers and Node). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  (
    globalThis as unknown as { crypto: { getRandomValues(a: Uint8Array): Uint8Array } }
  ).crypto.getRandomValues(out);
  return out;
}
