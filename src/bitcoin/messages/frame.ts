/**
 * DEV DOCS — the Bitcoin P2P frame: encoder and streaming decoder.
 *
 * Frame layout (24-byte header, then the payload):
 *
 *   magic [4] | command [12] ASCII, NUL-padded | payload length u32 LE | checksum [4] | payload
 *
 * The checksum is the first 4 bytes of SHA-256d(payload).
 *
 * The decoder turns a connection's bytes, in chunks split anywhere, into messages. It is pure:
 * the connection adapter pushes socket chunks and hands the messages to the node.
 *
 *   header ──24 bytes──► (checks) ──► payload ──length bytes──► (checksum, decode) ──► header
 *   any violation ──► failed (terminal: every later push throws the same error)
 *
 * Invariants:
 * - Bounded memory: the declared length is checked against the command's own bound
 *   ({@link maxPayloadBytes}) and the decoder's `maxPayloadBytes` before a payload byte is
 *   buffered; a partial frame holds at most 24 + that many bytes.
 * - Checks before decoding: the magic (another network's peer), the command (printable ASCII then
 *   only NULs, as Bitcoin Core requires), the length, then the checksum. A failed check throws a
 *   `BtcError` carrying the stream offset of the frame's first byte and its command.
 * - The payload is copied once into a buffer the decoder owns, so decoded messages may keep views
 *   of it and the caller may reuse its chunks.
 */
import { ErrorCode } from '../../shared/errors.js';
import { bytesEqual } from '../../shared/hash.js';
import { BTC_MAX_MESSAGE_BYTES } from '../../shared/limits.js';
import { sha256d } from '../crypto/hashes.js';
import { BtcError } from '../errors.js';
import { decodePayload, encodePayload, maxPayloadBytes } from './payload.js';
import type { BtcMessage } from './types.js';

/** Size of a frame header, in bytes. */
export const FRAME_HEADER_BYTES = 24;
const COMMAND_BYTES = 12;

/** The frame of `msg` for a network whose message start is `magic`. */
export function encodeMessage(magic: Uint8Array, msg: BtcMessage): Uint8Array {
  const { command, payload } = encodePayload(msg);
  return encodeFrame(magic, command, payload);
}

/** A frame around an already encoded payload. */
export function encodeFrame(magic: Uint8Array, command: string, payload: Uint8Array): Uint8Array {
  if (magic.length !== 4) throw new RangeError('magic is 4 bytes');
  if (command.length > COMMAND_BYTES || !/^[\x21-\x7e]*$/.test(command)) {
    throw new BtcError(
      ErrorCode.BtcBadCommand,
      `command ${JSON.stringify(command.slice(0, 20))} is not 1-12 printable ASCII characters`,
    );
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  out.set(magic, 0);
  for (let i = 0; i < command.length; i++) out[4 + i] = command.charCodeAt(i);
  new DataView(out.buffer).setUint32(16, payload.length, true);
  out.set(sha256d(payload).subarray(0, 4), 20);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** Options of a {@link BtcFrameDecoder}. */
export interface BtcFrameDecoderOptions {
  /** The network's message start; frames with another are refused (`BtcBadMagic`). */
  readonly magic: Uint8Array;
  /** Largest payload accepted for any command, in bytes. @default BTC_MAX_MESSAGE_BYTES */
  readonly maxPayloadBytes?: number;
}

type State = 'header' | 'payload' | 'failed';

/** Incremental, bounded decoder of one connection's P2P byte stream. */
export class BtcFrameDecoder {
  readonly magic: Uint8Array;
  readonly maxPayloadBytes: number;
  #state: State = 'header';
  #error: BtcError | undefined;
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  #command = '';
  #payload: Uint8Array = new Uint8Array(0);
  #payloadFill = 0;
  /** Stream offset of the current chunk's first byte, and of the current frame. */
  #base = 0;
  #frameStart = 0;

  constructor(options: BtcFrameDecoderOptions) {
    if (options.magic.length !== 4) throw new RangeError('magic is 4 bytes');
    const max = options.maxPayloadBytes ?? BTC_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(max) || max < 0 || max > 0xffffffff)
      throw new RangeError(`maxPayloadBytes out of range: ${max}`);
    this.magic = options.magic.slice();
    this.maxPayloadBytes = max;
  }

  /** The error that stopped the decoder, if any. */
  get error(): BtcError | undefined {
    return this.#error;
  }

  /** Stream bytes consumed so far. */
  get bytesConsumed(): number {
    return this.#base;
  }

  /** Bytes held for the frame not complete yet. */
  get bufferedBytes(): number {
    return this.#state === 'header'
      ? this.#headerFill
      : this.#state === 'payload'
        ? FRAME_HEADER_BYTES + this.#payloadFill
        : 0;
  }

  /**
   * Feeds the next chunk and returns the messages it completed, in order. Throws `BtcError`
   * (`BtcBadMagic`, `BtcBadCommand`, `BtcFrameTooLarge`, `BtcBadChecksum`, or a payload decoding
   * error); the decoder then stays failed and rethrows it on every later call.
   */
  push(chunk: Uint8Array): BtcMessage[] {
    if (this.#error !== undefined) throw this.#error;
    const out: BtcMessage[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#state === 'header') {
        if (this.#headerFill === 0) this.#frameStart = this.#base + pos;
        const take = Math.min(FRAME_HEADER_BYTES - this.#headerFill, chunk.length - pos);
        this.#header.set(chunk.subarray(pos, pos + take), this.#headerFill);
        // Check the magic as soon as its bytes are here: a stranger is refused early.
        const magicEnd = Math.min(4, this.#headerFill + take);
        for (let i = this.#headerFill; i < magicEnd; i++) {
          if (this.#header[i] !== this.magic[i]) this.#fail(ErrorCode.BtcBadMagic, 'wrong network magic');
        }
        this.#headerFill += take;
        pos += take;
        if (this.#headerFill === FRAME_HEADER_BYTES) this.#startPayload(out);
      } else {
        const take = Math.min(this.#payload.length - this.#payloadFill, chunk.length - pos);
        this.#payload.set(chunk.subarray(pos, pos + take), this.#payloadFill);
        this.#payloadFill += take;
        pos += take;
        if (this.#payloadFill === this.#payload.length) this.#finishFrame(out);
      }
    }
    this.#base += chunk.length;
    return out;
  }

  #startPayload(out: BtcMessage[]): void {
    const h = this.#header;
    let command = '';
    let ended = false;
    for (let i = 4; i < 4 + COMMAND_BYTES; i++) {
      const c = h[i]!;
      if (c === 0) ended = true;
      else if (ended || c < 0x20 || c > 0x7e)
        this.#fail(ErrorCode.BtcBadCommand, 'command is not printable ASCII padded with NULs');
      else command += String.fromCharCode(c);
    }
    this.#command = command;
    const length = new DataView(h.buffer).getUint32(16, true);
    const max = Math.min(this.maxPayloadBytes, maxPayloadBytes(command));
    if (length > max)
      this.#fail(ErrorCode.BtcFrameTooLarge, `payload of ${length} bytes exceeds ${max} for "${command}"`);
    this.#payload = new Uint8Array(length);
    this.#payloadFill = 0;
    this.#state = 'payload';
    if (length === 0) this.#finishFrame(out);
  }

  #finishFrame(out: BtcMessage[]): void {
    const payload = this.#payload;
    const check = sha256d(payload).subarray(0, 4);
    if (!bytesEqual(check, this.#header.subarray(20, 24)))
      this.#fail(ErrorCode.BtcBadChecksum, 'checksum mismatch');
    let msg: BtcMessage;
    try {
      msg = decodePayload(this.#command, payload);
    } catch (e) {
      if (!(e instanceof BtcError)) throw e;
      this.#fail(e.code, e.message, e);
    }
    out.push(msg!);
    this.#headerFill = 0;
    this.#payload = new Uint8Array(0);
    this.#state = 'header';
  }

  #fail(code: ErrorCode, reason: string, cause?: unknown): never {
    const command = this.#headerFill === FRAME_HEADER_BYTES ? this.#command : undefined;
    const err = new BtcError(
      code,
      `${command === undefined ? '' : `${command}: `}${reason} (frame at stream byte ${this.#frameStart})`,
      command === undefined ? { offset: this.#frameStart } : { offset: this.#frameStart, command },
      cause === undefined ? undefined : { cause },
    );
    this.#error = err;
    this.#state = 'failed';
    this.#payload = new Uint8Array(0);
    throw err;
  }
}
