import { type ErrorCode, ShoalError } from '../../shared/errors.js';

/** Facts about an MSE handshake failure. */
export interface MseErrorDetails {
  /** Which side failed: the one that dialled (`initiator`) or accepted (`responder`). */
  readonly role: 'initiator' | 'responder' | undefined;
  /** The handshake state the failure happened in. */
  readonly state: string | undefined;
  /** Offset in the received byte stream (from the connection's first byte) of the failure. */
  readonly offset: number | undefined;
}

/**
 * A failed MSE/PE handshake (`SHOAL_ERR_WIRE_MSE_*`): the remote's bytes broke the spec or a
 * bound, or it offered nothing we accept. It costs only that connection.
 */
export class MseError extends ShoalError<MseErrorDetails> {
  constructor(code: ErrorCode, message: string, details: Partial<MseErrorDetails> = {}) {
    super(code, message, { role: details.role, state: details.state, offset: details.offset });
  }
}
