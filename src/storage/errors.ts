import { ErrorCode, ShoalError } from '../shared/errors.js';

/** The file operation that failed. */
export type StorageOp =
  | 'open'
  | 'read'
  | 'write'
  | 'truncate'
  | 'stat'
  | 'rename'
  | 'resume'
  | 'hash'
  | 'mkdir';

/** A disk failure, naming the path and the operation. */
export class StorageError extends ShoalError<{ path: string; op: StorageOp; errno?: string }> {
  constructor(code: ErrorCode, message: string, path: string, op: StorageOp, cause?: unknown) {
    const errno = (cause as { code?: unknown } | undefined)?.code;
    super(
      code,
      message,
      typeof errno === 'string' ? { path, op, errno } : { path, op },
      cause === undefined ? undefined : { cause },
    );
  }

  /** Wraps a Node fs error (or passes a StorageError through). */
  static from(cause: unknown, path: string, op: StorageOp): StorageError {
    if (cause instanceof StorageError) return cause;
    const msg = cause instanceof Error ? cause.message : String(cause);
    return new StorageError(ErrorCode.StorageIo, `${op} failed for ${path}: ${msg}`, path, op, cause);
  }
}
