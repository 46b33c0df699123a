/**
 * Splitting a height range into BIP 157 requests a peer will answer: `getcfilters` may span fewer
 * than {@link BTC_MAX_CFILTERS_RANGE} blocks and `getcfheaders` fewer than
 * {@link BTC_MAX_CFHEADERS_PER_MESSAGE} (BIP 157: "the difference MUST be strictly less than"
 * 1,000 and 2,000). A node serving filters checks incoming requests with the same bounds.
 */
import { ErrorCode } from '../../shared/errors.js';
import { BTC_MAX_CFHEADERS_PER_MESSAGE, BTC_MAX_CFILTERS_RANGE } from '../../shared/limits.js';
import { BtcError } from '../errors.js';

/** The two ranged BIP 157 requests. */
export type FilterRequestKind = 'getcfilters' | 'getcfheaders';

/** Blocks one request of `kind` may span. */
export function maxFilterSpan(kind: FilterRequestKind): number {
  return kind === 'getcfilters' ? BTC_MAX_CFILTERS_RANGE : BTC_MAX_CFHEADERS_PER_MESSAGE;
}

/** One request: heights `startHeight` to `stopHeight`, both included. */
export interface FilterRange {
  readonly startHeight: number;
  readonly stopHeight: number;
}

/** Throws `BtcInvalidArgument` unless `range` is a request of `kind` a peer must answer. */
export function checkFilterRange(kind: FilterRequestKind, range: FilterRange): void {
  const { startHeight, stopHeight } = range;
  if (
    !Number.isInteger(startHeight) ||
    !Number.isInteger(stopHeight) ||
    startHeight < 0 ||
    stopHeight < startHeight
  ) {
    throw new BtcError(
      ErrorCode.BtcInvalidArgument,
      `${kind}: heights ${startHeight}..${stopHeight} out of order`,
    );
  }
  if (stopHeight - startHeight >= maxFilterSpan(kind)) {
    throw new BtcError(
      ErrorCode.BtcInvalidArgument,
      `${kind}: ${stopHeight - startHeight + 1} blocks exceed ${maxFilterSpan(kind)} per request`,
    );
  }
}

/** `startHeight..stopHeight` (both included) as consecutive requests of `kind`, each as long as allowed. */
export function planFilterRequests(
  kind: FilterRequestKind,
  startHeight: number,
  stopHeight: number,
): FilterRange[] {
  const span = maxFilterSpan(kind);
  const out: FilterRange[] = [];
  for (let s = startHeight; s <= stopHeight; s += span)
    out.push({ startHeight: s, stopHeight: Math.min(s + span - 1, stopHeight) });
  for (const r of out) checkFilterRange(kind, r);
  return out;
}
