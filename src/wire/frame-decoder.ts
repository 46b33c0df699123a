/**
 * DEV DOCS — the streaming peer-wire frame decoder (BEP 3 §peer protocol).
 *
 * What it owns: turning the bytes of one peer connection, as they arrive in chunks split at any
 * position, into {@link WireMessage}s. It is pure: no sockets, no timers. The connection adapter
 * feeds it `socket 'data'` chunks and hands the messages to the engine.
 *
 * States (a string-literal union, one exhaustive switch):
 *
 *   handshake ──68 bytes──► prefix ──4 bytes──► id ──1 byte──► body ──payload──► prefix
 *                             │ length 0: keep-alive        └─ unknown id ─► skip ─► prefix
 *   any violation ─► failed (terminal: every later push throws the same WireError)
 *
 * Invariants:
 * - Bounded memory. A frame's length prefix is checked against `maxMessageBytes` before its id is
 *   read, and against its id's own rule ({@link checkFrameLength}: exact sizes, MAX_BLOCK_BYTES,
 *   MAX_BITFIELD_BYTES, MAX_EXTENDED_PAYLOAD_BYTES, MAX_HASHES_PER_MESSAGE) before any payload is
 *   buffered. Frames of unknown ids are skipped without being buffered, as other clients do.
 * - At most one copy of a payload. A frame wholly inside one chunk is decoded in place: its byte
 *   fields (a piece's block, a bitfield, an extended payload) are views of that chunk. A frame that
 *   straddles chunks is copied once into a buffer of exactly its size, allocated when its id is
 *   read, so a 16 KiB block arriving in 1-byte chunks costs O(n), never O(n²).
 * - Ownership: `push` takes ownership of `chunk`. Do not reuse or mutate a chunk after pushing it
 *   (Node's socket `'data'` buffers are fresh per event, so a socket adapter needs no copy).
 *   Unless the decoder was made with `borrowedChunks`: the caller may then reuse each chunk once
 *   `push` returned (a socket reading into one buffer, Node's `onread`). Every byte field is then
 *   copied out, except a `piece` message's block, which stays a view of the chunk (or of one of
 *   two reusable buffers, for a block that straddles chunks) and is valid only until the next
 *   `push`: a consumer that keeps a block longer must copy it. A `push` completes at most one
 *   frame that began in an earlier chunk (the first) and starts at most one it cannot finish
 *   (the last); straddling piece frames take the two buffers in turn, so the one a `push`
 *   returns is never the one its last frame starts filling.
 * - Errors carry the stream offset of the first byte of the offending frame (or handshake) and
 *   its message id when read. After an error the decoder refuses further input.
 * - Semantic checks that need connection state (a `have` index beyond the piece count, an
 *   unrequested `piece`, BEP 6 messages without the fast bit) belong to the engine; the decoder
 *   only checks what the bytes alone can tell, plus the bitfield size once the piece count is known.
 */
import { ErrorCode } from '../shared/errors.js';
import { MAX_BLOCK_BYTES, MAX_WIRE_MESSAGE_BYTES } from '../shared/limits.js';
import { readU32 } from './bytes.js';
import { WireError } from './errors.js';
import { decodeHandshake, HANDSHAKE_BYTES, handshakeHeaderMismatch } from './handshake.js';
import {
  checkFrameLength,
  decodePayload,
  isKnownMessageId,
  keepAlive,
  MessageId,
  validateBitfield,
  type WireMessage,
} from './messages.js';

/** Options of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * Largest length prefix accepted (id byte plus payload, in bytes). Each id also has its own,
   * usually smaller, bound.
   * @default MAX_WIRE_MESSAGE_BYTES
   */
  readonly maxMessageBytes?: number;
  /** Start by reading the 68-byte handshake (BEP 3) before the framed messages. @default false */
  readonly handshake?: boolean;
  /**
   * The caller reuses each chunk after `push` returns (see the ownership invariant): byte fields
   * are copied out, except piece blocks, which are valid until the next `push`. @default false
   */
  readonly borrowedChunks?: boolean;
  /**
   * The torrent's piece count, when known: a bitfield must then be exactly ceil(count / 8) bytes
   * with no spare bit set. Can be given later with {@link FrameDecoder.setPieceCount}.
   */
  readonly pieceCount?: number;
}

type DecoderState = 'handshake' | 'prefix' | 'id' | 'body' | 'skip' | 'failed';

/** Incremental, bounded decoder of one peer connection's byte stream. */
export class FrameDecoder {
  readonly maxMessageBytes: number;
  readonly #borrowed: boolean;
  /** Borrowed mode: the two buffers piece frames that straddle chunks are assembled in, in turn. */
  readonly #pieceBodies: Uint8Array[] = [];
  #pieceBodyTurn = 0;
  #state: DecoderState;
  #pieceCount: number | undefined;
  #error: WireError | undefined;
  /** Stream offset of the first byte of the current chunk. */
  #base = 0;
  /** Stream offset of the first byte of the frame being read. */
  #frameStart = 0;
  /** Handshake bytes gathered so far (handshake state only). */
  #hs: Uint8Array | undefined;
  #hsFill = 0;
  /** Length prefix gathered so far, and how many of its 4 bytes. */
  #prefix = 0;
  #prefixFill = 0;
  /** Current frame length (id byte plus payload) and id. */
  #frameLength = 0;
  #id = 0;
  /** Payload being assembled across chunks (body state), or bytes left to skip (skip state). */
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #skipLeft = 0;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxMessageBytes ?? MAX_WIRE_MESSAGE_BYTES;
    if (!Number.isInteger(max) || max < 1 || max > 0xffffffff) {
      throw new RangeError(`maxMessageBytes must be a positive integer, got ${max}`);
    }
    this.maxMessageBytes = max;
    this.#borrowed = options.borrowedChunks === true;
    this.#state = options.handshake === true ? 'handshake' : 'prefix';
    if (options.pieceCount !== undefined) this.setPieceCount(options.pieceCount);
  }

  /** Tells the decoder the piece count (once metadata is known), enabling exact bitfield checks. */
  setPieceCount(pieceCount: number): void {
    if (!Number.isSafeInteger(pieceCount) || pieceCount < 0) {
      throw new RangeError(`pieceCount must be a non-negative integer, got ${pieceCount}`);
    }
    this.#pieceCount = pieceCount;
  }

  /** The error that stopped the decoder, if any. */
  get error(): WireError | undefined {
    return this.#error;
  }

  /** Stream bytes consumed so far. */
  get bytesConsumed(): number {
    return this.#base;
  }

  /** Bytes held for a frame that is not complete yet (handshake, prefix or payload). */
  get bufferedBytes(): number {
    switch (this.#state) {
      case 'handshake':
        return this.#hsFill;
      case 'prefix':
        return this.#prefixFill;
      case 'id':
        return 4;
      case 'body':
        return 5 + this.#bodyFill;
      default:
        return 0; // skip, failed: nothing held
    }
  }

  /**
   * Feeds the next chunk of the stream and returns the messages it completed, in order. Throws
   * {@link WireError} (`WireBadHandshake`, `WireFrameTooLarge`, `WireBadMessage`) on a violation;
   * the decoder then stays failed and rethrows that error on every later call.
   */
  push(chunk: Uint8Array): WireMessage[] {
    if (this.#error !== undefined) throw this.#error;
    const out: WireMessage[] = [];
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      switch (this.#state) {
        case 'handshake':
          pos = this.#readHandshake(chunk, pos, out);
          break;
        case 'prefix': {
          if (this.#prefixFill === 0) {
            this.#frameStart = this.#base + pos;
            if (n - pos >= 4) {
              // Fast path: the whole prefix is here.
              this.#frameLength = readU32(chunk, pos);
              pos += 4;
              if (this.#startFrame(out, chunk, pos)) {
                this.#state = 'id';
              }
              break;
            }
          }
          this.#prefix = ((this.#prefix << 8) | chunk[pos++]!) >>> 0;
          if (++this.#prefixFill === 4) {
            this.#frameLength = this.#prefix;
            this.#prefix = 0;
            this.#prefixFill = 0;
            if (this.#startFrame(out, chunk, pos)) this.#state = 'id';
          }
          break;
        }
        case 'id': {
          const id = chunk[pos++]!;
          this.#id = id;
          const payloadLength = this.#frameLength - 1;
          if (!isKnownMessageId(id)) {
            out.push({ type: 'unknown', id, payloadLength });
            this.#skipLeft = payloadLength;
            this.#state = payloadLength > 0 ? 'skip' : 'prefix';
            break;
          }
          const bad = checkFrameLength(id, this.#frameLength, { pieceCount: this.#pieceCount });
          if (bad !== undefined) this.#fail(bad.code, `message ${id}: ${bad.reason}`, id);
          if (n - pos >= payloadLength) {
            // Fast path: the whole payload is in this chunk; decode it in place.
            out.push(this.#decode(id, chunk, pos, payloadLength, !this.#borrowed));
            pos += payloadLength;
            this.#state = 'prefix';
          } else if (this.#borrowed && id === MessageId.Piece) {
            // checkFrameLength bounded it: at most a block and its 8-byte header.
            this.#pieceBodyTurn ^= 1;
            this.#pieceBodies[this.#pieceBodyTurn] ??= new Uint8Array(MAX_BLOCK_BYTES + 8);
            this.#body = this.#pieceBodies[this.#pieceBodyTurn]!.subarray(0, payloadLength);
            this.#bodyFill = 0;
            this.#state = 'body';
          } else {
            this.#body = new Uint8Array(payloadLength);
            this.#bodyFill = 0;
            this.#state = 'body';
          }
          break;
        }
        case 'body': {
          const body = this.#body!;
          const take = Math.min(body.length - this.#bodyFill, n - pos);
          body.set(take === n - pos && pos === 0 ? chunk : chunk.subarray(pos, pos + take), this.#bodyFill);
          this.#bodyFill += take;
          pos += take;
          if (this.#bodyFill === body.length) {
            this.#body = undefined;
            this.#state = 'prefix';
            out.push(this.#decode(this.#id, body, 0, body.length, true));
          }
          break;
        }
        case 'skip': {
          const take = Math.min(this.#skipLeft, n - pos);
          this.#skipLeft -= take;
          pos += take;
          if (this.#skipLeft === 0) this.#state = 'prefix';
          break;
        }
        case 'failed':
          throw this.#error!;
      }
    }
    this.#base += n;
    return out;
  }

  /**
   * Handles a complete length prefix. Returns true when the frame has an id to read; false for a
   * keep-alive (already emitted). Throws when the length exceeds `maxMessageBytes`.
   */
  #startFrame(out: WireMessage[], chunk: Uint8Array, pos: number): boolean {
    const len = this.#frameLength;
    if (len === 0) {
      out.push(keepAlive);
      return false;
    }
    if (len > this.maxMessageBytes) {
      this.#fail(
        ErrorCode.WireFrameTooLarge,
        `frame of ${len} bytes exceeds the maximum of ${this.maxMessageBytes}`,
        pos < chunk.length ? chunk[pos] : undefined,
      );
    }
    return true;
  }

  /** `owned`: `bytes` stays valid after this push; otherwise byte fields are copied (not blocks). */
  #decode(id: number, bytes: Uint8Array, start: number, payloadLength: number, owned: boolean): WireMessage {
    if (!owned && id !== MessageId.Piece) {
      bytes = bytes.slice(start, start + payloadLength);
      start = 0;
    }
    if (id === MessageId.Bitfield && this.#pieceCount !== undefined) {
      try {
        validateBitfield(bytes.subarray(start, start + payloadLength), this.#pieceCount);
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        this.#fail(ErrorCode.WireBadMessage, reason, id);
      }
    }
    return decodePayload(id, bytes, start, payloadLength);
  }

  #readHandshake(chunk: Uint8Array, pos: number, out: WireMessage[]): number {
    this.#hs ??= new Uint8Array(HANDSHAKE_BYTES);
    const take = Math.min(HANDSHAKE_BYTES - this.#hsFill, chunk.length - pos);
    this.#hs.set(chunk.subarray(pos, pos + take), this.#hsFill);
    const bad = handshakeHeaderMismatch(this.#hs, this.#hsFill, this.#hsFill + take);
    if (bad >= 0) {
      this.#frameStart = 0;
      const what =
        bad === 0 ? `pstrlen is ${this.#hs[0]}, not 19` : 'protocol string is not "BitTorrent protocol"';
      this.#fail(ErrorCode.WireBadHandshake, `handshake ${what} (byte ${bad})`, undefined);
    }
    this.#hsFill += take;
    if (this.#hsFill === HANDSHAKE_BYTES) {
      out.push({ type: 'handshake', ...decodeHandshake(this.#hs) });
      this.#hs = undefined;
      this.#state = 'prefix';
    }
    return pos + take;
  }

  #fail(code: ErrorCode, reason: string, messageId: number | undefined): never {
    const offset = this.#frameStart;
    const err = new WireError(code, `${reason} (frame at stream byte ${offset})`, { messageId, offset });
    this.#error = err;
    this.#state = 'failed';
    this.#body = undefined;
    this.#hs = undefined;
    throw err;
  }
}
