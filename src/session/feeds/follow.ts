/**
 * Following a feed (BEP 46): keep a folder at the newest version a publisher put under its key.
 *
 * DEV DOCS
 * Owns: the follower's state file, its version folders and `DIR/current` (version-dir.ts), the
 * torrents of the current version (seeding) and of the version being downloaded, a poll loop and
 * a re-put timer. The session (a {@link FeedHost}) owns the sockets.
 *
 * The loop: every `pollIntervalMs`, `get` the mutable item (the DHT layer keeps only items whose
 * signature verifies under the key and salt, and of those the highest seq). Then:
 * - seq ≤ the highest seq ever seen (kept in the state file, so also across restarts): left aside
 *   (`item:ignored`, `old-seq`) — a node replaying an old signed item cannot roll a follower back;
 * - a value that is not `{ih}`: remembered as seen, left aside (`bad-value`);
 * - the `ih` of the current or of the pending version: nothing to fetch;
 * - else a new version: any older pending download is abandoned (its folder deleted), and the
 *   new one is staged: its metadata fetched (BEP 9, peers of the current version asked first),
 *   the unchanged files hard-linked from the current version, their piece layers reused, the
 *   torrent added to download into `.shoal/versions/<seq>/` (it verifies the linked files, so
 *   only changed and new files are fetched), and once done `DIR/current` is switched in one
 *   rename, then the previous version's torrent and folder are removed.
 *
 * Crash safety (kill -9 at any point): the state file names the current and pending versions and
 * is written before and after the link switch; on open, the link is the truth (a pending version
 * the link already points at becomes current), folders of any other version are deleted, and the
 * pending download resumes from its resume record.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { MutableItem } from '../../discovery/index.js';
import {
  decodeMutableTorrentValue,
  type MagnetLink,
  type Metainfo,
  type PeerAddress,
  parseInfoDict,
  parsePeerAddress,
} from '../../metainfo/index.js';
import { ErrorCode } from '../../shared/errors.js';
import { bytesEqual, fromHex, toHex } from '../../shared/hash.js';
import { TypedEmitter } from '../../shared/typed-emitter.js';
import { writeFileAtomic } from '../../storage/index.js';
import { torrentFiles as userFiles } from '../file-stream.js';
import type { Torrent } from '../torrent.js';
import { abortableDelay } from '../torrent-discovery.js';
import { FeedError } from './errors.js';
import { type FeedName, feedId, feedMagnet } from './feed-key.js';
import {
  addVersion,
  emptyFeedState,
  type FeedState,
  type FeedVersionRecord,
  readFeedState,
  versionOf,
  writeFeedState,
} from './feed-state.js';
import {
  FEED_POLL_INTERVAL_MS,
  FEED_REPUT_INTERVAL_MS,
  FEED_RETRY_MS,
  type FeedFollowerEvents,
  type FeedHost,
  type FeedVersionInfo,
  type FollowOptions,
} from './feed-types.js';
import {
  type FeedLayout,
  feedLayout,
  linkUnchangedFiles,
  type ReuseResult,
  readCurrentLink,
  removeOtherVersions,
  removeVersion,
  switchCurrent,
  versionDir,
  versionInfoPath,
} from './version-dir.js';

/** A version with its running torrent. */
interface LiveVersion {
  readonly seq: bigint;
  readonly metainfo: Metainfo;
  readonly torrent: Torrent;
}

/** The download of a new version. */
interface Staging {
  readonly record: FeedVersionRecord;
  /** Aborted when a newer version supersedes this one. */
  readonly superseded: AbortController;
  torrent: Torrent | undefined;
  /** Past the point of no return: the switch is being made. */
  switching: boolean;
  done: Promise<void>;
}

function info(r: FeedVersionRecord): FeedVersionInfo {
  return {
    seq: r.seq,
    infoHash: r.infoHash,
    name: r.name,
    seenAt: r.seenAt,
    completedAt: r.completedAt,
    switchedAt: r.switchedAt,
    downloadedBytes: r.downloadedBytes,
    reusedFiles: r.reusedFiles,
    fetchedFiles: r.fetchedFiles,
    removedFiles: r.removedFiles,
  };
}

/** The magnet link that fetches an `ih` (20 bytes: v1 or hybrid; 32: v2). */
function linkOf(ih: Uint8Array, peers: readonly PeerAddress[]): MagnetLink {
  return {
    ...(ih.length === 20 ? { infoHashV1: ih } : { infoHashV2: ih }),
    trackers: [],
    webSeeds: [],
    peers: [...peers],
  };
}

/** A follower of one feed into one folder; see the module docs. Create with {@link FeedFollower.open}. */
export class FeedFollower extends TypedEmitter<FeedFollowerEvents> {
  readonly publicKey: Uint8Array;
  readonly salt: Uint8Array;
  /** The follower's folder (absolute). */
  readonly dir: string;
  readonly layout: FeedLayout;
  /** The feed's BEP 46 link. */
  readonly magnet: string;
  /** `<public key hex>[-<salt hex>]`. */
  readonly id: string;
  readonly #host: FeedHost;
  readonly #pollMs: number;
  readonly #reputMs: number;
  #state: FeedState;
  #current: LiveVersion | undefined;
  #staging: Staging | undefined;
  readonly #life = new AbortController();
  #loop: Promise<void> = Promise.resolve();
  #polling: Promise<void> = Promise.resolve();
  #saving: Promise<void> = Promise.resolve();
  #reputTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #warnedMissing = false;

  private constructor(host: FeedHost, options: FollowOptions) {
    super();
    this.#host = host;
    this.publicKey = options.publicKey;
    this.salt = options.salt ?? new Uint8Array(0);
    this.dir = resolve(options.dir);
    this.layout = feedLayout(this.dir);
    const feed: FeedName = { publicKey: this.publicKey, salt: this.salt };
    this.magnet = feedMagnet(feed);
    this.id = feedId(feed);
    this.#pollMs = options.pollIntervalMs ?? FEED_POLL_INTERVAL_MS;
    this.#reputMs = options.reputIntervalMs ?? FEED_REPUT_INTERVAL_MS;
    this.#state = emptyFeedState(feed);
  }

  /**
   * Opens a follower on `options.dir`: restores its state (resuming a pending download, seeding
   * the current version) and starts polling. Rejects with `SHOAL_ERR_FEED_STATE` when the folder
   * follows another feed or its state is damaged.
   */
  static async open(host: FeedHost, options: FollowOptions): Promise<FeedFollower> {
    if (!(options.publicKey instanceof Uint8Array) || options.publicKey.length !== 32) {
      throw new FeedError(ErrorCode.SessionInvalidArgument, 'a feed public key is 32 bytes', {});
    }
    const f = new FeedFollower(host, options);
    try {
      await f.#open();
    } catch (e) {
      await f.close();
      throw e;
    }
    return f;
  }

  // ------------------------------------------------------------------ queries

  /** The version `DIR/current` points at. */
  current(): FeedVersionInfo | undefined {
    const r = versionOf(this.#state, this.#state.current);
    return r === undefined ? undefined : info(r);
  }

  /** The version being downloaded, with its progress (0..1). */
  pending(): (FeedVersionInfo & { readonly progress: number }) | undefined {
    const r = versionOf(this.#state, this.#state.pending);
    if (r === undefined) return undefined;
    const t = this.#staging?.record === r ? this.#staging.torrent : undefined;
    const s = t?.stats();
    const progress = s === undefined || s.pieceCount === 0 ? 0 : s.haveCount / s.pieceCount;
    return { ...info(r), progress };
  }

  /** Every version remembered (at most MAX_FEED_VERSIONS_KEPT), oldest first. */
  versions(): FeedVersionInfo[] {
    return this.#state.versions.map(info);
  }

  /** The highest seq seen with a valid signature. */
  get highestSeq(): bigint {
    return this.#state.highestSeq;
  }

  /** The current version's torrent (seeding), if there is a current version. */
  currentTorrent(): Torrent | undefined {
    return this.#current?.torrent;
  }

  /** The pending version's torrent, while it downloads. */
  pendingTorrent(): Torrent | undefined {
    return this.#staging?.torrent;
  }

  /** `DIR/current`: where readers find the current version. */
  get currentPath(): string {
    return this.layout.currentLink;
  }

  /** Looks the feed up now instead of waiting for the next poll; resolves once that lookup is handled. */
  check(): Promise<void> {
    const p = this.#polling.then(() => this.#poll());
    this.#polling = p.catch(() => {});
    return p;
  }

  // ------------------------------------------------------------------ open / close

  async #open(): Promise<void> {
    const l = this.layout;
    await mkdir(l.versionsDir, { recursive: true });
    await mkdir(l.metadataDir, { recursive: true });
    const saved = await readFeedState(l.statePath);
    if (saved !== undefined) {
      if (!bytesEqual(saved.publicKey, this.publicKey) || !bytesEqual(saved.salt, this.salt)) {
        throw new FeedError(
          ErrorCode.FeedState,
          `${this.dir} follows another feed (${feedId(saved)}); use another folder`,
          { path: l.statePath, feed: this.id },
        );
      }
      this.#state = saved;
    }
    const s = this.#state;
    const linked = await readCurrentLink(l);
    if (linked !== undefined && linked !== s.current) {
      // The link is the truth: a crash after the switch, before the state was written.
      const r = versionOf(s, linked);
      if (r === undefined) {
        throw new FeedError(
          ErrorCode.FeedState,
          `${l.currentLink} points at version ${linked}, which ${l.statePath} does not list`,
          {
            path: l.currentLink,
          },
        );
      }
      r.completedAt ??= Date.now();
      r.switchedAt ??= Date.now();
      if (s.pending === linked) s.pending = undefined;
      s.current = linked;
    }
    if (s.pending !== undefined && s.current !== undefined && s.pending <= s.current) s.pending = undefined;
    await removeOtherVersions(
      l,
      [s.current, s.pending].filter((x): x is bigint => x !== undefined),
    );
    await this.#save();
    if (s.current !== undefined) await this.#startCurrent(versionOf(s, s.current)!, linked === undefined);
    const pending = versionOf(s, s.pending);
    if (pending !== undefined) this.#beginStage(pending);
    this.#loop = this.#pollLoop();
    if (this.#reputMs > 0) {
      this.#reputTimer = setInterval(() => void this.#reput(), this.#reputMs);
      this.#reputTimer.unref();
    }
  }

  /** Starts seeding the current version; `relink`: `DIR/current` was missing and is made again. */
  async #startCurrent(r: FeedVersionRecord, relink: boolean): Promise<void> {
    const metainfo = await this.#savedMetainfo(r.seq);
    if (metainfo === undefined) {
      // Its metadata is gone (deleted by hand): the folder stays current; a newer version replaces it.
      this.emit('warning', { message: `the metadata of version ${r.seq} is missing; it is not seeded` });
      return;
    }
    if (relink) await switchCurrent(this.layout, r.seq, metainfo.name);
    const torrent = await this.#addVersionTorrent(metainfo, r.seq);
    this.#current = { seq: r.seq, metainfo, torrent };
  }

  /**
   * Stops polling and re-putting, and takes the feed's torrents out of the session (their resume
   * data is saved; a pending download resumes at the next open). Files stay on disk.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#life.abort(new FeedError(ErrorCode.SessionClosed, 'follower closed', { feed: this.id }));
      clearInterval(this.#reputTimer);
      await this.#loop;
      await this.#polling;
      await this.#staging?.done;
      const ids = [this.#staging?.torrent?.id, this.#current?.torrent.id];
      for (const id of ids) if (id !== undefined) await this.#host.removeTorrent(id).catch(() => {});
      await this.#saving;
    })();
    return this.#closing;
  }

  // ------------------------------------------------------------------ polling

  async #pollLoop(): Promise<void> {
    const life = this.#life.signal;
    while (!life.aborted) {
      await this.check().catch((e: unknown) => {
        if (!life.aborted)
          this.emit('warning', { message: `feed lookup failed: ${(e as Error).message}`, error: e as Error });
      });
      await abortableDelay(this.#pollMs, life);
    }
  }

  async #poll(): Promise<void> {
    const life = this.#life.signal;
    if (life.aborted) return;
    const got = await this.#host.dhtGet({ publicKey: this.publicKey, salt: this.salt }, { signal: life });
    if (got === undefined || got.item.type !== 'mutable') {
      if (this.#state.current === undefined && this.#state.pending === undefined && !this.#warnedMissing) {
        this.#warnedMissing = true;
        this.emit('warning', { message: 'the feed was not found in the DHT yet; still looking' });
      }
      return;
    }
    await this.#offer(got.item);
  }

  /** Handles a verified item (see the module docs). */
  async #offer(item: MutableItem): Promise<void> {
    const s = this.#state;
    if (!bytesEqual(item.publicKey, this.publicKey) || !bytesEqual(item.salt, this.salt)) return;
    if (item.seq <= s.highestSeq) {
      if (item.seq < s.highestSeq) this.emit('item:ignored', { seq: item.seq, reason: 'old-seq' });
      return;
    }
    s.highestSeq = item.seq;
    s.item = { seq: item.seq, v: item.value, sig: item.signature };
    let ih: Uint8Array;
    try {
      ih = decodeMutableTorrentValue(item.value);
    } catch (e) {
      await this.#save();
      this.emit('item:ignored', { seq: item.seq, reason: 'bad-value' });
      this.emit('warning', {
        message: `version ${item.seq} of the feed is not a BEP 46 {ih} value; it is left aside`,
        error: new FeedError(ErrorCode.FeedValue, (e as Error).message, { feed: this.id }, { cause: e }),
      });
      return;
    }
    const hex = toHex(ih);
    // The torrent of the current or pending version put again under a new seq: nothing to fetch.
    if (versionOf(s, s.current)?.infoHash === hex || versionOf(s, s.pending)?.infoHash === hex) {
      await this.#save();
      return;
    }
    const staging = this.#staging;
    if (staging?.switching) await staging.done;
    else if (staging !== undefined) {
      staging.superseded.abort(
        new FeedError(ErrorCode.SessionClosed, `superseded by version ${item.seq}`, {}),
      );
      await staging.done;
    }
    const record: FeedVersionRecord = { seq: item.seq, infoHash: hex, seenAt: Date.now() };
    addVersion(s, record);
    s.pending = item.seq;
    await this.#save();
    this.emit('version:found', { seq: item.seq, infoHash: hex });
    this.#beginStage(record);
  }

  async #reput(): Promise<void> {
    const it = this.#state.item;
    if (it === undefined || this.#life.signal.aborted) return;
    const item: MutableItem = {
      type: 'mutable',
      value: it.v,
      publicKey: this.publicKey,
      salt: this.salt,
      seq: it.seq,
      signature: it.sig,
    };
    try {
      const r = await this.#host.dhtPut({ item }, { signal: this.#life.signal });
      this.emit('item:reput', { seq: it.seq, storedTo: r.storedTo });
    } catch (e) {
      if (!this.#life.signal.aborted)
        this.emit('warning', {
          message: `re-putting the feed item failed: ${(e as Error).message}`,
          error: e as Error,
        });
    }
  }

  // ------------------------------------------------------------------ staging a version

  #beginStage(record: FeedVersionRecord, attempt = 0): void {
    const st: Staging = {
      record,
      superseded: new AbortController(),
      torrent: undefined,
      switching: false,
      done: Promise.resolve(),
    };
    const signal = AbortSignal.any([st.superseded.signal, this.#life.signal]);
    this.#staging = st;
    st.done = this.#stage(st, signal).catch(async (e: unknown) => {
      if (st.superseded.signal.aborted) {
        await this.#discard(st);
        return;
      }
      if (this.#life.signal.aborted) return; // closing: the download resumes at the next open
      this.emit('warning', {
        message: `version ${record.seq} could not be fetched: ${(e as Error).message}; retrying`,
        error: e as Error,
      });
      if (st.torrent !== undefined) await this.#host.removeTorrent(st.torrent.id).catch(() => {});
      st.torrent = undefined;
      await abortableDelay(Math.min(this.#pollMs, FEED_RETRY_MS * 2 ** attempt), signal);
      if (st.superseded.signal.aborted) await this.#discard(st);
      else if (!signal.aborted && this.#staging === st) this.#beginStage(record, attempt + 1);
    });
  }

  async #stage(st: Staging, signal: AbortSignal): Promise<void> {
    const r = st.record;
    const folder = versionDir(this.layout, r.seq);
    await mkdir(folder, { recursive: true });
    let metainfo = await this.#savedMetainfo(r.seq);
    if (metainfo === undefined) {
      const ih = fromHex(r.infoHash)!;
      ({ metainfo } = await this.#host.fetchMetadata(linkOf(ih, this.#currentPeers()), { signal }));
      await writeFileAtomic(versionInfoPath(this.layout, r.seq), metainfo.infoBytes);
    }
    signal.throwIfAborted();
    if (r.name !== metainfo.name) {
      r.name = metainfo.name;
      await this.#save();
    }
    const cur = this.#current;
    const reuse = await linkUnchangedFiles(
      cur === undefined ? [] : [{ metainfo: cur.metainfo, dir: versionDir(this.layout, cur.seq) }],
      { metainfo, dir: folder },
    );
    signal.throwIfAborted();
    const torrent = await this.#addVersionTorrent(this.#withReusedLayers(metainfo), r.seq);
    st.torrent = torrent;
    for (const p of this.#currentPeers()) torrent.addPeer(p.host, p.port);
    this.emit('version:started', { seq: r.seq, infoHash: r.infoHash, reusedFiles: reuse.reused.length });
    signal.throwIfAborted();
    await torrent.whenDone({ signal });
    st.switching = true;
    await this.#switchTo(st, metainfo, torrent, reuse);
  }

  /** Piece layers of unchanged files, from the current version (same root and piece length). */
  #withReusedLayers(m: Metainfo): Metainfo {
    const cur = this.#current;
    if (cur === undefined || cur.metainfo.pieceLength !== m.pieceLength) return m;
    const known = cur.torrent.pieceLayers();
    const layers = new Map(m.pieceLayers);
    for (const f of m.files) {
      if (f.piecesRoot === undefined || f.length <= m.pieceLength) continue;
      const hex = toHex(f.piecesRoot);
      const layer = known.get(hex);
      if (layer !== undefined && !layers.has(hex)) layers.set(hex, layer);
    }
    return { ...m, pieceLayers: layers };
  }

  /** Addresses of the current version's peers we dialled (their listening ports): likely seeding the next one too. */
  #currentPeers(): PeerAddress[] {
    const out: PeerAddress[] = [];
    for (const p of this.#current?.torrent.peers() ?? []) {
      if (!p.outgoing) continue;
      try {
        out.push(parsePeerAddress(p.address));
      } catch {
        // not an address a magnet can carry
      }
    }
    return out;
  }

  async #addVersionTorrent(metainfo: Metainfo, seq: bigint): Promise<Torrent> {
    const folder = versionDir(this.layout, seq);
    const torrent = await this.#host.addTorrent(metainfo, { downloadDir: folder });
    if (torrent.storage.downloadDir !== folder) {
      throw new FeedError(
        ErrorCode.FeedState,
        `the torrent of version ${seq} already runs in this session from ${torrent.storage.downloadDir}`,
        { feed: this.id },
      );
    }
    if (torrent.state === 'error') throw torrent.error ?? new Error('the torrent failed');
    return torrent;
  }

  async #switchTo(st: Staging, metainfo: Metainfo, torrent: Torrent, reuse: ReuseResult): Promise<void> {
    const r = st.record;
    const old = this.#current;
    const files = userFiles(metainfo);
    const newPaths = new Set(files.map((f) => f.path.join('/')));
    const reused = new Set(reuse.reused);
    r.completedAt = Date.now();
    r.downloadedBytes = torrent.stats().totalDownloaded;
    r.reusedFiles = files.filter((f) => reused.has(f.metainfoIndex)).length;
    r.fetchedFiles = files.filter((f) => f.length > 0 && !reused.has(f.metainfoIndex)).length;
    r.removedFiles =
      old === undefined ? 0 : userFiles(old.metainfo).filter((f) => !newPaths.has(f.path.join('/'))).length;
    await this.#save();
    await switchCurrent(this.layout, r.seq, metainfo.name);
    r.switchedAt = Date.now();
    this.#state.current = r.seq;
    if (this.#state.pending === r.seq) this.#state.pending = undefined;
    this.#current = { seq: r.seq, metainfo, torrent };
    if (this.#staging === st) this.#staging = undefined;
    await this.#save();
    if (old !== undefined) {
      try {
        await this.#host.removeTorrent(old.torrent.id);
        await this.#forget(old.seq, old.torrent.id);
      } catch (e) {
        // Left behind, it is deleted at the next open.
        this.emit('warning', {
          message: `removing version ${old.seq} failed: ${(e as Error).message}`,
          error: e as Error,
        });
      }
    }
    this.emit('version:switched', { ...info(r), path: this.layout.currentLink });
  }

  /** Drops an abandoned download: its torrent, folder, metainfo and resume record. */
  async #discard(st: Staging): Promise<void> {
    const id = st.torrent?.id;
    if (id !== undefined) await this.#host.removeTorrent(id).catch(() => {});
    await this.#forget(st.record.seq, id);
    if (this.#state.pending === st.record.seq) {
      this.#state.pending = undefined;
      await this.#save();
    }
  }

  async #forget(seq: bigint, torrentId: string | undefined): Promise<void> {
    await removeVersion(this.layout, seq);
    const resumeDir = this.#host.options.resumeDir;
    if (resumeDir !== undefined && torrentId !== undefined) {
      await rm(join(resumeDir, `${torrentId}.resume`), { force: true });
    }
  }

  /** The saved info dictionary of a version, if present and still hashing to its `ih`. */
  async #savedMetainfo(seq: bigint): Promise<Metainfo | undefined> {
    const r = versionOf(this.#state, seq);
    let bytes: Buffer;
    try {
      bytes = await readFile(versionInfoPath(this.layout, seq));
    } catch {
      return undefined;
    }
    try {
      const m = parseInfoDict(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
      const ih = r?.infoHash.length === 40 ? m.infoHashV1 : m.infoHashV2;
      return ih !== undefined && toHex(ih) === r?.infoHash ? m : undefined;
    } catch {
      return undefined; // damaged: fetched again
    }
  }

  /** Writes the state file; writes never overlap, and each writes the latest state. */
  #save(): Promise<void> {
    const p = this.#saving.then(() => writeFeedState(this.layout.statePath, this.#state));
    this.#saving = p.catch(() => {});
    return p;
  }
}
