import { type ErrorCode, ShoalError } from '../shared/errors.js';

/** Facts about a failed tracker exchange. */
export interface TrackerErrorDetails {
  /** The tracker URL (announce or scrape) the failure is about. */
  readonly url: string;
  /** The tracker's own `failure reason` (BEP 3) or UDP error message (BEP 15), when it sent one. */
  readonly failureReason?: string;
}

/**
 * A tracker exchange failed. Codes:
 * - `TrackerFailure`: the tracker answered with a `failure reason` (BEP 3) or an error action (BEP 15);
 * - `TrackerBadResponse`: the reply was malformed, too large or of the wrong shape;
 * - `TrackerTimeout`: no (complete) reply in time;
 * - `TrackerRequest`: the request could not be made (bad URL, DNS, connection refused, HTTP status);
 * - `TrackerBadRequest`: (server side) an announce or scrape that the built-in tracker rejects.
 */
export class TrackerError extends ShoalError<TrackerErrorDetails> {
  constructor(code: ErrorCode, message: string, details: TrackerErrorDetails, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}
