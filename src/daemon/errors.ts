/**
 * Errors of the daemon layer. `ApiError` carries the HTTP status the API answers with; any
 * other `ShoalError` that reaches the API (a bad .torrent, a bad magnet) is mapped to a status by
 * {@link statusOf}. The API body is always `{error: {code, message}}`, never a stack.
 */
import { ErrorCode, isShoalError, ShoalError } from '../shared/errors.js';

/** An API request failed; `status` is the HTTP status it is answered with. */
export class ApiError extends ShoalError<{ readonly status: number } & Record<string, unknown>> {
  get status(): number {
    return this.details.status;
  }
}

/** The daemon's state directory or a path a request named is unusable. */
export class DaemonError extends ShoalError<{ readonly path: string; readonly status?: number }> {}

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.ApiBadRequest]: 400,
  [ErrorCode.ApiUnauthorized]: 401,
  [ErrorCode.ApiForbidden]: 403,
  [ErrorCode.ApiNotFound]: 404,
  [ErrorCode.ApiConflict]: 409,
  [ErrorCode.ApiPayloadTooLarge]: 413,
  [ErrorCode.ApiUnsupportedMediaType]: 415,
  [ErrorCode.ApiRangeNotSatisfiable]: 416,
  [ErrorCode.ApiNotImplemented]: 501,
  [ErrorCode.ApiFetchFailed]: 502,
  [ErrorCode.ApiUnavailable]: 503,
  [ErrorCode.ApiInternal]: 500,
  [ErrorCode.DaemonUnsafePath]: 400,
  [ErrorCode.MetainfoInvalid]: 400,
  [ErrorCode.MetainfoTooLarge]: 413,
  [ErrorCode.MetainfoUnsafePath]: 400,
  // A watched item that is not an address or descriptor of the node's network.
  [ErrorCode.BtcBadAddress]: 400,
  [ErrorCode.BtcBadDescriptor]: 400,
  [ErrorCode.BtcInvalidArgument]: 400,
  [ErrorCode.MetainfoPieceLayers]: 400,
  [ErrorCode.MagnetInvalid]: 400,
  [ErrorCode.PeerAddressInvalid]: 400,
  [ErrorCode.SessionInvalidArgument]: 400,
  [ErrorCode.SessionClosed]: 503,
  [ErrorCode.FeedNoDht]: 503,
  [ErrorCode.FeedState]: 409,
  [ErrorCode.FeedKey]: 400,
  [ErrorCode.FeedValue]: 400,
};

/** The HTTP status an error is answered with (500 for anything unexpected). */
export function statusOf(e: unknown): number {
  if (e instanceof ApiError) return e.status;
  if (e instanceof DaemonError && e.details.status !== undefined) return e.details.status;
  if (isShoalError(e)) {
    if (e.code.startsWith('SHOAL_ERR_BENCODE_')) return 400;
    return STATUS[e.code] ?? 500;
  }
  return 500;
}

/** Shorthand for `new ApiError(code, message, {status})` with the status of `code`. */
export function apiError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): ApiError {
  return new ApiError(code, message, { ...extra, status: STATUS[code] ?? 500 });
}

/** 404 for a torrent id the daemon does not know. */
export function torrentNotFound(id: string): ApiError {
  return apiError(ErrorCode.ApiNotFound, `no torrent with id ${id}`, { id });
}
