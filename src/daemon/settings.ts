/**
 * The daemon's settings: one declaration ({@link SETTING_SCHEMAS}) is the JSON schema of
 * `PUT /api/v1/settings` (Fastify validates requests with it, the OpenAPI document publishes it)
 * and the rule `state.json` is read back with ({@link readSettings}: a stored value that does not
 * conform falls back to its default), and {@link DEFAULT_SETTINGS} are the defaults of both.
 *
 * Transmission-like: global rate limits, the queue (`maxActiveDownloads`, 5 by default;
 * `maxActiveSeeds`, 0 = no limit), seed limits (ratio, idle minutes; 0 = none), the encryption
 * policy (MSE/PE), an IP blocklist file, a SOCKS5 proxy and a watch folder.
 */
export type { DaemonSettings, EncryptionSetting, ProxySetting, WatchDirAction } from './api-types.js';

import { MAX_API_PATH_LENGTH } from '../shared/limits.js';
import type { DaemonSettings, ProxySetting } from './api-types.js';
import type { JsonSchema } from './http/schemas.js';
import { conforms } from './schema-check.js';

/** Largest rate limit accepted, bytes/s (1 TiB/s: far above any link). */
export const MAX_RATE_LIMIT = 2 ** 40;
/** Largest `maxActiveDownloads` / `maxActiveSeeds` accepted (0 means no limit). */
export const MAX_ACTIVE_TORRENTS_SETTING = 100_000;
/** Largest seed ratio limit accepted. */
export const MAX_SEED_RATIO_SETTING = 10_000;
/** Largest seed idle limit accepted, minutes (a year). */
export const MAX_SEED_IDLE_MINUTES_SETTING = 525_600;
/** Longest proxy user name or password (RFC 1929 gives each one byte of length). */
export const MAX_PROXY_CREDENTIAL_LENGTH = 255;

export const DEFAULT_SETTINGS: DaemonSettings = Object.freeze({
  downloadRateLimit: 0,
  uploadRateLimit: 0,
  maxActiveDownloads: 5,
  maxActiveSeeds: 0,
  seedRatioLimit: 0,
  seedIdleLimitMinutes: 0,
  encryption: 'enabled',
  blocklistPath: null,
  proxy: null,
  watchDir: null,
  watchDirAction: 'rename',
  incompleteDir: null,
  preallocation: 'sparse',
});

const rate = {
  type: 'integer',
  minimum: 0,
  maximum: MAX_RATE_LIMIT,
  description: 'bytes/s, 0 = unlimited',
} as const;
const active = (what: string) =>
  ({ type: 'integer', minimum: 0, maximum: MAX_ACTIVE_TORRENTS_SETTING, description: what }) as const;
const absolutePath = (what: string): JsonSchema => ({
  type: ['string', 'null'],
  minLength: 1,
  maxLength: MAX_API_PATH_LENGTH,
  pattern: '^/',
  description: `${what}; an absolute path, null for none`,
});

/** Host names and IP literals (no brackets), as peer addresses take them. */
export const HOST_PATTERN = '^(?:[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+)$';

/** The proxy as it is set (and stored): the password is write-only. */
export const ProxySettingSchema: JsonSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['host', 'port'],
  description:
    'SOCKS5 proxy for peers and trackers (null: connect directly); takes effect when the daemon next starts. Leave `password` out to keep the stored one for the same user name.',
  properties: {
    host: { type: 'string', minLength: 1, maxLength: 253, pattern: HOST_PATTERN },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    username: { type: 'string', minLength: 1, maxLength: MAX_PROXY_CREDENTIAL_LENGTH },
    password: { type: 'string', minLength: 1, maxLength: MAX_PROXY_CREDENTIAL_LENGTH },
    onlyProxy: {
      type: 'boolean',
      description: 'keep the DHT and local discovery off, as they would bypass the proxy (default true)',
    },
  },
};

/** The schema of each setting (see the module notes). */
export const SETTING_SCHEMAS: { readonly [K in keyof DaemonSettings]: JsonSchema } = {
  downloadRateLimit: rate,
  uploadRateLimit: rate,
  maxActiveDownloads: active('torrents downloading at once; more wait, queued (0 = no limit; default 5)'),
  maxActiveSeeds: active('complete torrents seeding at once (0 = no limit)'),
  seedRatioLimit: {
    type: 'number',
    minimum: 0,
    maximum: MAX_SEED_RATIO_SETTING,
    description: 'seeding torrents pause at this upload ratio (0 = never)',
  },
  seedIdleLimitMinutes: {
    type: 'integer',
    minimum: 0,
    maximum: MAX_SEED_IDLE_MINUTES_SETTING,
    description: 'seeding torrents pause after this many minutes without uploading (0 = never)',
  },
  encryption: {
    type: 'string',
    enum: ['disabled', 'enabled', 'prefer', 'require'],
    description:
      'MSE/PE: disabled; enabled (accept both, dial plaintext, retry encrypted; default); prefer (dial encrypted, fall back); require (encrypted only)',
  },
  blocklistPath: absolutePath('IP blocklist file (.p2p, ipfilter.dat or CIDR lines)'),
  proxy: ProxySettingSchema,
  watchDir: absolutePath('folder whose new .torrent files are added'),
  watchDirAction: {
    type: 'string',
    enum: ['rename', 'delete'],
    description: 'what becomes of an added .torrent: renamed to <name>.added (default), or deleted',
  },
  incompleteDir: absolutePath(
    'folder where torrents added from now on download, moving to their download folder once complete (inside the allowed folders)',
  ),
  preallocation: {
    type: 'string',
    enum: ['sparse', 'full'],
    description:
      'sparse files (default), or full: space reserved when a torrent is added, so a full disk fails it then',
  },
};

/** A change of some settings (`PUT /api/v1/settings`). */
export type SettingsChange = { -readonly [K in keyof DaemonSettings]?: DaemonSettings[K] };

/** Body schema of `PUT /api/v1/settings`: any of the settings, nothing else. */
export const SettingsBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: SETTING_SCHEMAS,
};

/**
 * The settings stored in `state.json` (`stored`, untrusted): each one that conforms to its schema
 * is kept, the others (and missing ones) take their default.
 */
export function readSettings(stored: unknown): DaemonSettings {
  const o = typeof stored === 'object' && stored !== null ? (stored as Record<string, unknown>) : {};
  const out: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(SETTING_SCHEMAS) as (keyof DaemonSettings)[]) {
    const v = o[key];
    if (v !== undefined && conforms(SETTING_SCHEMAS[key], v)) out[key] = v;
  }
  return out as unknown as DaemonSettings;
}

/**
 * The proxy to store for a change: a new password, or the stored one when the change leaves it
 * out and names the same user. Undefined when the change names a user without a password and
 * none is stored for that user.
 */
export function mergeProxy(
  stored: ProxySetting | null,
  next: ProxySetting | null,
): ProxySetting | null | undefined {
  if (next === null || next.username === undefined) {
    if (next === null) return null;
    const { password: _p, ...rest } = next;
    return rest;
  }
  if (next.password !== undefined) return next;
  if (stored?.username === next.username && stored.password !== undefined)
    return { ...next, password: stored.password };
  return undefined;
}

/** Session options for the settings (what `Session.create` takes). */
export function sessionSettings(s: DaemonSettings) {
  return {
    downloadRateLimit: s.downloadRateLimit,
    uploadRateLimit: s.uploadRateLimit,
    maxActiveDownloads: s.maxActiveDownloads,
    maxActiveSeeds: s.maxActiveSeeds,
    seedRatioLimit: s.seedRatioLimit,
    seedIdleLimitMs: s.seedIdleLimitMinutes * 60_000,
    encryption: s.encryption,
    ...(s.proxy !== null
      ? {
          proxy: {
            type: 'socks5' as const,
            host: s.proxy.host,
            port: s.proxy.port,
            ...(s.proxy.username !== undefined
              ? { username: s.proxy.username, password: s.proxy.password ?? '' }
              : {}),
            onlyProxy: s.proxy.onlyProxy ?? true,
          },
        }
      : {}),
  };
}
