import { type ErrorCode, ShoalError } from '../shared/errors.js';

/** KRPC error codes (BEP 5 §Errors). */
export const KrpcErrorCode = {
  Generic: 201,
  Server: 202,
  Protocol: 203,
  MethodUnknown: 204,
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
 * (`DhtBadState`), a bad argument to a node method (`DhtInvalidArgument`) or a full table
 * (`DhtLimit`).
 */
export class DhtError extends ShoalError<DhtErrorDetails> {
  constructor(code: ErrorCode, message: string, reply?: DhtErrorDetails['reply']) {
    super(code, message, { reason: message, reply });
  }
}
