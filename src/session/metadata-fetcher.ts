/**
 * The runtime half of magnet links: connects to peers of an info-hash, speaks just enough of
 * the protocol (handshake, BEP 10 extended handshake, BEP 9 `ut_metadata`) to fetch the info
 * dictionary, and hands the verified bytes back. The decisions are {@link MetadataExchange}'s.
 */
import { setMaxListeners } from 'node:events';
import { type MetadataAction, MetadataExchange, type PeerKey } from '../engine/index.js';
import type { Admission, KnownAddress, PeerSource, PoolOwner } from '../net/peer-pool.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import {
  decodeExtendedHandshake,
  decodeUtMetadata,
  EXTENDED_HANDSHAKE_ID,
  ExtensionName,
  encodeExtendedHandshake,
  encodeUtMetadata,
  makeReserved,
  readReserved,
  type WireMessage,
} from '../wire/index.js';
import type { SessionContext } from './context.js';
import { PeerConnection } from './peers/peer-connection.js';
import { CLIENT_NAME } from './peers/torrent-peers.js';

/** Our `ut_metadata` id while fetching. */
const UT_METADATA_ID = 1;
/** Simultaneous connections while fetching metadata. */
export const METADATA_FETCH_CONNECTIONS = 16;

export interface MetadataFetcherInit {
  readonly ctx: SessionContext;
  readonly infoHashV1?: Uint8Array;
  readonly infoHashV2?: Uint8Array;
}

/** Fetches one torrent's metadata; `result` settles with the info bytes or an error. */
export class MetadataFetcher {
  readonly #ctx: SessionContext;
  readonly #exchange: MetadataExchange;
  readonly #wireHash: Uint8Array;
  readonly #hasV2: boolean;
  readonly #wireHashes: readonly Uint8Array[];
  readonly #conns = new Map<PeerKey, PeerConnection>();
  readonly #owner: PoolOwner;
  /** `host:port` of peers that sent bad metadata: not asked again by this fetch. */
  readonly #bad = new Set<string>();
  readonly #dials = new AbortController();
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** The known addresses as they were when the fetch ended (the pool owner forgets them). */
  #handoff: { host: string; port: number }[] | undefined;
  #resolve!: (info: Uint8Array) => void;
  #reject!: (e: Error) => void;
  readonly result: Promise<Uint8Array>;

  constructor(init: MetadataFetcherInit) {
    this.#ctx = init.ctx;
    this.#exchange = new MetadataExchange({
      ...(init.infoHashV1 ? { infoHashV1: init.infoHashV1 } : {}),
      ...(init.infoHashV2 ? { infoHashV2: init.infoHashV2 } : {}),
    });
    this.#wireHash = init.infoHashV1 ?? init.infoHashV2!.subarray(0, 20);
    this.#hasV2 = init.infoHashV2 !== undefined;
    this.#wireHashes = [init.infoHashV1, init.infoHashV2?.subarray(0, 20)].filter(
      (x): x is Uint8Array => x !== undefined,
    );
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.result.catch(() => {});
    const o = this.#ctx.options;
    this.#owner = this.#ctx.pool.openOwner({
      maxConnections: METADATA_FETCH_CONNECTIONS,
      maxHalfOpen: METADATA_FETCH_CONNECTIONS,
      maxKnown: o.maxKnownPeersPerTorrent,
      maxPerAddress: o.maxConnectionsPerAddress,
    });
    // Every dial in progress listens on this signal (up to METADATA_FETCH_CONNECTIONS at once).
    setMaxListeners(METADATA_FETCH_CONNECTIONS + 1, this.#dials.signal);
  }

  /** Connections open right now. */
  get connectionCount(): number {
    return this.#conns.size;
  }

  get peersKnown(): number {
    return this.#owner.knownCount;
  }

  /** Bytes of metadata announced by peers (0 until one says). */
  get metadataSize(): number {
    return this.#exchange.size;
  }

  addPeer(host: string, port: number, source: PeerSource = 'user'): void {
    if (this.#closed || this.#bad.has(`${host}:${port}`)) return;
    if (this.#owner.add(host, port, source)) this.#dial();
  }

  /** Every address learned so far (handed to the torrent once metadata is in, so kept past the end). */
  knownPeers(): { host: string; port: number }[] {
    if (this.#handoff !== undefined) return this.#handoff;
    return this.#owner
      .knownAddresses()
      .filter((p) => !this.#bad.has(`${p.host}:${p.port}`))
      .map((p) => ({ host: p.host, port: p.port }));
  }

  /** Gives up (e.g. the user removed the torrent). */
  cancel(reason = 'metadata fetch cancelled'): void {
    this.#finish(new ShoalError(ErrorCode.SessionClosed, reason, {}));
  }

  #dial(): void {
    if (this.#closed) return;
    for (const k of this.#owner.dialable(this.#ctx.now())) {
      if (this.#bad.has(`${k.host}:${k.port}`) || !this.#owner.dialStarted(k)) continue;
      void this.#connect(k);
    }
  }

  async #connect(k: KnownAddress): Promise<void> {
    let opened: Awaited<ReturnType<SessionContext['connectPeer']>>;
    try {
      opened = await this.#ctx.connectPeer(
        k.host,
        k.port,
        {
          reserved: makeReserved({ extended: true, fast: true, v2: this.#hasV2 }),
          infoHash: this.#wireHash,
          peerId: this.#ctx.peerId,
        },
        k.hints,
        this.#dials.signal,
      );
    } catch {
      this.#owner.dialEnded(k, false, this.#ctx.now());
      this.#dial();
      return;
    }
    this.#owner.dialEnded(k, true, this.#ctx.now());
    if (this.#closed) {
      opened.stream.destroy();
      return;
    }
    const key: PeerKey = `${k.host}:${k.port}/${++this.#seq}`;
    let admission: Admission | undefined;
    const conn: PeerConnection = new PeerConnection({
      stream: opened.stream,
      encrypted: opened.encrypted,
      handshakeTimeoutMs: this.#ctx.options.handshakeTimeoutMs,
      handlers: {
        onHandshake: (h) => {
          // BEP 52: a hybrid peer may answer our v1 hash with the truncated v2 one (upgrade).
          if (!this.#wireHashes.some((x) => Buffer.compare(h.infoHash, x) === 0)) return false;
          if (!readReserved(h.reserved).extended) return false;
          const a = this.#owner.admit(conn.remoteAddress, conn.remotePort, true);
          if (typeof a === 'string') return false;
          admission = a;
          this.#conns.set(key, conn);
          conn.send({
            type: 'extended',
            extId: EXTENDED_HANDSHAKE_ID,
            payload: encodeExtendedHandshake({
              extensions: new Map([[ExtensionName.UtMetadata, UT_METADATA_ID]]),
              client: CLIENT_NAME,
              port: this.#ctx.listenPort(),
            }),
          });
          // Tell the peer we have nothing, so it does not wait for a bitfield.
          if (readReserved(h.reserved).fast) conn.send({ type: 'have-none' });
          return true;
        },
        onMessages: (msgs) => this.#onMessages(key, conn, msgs),
        onClose: () => {
          admission?.release();
          this.#owner.disconnected(k.host, k.port, admission === undefined, this.#ctx.now());
          if (this.#conns.delete(key)) this.#apply(this.#exchange.removePeer(key, this.#ctx.now()));
          this.#dial();
        },
      },
    });
    if (opened.encrypted) k.hints.encrypted = true;
    opened.stream.resume();
    conn.feed(opened.initial);
  }

  #onMessages(key: PeerKey, conn: PeerConnection, msgs: WireMessage[]): void {
    const now = this.#ctx.now();
    for (const msg of msgs) {
      if (this.#closed) return;
      if (msg.type !== 'extended') continue;
      try {
        if (msg.extId === EXTENDED_HANDSHAKE_ID) {
          const hs = decodeExtendedHandshake(msg.payload);
          const id = hs.extensions.get(ExtensionName.UtMetadata);
          this.#apply(this.#exchange.onExtendedHandshake(key, id, hs.metadataSize, now));
        } else if (msg.extId === UT_METADATA_ID) {
          const m = decodeUtMetadata(msg.payload);
          if (m?.type === 'data') this.#apply(this.#exchange.onData(key, m.piece, m.totalSize, m.data, now));
          else if (m?.type === 'reject') this.#apply(this.#exchange.onReject(key, m.piece, now));
          else if (m?.type === 'request') {
            const extId = this.#exchange.extIdOf(key);
            if (extId !== undefined) {
              conn.send({
                type: 'extended',
                extId,
                payload: encodeUtMetadata({ type: 'reject', piece: m.piece }),
              });
            }
          }
        }
      } catch (e) {
        conn.close('protocol-error', e instanceof Error ? e : new Error(String(e)));
        return;
      }
    }
  }

  #apply(actions: MetadataAction[]): void {
    for (const a of actions) {
      if (a.type === 'request') {
        const conn = this.#conns.get(a.peer);
        const extId = this.#exchange.extIdOf(a.peer);
        if (conn !== undefined && extId !== undefined) {
          conn.send({
            type: 'extended',
            extId,
            payload: encodeUtMetadata({ type: 'request', piece: a.piece }),
          });
        }
      } else if (a.type === 'bad-peer') {
        const conn = this.#conns.get(a.peer);
        this.#bad.add(a.peer.slice(0, a.peer.lastIndexOf('/')));
        conn?.close('bad-metadata', new ShoalError(ErrorCode.WireProtocol, a.reason, {}));
      } else {
        this.#finish(undefined, a.info);
        return;
      }
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#closed) return;
    const at = this.#exchange.nextDeadline();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (at === undefined) return;
    this.#timer = setTimeout(
      () => this.#apply(this.#exchange.tick(this.#ctx.now())),
      Math.max(0, at - this.#ctx.now()),
    );
    this.#timer.unref();
  }

  #finish(error: Error | undefined, info?: Uint8Array): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#dials.abort();
    for (const c of [...this.#conns.values()]) c.close('metadata-done');
    this.#conns.clear();
    this.#handoff = this.knownPeers();
    this.#owner.close();
    if (info !== undefined) this.#resolve(info);
    else this.#reject(error ?? new Error('metadata fetch failed'));
  }
}
