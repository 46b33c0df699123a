import { type ErrorCode, ShoalError } from '../shared/errors.js';

/** Facts about a uTP failure. */
export interface UtpErrorDetails {
  /** What was wrong, in a few words (for logs). */
  readonly reason: string;
  /** Byte offset in the datagram where decoding failed, when it is a decoding error. */
  readonly offset?: number;
}

/**
 * A uTP failure: a malformed datagram (`UtpTruncated`, `UtpBadVersion`, `UtpBadType`,
 * `UtpBadExtension`, `UtpTooManyExtensions`), a connection reset by the peer (`UtpReset`), a
 * connection or dial that timed out (`UtpTimeout`), a refusal at a bound (`UtpLimit`), or use of a
 * closed connection (`UtpClosed`).
 */
export class UtpError extends ShoalError<UtpErrorDetails> {
  constructor(code: ErrorCode, reason: string, offset?: number) {
    super(code, reason, offset === undefined ? { reason } : { reason, offset });
  }
}
