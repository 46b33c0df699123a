import { type ErrorCode, ShoalError } from '../shared/errors.js';

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
