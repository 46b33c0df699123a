/**
 * HTTP `Range` request header for one resource of known size (RFC 9110 §14.1–14.2), bytes only:
 *
 *   Range       = "bytes=" range-spec
 *   range-spec  = first "-" [ last ]      -- first..last inclusive, last clamped to size - 1
 *               | "-" suffix-length       -- the last suffix-length bytes
 *
 * Other units and lists of several ranges are ignored (the whole resource is served, which RFC
 * 9110 allows). A syntactically bad spec, `first > last`, a first byte at or past the end, a zero
 * suffix, or any range over an empty resource is unsatisfiable (416).
 */

export type RangeRequest =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const SPEC = /^(\d*)-(\d*)$/;

/** Parses `header` for a resource of `size` bytes; `end` is inclusive. */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'full' };
  const h = header.trim();
  const eq = h.indexOf('=');
  if (eq < 0 || h.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' };
  const set = h.slice(eq + 1).trim();
  if (set.includes(',')) return { kind: 'full' };
  const m = SPEC.exec(set.replace(/\s+/g, ''));
  if (m === null) return { kind: 'unsatisfiable' };
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return { kind: 'unsatisfiable' };
  if (size <= 0) return { kind: 'unsatisfiable' };
  if (a === '') {
    const n = Number(b);
    if (!Number.isSafeInteger(n) || n === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (!Number.isSafeInteger(start) || start >= size) return { kind: 'unsatisfiable' };
  let end = size - 1;
  if (b !== '') {
    const last = Number(b);
    if (!Number.isSafeInteger(last)) end = size - 1;
    else if (last < start) return { kind: 'unsatisfiable' };
    else end = Math.min(last, size - 1);
  }
  return { kind: 'partial', start, end };
}
