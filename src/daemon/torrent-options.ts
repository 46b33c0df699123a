/**
 * A torrent's own options in the daemon (Transmission's per-torrent speed limits, bandwidth
 * priority and seed limits): one schema for `PATCH /api/v1/torrents/:id` and for the `options`
 * of a record read back from `state.json`, and their translation to the library's
 * (`TorrentOptions` when the torrent starts, `torrent.limits` / `torrent.seedLimits` while it
 * runs).
 */
import type { Torrent, TorrentOptions } from '../session/index.js';
import type { BandwidthPriorityName, TorrentOptionsInfo } from './api-types.js';
import type { JsonSchema } from './http/schemas.js';
import { conforms } from './schema-check.js';
import { MAX_RATE_LIMIT, MAX_SEED_IDLE_MINUTES_SETTING, MAX_SEED_RATIO_SETTING } from './settings.js';

/** A torrent's options as its record keeps them; a missing seed limit follows the daemon's setting. */
export interface StoredTorrentOptions {
  readonly downloadLimit?: number;
  readonly uploadLimit?: number;
  readonly priority?: BandwidthPriorityName;
  readonly seedRatioLimit?: number;
  readonly seedIdleLimitMinutes?: number;
}

/** A change: `null` seed limits go back to the daemon's setting. */
export interface TorrentOptionsChange {
  readonly downloadLimit?: number;
  readonly uploadLimit?: number;
  readonly priority?: BandwidthPriorityName;
  readonly seedRatioLimit?: number | null;
  readonly seedIdleLimitMinutes?: number | null;
}

const rate = (what: string) =>
  ({
    type: 'integer',
    minimum: 0,
    maximum: MAX_RATE_LIMIT,
    description: `the torrent's own ${what} limit, bytes/s (0 = only the global limit)`,
  }) as const;

/** Body schema of `PATCH /api/v1/torrents/:id`. */
export const TorrentOptionsBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    downloadLimit: rate('download'),
    uploadLimit: rate('upload'),
    priority: {
      type: 'string',
      enum: ['low', 'normal', 'high'],
      description: 'bandwidth priority under the global limits',
    },
    seedRatioLimit: {
      type: ['number', 'null'],
      minimum: 0,
      maximum: MAX_SEED_RATIO_SETTING,
      description: "seeding stops at this ratio (0 = never; null = the daemon's seedRatioLimit)",
    },
    seedIdleLimitMinutes: {
      type: ['integer', 'null'],
      minimum: 0,
      maximum: MAX_SEED_IDLE_MINUTES_SETTING,
      description: "seeding stops after this many idle minutes (0 = never; null = the daemon's setting)",
    },
  },
};

/** A record's stored options (untrusted), or undefined when they do not check out. */
export function readTorrentOptions(v: unknown): StoredTorrentOptions | undefined {
  if (v === undefined || !conforms(TorrentOptionsBody, v)) return undefined;
  return withChange({}, v as TorrentOptionsChange);
}

/** `stored` with `change` applied (a null seed limit is dropped: the daemon's applies again). */
export function withChange(stored: StoredTorrentOptions, change: TorrentOptionsChange): StoredTorrentOptions {
  const out: Record<string, unknown> = { ...stored };
  for (const [k, v] of Object.entries(change)) {
    if (v === null) delete out[k];
    else if (v !== undefined) out[k] = v;
  }
  return out as StoredTorrentOptions;
}

/** The library's options for a torrent that starts with `o`. */
export function libraryOptions(
  o: StoredTorrentOptions | undefined,
): Pick<
  TorrentOptions,
  'downloadRateLimit' | 'uploadRateLimit' | 'bandwidthPriority' | 'seedRatioLimit' | 'seedIdleLimitMs'
> {
  if (o === undefined) return {};
  return {
    ...(o.downloadLimit !== undefined ? { downloadRateLimit: o.downloadLimit } : {}),
    ...(o.uploadLimit !== undefined ? { uploadRateLimit: o.uploadLimit } : {}),
    ...(o.priority !== undefined ? { bandwidthPriority: o.priority } : {}),
    ...(o.seedRatioLimit !== undefined ? { seedRatioLimit: o.seedRatioLimit } : {}),
    ...(o.seedIdleLimitMinutes !== undefined ? { seedIdleLimitMs: o.seedIdleLimitMinutes * 60_000 } : {}),
  };
}

/** Puts `o` in force on a running torrent. */
export function applyOptions(t: Torrent, o: StoredTorrentOptions | undefined): void {
  t.limits.set({
    download: o?.downloadLimit ?? 0,
    upload: o?.uploadLimit ?? 0,
    priority: o?.priority ?? 'normal',
  });
  t.seedLimits.set({
    ...(o?.seedRatioLimit !== undefined ? { ratio: o.seedRatioLimit } : {}),
    ...(o?.seedIdleLimitMinutes !== undefined ? { idleMs: o.seedIdleLimitMinutes * 60_000 } : {}),
  });
}

/** The options as the API shows them. */
export function optionsInfo(o: StoredTorrentOptions | undefined): TorrentOptionsInfo {
  return {
    downloadLimit: o?.downloadLimit ?? 0,
    uploadLimit: o?.uploadLimit ?? 0,
    priority: o?.priority ?? 'normal',
    seedRatioLimit: o?.seedRatioLimit ?? null,
    seedIdleLimitMinutes: o?.seedIdleLimitMinutes ?? null,
  };
}
