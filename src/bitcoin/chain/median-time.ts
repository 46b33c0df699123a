/**
 * Time rules of headers: the median time past of the last 11 blocks (a header's time must be
 * above it) and the limit on times ahead of the local clock. The clock is passed in (Unix seconds);
 * nothing here reads the time.
 */
import type { HeaderLink } from './difficulty.js';
import { MEDIAN_TIME_SPAN } from './params.js';

/** Median time of `link` and up to 10 of its ancestors, Unix seconds (BIP 113). */
export function medianTimePast(link: HeaderLink): number {
  // Insertion sort into a scratch array: it runs for every header of a sync, and Array#sort
  // allocated more than anything else there.
  const times = SCRATCH;
  let n = 0;
  let l: HeaderLink | undefined = link;
  while (l !== undefined && n < MEDIAN_TIME_SPAN) {
    const t = l.time;
    let i = n++;
    while (i > 0 && times[i - 1]! > t) {
      times[i] = times[i - 1]!;
      i--;
    }
    times[i] = t;
    l = l.parent;
  }
  return times[Math.floor(n / 2)]!;
}

const SCRATCH = new Float64Array(MEDIAN_TIME_SPAN);

/** True when the median time past needs ancestors that are not reachable (below a pruned window). */
export function medianTimeIncomplete(link: HeaderLink): boolean {
  let l: HeaderLink | undefined = link;
  for (let count = 1; l !== undefined && count < MEDIAN_TIME_SPAN; count++) {
    if (l.parent === undefined && l.height !== 0) return true;
    l = l.parent;
  }
  return false;
}
