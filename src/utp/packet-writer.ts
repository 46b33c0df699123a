/**
 * Builds one connection's outgoing packets: the header (reused, not allocated per packet), the
 * extensions (selective ACK, datagram-size declaration) and the payload, encoded into a buffer
 * from the connection's {@link UtpOutput} and handed to it. What goes in them — which seq, which
 * state, when — is the connection's; this file only encodes. Every packet carries the window we
 * advertise (noted as {@link Receiver.lastAdvertised}) and our latest one-way delay sample of the
 * peer's packets ({@link PacketWriter.replyMicro}).
 */
import type { UtpOutput } from './connection-types.js';
import {
  DATAGRAM_SIZE_DECLARATION_BYTES,
  EXTENSION_BITS,
  EXTENSION_SACK,
  encodeDatagramSizeDeclaration,
  encodeExtensionHeader,
  encodeHeader,
  PacketType,
  UTP_HEADER_BYTES,
  type UtpHeaderFields,
} from './packet.js';
import type { Receiver } from './receiver.js';
import type { ByteRing } from './send-buffer.js';
import { DATA_SACK_RESERVE } from './sender.js';

/** Largest selective-ACK mask on a data packet, in bytes (what {@link DATA_SACK_RESERVE} holds). */
const DATA_SACK_MAX_BYTES = 8;
/** Largest selective-ACK mask on an ST_STATE, in bytes. */
export const STATE_SACK_MAX_BYTES = 64;

/** The packet encoder of one connection. */
export class PacketWriter {
  /** Our latest one-way delay sample of the peer's packets, µs modulo 2³² (sent back to it). */
  replyMicro = 0;
  readonly #out: UtpOutput;
  readonly #rx: Receiver;
  readonly #hdr: UtpHeaderFields = {
    type: PacketType.State,
    connectionId: 0,
    timestampUs: 0,
    timestampDiffUs: 0,
    wndSize: 0,
    seqNr: 0,
    ackNr: 0,
  };

  constructor(out: UtpOutput, rx: Receiver) {
    this.#out = out;
    this.#rx = rx;
  }

  /** A SYN declaring `acceptBytes` (the largest datagram we take). */
  syn(connectionId: number, seq: number, now: number, acceptBytes: number): void {
    const h = this.#fill(PacketType.Syn, connectionId, seq, 0, now);
    const length = UTP_HEADER_BYTES + DATAGRAM_SIZE_DECLARATION_BYTES;
    const buf = this.#out.acquire(length);
    const at = encodeHeader(buf, h, EXTENSION_BITS);
    encodeDatagramSizeDeclaration(buf, at, 0, acceptBytes);
    this.#out.send(buf, length, false);
  }

  /**
   * An ST_STATE or ST_RESET, with a selective ACK of up to `sackMax` bytes when packets are
   * missing, and a datagram-size declaration of `declareBytes` unless it is 0.
   */
  control(
    type: PacketType,
    connectionId: number,
    seq: number,
    now: number,
    sackMax: number,
    declareBytes: number,
  ): void {
    const h = this.#fill(type, connectionId, seq, this.#rx.ackNr, now);
    const sackLen = sackMax > 0 ? this.#rx.sackBytes(sackMax) : 0;
    const declare = declareBytes > 0;
    const buf = this.#out.acquire(
      UTP_HEADER_BYTES + (sackLen > 0 ? 2 + sackLen : 0) + (declare ? DATAGRAM_SIZE_DECLARATION_BYTES : 0),
    );
    let at: number;
    if (declare) {
      at = encodeHeader(buf, h, EXTENSION_BITS);
      at = encodeDatagramSizeDeclaration(buf, at, sackLen > 0 ? EXTENSION_SACK : 0, declareBytes);
      at = this.#sack(buf, at, sackLen);
    } else {
      at = this.#sack(buf, encodeHeader(buf, h, sackLen > 0 ? EXTENSION_SACK : 0), sackLen);
    }
    this.#out.send(buf, at, false);
  }

  /** A data or FIN packet carrying `ring[start, start + length)`; `probe` marks a path-MTU probe. */
  data(
    type: PacketType,
    connectionId: number,
    seq: number,
    now: number,
    ring: ByteRing,
    start: number,
    length: number,
    probe: boolean,
  ): void {
    const h = this.#fill(type, connectionId, seq, this.#rx.ackNr, now);
    const sackLen = this.#rx.sackBytes(DATA_SACK_MAX_BYTES);
    const buf = this.#out.acquire(UTP_HEADER_BYTES + DATA_SACK_RESERVE + length);
    const at = this.#sack(buf, encodeHeader(buf, h, sackLen > 0 ? EXTENSION_SACK : 0), sackLen);
    if (length > 0) ring.copyOut(start, length, buf, at);
    this.#out.send(buf, at + length, probe);
  }

  #fill(type: PacketType, connectionId: number, seq: number, ack: number, now: number): UtpHeaderFields {
    const h = this.#hdr;
    h.type = type;
    h.connectionId = connectionId;
    h.seqNr = seq;
    h.ackNr = ack;
    h.timestampUs = Math.floor(now * 1000) >>> 0;
    h.timestampDiffUs = this.replyMicro;
    h.wndSize = this.#rx.window;
    this.#rx.lastAdvertised = h.wndSize;
    return h;
  }

  /** Writes the selective-ACK extension (the last of the chain) at `at` when `len` > 0. */
  #sack(buf: Uint8Array, at: number, len: number): number {
    if (len === 0) return at;
    const p = encodeExtensionHeader(buf, at, 0, len);
    this.#rx.writeSack(buf, p, len);
    return p + len;
  }
}
