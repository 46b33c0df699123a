/**
 * A follower's state file, `<dir>/.shoal/feed.json` (JSON, written atomically):
 *
 *   {
 *     "version": 1,
 *     "publicKey": <64 hex>, "salt": <hex, "" for none>,
 *     "highestSeq": "<decimal>",     -- highest seq seen with a valid signature: never go below
 *     "item": { "seq": "<decimal>", "v": <hex of the bencoded value>, "sig": <128 hex> },
 *     "current": "<seq>" | null,     -- the version `<dir>/current` points at
 *     "pending": "<seq>" | null,     -- the version being downloaded (staged)
 *     "versions": [ VersionRecord, … ]   -- oldest first, at most MAX_FEED_VERSIONS_KEPT
 *   }
 *
 * `item` is the newest signed item, kept to be put again (BEP 46: consumers keep the items they
 * follow alive too). Sequence numbers are decimal strings (they are 64-bit). The file is ours,
 * but it is read as untrusted input: anything malformed is a `SHOAL_ERR_FEED_STATE`.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCode } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/hash.js';
import {
  MAX_DHT_ITEM_SALT_BYTES,
  MAX_DHT_ITEM_VALUE_BYTES,
  MAX_FEED_STATE_BYTES,
  MAX_FEED_VERSIONS_KEPT,
} from '../../shared/limits.js';
import { writeFileAtomic } from '../../storage/index.js';
import { FeedError } from './errors.js';
import type { FeedName } from './feed-key.js';

/** Version of the feed state layout. */
export const FEED_STATE_VERSION = 1;

/** What a follower knows of one version of a feed. */
export interface FeedVersionRecord {
  /** The item's sequence number. */
  readonly seq: bigint;
  /** The BEP 46 `ih`: 20 bytes (v1 or hybrid) or 32 (v2), as hex. */
  readonly infoHash: string;
  /** The torrent's name, once its metadata arrived. */
  name?: string;
  /** When the item was first seen, ms since the epoch. */
  readonly seenAt: number;
  /** When every file was verified on disk, ms since the epoch. */
  completedAt?: number;
  /** When `<dir>/current` was switched to it, ms since the epoch. */
  switchedAt?: number;
  /** Payload bytes downloaded for it (files reused from the version before are not counted). */
  downloadedBytes?: number;
  /** Files hard-linked (or copied) from the previous version, unchanged. */
  reusedFiles?: number;
  /** Files downloaded. */
  fetchedFiles?: number;
  /** Files of the previous version that are gone. */
  removedFiles?: number;
}

/** The newest signed item (BEP 44 mutable item fields). */
export interface FeedItemRecord {
  readonly seq: bigint;
  /** The bencoded value. */
  readonly v: Uint8Array;
  readonly sig: Uint8Array;
}

export interface FeedState {
  readonly publicKey: Uint8Array;
  readonly salt: Uint8Array;
  highestSeq: bigint;
  item: FeedItemRecord | undefined;
  current: bigint | undefined;
  pending: bigint | undefined;
  versions: FeedVersionRecord[];
}

function stateError(path: string, message: string, cause?: unknown): FeedError {
  return new FeedError(
    ErrorCode.FeedState,
    `${path}: ${message}`,
    { path },
    cause === undefined ? {} : { cause },
  );
}

/** A fresh state for `feed`. */
export function emptyFeedState(feed: FeedName): FeedState {
  return {
    publicKey: feed.publicKey,
    salt: feed.salt,
    highestSeq: 0n,
    item: undefined,
    current: undefined,
    pending: undefined,
    versions: [],
  };
}

/** The record of version `seq`, if remembered. */
export function versionOf(state: FeedState, seq: bigint | undefined): FeedVersionRecord | undefined {
  return seq === undefined ? undefined : state.versions.find((v) => v.seq === seq);
}

/** Adds a version, dropping the oldest ones past MAX_FEED_VERSIONS_KEPT (never current or pending). */
export function addVersion(state: FeedState, record: FeedVersionRecord): void {
  state.versions.push(record);
  state.versions.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  while (state.versions.length > MAX_FEED_VERSIONS_KEPT) {
    const i = state.versions.findIndex((v) => v.seq !== state.current && v.seq !== state.pending);
    if (i < 0) break;
    state.versions.splice(i, 1);
  }
}

const seqText = (s: bigint | undefined) => (s === undefined ? null : s.toString());

/** The JSON text of a state. */
export function encodeFeedState(s: FeedState): string {
  return `${JSON.stringify(
    {
      version: FEED_STATE_VERSION,
      publicKey: toHex(s.publicKey),
      salt: toHex(s.salt),
      highestSeq: s.highestSeq.toString(),
      item:
        s.item === undefined
          ? null
          : { seq: s.item.seq.toString(), v: toHex(s.item.v), sig: toHex(s.item.sig) },
      current: seqText(s.current),
      pending: seqText(s.pending),
      versions: s.versions.map((v) => ({ ...v, seq: v.seq.toString() })),
    },
    null,
    1,
  )}\n`;
}

const SEQ = /^(0|[1-9][0-9]{0,18})$/;
const MAX_SEQ = 0x7fff_ffff_ffff_ffffn;

function seqOf(v: unknown, path: string, field: string): bigint {
  if (typeof v !== 'string' || !SEQ.test(v) || BigInt(v) > MAX_SEQ) {
    throw stateError(path, `${field} is not a sequence number`);
  }
  return BigInt(v);
}

/** Hex of `lengths` bytes (a list of lengths, or at most `lengths.max`). */
function hexOf(
  v: unknown,
  path: string,
  field: string,
  lengths: readonly number[] | { max: number },
): Uint8Array {
  const b = typeof v === 'string' ? fromHex(v) : undefined;
  const ok =
    b !== undefined &&
    (Array.isArray(lengths) ? lengths.includes(b.length) : b.length <= (lengths as { max: number }).max);
  if (!ok) throw stateError(path, `${field} is not valid hex`);
  return b!;
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function recordOf(v: unknown, path: string): FeedVersionRecord {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const seq = seqOf(o.seq, path, 'versions[].seq');
  const ih = hexOf(o.infoHash, path, 'versions[].infoHash', [20, 32]);
  if (!isTime(o.seenAt)) throw stateError(path, 'versions[].seenAt is not a time');
  const r: FeedVersionRecord = { seq, infoHash: toHex(ih), seenAt: o.seenAt };
  if (typeof o.name === 'string' && o.name.length <= 4096) r.name = o.name;
  for (const k of [
    'completedAt',
    'switchedAt',
    'downloadedBytes',
    'reusedFiles',
    'fetchedFiles',
    'removedFiles',
  ] as const) {
    if (o[k] === undefined) continue;
    if (!isTime(o[k])) throw stateError(path, `versions[].${k} is not a non-negative integer`);
    r[k] = o[k];
  }
  return r;
}

/**
 * Parses state text; throws {@link FeedError} (`SHOAL_ERR_FEED_STATE`) when it is malformed,
 * or when `current`/`pending` name a version it does not list.
 */
export function decodeFeedState(text: string, path: string): FeedState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw stateError(path, 'not valid JSON', e);
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (o.version !== FEED_STATE_VERSION) {
    throw stateError(path, `layout version ${String(o.version)}; this Shoal reads ${FEED_STATE_VERSION}`);
  }
  const publicKey = hexOf(o.publicKey, path, 'publicKey', [32]);
  const salt = hexOf(o.salt ?? '', path, 'salt', { max: MAX_DHT_ITEM_SALT_BYTES });
  if (!Array.isArray(o.versions) || o.versions.length > MAX_FEED_VERSIONS_KEPT) {
    throw stateError(path, `versions is not a list of at most ${MAX_FEED_VERSIONS_KEPT}`);
  }
  const versions = o.versions.map((r) => recordOf(r, path));
  let item: FeedItemRecord | undefined;
  if (o.item !== null && o.item !== undefined) {
    const i = o.item as Record<string, unknown>;
    const value = hexOf(i.v, path, 'item.v', { max: MAX_DHT_ITEM_VALUE_BYTES });
    item = { seq: seqOf(i.seq, path, 'item.seq'), v: value, sig: hexOf(i.sig, path, 'item.sig', [64]) };
  }
  const ref = (x: unknown, field: string): bigint | undefined => {
    if (x === null || x === undefined) return undefined;
    const seq = seqOf(x, path, field);
    if (!versions.some((r) => r.seq === seq))
      throw stateError(path, `${field} names a version it does not list`);
    return seq;
  };
  return {
    publicKey,
    salt,
    highestSeq: seqOf(o.highestSeq, path, 'highestSeq'),
    item,
    current: ref(o.current, 'current'),
    pending: ref(o.pending, 'pending'),
    versions,
  };
}

/** Reads a state file; undefined when there is none. */
export async function readFeedState(path: string): Promise<FeedState | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw stateError(path, `cannot be read: ${(e as Error).message}`, e);
  }
  if (bytes.length > MAX_FEED_STATE_BYTES) {
    throw stateError(path, `is ${bytes.length} bytes, more than ${MAX_FEED_STATE_BYTES}`);
  }
  return decodeFeedState(bytes.toString('utf8'), path);
}

/** Writes a state file atomically (temp file, fsync, rename). */
export async function writeFeedState(path: string, state: FeedState): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(encodeFeedState(state)));
}
