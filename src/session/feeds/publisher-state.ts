/**
 * What a publisher remembers of its feeds, beside its key: `<key file>.state.json`
 *
 *   { "version": 1, "feeds": { "<salt hex>": { "seq": "<decimal>", "infoHash": <hex>,
 *                                              "pieceLength": <n>, "publishedAt": <ms> } } }
 *
 * The DHT is the feed's truth, but it forgets items nobody puts for 2 hours (BEP 44); without
 * this record a publisher back after a long pause would start again at seq 1, and every follower
 * would refuse it as a rollback. It also keeps the piece length across versions, so followers can
 * reuse the piece layers of unchanged files.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCode } from '../../shared/errors.js';
import { toHex } from '../../shared/hash.js';
import { MAX_FEED_STATE_BYTES } from '../../shared/limits.js';
import { writeFileAtomic } from '../../storage/index.js';
import { FeedError } from './errors.js';

/** The last publication of one feed (one salt). */
export interface PublishedRecord {
  readonly seq: bigint;
  readonly infoHash: string;
  readonly pieceLength: number;
  readonly publishedAt: number;
}

/** The publisher state file of a key file. */
export function publisherStatePath(keyFile: string): string {
  return `${keyFile}.state.json`;
}

function bad(path: string, message: string, cause?: unknown): FeedError {
  return new FeedError(
    ErrorCode.FeedState,
    `${path}: ${message}`,
    { path },
    cause === undefined ? {} : { cause },
  );
}

/** Parses the state text; throws `SHOAL_ERR_FEED_STATE` when malformed. */
export function decodePublisherState(text: string, path: string): Map<string, PublishedRecord> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(path, 'not valid JSON', e);
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (o.version !== 1 || typeof o.feeds !== 'object' || o.feeds === null)
    throw bad(path, 'not a publisher state (version 1)');
  const out = new Map<string, PublishedRecord>();
  for (const [salt, r] of Object.entries(o.feeds as Record<string, unknown>)) {
    const x = (typeof r === 'object' && r !== null ? r : {}) as Record<string, unknown>;
    if (!/^([0-9a-f]{2}){0,64}$/.test(salt)) throw bad(path, 'a salt is not hex of at most 64 bytes');
    if (typeof x.seq !== 'string' || !/^(0|[1-9][0-9]{0,18})$/.test(x.seq))
      throw bad(path, 'seq is not a sequence number');
    if (typeof x.infoHash !== 'string' || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(x.infoHash))
      throw bad(path, 'infoHash is not hex');
    if (typeof x.pieceLength !== 'number' || !Number.isSafeInteger(x.pieceLength) || x.pieceLength <= 0)
      throw bad(path, 'pieceLength is not a positive integer');
    if (typeof x.publishedAt !== 'number' || !Number.isSafeInteger(x.publishedAt))
      throw bad(path, 'publishedAt is not a time');
    out.set(salt, {
      seq: BigInt(x.seq),
      infoHash: x.infoHash,
      pieceLength: x.pieceLength,
      publishedAt: x.publishedAt,
    });
  }
  return out;
}

/** Reads the publisher state beside a key file (empty when there is none). */
export async function readPublisherState(path: string): Promise<Map<string, PublishedRecord>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw bad(path, `cannot be read: ${(e as Error).message}`, e);
  }
  if (bytes.length > MAX_FEED_STATE_BYTES) throw bad(path, `is larger than ${MAX_FEED_STATE_BYTES} bytes`);
  return decodePublisherState(bytes.toString('utf8'), path);
}

/** Records a publication of the feed with `salt` (atomic write). */
export async function recordPublication(
  path: string,
  salt: Uint8Array,
  record: PublishedRecord,
): Promise<void> {
  const all = await readPublisherState(path);
  all.set(toHex(salt), record);
  const feeds: Record<string, unknown> = {};
  for (const [k, r] of all) feeds[k] = { ...r, seq: r.seq.toString() };
  await writeFileAtomic(
    path,
    new TextEncoder().encode(`${JSON.stringify({ version: 1, feeds }, null, 2)}\n`),
  );
}
