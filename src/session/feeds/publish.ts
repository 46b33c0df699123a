/**
 * Publishing a folder as a feed (BEP 46 over BEP 44 mutable items).
 *
 * DEV DOCS
 * - `publishFeed` creates a torrent of the folder (hybrid by default: its `ih` is the 20-byte v1
 *   info-hash BEP 46 names; `v2` puts the 32-byte v2 hash instead), adds it to the session to
 *   seed from the folder itself (its parent is the download folder), then puts `{ih}` under the
 *   key and salt:
 *   - it first gets the current item; if that already names this torrent (the folder did not
 *     change), the same signed item is put again and no new version appears;
 *   - otherwise the item is signed with seq = max(current seq + 1, `minSeq`, 1) and put with
 *     `cas` = the current seq (BEP 44 §CAS), so two publishers racing on one key cannot silently
 *     overwrite each other; a put no node stored is retried once from a fresh get.
 * - While the publication runs the item is put again every `reputIntervalMs` (BEP 44 items may
 *   expire after 2 hours), and `close()` stops that and stops seeding.
 * - The torrent's name is the folder's name, and the info-hash depends only on the names, the
 *   bytes and the piece length: publishing an unchanged folder with the same piece length gives
 *   the same info-hash. Keep the piece length across versions (the CLI remembers it): followers
 *   reuse the piece layers of unchanged files only when it is the same.
 */
import { basename, dirname, resolve } from 'node:path';
import type { DhtPutResult, MutableItem } from '../../discovery/index.js';
import { decodeMutableTorrentValue } from '../../metainfo/index.js';
import { ErrorCode } from '../../shared/errors.js';
import { bytesEqual, toHex } from '../../shared/hash.js';
import { TypedEmitter } from '../../shared/typed-emitter.js';
import { createTorrent } from '../../storage/index.js';
import type { Torrent } from '../torrent.js';
import { FeedError } from './errors.js';
import { feedMagnet } from './feed-key.js';
import {
  FEED_REPUT_INTERVAL_MS,
  type FeedHost,
  type FeedPublicationEvents,
  type PublishOptions,
} from './feed-types.js';

const EMPTY = new Uint8Array(0);

/** A running publication: the torrent seeding and the item kept alive. */
export class FeedPublication extends TypedEmitter<FeedPublicationEvents> {
  /** The feed's BEP 46 link (`magnet:?xs=urn:btpk:…`): what followers need. */
  readonly magnet: string;
  /** The seq of the published item. */
  readonly seq: bigint;
  /** The `ih` published: 20 bytes (hybrid) or 32 (v2). */
  readonly infoHash: Uint8Array;
  /** False when the feed already named this torrent (nothing changed since the last publish). */
  readonly isNewVersion: boolean;
  /** The torrent, seeding from the published folder. */
  readonly torrent: Torrent;
  /** The .torrent bytes created. */
  readonly torrentFile: Uint8Array;
  /** What the first put achieved. */
  readonly put: DhtPutResult;
  readonly #host: FeedHost;
  readonly #item: MutableItem;
  #timer: NodeJS.Timeout | undefined;
  readonly #closing = new AbortController();

  /** @internal Use {@link publishFeed} (or `session.publish`). */
  constructor(
    host: FeedHost,
    init: {
      magnet: string;
      infoHash: Uint8Array;
      isNewVersion: boolean;
      torrent: Torrent;
      torrentFile: Uint8Array;
      put: DhtPutResult;
      reputIntervalMs: number;
    },
  ) {
    super();
    this.#host = host;
    this.magnet = init.magnet;
    this.infoHash = init.infoHash;
    this.isNewVersion = init.isNewVersion;
    this.torrent = init.torrent;
    this.torrentFile = init.torrentFile;
    this.put = init.put;
    this.#item = init.put.item as MutableItem;
    this.seq = this.#item.seq;
    if (init.reputIntervalMs > 0) {
      this.#timer = setInterval(() => void this.reput(), init.reputIntervalMs);
      this.#timer.unref();
    }
  }

  /** Puts the published item again now (what the timer does); resolves with the nodes that stored it. */
  async reput(): Promise<number> {
    try {
      const r = await this.#host.dhtPut({ item: this.#item }, { signal: this.#closing.signal });
      this.emit('item:reput', { seq: this.seq, storedTo: r.storedTo });
      return r.storedTo;
    } catch (e) {
      if (!this.#closing.signal.aborted) {
        this.emit('warning', {
          message: `re-putting the feed item failed: ${(e as Error).message}`,
          error: e as Error,
        });
      }
      return 0;
    }
  }

  /** Stops putting the item again and stops seeding (the folder is left as it is). */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(new FeedError(ErrorCode.SessionClosed, 'publication closed', {}));
    clearInterval(this.#timer);
    await this.#host.removeTorrent(this.torrent.id);
  }
}

/** The `ih` of the current item, if it is a BEP 46 value (else undefined). */
function currentIh(value: Uint8Array): Uint8Array | undefined {
  try {
    return decodeMutableTorrentValue(value);
  } catch {
    return undefined;
  }
}

/**
 * Publishes `options.dir` as a new version of the feed (see the module docs) and keeps it alive
 * until {@link FeedPublication.close}. Rejects with `SHOAL_ERR_FEED_PUT_FAILED` when no DHT node
 * stored the item.
 */
export async function publishFeed(host: FeedHost, options: PublishOptions): Promise<FeedPublication> {
  const dir = resolve(options.dir);
  const salt = options.salt ?? EMPTY;
  const version = options.version ?? 'hybrid';
  const created = await createTorrent(dir, {
    version,
    ...(options.pieceLength !== undefined ? { pieceLength: options.pieceLength } : {}),
    name: basename(dir),
    ...(host.hashPool !== undefined ? { hashPool: host.hashPool } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  const ih = version === 'hybrid' ? created.infoHashV1! : created.infoHashV2!;
  const torrent = await host.addTorrent(created.bytes, { downloadDir: dirname(dir) });
  try {
    if (!torrent.isFinished) {
      throw new FeedError(
        ErrorCode.FeedState,
        `${dir} changed while it was being published (its files no longer match the torrent just made); publish again`,
        { path: dir },
      );
    }
    const { put, isNew } = await putVersion(host, options, salt, ih);
    return new FeedPublication(host, {
      magnet: feedMagnet({ publicKey: options.keyPair.publicKey, salt }),
      infoHash: ih,
      isNewVersion: isNew,
      torrent,
      torrentFile: created.bytes,
      put,
      reputIntervalMs: options.reputIntervalMs ?? FEED_REPUT_INTERVAL_MS,
    });
  } catch (e) {
    await host.removeTorrent(torrent.id);
    throw e;
  }
}

async function putVersion(
  host: FeedHost,
  options: PublishOptions,
  salt: Uint8Array,
  ih: Uint8Array,
): Promise<{ put: DhtPutResult; isNew: boolean }> {
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const { keyPair } = options;
  for (let attempt = 0; ; attempt++) {
    const got = await host.dhtGet({ publicKey: keyPair.publicKey, salt }, signal);
    const cur = got?.item.type === 'mutable' ? got.item : undefined;
    const minSeq = options.minSeq ?? 1n;
    let put: DhtPutResult;
    let isNew: boolean;
    const same = cur !== undefined && cur.seq >= minSeq - 1n && bytesEqual(currentIh(cur.value) ?? EMPTY, ih);
    if (same) {
      put = await host.dhtPut({ item: cur }, signal);
      isNew = false;
    } else {
      let seq = cur === undefined ? 1n : cur.seq + 1n;
      if (seq < minSeq) seq = minSeq;
      put = await host.dhtPut(
        {
          keyPair,
          salt,
          value: { ih }, // BEP 46: {ih: <info-hash>}
          seq,
          ...(cur !== undefined ? { cas: cur.seq } : {}),
        },
        signal,
      );
      isNew = true;
    }
    if (put.storedTo > 0) return { put, isNew };
    if (attempt >= 1) {
      throw new FeedError(
        ErrorCode.FeedPutFailed,
        `no DHT node stored the feed item (refused: ${put.refused.casMismatch} cas, ${put.refused.seqTooLow} seq, ${put.refused.other} other); is the DHT reachable?`,
        { feed: toHex(keyPair.publicKey) },
      );
    }
  }
}
