import { type ErrorCode, ShoalError } from '../shared/errors.js';

/** Facts about a failure in the Bitcoin layer; each field is set where it applies. */
export interface BtcErrorDetails {
  /** Byte offset of the failure: in the payload or record being decoded, or in a connection's stream. */
  readonly offset?: number;
  /** The P2P command of the offending message (`'headers'`, `'tx'`…), when one was read. */
  readonly command?: string;
  /** Height of the offending header, in the header chain. */
  readonly height?: number;
  /** Hash of the offending header or transaction, in display (reversed) hex. */
  readonly hash?: string;
  /** Index of the offending item in its batch (a header in a `headers` message, a transaction in a block). */
  readonly index?: number;
}

/**
 * Any failure of the Bitcoin layer: malformed or out-of-bound bytes from a peer, a header that
 * breaks a consensus rule, a bad address string. Untrusted input costs only its source: the peer
 * is disconnected (or its header batch refused), the request answered with an error.
 */
export class BtcError extends ShoalError<BtcErrorDetails> {
  constructor(
    code: ErrorCode,
    message: string,
    details: BtcErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
  }
}
