/**
 * Peer-wire messages (BEP 3, BEP 5, BEP 6, BEP 10, BEP 52): the {@link WireMessage} union, the
 * length rules of each message id, payload decoding and the encoders.
 *
 * Every message but the keep-alive is framed as (BEP 3 §peer messages):
 *
 *   <length: uint32 BE> <id: uint8> <payload: length - 1 bytes>      keep-alive: <length = 0>
 *
 *   id  message          length  payload
 *   0   choke            1       -
 *   1   unchoke          1       -
 *   2   interested       1       -
 *   3   not interested   1       -
 *   4   have             5       <index u32>
 *   5   bitfield         1+n     <bitfield: n bytes, piece 0 = high bit of byte 0>
 *   6   request          13      <index u32> <begin u32> <length u32>
 *   7   piece            9+n     <index u32> <begin u32> <block: n bytes>
 *   8   cancel           13      <index u32> <begin u32> <length u32>
 *   9   port (BEP 5)     3       <listen port u16>
 *   13  suggest (BEP 6)  5       <index u32>
 *   14  have all         1       -
 *   15  have none        1       -
 *   16  reject request   13      <index u32> <begin u32> <length u32>
 *   17  allowed fast     5       <index u32>
 *   20  extended (BEP10) 2+n     <extended id u8> <payload: n bytes>
 *   21  hash request     49      <pieces root: 32> <base layer u32> <index u32> <length u32> <proof layers u32>
 *   22  hashes           49+32k  the hash request fields, then k concatenated 32-byte hashes
 *   23  hash reject      49      the hash request fields
 */
import { ErrorCode } from '../shared/errors.js';
import {
  MAX_BITFIELD_BYTES,
  MAX_BLOCK_BYTES,
  MAX_EXTENDED_PAYLOAD_BYTES,
  MAX_HASHES_PER_MESSAGE,
} from '../shared/limits.js';
import { checkU32, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { WireError } from './errors.js';
import { encodeHandshake, HANDSHAKE_BYTES, type Handshake } from './handshake.js';

/** Message ids, named after the BEP terms. */
export const MessageId = {
  Choke: 0,
  Unchoke: 1,
  Interested: 2,
  NotInterested: 3,
  Have: 4,
  Bitfield: 5,
  Request: 6,
  Piece: 7,
  Cancel: 8,
  /** BEP 5: the sender's DHT port. */
  Port: 9,
  /** BEP 6 Suggest Piece. */
  SuggestPiece: 13,
  /** BEP 6 Have All. */
  HaveAll: 14,
  /** BEP 6 Have None. */
  HaveNone: 15,
  /** BEP 6 Reject Request. */
  RejectRequest: 16,
  /** BEP 6 Allowed Fast. */
  AllowedFast: 17,
  /** BEP 10 extended message. */
  Extended: 20,
  /** BEP 52 hash request. */
  HashRequest: 21,
  /** BEP 52 hashes. */
  Hashes: 22,
  /** BEP 52 hash reject. */
  HashReject: 23,
} as const;
export type MessageId = (typeof MessageId)[keyof typeof MessageId];

/** Length of a `piece` message's header: length prefix, id, index and begin. */
export const PIECE_HEADER_BYTES = 13;
/** Length of the fixed fields of BEP 52 hash messages (pieces root and four uint32s). */
export const HASH_REQUEST_FIELDS_BYTES = 48;
/** Length of one SHA-256 hash in BEP 52 messages and of a pieces root. */
export const HASH_BYTES = 32;

/** The handshake, produced by a {@link FrameDecoder} started in handshake mode. */
export interface HandshakeMessage extends Handshake {
  readonly type: 'handshake';
}
/** A zero-length frame. */
export interface KeepAliveMessage {
  readonly type: 'keep-alive';
}
/** The payload-less state messages (BEP 3, BEP 6 have all / have none). */
export interface StateMessage {
  readonly type: 'choke' | 'unchoke' | 'interested' | 'not-interested' | 'have-all' | 'have-none';
}
/** A message carrying one piece index: `have`, BEP 6 `suggest-piece` and `allowed-fast`. */
export interface IndexMessage {
  readonly type: 'have' | 'suggest-piece' | 'allowed-fast';
  readonly index: number;
}
/** The sender's pieces; validate with {@link validateBitfield} once the piece count is known. */
export interface BitfieldMessage {
  readonly type: 'bitfield';
  readonly bitfield: Uint8Array;
}
/** A block reference: `request`, `cancel` and BEP 6 `reject-request`. */
export interface BlockMessage {
  readonly type: 'request' | 'cancel' | 'reject-request';
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}
/** A block of data. `block` is a view (see {@link FrameDecoder} on ownership). */
export interface PieceMessage {
  readonly type: 'piece';
  readonly index: number;
  readonly begin: number;
  readonly block: Uint8Array;
}
/** BEP 5: the sender's DHT UDP port. */
export interface PortMessage {
  readonly type: 'port';
  readonly port: number;
}
/** BEP 10: an extension message; `extId` 0 is the extended handshake. */
export interface ExtendedMessage {
  readonly type: 'extended';
  readonly extId: number;
  readonly payload: Uint8Array;
}
/** BEP 52 `hash request` and `hash reject` fields. */
export interface HashRequestMessage {
  readonly type: 'hash-request' | 'hash-reject';
  /** 32-byte merkle root of the file. */
  readonly piecesRoot: Uint8Array;
  /** Layers above the leaves of the first requested hash (0 = leaf hashes). */
  readonly baseLayer: number;
  /** Offset, in hashes, of the first requested hash in the base layer. */
  readonly index: number;
  /** Number of base-layer hashes requested. */
  readonly length: number;
  /** Number of ancestor layers whose uncle hashes are requested. */
  readonly proofLayers: number;
}
/** BEP 52 `hashes`: the request fields and the concatenated 32-byte hashes. */
export interface HashesMessage {
  readonly type: 'hashes';
  readonly piecesRoot: Uint8Array;
  readonly baseLayer: number;
  readonly index: number;
  readonly length: number;
  readonly proofLayers: number;
  /** Base-layer hashes then uncle hashes, 32 bytes each. */
  readonly hashes: Uint8Array;
}
/** A frame of an id Shoal does not know; its payload was skipped unread (BEP 3: ignore). */
export interface UnknownMessage {
  readonly type: 'unknown';
  readonly id: number;
  /** Payload length skipped, in bytes. */
  readonly payloadLength: number;
}

/** Any message that can be encoded. */
export type EncodableMessage =
  | HandshakeMessage
  | KeepAliveMessage
  | StateMessage
  | IndexMessage
  | BitfieldMessage
  | BlockMessage
  | PieceMessage
  | PortMessage
  | ExtendedMessage
  | HashRequestMessage
  | HashesMessage;

/** Any message a {@link FrameDecoder} yields. */
export type WireMessage = EncodableMessage | UnknownMessage;

/** The `type` of every wire message. */
export type WireMessageType = WireMessage['type'];

const STATE_IDS = {
  choke: MessageId.Choke,
  unchoke: MessageId.Unchoke,
  interested: MessageId.Interested,
  'not-interested': MessageId.NotInterested,
  'have-all': MessageId.HaveAll,
  'have-none': MessageId.HaveNone,
} as const;
const INDEX_IDS = {
  have: MessageId.Have,
  'suggest-piece': MessageId.SuggestPiece,
  'allowed-fast': MessageId.AllowedFast,
} as const;
const BLOCK_IDS = {
  request: MessageId.Request,
  cancel: MessageId.Cancel,
  'reject-request': MessageId.RejectRequest,
} as const;
const HASH_IDS = { 'hash-request': MessageId.HashRequest, 'hash-reject': MessageId.HashReject } as const;

// Shared immutable instances for payload-less messages: decoding them allocates nothing.
const KEEP_ALIVE: KeepAliveMessage = Object.freeze({ type: 'keep-alive' });
const STATE_MESSAGES: ReadonlyMap<number, StateMessage> = new Map(
  Object.entries(STATE_IDS).map(([type, id]) => [id, Object.freeze({ type }) as StateMessage]),
);

/** The keep-alive message (a shared frozen instance). */
export const keepAlive: KeepAliveMessage = KEEP_ALIVE;

/**
 * Frame length (id byte plus payload) of each fixed-size message id, indexed by id; -1 for
 * variable-size ids and ids Shoal does not know.
 */
const FIXED_FRAME_LENGTH: readonly number[] = (() => {
  const t = new Array<number>(256).fill(-1);
  for (const id of Object.values(STATE_IDS)) t[id] = 1;
  for (const id of Object.values(INDEX_IDS)) t[id] = 5;
  for (const id of Object.values(BLOCK_IDS)) t[id] = 13;
  t[MessageId.Port] = 3;
  t[MessageId.HashRequest] = 1 + HASH_REQUEST_FIELDS_BYTES;
  t[MessageId.HashReject] = 1 + HASH_REQUEST_FIELDS_BYTES;
  return t;
})();

/** True when Shoal decodes message `id` (others are skipped as {@link UnknownMessage}). */
export function isKnownMessageId(id: number): boolean {
  return (
    FIXED_FRAME_LENGTH[id] !== undefined &&
    (FIXED_FRAME_LENGTH[id]! > 0 ||
      id === MessageId.Bitfield ||
      id === MessageId.Piece ||
      id === MessageId.Extended ||
      id === MessageId.Hashes)
  );
}

/** What the length rules need to know beyond the id. */
export interface FrameLengthContext {
  /** Piece count of the torrent, when known: a bitfield must then be exactly ceil(count / 8) bytes. */
  readonly pieceCount: number | undefined;
}

/**
 * Checks a frame's length (id byte plus payload) against the rules of its id: exact sizes for
 * fixed-size messages, and for the variable ones {@link MAX_BLOCK_BYTES}, {@link MAX_BITFIELD_BYTES}
 * (or the exact size when the piece count is known), {@link MAX_EXTENDED_PAYLOAD_BYTES} and
 * {@link MAX_HASHES_PER_MESSAGE}. Returns the violation, or `undefined` when the length is legal.
 * Unknown ids are always legal here (the caller's overall maximum bounds them).
 */
export function checkFrameLength(
  id: number,
  frameLength: number,
  ctx: FrameLengthContext,
): { code: ErrorCode; reason: string } | undefined {
  const fixed = FIXED_FRAME_LENGTH[id] ?? -1;
  if (fixed > 0) {
    return frameLength === fixed
      ? undefined
      : { code: ErrorCode.WireBadMessage, reason: `length ${frameLength}, must be ${fixed}` };
  }
  const payload = frameLength - 1;
  switch (id) {
    case MessageId.Piece:
      if (payload < 8) return { code: ErrorCode.WireBadMessage, reason: `piece payload of ${payload} bytes` };
      if (payload - 8 > MAX_BLOCK_BYTES) {
        return {
          code: ErrorCode.WireFrameTooLarge,
          reason: `block of ${payload - 8} bytes exceeds ${MAX_BLOCK_BYTES}`,
        };
      }
      return undefined;
    case MessageId.Bitfield:
      if (ctx.pieceCount !== undefined) {
        const want = bitfieldBytes(ctx.pieceCount);
        return payload === want
          ? undefined
          : {
              code: ErrorCode.WireBadMessage,
              reason: `bitfield of ${payload} bytes for ${ctx.pieceCount} pieces (want ${want})`,
            };
      }
      return payload > MAX_BITFIELD_BYTES
        ? {
            code: ErrorCode.WireFrameTooLarge,
            reason: `bitfield of ${payload} bytes exceeds ${MAX_BITFIELD_BYTES}`,
          }
        : undefined;
    case MessageId.Extended:
      if (payload < 1) return { code: ErrorCode.WireBadMessage, reason: 'extended message without an id' };
      return payload - 1 > MAX_EXTENDED_PAYLOAD_BYTES
        ? {
            code: ErrorCode.WireFrameTooLarge,
            reason: `extended payload of ${payload - 1} bytes exceeds ${MAX_EXTENDED_PAYLOAD_BYTES}`,
          }
        : undefined;
    case MessageId.Hashes: {
      const hashBytes = payload - HASH_REQUEST_FIELDS_BYTES;
      if (hashBytes < 0 || hashBytes % HASH_BYTES !== 0) {
        return { code: ErrorCode.WireBadMessage, reason: `hashes payload of ${payload} bytes` };
      }
      return hashBytes / HASH_BYTES > MAX_HASHES_PER_MESSAGE
        ? {
            code: ErrorCode.WireFrameTooLarge,
            reason: `${hashBytes / HASH_BYTES} hashes exceed ${MAX_HASHES_PER_MESSAGE}`,
          }
        : undefined;
    }
    default:
      return undefined;
  }
}

/** Bytes of a bitfield for `pieceCount` pieces: ceil(pieceCount / 8). */
export function bitfieldBytes(pieceCount: number): number {
  return Math.ceil(pieceCount / 8);
}

/**
 * Checks a received bitfield against the torrent's piece count (BEP 3: "Spare bits at the end are
 * set to zero"): throws {@link WireError} `WireBadMessage` when its length is not ceil(count / 8)
 * or a spare bit is set.
 */
export function validateBitfield(bitfield: Uint8Array, pieceCount: number): void {
  const want = bitfieldBytes(pieceCount);
  if (bitfield.length !== want) {
    throw new WireError(
      ErrorCode.WireBadMessage,
      `bitfield of ${bitfield.length} bytes for ${pieceCount} pieces (want ${want})`,
      { messageId: MessageId.Bitfield },
    );
  }
  const spare = want * 8 - pieceCount;
  if (spare > 0 && (bitfield[want - 1]! & ((1 << spare) - 1)) !== 0) {
    throw new WireError(ErrorCode.WireBadMessage, 'bitfield has spare bits set', {
      messageId: MessageId.Bitfield,
    });
  }
}

/**
 * Decodes the payload of a frame whose length already passed {@link checkFrameLength}: `id` is the
 * message id and the payload is `bytes[start, start + payloadLength)`. Byte fields are views of
 * `bytes`, not copies. Never throws for a length-checked frame.
 */
export function decodePayload(
  id: number,
  bytes: Uint8Array,
  start: number,
  payloadLength: number,
): WireMessage {
  const state = STATE_MESSAGES.get(id);
  if (state !== undefined) return state;
  switch (id) {
    case MessageId.Have:
      return { type: 'have', index: readU32(bytes, start) };
    case MessageId.SuggestPiece:
      return { type: 'suggest-piece', index: readU32(bytes, start) };
    case MessageId.AllowedFast:
      return { type: 'allowed-fast', index: readU32(bytes, start) };
    case MessageId.Bitfield:
      return { type: 'bitfield', bitfield: bytes.subarray(start, start + payloadLength) };
    case MessageId.Request:
    case MessageId.Cancel:
    case MessageId.RejectRequest:
      return {
        type: id === MessageId.Request ? 'request' : id === MessageId.Cancel ? 'cancel' : 'reject-request',
        index: readU32(bytes, start),
        begin: readU32(bytes, start + 4),
        length: readU32(bytes, start + 8),
      };
    case MessageId.Piece:
      return {
        type: 'piece',
        index: readU32(bytes, start),
        begin: readU32(bytes, start + 4),
        block: bytes.subarray(start + 8, start + payloadLength),
      };
    case MessageId.Port:
      return { type: 'port', port: readU16(bytes, start) };
    case MessageId.Extended:
      return {
        type: 'extended',
        extId: bytes[start]!,
        payload: bytes.subarray(start + 1, start + payloadLength),
      };
    case MessageId.HashRequest:
    case MessageId.HashReject:
    case MessageId.Hashes: {
      const fields = {
        piecesRoot: bytes.subarray(start, start + HASH_BYTES),
        baseLayer: readU32(bytes, start + 32),
        index: readU32(bytes, start + 36),
        length: readU32(bytes, start + 40),
        proofLayers: readU32(bytes, start + 44),
      };
      if (id === MessageId.Hashes) {
        return {
          type: 'hashes',
          ...fields,
          hashes: bytes.subarray(start + HASH_REQUEST_FIELDS_BYTES, start + payloadLength),
        };
      }
      return { type: id === MessageId.HashRequest ? 'hash-request' : 'hash-reject', ...fields };
    }
    default:
      return { type: 'unknown', id, payloadLength };
  }
}

/** Bytes {@link encodeMessageInto} writes for `msg`, length prefix included. */
export function encodedLength(msg: EncodableMessage): number {
  switch (msg.type) {
    case 'handshake':
      return HANDSHAKE_BYTES;
    case 'keep-alive':
      return 4;
    case 'choke':
    case 'unchoke':
    case 'interested':
    case 'not-interested':
    case 'have-all':
    case 'have-none':
      return 5;
    case 'have':
    case 'suggest-piece':
    case 'allowed-fast':
      return 9;
    case 'request':
    case 'cancel':
    case 'reject-request':
      return 17;
    case 'port':
      return 7;
    case 'bitfield':
      return 5 + msg.bitfield.length;
    case 'piece':
      return PIECE_HEADER_BYTES + msg.block.length;
    case 'extended':
      return 6 + msg.payload.length;
    case 'hash-request':
    case 'hash-reject':
      return 5 + HASH_REQUEST_FIELDS_BYTES;
    case 'hashes':
      return 5 + HASH_REQUEST_FIELDS_BYTES + msg.hashes.length;
  }
}

/**
 * Encodes `msg` (length prefix included) into `out` at `offset`, for callers that reuse one
 * buffer, and returns the number of bytes written. Throws a RangeError when `out` is too small or
 * a field is out of range (programmer errors).
 */
export function encodeMessageInto(msg: EncodableMessage, out: Uint8Array, offset = 0): number {
  const total = encodedLength(msg);
  if (!Number.isInteger(offset) || offset < 0 || out.length - offset < total) {
    throw new RangeError(`output buffer too small: ${total} bytes needed at offset ${offset}`);
  }
  if (msg.type === 'handshake') {
    encodeHandshake(msg, out, offset);
    return total;
  }
  writeU32(out, offset, total - 4);
  if (msg.type === 'keep-alive') return total;
  const p = offset + 5;
  switch (msg.type) {
    case 'choke':
    case 'unchoke':
    case 'interested':
    case 'not-interested':
    case 'have-all':
    case 'have-none':
      out[offset + 4] = STATE_IDS[msg.type];
      break;
    case 'have':
    case 'suggest-piece':
    case 'allowed-fast':
      checkU32(msg.index, 'index');
      out[offset + 4] = INDEX_IDS[msg.type];
      writeU32(out, p, msg.index);
      break;
    case 'request':
    case 'cancel':
    case 'reject-request':
      checkU32(msg.index, 'index');
      checkU32(msg.begin, 'begin');
      checkU32(msg.length, 'length');
      out[offset + 4] = BLOCK_IDS[msg.type];
      writeU32(out, p, msg.index);
      writeU32(out, p + 4, msg.begin);
      writeU32(out, p + 8, msg.length);
      break;
    case 'port':
      if (!Number.isInteger(msg.port) || msg.port < 0 || msg.port > 0xffff) {
        throw new RangeError(`port must be in [0, 65535], got ${msg.port}`);
      }
      out[offset + 4] = MessageId.Port;
      writeU16(out, p, msg.port);
      break;
    case 'bitfield':
      out[offset + 4] = MessageId.Bitfield;
      out.set(msg.bitfield, p);
      break;
    case 'piece':
      encodePieceHeader(msg.index, msg.begin, msg.block.length, out, offset);
      out.set(msg.block, offset + PIECE_HEADER_BYTES);
      break;
    case 'extended':
      if (!Number.isInteger(msg.extId) || msg.extId < 0 || msg.extId > 255) {
        throw new RangeError(`extId must be in [0, 255], got ${msg.extId}`);
      }
      out[offset + 4] = MessageId.Extended;
      out[p] = msg.extId;
      out.set(msg.payload, p + 1);
      break;
    case 'hash-request':
    case 'hash-reject':
    case 'hashes':
      if (msg.piecesRoot.length !== HASH_BYTES) throw new RangeError('piecesRoot must be 32 bytes');
      checkU32(msg.baseLayer, 'baseLayer');
      checkU32(msg.index, 'index');
      checkU32(msg.length, 'length');
      checkU32(msg.proofLayers, 'proofLayers');
      out[offset + 4] = msg.type === 'hashes' ? MessageId.Hashes : HASH_IDS[msg.type];
      out.set(msg.piecesRoot, p);
      writeU32(out, p + 32, msg.baseLayer);
      writeU32(out, p + 36, msg.index);
      writeU32(out, p + 40, msg.length);
      writeU32(out, p + 44, msg.proofLayers);
      if (msg.type === 'hashes') {
        if (msg.hashes.length % HASH_BYTES !== 0)
          throw new RangeError('hashes must be a multiple of 32 bytes');
        out.set(msg.hashes, p + HASH_REQUEST_FIELDS_BYTES);
      }
      break;
  }
  return total;
}

/** Encodes `msg` (length prefix included) into a fresh buffer. */
export function encodeMessage(msg: EncodableMessage): Uint8Array {
  const out = new Uint8Array(encodedLength(msg));
  encodeMessageInto(msg, out, 0);
  return out;
}

/**
 * Writes only the 13-byte header of a `piece` message (length prefix, id 7, index, begin) for a
 * block of `blockLength` bytes, so the block itself can be written to the socket after it without
 * being copied. Returns the buffer written to (`out`, or a fresh 13-byte one).
 */
export function encodePieceHeader(
  index: number,
  begin: number,
  blockLength: number,
  out?: Uint8Array,
  offset = 0,
): Uint8Array {
  checkU32(index, 'index');
  checkU32(begin, 'begin');
  if (!Number.isInteger(blockLength) || blockLength < 0 || blockLength > 0xffffffff - 9) {
    throw new RangeError(`blockLength out of range: ${blockLength}`);
  }
  const b = out ?? new Uint8Array(PIECE_HEADER_BYTES);
  if (b.length - offset < PIECE_HEADER_BYTES)
    throw new RangeError('output buffer too small for a piece header');
  writeU32(b, offset, 9 + blockLength);
  b[offset + 4] = MessageId.Piece;
  writeU32(b, offset + 5, index);
  writeU32(b, offset + 9, begin);
  return b;
}
