/**
 * The types around one uTP connection: its states, events, outputs, handlers and options
 * (the contract between {@link UtpConnection}, its endpoint and the runtime).
 */
import type { UtpConnection } from './connection.js';
import type { UtpError } from './errors.js';

/** The states of a connection. */
export type UtpState = 'syn-sent' | 'syn-recv' | 'connected' | 'fin-sent' | 'closed' | 'reset';

/** Why a connection ended. */
export type UtpCloseReason =
  /** Both directions finished (FINs exchanged, or ours acknowledged and the linger passed). */
  | 'end'
  /** The peer sent ST_RESET. */
  | 'reset'
  /** We destroyed the connection (an ST_RESET went out). */
  | 'destroyed'
  /** The dial, a retransmission or the idle timer timed out. */
  | 'timeout';

/** What a connection reports. */
export type UtpEvent =
  | { readonly type: 'connected' }
  /** The send buffer has room again after a {@link UtpConnection.write} accepted less than asked. */
  | { readonly type: 'writable' }
  /** The peer's FIN arrived and every byte before it was delivered. */
  | { readonly type: 'end' }
  | { readonly type: 'closed'; readonly reason: UtpCloseReason; readonly error?: UtpError };

/** Where a connection's datagrams go. */
export interface UtpOutput {
  /** A buffer of at least `bytes` bytes to encode one datagram into; it comes back in {@link send}. */
  acquire(bytes: number): Uint8Array;
  /** Sends `datagram[0, length)`. `probe`: a path-MTU probe (must not be fragmented, may be lost). */
  send(datagram: Uint8Array, length: number, probe: boolean): void;
}

/** Where a connection's bytes and events go. */
export interface UtpConnectionHandlers {
  /** In-order bytes `bytes[offset, offset + length)`, valid only during the call. */
  data(bytes: Uint8Array, offset: number, length: number): void;
  event(e: UtpEvent): void;
}

/** The endpoint's view of its connections (so they can ask to be flushed and be forgotten). */
export interface UtpConnectionOwner {
  /** The connection has output pending (a write, a close, consumed bytes). */
  wake(c: UtpConnection): void;
  /** The connection reached a terminal state. */
  closed(c: UtpConnection): void;
}

/** Options of one connection. */
export interface UtpConnectionOptions {
  /** Most bytes written and not yet acknowledged. @default UTP_SEND_BUFFER_BYTES */
  readonly sendBufferBytes?: number;
  /** Most bytes received and not yet consumed by the reader. @default UTP_RECEIVE_BUFFER_BYTES */
  readonly receiveBufferBytes?: number;
  /** Ceiling of path-MTU probing, in datagram bytes. @default UTP_DEFAULT_MAX_DATAGRAM_BYTES */
  readonly maxDatagramBytes?: number;
  /** Floor of path-MTU probing (a size assumed to pass), in datagram bytes. @default UTP_MIN_DATAGRAM_BYTES */
  readonly minDatagramBytes?: number;
  /**
   * Ceiling of path-MTU probing toward a peer that declares (`EXTENSION_DATAGRAM_SIZE` in packet.ts, on
   * the SYN or its answer) that it takes datagrams this large; 0 or below `maxDatagramBytes`: no
   * raise. The runtime sets it per remote address (a loopback path carries 64 KiB). @default 0
   */
  readonly largeDatagramBytes?: number;
  /** Probe the path MTU; without probing every packet has `maxDatagramBytes`. @default true */
  readonly mtuProbing?: boolean;
  /** LEDBAT target delay, in ms. @default UTP_TARGET_DELAY_MS */
  readonly targetDelayMs?: number;
}

/** Counters of one connection. */
export interface UtpConnectionStats {
  packetsSent: number;
  packetsResent: number;
  packetsReceived: number;
  bytesDelivered: number;
  timeouts: number;
  fastRetransmits: number;
}

/** How a connection starts. */
export interface UtpConnectionInit {
  /** The id our peer puts in the packets it sends us. */
  readonly recvId: number;
  /** The id we put in the packets we send. */
  readonly sendId: number;
  /** Our first sequence number (the SYN's when dialling, the first data packet's when accepting). */
  readonly initialSeq: number;
}
