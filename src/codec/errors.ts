import { type ErrorCode, ShoalError } from '../shared/errors.js';

/** Malformed bencode. `offset` is the byte where decoding failed (-1 when encoding). */
export class BencodeError extends ShoalError<{ offset: number }> {
  readonly offset: number;
  constructor(code: ErrorCode, message: string, offset: number) {
    super(code, message, { offset });
    this.offset = offset;
  }
}
