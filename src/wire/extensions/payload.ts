/** Shared decoding of bencoded BEP 10 extension payloads (untrusted: lenient key order, typed errors). */
import { asDict, type BencodeDict, decodeWithInfo } from '../../codec/index.js';
import { ErrorCode, isShoalError } from '../../shared/errors.js';
import { WireError } from '../errors.js';
import { MessageId } from '../messages.js';

/** A bad payload of `extension`: a `WireBadMessage` for the `extended` message id. */
export function badPayload(extension: string, reason: string, offset?: number, cause?: unknown): WireError {
  return new WireError(
    ErrorCode.WireBadMessage,
    `${extension}: ${reason}`,
    { messageId: MessageId.Extended, offset, extension },
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Decodes the bencoded dictionary at the start of `payload` (lenient key order: real clients send
 * unsorted keys). Returns it and the offset one past it. Throws {@link WireError} `WireBadMessage`.
 */
export function decodePayloadDict(
  payload: Uint8Array,
  extension: string,
  allowTrailing: boolean,
): { dict: BencodeDict; end: number } {
  let decoded: ReturnType<typeof decodeWithInfo>;
  try {
    decoded = decodeWithInfo(payload, { mode: 'lenient', allowTrailing });
  } catch (e) {
    if (!isShoalError(e)) throw e;
    const offset = (e.details as { offset?: unknown }).offset;
    throw badPayload(
      extension,
      `bad bencode: ${e.message}`,
      typeof offset === 'number' ? offset : undefined,
      e,
    );
  }
  const dict = asDict(decoded.value);
  if (dict === undefined) throw badPayload(extension, 'payload is not a dictionary', 0);
  return { dict, end: decoded.end };
}
