import { ErrorCode, ShoalError } from '../shared/errors.js';

/** An invalid or unsafe torrent. `field` names the offending key or path. */
export class MetainfoError extends ShoalError<{ field: string }> {
  readonly field: string;
  constructor(code: ErrorCode, message: string, field: string) {
    super(code, message, { field });
    this.field = field;
  }
}

/** A malformed magnet URI. */
export class MagnetError extends ShoalError<{ parameter: string }> {
  constructor(code: ErrorCode, message: string, parameter: string) {
    super(code, message, { parameter });
  }
}

/** A peer address (`HOST:PORT`, `[IPv6]:PORT`) given by a user that is not one. */
export class PeerAddressError extends ShoalError<{ input: string; option: string }> {
  constructor(message: string, input: string, option: string) {
    super(ErrorCode.PeerAddressInvalid, message, { input, option });
  }
}
