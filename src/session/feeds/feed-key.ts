/**
 * Feed keys and feed names.
 *
 * A key file holds one ed25519 key (BEP 44) as JSON text, written with mode 0600 and never
 * overwritten:
 *
 *   { "type": "shoal-feed-key", "algorithm": "ed25519", "seed": <64 hex>, "publicKey": <64 hex> }
 *
 * The seed is the secret; the public key is repeated so a reader can check the file. A key
 * file that others may read (any group or other permission bit) is refused, as ssh refuses such
 * private keys.
 *
 * A feed is named by a public key and an optional salt (BEP 44 §salt, at most 64 bytes): the
 * BEP 46 link `magnet:?xs=urn:btpk:<public key hex>&s=<salt hex>`, or the public key alone as 64
 * hex digits.
 */
import { open, readFile, stat } from 'node:fs/promises';
import type { Ed25519KeyPair } from '../../dht/index.js';
import { createDhtKeyPair } from '../../discovery/index.js';
import { buildMagnet, parseMutableMagnet } from '../../metainfo/index.js';
import { ErrorCode, isShoalError } from '../../shared/errors.js';
import { bytesEqual, fromHex, toHex } from '../../shared/hash.js';
import { MAX_DHT_ITEM_SALT_BYTES, MAX_FEED_KEY_FILE_BYTES } from '../../shared/limits.js';
import { FeedError } from './errors.js';

/** The `type` field of a key file. */
export const FEED_KEY_FILE_TYPE = 'shoal-feed-key';

/** What a feed is: a publisher's public key and a salt (empty for none). */
export interface FeedName {
  /** The publisher's ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** The salt, 0 to 64 bytes (a `--salt NAME` is the UTF-8 bytes of the name). */
  readonly salt: Uint8Array;
}

function keyError(message: string, path: string, cause?: unknown): FeedError {
  return new FeedError(ErrorCode.FeedKey, message, { path }, cause === undefined ? {} : { cause });
}

/** The key file text of `keyPair`. */
export function encodeKeyFile(keyPair: Ed25519KeyPair): string {
  return `${JSON.stringify(
    {
      type: FEED_KEY_FILE_TYPE,
      algorithm: 'ed25519',
      seed: toHex(keyPair.seed),
      publicKey: toHex(keyPair.publicKey),
    },
    null,
    2,
  )}\n`;
}

/**
 * Parses key file text; throws {@link FeedError} (`SHOAL_ERR_FEED_KEY`) for anything but a
 * well-formed key whose public key matches its seed. `path` is only for messages.
 */
export function decodeKeyFile(text: string, path: string): Ed25519KeyPair {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw keyError(`${path} is not a Shoal feed key (not JSON)`, path, e);
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (o.type !== FEED_KEY_FILE_TYPE || o.algorithm !== 'ed25519') {
    throw keyError(`${path} is not a Shoal feed key (type ${JSON.stringify(o.type)})`, path);
  }
  const seed = typeof o.seed === 'string' && o.seed.length === 64 ? fromHex(o.seed) : undefined;
  const publicKey =
    typeof o.publicKey === 'string' && o.publicKey.length === 64 ? fromHex(o.publicKey) : undefined;
  if (seed === undefined || publicKey === undefined) {
    throw keyError(`${path}: "seed" and "publicKey" must be 64 hex digits`, path);
  }
  const pair = createDhtKeyPair(seed);
  if (!bytesEqual(pair.publicKey, publicKey)) {
    throw keyError(`${path}: the public key does not belong to the seed (a damaged key file)`, path);
  }
  return pair;
}

/**
 * Writes a new key file at `path` with mode 0600 (refusing to overwrite an existing file) and
 * returns its key pair: `keyPair` when given, else a fresh random one.
 */
export async function writeKeyFile(
  path: string,
  keyPair: Ed25519KeyPair = createDhtKeyPair(),
): Promise<Ed25519KeyPair> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'wx', 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw keyError(
      code === 'EEXIST'
        ? `${path} already exists; a key file is never overwritten (losing a key loses the feed)`
        : `cannot create ${path}: ${(e as Error).message}`,
      path,
      e,
    );
  }
  try {
    // The umask may have narrowed the mode further, never widened it; set it exactly anyway.
    await fh.chmod(0o600);
    await fh.writeFile(encodeKeyFile(keyPair), 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  return keyPair;
}

/**
 * Reads a key file; throws {@link FeedError} (`SHOAL_ERR_FEED_KEY`) when it is missing, larger
 * than MAX_FEED_KEY_FILE_BYTES, readable by group or others, or malformed.
 */
export async function readKeyFile(path: string): Promise<Ed25519KeyPair> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    throw keyError(`cannot read the key file ${path}: ${(e as Error).message}`, path, e);
  }
  if (!st.isFile()) throw keyError(`${path} is not a file`, path);
  if (st.size > MAX_FEED_KEY_FILE_BYTES) {
    throw keyError(`${path} is ${st.size} bytes; a key file is at most ${MAX_FEED_KEY_FILE_BYTES}`, path);
  }
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw keyError(`${path} has mode ${mode}: others may read the secret key; run chmod 600 ${path}`, path);
  }
  try {
    return decodeKeyFile(await readFile(path, 'utf8'), path);
  } catch (e) {
    if (isShoalError(e)) throw e;
    throw keyError(`cannot read the key file ${path}: ${(e as Error).message}`, path, e);
  }
}

/** The salt of a `--salt NAME`: its UTF-8 bytes (at most 64). */
export function saltFromName(name: string | undefined): Uint8Array {
  if (name === undefined) return new Uint8Array(0);
  const salt = new TextEncoder().encode(name);
  if (salt.length > MAX_DHT_ITEM_SALT_BYTES) {
    throw new FeedError(
      ErrorCode.SessionInvalidArgument,
      `the salt is ${salt.length} bytes; BEP 44 allows at most ${MAX_DHT_ITEM_SALT_BYTES}`,
      {},
    );
  }
  return salt;
}

/**
 * A feed from user text: a BEP 46 magnet link (its `s` is the salt), or a public key as 64 hex
 * digits with `salt` (default none). A magnet's own salt wins over `salt` only when `salt` is
 * empty; two different salts are an error.
 */
export function parseFeedName(text: string, salt: Uint8Array = new Uint8Array(0)): FeedName {
  const t = text.trim();
  if (t.toLowerCase().startsWith('magnet:')) {
    const link = parseMutableMagnet(t);
    if (salt.length > 0 && link.salt.length > 0 && !bytesEqual(salt, link.salt)) {
      throw new FeedError(ErrorCode.SessionInvalidArgument, 'the magnet link names another salt', {});
    }
    return { publicKey: link.publicKey, salt: link.salt.length > 0 ? link.salt : salt };
  }
  const publicKey = /^[0-9a-fA-F]{64}$/.test(t) ? fromHex(t) : undefined;
  if (publicKey === undefined) {
    throw new FeedError(
      ErrorCode.SessionInvalidArgument,
      `"${t.slice(0, 80)}" is neither a BEP 46 magnet link (magnet:?xs=urn:btpk:…) nor a public key (64 hex digits)`,
      {},
    );
  }
  if (salt.length > MAX_DHT_ITEM_SALT_BYTES) {
    throw new FeedError(
      ErrorCode.SessionInvalidArgument,
      `a salt is at most ${MAX_DHT_ITEM_SALT_BYTES} bytes`,
      {},
    );
  }
  return { publicKey, salt };
}

/** The BEP 46 magnet link of a feed: `magnet:?xs=urn:btpk:<key>` and `&s=<salt>` when salted. */
export function feedMagnet(feed: FeedName, name?: string): string {
  return buildMagnet({
    publicKey: feed.publicKey,
    salt: feed.salt,
    ...(name !== undefined ? { name } : {}),
    trackers: [],
    webSeeds: [],
    peers: [],
  });
}

/** A short, file-name-safe id of a feed: the public key's hex, then `-` and the salt's hex if any. */
export function feedId(feed: FeedName): string {
  return feed.salt.length === 0 ? toHex(feed.publicKey) : `${toHex(feed.publicKey)}-${toHex(feed.salt)}`;
}
