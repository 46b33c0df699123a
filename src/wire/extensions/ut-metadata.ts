/**
 * BEP 9 `ut_metadata`: fetching the info dictionary from peers in 16 KiB pieces.
 *
 *   request  d8:msg_typei0e5:piecei<n>ee
 *   data     d8:msg_typei1e5:piecei<n>e10:total_sizei<bytes>ee<piece bytes>
 *   reject   d8:msg_typei2e5:piecei<n>ee
 *
 * The payload of a data message is the dictionary followed by the raw piece, which is
 * METADATA_PIECE_BYTES long except for the last piece. Bounds: `total_size` ≤ MAX_METADATA_BYTES,
 * so `piece` < MAX_METADATA_BYTES / METADATA_PIECE_BYTES, and a data piece must have exactly the
 * length its index and `total_size` imply. An unknown `msg_type` is ignored (BEP 9: "MUST be
 * ignored"), which {@link decodeUtMetadata} reports as `undefined`.
 */
import { asInt, encode } from '../../codec/index.js';
import { MAX_METADATA_BYTES, METADATA_PIECE_BYTES } from '../../shared/limits.js';
import { badPayload, decodePayloadDict } from './payload.js';

/** BEP 9 `msg_type` values. */
export const UtMetadataType = {
  Request: 0,
  Data: 1,
  Reject: 2,
} as const;

/** A `ut_metadata` message. */
export type UtMetadataMessage =
  | { readonly type: 'request'; readonly piece: number }
  | {
      readonly type: 'data';
      readonly piece: number;
      /** `total_size`: bytes of the whole info dictionary. */
      readonly totalSize: number;
      /** The piece's bytes (a view of the payload). */
      readonly data: Uint8Array;
    }
  | { readonly type: 'reject'; readonly piece: number };

const EXTENSION = 'ut_metadata';

/** Number of metadata pieces of an info dictionary of `totalSize` bytes. */
export function metadataPieceCount(totalSize: number): number {
  return Math.ceil(totalSize / METADATA_PIECE_BYTES);
}

/** Length of metadata piece `piece` of an info dictionary of `totalSize` bytes (0 when beyond it). */
export function metadataPieceLength(piece: number, totalSize: number): number {
  return Math.max(0, Math.min(METADATA_PIECE_BYTES, totalSize - piece * METADATA_PIECE_BYTES));
}

/**
 * Decodes a `ut_metadata` payload (after the extended sub-id byte). Returns `undefined` for an
 * unknown `msg_type`. Throws {@link WireError} `WireBadMessage` on bad bencode, a missing or
 * out-of-range field, or a data piece of the wrong length.
 */
export function decodeUtMetadata(payload: Uint8Array): UtMetadataMessage | undefined {
  // allowTrailing: a data message carries the raw piece after the dictionary.
  const { dict, end } = decodePayloadDict(payload, EXTENSION, true);
  const msgType = asInt(dict.get('msg_type'));
  if (msgType === undefined) throw badPayload(EXTENSION, 'missing or non-integer `msg_type`');
  const piece = asInt(dict.get('piece'));
  if (piece === undefined || piece < 0 || piece >= metadataPieceCount(MAX_METADATA_BYTES)) {
    throw badPayload(EXTENSION, 'missing or out-of-range `piece`');
  }
  switch (msgType) {
    case UtMetadataType.Request:
      return { type: 'request', piece };
    case UtMetadataType.Reject:
      return { type: 'reject', piece };
    case UtMetadataType.Data: {
      const totalSize = asInt(dict.get('total_size'));
      if (totalSize === undefined || totalSize < 1 || totalSize > MAX_METADATA_BYTES) {
        throw badPayload(EXTENSION, `missing or out-of-range \`total_size\` (at most ${MAX_METADATA_BYTES})`);
      }
      const want = metadataPieceLength(piece, totalSize);
      if (want === 0) throw badPayload(EXTENSION, `piece ${piece} is beyond total_size ${totalSize}`);
      const data = payload.subarray(end);
      if (data.length !== want) {
        throw badPayload(EXTENSION, `piece ${piece} has ${data.length} bytes, want ${want}`, end);
      }
      return { type: 'data', piece, totalSize, data };
    }
    default:
      return undefined;
  }
}

/** Encodes a `ut_metadata` payload (to send as `extended` with the peer's `ut_metadata` id). */
export function encodeUtMetadata(msg: UtMetadataMessage): Uint8Array {
  if (msg.type !== 'data') {
    return encode({
      msg_type: msg.type === 'request' ? UtMetadataType.Request : UtMetadataType.Reject,
      piece: msg.piece,
    });
  }
  const dict = encode({ msg_type: UtMetadataType.Data, piece: msg.piece, total_size: msg.totalSize });
  const out = new Uint8Array(dict.length + msg.data.length);
  out.set(dict);
  out.set(msg.data, dict.length);
  return out;
}
