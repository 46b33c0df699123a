/**
 * Whitelist files of a private tracker: one info-hash per line as 40 hex digits (a v2 hash may
 * be given as 64 hex digits; trackers see its first 20 bytes, BEP 52). Blank lines and lines
 * starting with `#` are ignored — the format opentracker reads.
 */

import { TrackerError } from '../discovery/index.js';
import { ErrorCode } from '../shared/errors.js';
import { fromHex } from '../shared/hash.js';

/** Parses a whitelist file's text. Throws `TrackerBadRequest` naming the first bad line. */
export function parseWhitelist(text: string, source = 'whitelist'): Uint8Array[] {
  const out: Uint8Array[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const bytes = line.length === 40 || line.length === 64 ? fromHex(line) : undefined;
    if (bytes === undefined) {
      const reason = `${source}:${i + 1}: expected 40 (or 64) hex digits`;
      throw new TrackerError(ErrorCode.TrackerBadRequest, reason, { url: source, failureReason: reason });
    }
    out.push(bytes.subarray(0, 20));
  });
  return out;
}
