/**
 * HTTP `Range` request header for one resource of known size (RFC 9110 §14.1–14.2), bytes only:
 *
 *   Range       = "bytes=" range-spec
 *   range-spec  = first "-" [ last ]      -- first..last inclusive, last clamped to size - 1
 *               | "-" suffix-length       -- the last suffix-length bytes
 *
 * A header that is not a valid byte range — another unit, a list of several ranges, a
 * malformed spec such as `bytes=abc`, or `last < first` — is ignored and the whole resource
 * served (200), as RFC 9110 §14.2 allows ("a server MAY ignore … an invalid ranges-specifier";
 * clients send such headers by mistake and expect the content). Only a valid range that cannot
 * be satisfied gets 416: a first byte at or past the end (any first byte of an empty resource),
 * or a zero-length suffix (§14.1.1: a suffix-range is satisfiable when its length is not zero).
 */

export type RangeRequest =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const SPEC = /^(\d*)-(\d*)$/;

/** Parses `header` for a resource of `size` bytes; `end` is inclusive. */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  const full = { kind: 'full' } as const;
  if (header === undefined) return full;
  const h = header.trim();
  const eq = h.indexOf('=');
  if (eq < 0 || h.slice(0, eq).trim().toLowerCase() !== 'bytes') return full;
  const set = h.slice(eq + 1).trim();
  if (set.includes(',')) return full;
  const m = SPEC.exec(set.replace(/\s+/g, ''));
  if (m === null) return full;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return full;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return { kind: 'unsatisfiable' };
    // A non-zero suffix of an empty resource is the (empty) whole of it.
    if (size <= 0) return full;
    return { kind: 'partial', start: Math.max(0, size - Math.min(n, size)), end: size - 1 };
  }
  const start = Number(a);
  if (b !== '' && Number(b) < start) return full; // last < first: invalid, ignored
  if (!(start < size)) return { kind: 'unsatisfiable' };
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  return { kind: 'partial', start, end };
}
