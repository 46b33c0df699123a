/**
 * Large JSON answers (the torrent list, the `snapshot` event) as a list of small strings instead
 * of one big one. A string past V8's regular object size (~128 KiB) is allocated in the
 * large-object space and freed only by a full collection, so a 1,000-torrent list built and
 * dropped every request made the heap, and the RSS, grow by hundreds of MB between collections.
 * Chunks of at most JSON_CHUNK_CHARS stay in the young generation, which is cheap to collect.
 */

/** Target size of one chunk, in UTF-16 code units. */
export const JSON_CHUNK_CHARS = 32 * 1024;

/** `head + items.join(',') + tail` as JSON text, cut into chunks of about JSON_CHUNK_CHARS. */
export function jsonChunks<T>(head: string, items: readonly T[], tail: string): string[] {
  const out: string[] = [];
  let cur = head;
  items.forEach((item, i) => {
    const s = JSON.stringify(item);
    if (cur.length + s.length + 1 > JSON_CHUNK_CHARS && cur.length > 0) {
      out.push(cur);
      cur = '';
    }
    cur += i === 0 ? s : `,${s}`;
  });
  out.push(cur + tail);
  return out;
}
