/**
 * Builds a .torrent file around an info dictionary received as raw bytes (from a magnet's
 * metadata exchange). The info bytes are embedded verbatim — re-encoding them could change
 * the info-hash if the sender's encoding was not canonical.
 */
import { encode } from '../codec/index.js';
import type { TrackerTiers } from './types.js';

const te = new TextEncoder();

export interface TorrentFileExtras {
  readonly trackers?: TrackerTiers;
  readonly webSeeds?: readonly string[];
}

export function torrentFileFromInfo(infoBytes: Uint8Array, extras: TorrentFileExtras = {}): Uint8Array {
  const tiers = (extras.trackers ?? []).filter((t) => t.length > 0);
  const first = tiers[0]?.[0];
  // Keys in byte order: announce < announce-list < info < url-list.
  const parts: Uint8Array[] = [te.encode('d')];
  const entry = (key: string, value: Uint8Array) => {
    const k = encode(key);
    parts.push(k.subarray(0, k.length), value);
  };
  if (first !== undefined) entry('announce', encode(first));
  if (tiers.length > 1 || (tiers[0]?.length ?? 0) > 1)
    entry('announce-list', encode(tiers.map((t) => [...t])));
  entry('info', infoBytes);
  if (extras.webSeeds !== undefined && extras.webSeeds.length > 0)
    entry('url-list', encode([...extras.webSeeds]));
  parts.push(te.encode('e'));
  return Buffer.concat(parts);
}
