/**
 * DEV DOCS — the daemon's feeds (BEP 46 followers).
 *
 * Owns one {@link FeedFollower} per followed feed and the list of them, `<state>/feeds.json`
 * (written atomically before a request is answered):
 *
 *   { "version": 1, "feeds": [ { "publicKey": <hex>, "salt": <hex>, "dir": <absolute path>,
 *                                "addedAt": <ms> } ] }
 *
 * Each feed lives in its own folder (default `<download folder>/feeds/<id>`, see
 * src/session/feeds/version-dir.ts): its versions, `current`, state and resume records are there,
 * so a daemon restart resumes every feed where it was. The gateway (`/site/…`) reads the current
 * version through {@link FeedManager.site}. Feed torrents are not in the torrent list (they come
 * and go with versions); `GET /api/v1/feeds` shows them.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FeedFollower, FeedVersionInfo, Session } from '../session/index.js';
import { feedId, parseFeedName } from '../session/index.js';
import { ErrorCode } from '../shared/errors.js';
import { fromHex, toHex } from '../shared/hash.js';
import { MAX_DHT_ITEM_SALT_BYTES, MAX_FEED_STATE_BYTES, MAX_FOLLOWED_FEEDS } from '../shared/limits.js';
import { writeFileAtomic } from '../storage/index.js';
import { apiError } from './errors.js';
import { resolveAllowedDir } from './paths.js';

/** One version as the API shows it (seq as a decimal string: it is 64-bit). */
export interface FeedVersionJson {
  readonly seq: string;
  readonly infoHash: string;
  readonly name: string | null;
  readonly seenAt: number;
  readonly completedAt: number | null;
  readonly switchedAt: number | null;
  readonly downloadedBytes: number | null;
  readonly reusedFiles: number | null;
  readonly fetchedFiles: number | null;
  readonly removedFiles: number | null;
}

/** A followed feed as the API shows it. */
export interface FeedJson {
  readonly id: string;
  readonly publicKey: string;
  /** Salt bytes as hex ("" for none). */
  readonly salt: string;
  /** The salt as text when it is UTF-8 (what `/site/<key>/<salt>/` uses), else null. */
  readonly saltText: string | null;
  readonly magnet: string;
  readonly dir: string;
  /** The gateway URL path of the current version (`/site/<key>/[<salt>/]`). */
  readonly sitePath: string;
  readonly highestSeq: string;
  readonly current: FeedVersionJson | null;
  readonly pending: (FeedVersionJson & { readonly progress: number }) | null;
  /** Every version seen, oldest first (MAX_FEED_VERSIONS_KEPT at most). */
  readonly versions: readonly FeedVersionJson[];
  readonly addedAt: number;
  /** Why the feed is not running (its folder could not be opened), else null. */
  readonly error: string | null;
}

interface FeedRecord {
  readonly publicKey: string;
  readonly salt: string;
  readonly dir: string;
  readonly addedAt: number;
}

interface FeedEntry {
  readonly id: string;
  readonly record: FeedRecord;
  follower: FeedFollower | undefined;
  error: string | undefined;
}

export interface FeedManagerInit {
  readonly session: Session;
  readonly stateDir: string;
  /** Real path of the default download folder. */
  readonly downloadDir: string;
  readonly roots: readonly string[];
  readonly log: Logger;
  /** Poll interval of every follower, ms. @default FEED_POLL_INTERVAL_MS */
  readonly pollIntervalMs?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function saltText(salt: Uint8Array): string | null {
  if (salt.length === 0) return '';
  try {
    const t = utf8.decode(salt);
    return /^[^/\0]+$/.test(t) ? t : null;
  } catch {
    return null;
  }
}

function versionJson(v: FeedVersionInfo): FeedVersionJson {
  return {
    seq: v.seq.toString(),
    infoHash: v.infoHash,
    name: v.name ?? null,
    seenAt: v.seenAt,
    completedAt: v.completedAt ?? null,
    switchedAt: v.switchedAt ?? null,
    downloadedBytes: v.downloadedBytes ?? null,
    reusedFiles: v.reusedFiles ?? null,
    fetchedFiles: v.fetchedFiles ?? null,
    removedFiles: v.removedFiles ?? null,
  };
}

/** The daemon's followed feeds; see the module docs. */
export class FeedManager {
  readonly #init: FeedManagerInit;
  readonly #entries = new Map<string, FeedEntry>();
  readonly #path: string;
  #saving: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(init: FeedManagerInit) {
    this.#init = init;
    this.#path = join(init.stateDir, 'feeds.json');
  }

  /** Follows every feed of `feeds.json` again (a feed that cannot start is listed with its error). */
  async restore(): Promise<void> {
    let records: FeedRecord[] = [];
    try {
      const bytes = await readFile(this.#path);
      if (bytes.length > MAX_FEED_STATE_BYTES) throw new Error(`larger than ${MAX_FEED_STATE_BYTES} bytes`);
      records = parseRecords(JSON.parse(bytes.toString('utf8')));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.#init.log.warn({ err: e, path: this.#path }, 'feeds.json unreadable; no feeds restored');
    }
    for (const r of records.slice(0, MAX_FOLLOWED_FEEDS)) {
      const id = feedId({ publicKey: fromHex(r.publicKey)!, salt: fromHex(r.salt)! });
      const entry: FeedEntry = { id, record: r, follower: undefined, error: undefined };
      this.#entries.set(id, entry);
      await this.#start(entry);
    }
  }

  async #start(entry: FeedEntry): Promise<void> {
    try {
      const f = await this.#init.session.follow({
        publicKey: fromHex(entry.record.publicKey)!,
        salt: fromHex(entry.record.salt)!,
        dir: entry.record.dir,
        ...(this.#init.pollIntervalMs !== undefined ? { pollIntervalMs: this.#init.pollIntervalMs } : {}),
      });
      const log = this.#init.log.child({ feed: entry.id });
      f.on('warning', (w) => log.warn({ err: w.error }, w.message));
      f.on('version:switched', (v) =>
        log.info({ seq: v.seq.toString(), infoHash: v.infoHash }, 'new version is current'),
      );
      entry.follower = f;
      entry.error = undefined;
    } catch (e) {
      entry.error = (e as Error).message;
      this.#init.log.warn({ err: e, feed: entry.id }, 'feed not started');
    }
  }

  /**
   * Follows a feed (a BEP 46 magnet link or a public key; `salt` as text) into `dir` (below an
   * allowed folder; default `<download folder>/feeds/<id>`). Following a feed already followed
   * answers it as it is.
   */
  async follow(req: {
    readonly feed: string;
    readonly salt?: string;
    readonly dir?: string;
  }): Promise<FeedJson> {
    if (this.#closed) throw apiError(ErrorCode.ApiUnavailable, 'the daemon is stopping');
    let name: ReturnType<typeof parseFeedName>;
    try {
      const salt = req.salt === undefined ? new Uint8Array(0) : new TextEncoder().encode(req.salt);
      if (salt.length > MAX_DHT_ITEM_SALT_BYTES)
        throw new Error(`a salt is at most ${MAX_DHT_ITEM_SALT_BYTES} bytes`);
      name = parseFeedName(req.feed, salt);
    } catch (e) {
      throw apiError(ErrorCode.ApiBadRequest, (e as Error).message);
    }
    const id = feedId(name);
    const existing = this.#entries.get(id);
    if (existing !== undefined) return this.#json(existing);
    if (this.#entries.size >= MAX_FOLLOWED_FEEDS)
      throw apiError(ErrorCode.ApiConflict, `at most ${MAX_FOLLOWED_FEEDS} feeds can be followed`);
    const dir = await resolveAllowedDir(
      req.dir ?? join('feeds', id),
      this.#init.downloadDir,
      this.#init.roots,
    );
    const entry: FeedEntry = {
      id,
      record: { publicKey: toHex(name.publicKey), salt: toHex(name.salt), dir, addedAt: Date.now() },
      follower: undefined,
      error: undefined,
    };
    await this.#start(entry);
    if (entry.follower === undefined)
      throw apiError(ErrorCode.ApiConflict, `cannot follow into ${dir}: ${entry.error}`);
    this.#entries.set(id, entry);
    await this.#save();
    return this.#json(entry);
  }

  /** Stops following; `deleteData` also deletes the feed's folder. */
  async unfollow(id: string, deleteData: boolean): Promise<void> {
    const entry = this.#require(id);
    this.#entries.delete(entry.id);
    await entry.follower?.close();
    await this.#save();
    if (deleteData) await rm(entry.record.dir, { recursive: true, force: true });
  }

  /** Looks for a newer version of feed `id` now; resolves once the lookup is handled. */
  async check(id: string): Promise<FeedJson> {
    const e = this.#require(id);
    if (e.follower === undefined)
      throw apiError(ErrorCode.ApiConflict, `the feed is not running: ${e.error ?? ''}`);
    await e.follower.check();
    return this.#json(e);
  }

  /** The follower of feed `id` (for embedding and tests), if it runs. */
  follower(id: string): FeedFollower | undefined {
    return this.#entries.get(id.toLowerCase())?.follower;
  }

  list(): FeedJson[] {
    return [...this.#entries.values()].map((e) => this.#json(e));
  }

  get(id: string): FeedJson {
    return this.#json(this.#require(id));
  }

  /**
   * The follower serving `/site/<publicKey hex>/<rest>`: a salted feed whose salt text is the
   * first segment of `rest` wins, else the unsalted feed of that key. Returns the follower and the
   * path inside its site (segments), or undefined.
   */
  site(
    publicKeyHex: string,
    segments: readonly string[],
  ): { follower: FeedFollower; path: string[]; base: string } | undefined {
    const key = publicKeyHex.toLowerCase();
    const first = segments[0];
    let unsalted: FeedEntry | undefined;
    for (const e of this.#entries.values()) {
      if (e.record.publicKey !== key || e.follower === undefined) continue;
      if (e.record.salt === '') unsalted = e;
      else if (first !== undefined && saltText(fromHex(e.record.salt)!) === first)
        return {
          follower: e.follower,
          path: segments.slice(1),
          base: `/site/${key}/${encodeURIComponent(first)}/`,
        };
    }
    return unsalted === undefined
      ? undefined
      : { follower: unsalted.follower!, path: [...segments], base: `/site/${key}/` };
  }

  /** Stops every follower (their torrents leave the session; state stays for the next start). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const e of this.#entries.values()) await e.follower?.close();
    await this.#saving;
  }

  #require(id: string): FeedEntry {
    const e = this.#entries.get(id.toLowerCase());
    if (e === undefined) throw apiError(ErrorCode.ApiNotFound, `no followed feed ${id}`);
    return e;
  }

  #json(e: FeedEntry): FeedJson {
    const f = e.follower;
    const salt = fromHex(e.record.salt)!;
    const text = saltText(salt);
    const cur = f?.current();
    const pending = f?.pending();
    return {
      id: e.id,
      publicKey: e.record.publicKey,
      salt: e.record.salt,
      saltText: text,
      magnet: f?.magnet ?? '',
      dir: e.record.dir,
      sitePath: `/site/${e.record.publicKey}/${text === '' || text === null ? '' : `${encodeURIComponent(text)}/`}`,
      highestSeq: (f?.highestSeq ?? 0n).toString(),
      current: cur === undefined ? null : versionJson(cur),
      pending: pending === undefined ? null : { ...versionJson(pending), progress: pending.progress },
      versions: (f?.versions() ?? []).map(versionJson),
      addedAt: e.record.addedAt,
      error: e.error ?? null,
    };
  }

  /** Writes `feeds.json`; writes never overlap. */
  #save(): Promise<void> {
    const feeds = [...this.#entries.values()].map((e) => e.record);
    const bytes = new TextEncoder().encode(`${JSON.stringify({ version: 1, feeds }, null, 1)}\n`);
    const p = this.#saving.then(() => writeFileAtomic(this.#path, bytes));
    this.#saving = p.catch(() => {});
    return p;
  }
}

/** The records of `feeds.json`; malformed ones are dropped. */
function parseRecords(v: unknown): FeedRecord[] {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (o.version !== 1 || !Array.isArray(o.feeds)) return [];
  const out: FeedRecord[] = [];
  for (const r of o.feeds as unknown[]) {
    const x = (typeof r === 'object' && r !== null ? r : {}) as Record<string, unknown>;
    if (typeof x.publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(x.publicKey)) continue;
    if (typeof x.salt !== 'string' || !/^([0-9a-f]{2}){0,64}$/.test(x.salt)) continue;
    if (typeof x.dir !== 'string' || !x.dir.startsWith('/')) continue;
    if (typeof x.addedAt !== 'number' || !Number.isSafeInteger(x.addedAt)) continue;
    out.push({ publicKey: x.publicKey, salt: x.salt, dir: x.dir, addedAt: x.addedAt });
  }
  return out;
}
