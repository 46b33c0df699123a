import { type ErrorCode, ShoalError } from '../shared/errors.js';

/** Facts about a peer-wire failure. */
export interface WireErrorDetails {
  /** The message id of the offending frame (BEP 3 §peer messages), when one was read. */
  readonly messageId: number | undefined;
  /**
   * Byte offset of the failure: in the connection's byte stream for the frame decoder (the first
   * byte of the offending frame or handshake), or inside the payload for payload decoders.
   */
  readonly offset: number | undefined;
  /** The BEP 10 extension whose payload was bad (`'handshake'`, `'ut_metadata'`, `'ut_pex'`). */
  readonly extension: string | undefined;
}

/**
 * A malformed or out-of-bounds peer-wire input: a bad handshake (`WireBadHandshake`), a frame over
 * its bound (`WireFrameTooLarge`), or a frame or extension payload that breaks its layout
 * (`WireBadMessage`). It costs only the peer that sent it.
 */
export class WireError extends ShoalError<WireErrorDetails> {
  readonly messageId: number | undefined;
  readonly offset: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    details: Partial<WireErrorDetails> = {},
    options?: { cause?: unknown },
  ) {
    const full: WireErrorDetails = {
      messageId: details.messageId,
      offset: details.offset,
      extension: details.extension,
    };
    super(code, message, full, options);
    this.messageId = full.messageId;
    this.offset = full.offset;
  }
}
