import { type ErrorCode, ShoalError } from '../shared/errors.js';

/** KRPC error codes (BEP 5 §Errors, and BEP 44 §Errors for `put`). */
export const KrpcErrorCode = {
  Generic: 201,
  Server: 202,
  Protocol: 203,
  MethodUnknown: 204,
  /** BEP 44: the `v` field is too big. */
  MessageTooBig: 205,
  /** BEP 44: the signature does not verify. */
  InvalidSignature: 206,
  /** BEP 44: the `salt` field is too big. */
  SaltTooBig: 207,
  /** BEP 44: `cas` does not match the stored sequence number: re-read and try again. */
  CasMismatch: 301,
  /** BEP 44: the sequence number is less than the current one. */
  SeqTooLow: 302,
} as const;

export type KrpcErrorCode = (typeof KrpcErrorCode)[keyof typeof KrpcErrorCode];

/** Facts about a DHT failure. */
export interface DhtErrorDetails {
  /** What was wrong, in a few words (for logs). */
  readonly reason: string;
  /**
   * When the bad datagram was a query whose transaction id `t` could be read, the KRPC error
   * to answer it with (BEP 5: 203 protocol error, 204 method unknown); otherwise undefined and
   * the datagram is dropped silently (never answer a response or an error: no reply loops).
   */
  readonly reply: { readonly t: Uint8Array; readonly code: KrpcErrorCode } | undefined;
}

/**
 * A DHT failure: a malformed datagram (`DhtBadMessage`), a corrupt saved routing table
 * (`DhtBadState`), a bad argument to a node method (`DhtInvalidArgument`), a full table
 * (`DhtLimit`) or a BEP 44 item outside the BEP's bounds or with a bad signature
 * (`DhtItemInvalid`).
 */
export class DhtError extends ShoalError<DhtErrorDetails> {
  constructor(code: ErrorCode, message: string, reply?: DhtErrorDetails['reply']) {
    super(code, message, { reason: message, reply });
  }
}
