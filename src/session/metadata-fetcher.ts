/**
 * The runtime half of magnet links: connects to peers of an info-hash, speaks just enough of
 * the protocol (handshake, BEP 10 extended handshake, BEP 9 `ut_metadata`) to fetch the info
 * dictionary, and hands the verified bytes back. The decisions are {@link MetadataExchange}'s.
 */
import { connect, type Socket } from 'node:net';
import { type MetadataAction, MetadataExchange, type PeerKey } from '../engine/index.js';
import { PeerConnection } from '../net/peer-connection.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { CONNECT_TIMEOUT_MS } from '../shared/limits.js';
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
  readonly #known = new Map<string, { host: string; port: number; tried: boolean }>();
  readonly #bad = new Set<string>();
  #dialing = 0;
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
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
  }

  /** Connections open right now. */
  get connectionCount(): number {
    return this.#conns.size;
  }

  get peersKnown(): number {
    return this.#known.size;
  }

  /** Bytes of metadata announced by peers (0 until one says). */
  get metadataSize(): number {
    return this.#exchange.size;
  }

  addPeer(host: string, port: number): void {
    const key = `${host}:${port}`;
    if (this.#closed || this.#known.has(key) || this.#bad.has(key) || port <= 0 || port > 65535) return;
    this.#known.set(key, { host, port, tried: false });
    this.#dial();
  }

  /** Every address learned so far (handed to the torrent once metadata is in). */
  knownPeers(): { host: string; port: number }[] {
    return [...this.#known.entries()]
      .filter(([k]) => !this.#bad.has(k))
      .map(([, p]) => ({ host: p.host, port: p.port }));
  }

  /** Gives up (e.g. the user removed the torrent). */
  cancel(reason = 'metadata fetch cancelled'): void {
    this.#finish(new ShoalError(ErrorCode.SessionClosed, reason, {}));
  }

  #dial(): void {
    for (const p of this.#known.values()) {
      if (this.#closed || this.#conns.size + this.#dialing >= METADATA_FETCH_CONNECTIONS) return;
      if (p.tried || !this.#ctx.canOpenConnection()) continue;
      p.tried = true;
      this.#connect(p.host, p.port);
    }
  }

  #connect(host: string, port: number): void {
    this.#dialing++;
    const socket: Socket = connect({ host, port });
    let settled = false;
    const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
    timer.unref();
    socket.once('error', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#dialing--;
      this.#dial();
    });
    socket.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#dialing--;
      if (this.#closed) {
        socket.destroy();
        return;
      }
      this.#ctx.trackConnection(socket);
      const key: PeerKey = `${host}:${port}/${++this.#seq}`;
      const conn: PeerConnection = new PeerConnection({
        socket,
        outgoing: true,
        handlers: {
          onHandshake: (h) => {
            // BEP 52: a hybrid peer may answer our v1 hash with the truncated v2 one (upgrade).
            if (!this.#wireHashes.some((x) => Buffer.compare(h.infoHash, x) === 0)) return false;
            if (!readReserved(h.reserved).extended) return false;
            conn.send({
              type: 'extended',
              extId: EXTENDED_HANDSHAKE_ID,
              payload: encodeExtendedHandshake({
                extensions: new Map([[ExtensionName.UtMetadata, UT_METADATA_ID]]),
                client: 'Shoal 0.1.0',
                port: this.#ctx.listenPort(),
              }),
            });
            // Tell the peer we have nothing, so it does not wait for a bitfield.
            if (readReserved(h.reserved).fast) conn.send({ type: 'have-none' });
            return true;
          },
          onMessages: (msgs) => this.#onMessages(key, conn, msgs),
          onClose: () => {
            this.#conns.delete(key);
            this.#apply(this.#exchange.removePeer(key, this.#ctx.now()));
            this.#dial();
          },
        },
      });
      this.#conns.set(key, conn);
      conn.sendHandshake({
        reserved: makeReserved({ extended: true, fast: true, v2: this.#hasV2 }),
        infoHash: this.#wireHash,
        peerId: this.#ctx.peerId,
      });
    });
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
    for (const c of [...this.#conns.values()]) c.close('metadata-done');
    this.#conns.clear();
    if (info !== undefined) this.#resolve(info);
    else this.#reject(error ?? new Error('metadata fetch failed'));
  }
}
