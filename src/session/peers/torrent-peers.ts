/**
 * DEV DOCS — the connections of one torrent.
 *
 * Owns: the torrent's live peer connections, its {@link PoolOwner} (known addresses, dials,
 * limits, bans from the session's {@link PeerPool}), the BEP 10 {@link ExtensionRegistry} and
 * the torrent's {@link PeerLog}. It attaches connections (dialled here through the session's one
 * dial path, or accepted by the session's inbound stage), turns their messages into engine calls
 * and closes them; the protocol decisions are the engine's.
 *
 * Invariants:
 * - every attached connection holds an admission of the pool, released when it closes;
 * - a banned or blocklisted address is never dialled nor attached, and its connections close
 *   when it is banned or a new blocklist blocks it;
 * - two connections to one peer (same address and peer id) never stay open together: both ends
 *   keep the one opened by the larger peer id ({@link keepsNewConnection}).
 */
import { setMaxListeners } from 'node:events';
import {
  ADVERTISED_REQQ,
  type BanReason,
  type EngineAction,
  type PeerKey,
  type TorrentEngine,
} from '../../engine/index.js';
import type { Metainfo } from '../../metainfo/index.js';
import { ipv4Bytes } from '../../net/ip-address.js';
import { isLocalAddress } from '../../net/local-addresses.js';
import {
  type AddressHints,
  type Admission,
  BLOCKED_REASON,
  type KnownAddress,
  type PeerSource,
  type PoolOwner,
} from '../../net/peer-pool.js';
import type { PeerStream } from '../../net/transport.js';
import { ErrorCode, ShoalError } from '../../shared/errors.js';
import { KEEP_ALIVE_INTERVAL_MS, PEER_IDLE_TIMEOUT_MS } from '../../shared/limits.js';
import {
  clientFromPeerId,
  EXTENDED_HANDSHAKE_ID,
  encodeExtendedHandshake,
  type Handshake,
  keepAlive,
  makeReserved,
  readReserved,
  type WireMessage,
} from '../../wire/index.js';
import type { SessionContext } from '../context.js';
import type { ExtensionFactory, ExtensionHost, ExtensionPeer } from '../extensions/extension.js';
import { BUILTIN_EXTENSIONS, ExtensionRegistry, type RegistryPeer } from '../extensions/registry.js';
import type { KnownPeerInfo, TorrentPeerInfo } from '../torrent-types.js';
import { WebSeeds } from '../webseed/web-seeds.js';
import { keepsNewConnection } from './duplicate.js';
import { PeerConnection } from './peer-connection.js';
import { deliverMessages, type PeerInbox } from './peer-inbox.js';
import { PeerLog, type PeerLogEntry, type PeerLogType } from './peer-log.js';

export { keepsNewConnection };

/** Our client name in extended handshakes. */
export const CLIENT_NAME = 'Shoal 0.1.0';

/** One attached peer. */
export interface LivePeer extends RegistryPeer {
  readonly key: PeerKey;
  readonly conn: PeerConnection;
  /** `host:port` as connected. */
  readonly address: string;
  /** The peer id from its handshake. */
  readonly peerId: Uint8Array;
  readonly admission: Admission;
  client?: string;
  /** Both sides set the BEP 52 v2 bit: hash requests may be sent. */
  supportsV2?: boolean;
  listenPort: number | undefined;
}

/** What the connections need from their torrent. */
export interface TorrentPeersHost {
  readonly ctx: SessionContext;
  readonly metainfo: Metainfo;
  readonly engine: TorrentEngine;
  /** The 20-byte info-hash we put in handshakes. */
  readonly wireInfoHash: Uint8Array;
  /** Every 20-byte hash peers may use for this torrent. */
  readonly wireInfoHashes: readonly Uint8Array[];
  /** Downloading or seeding (not checking, stopped, failed or closed). */
  isActive(): boolean;
  isClosed(): boolean;
  /** Reading is paused for disk or hashing back-pressure: new connections start paused too. */
  isReadingPaused(): boolean;
  run(actions: EngineAction[]): void;
  /** BEP 52 hash request / hashes / reject from a peer. */
  onHashMessage(peer: LivePeer, msg: WireMessage): void;
  /** A connection was attached (after the engine knows it). */
  onPeerAttached(peer: LivePeer): void;
  /** A connection closed (after the engine forgot it). */
  onPeerDetached(peer: LivePeer): void;
  /** Publishes a peer log entry (the torrent's `peer` event). */
  onLog(entry: PeerLogEntry): void;
  /** Recoverable trouble to tell the user (a ban). */
  warn(message: string): void;
  /** Bytes arrived on a connection: ms to stop reading it for (the rate limits). */
  throttleDown(bytes: number): number;
}

export interface TorrentPeersInit {
  readonly host: TorrentPeersHost;
  readonly extensions?: readonly ExtensionFactory[];
}

/** The connections of one torrent; see the module notes. */
export class TorrentPeers {
  readonly #host: TorrentPeersHost;
  readonly #ctx: SessionContext;
  readonly #peers = new Map<PeerKey, LivePeer>();
  readonly #owner: PoolOwner;
  readonly #registry: ExtensionRegistry;
  readonly #inbox: PeerInbox;
  readonly #log = new PeerLog();
  readonly #stopBanListener: () => void;
  readonly #stopBlocklistListener: () => void;
  readonly #dials = new AbortController();
  #seq = 0;
  /** The torrent's web seeds (virtual peers of the engine, fetched over HTTP). */
  readonly webSeeds: WebSeeds;

  constructor(init: TorrentPeersInit) {
    this.#host = init.host;
    this.#ctx = init.host.ctx;
    const o = this.#ctx.options;
    this.#owner = this.#ctx.pool.openOwner({
      maxConnections: o.maxConnectionsPerTorrent,
      incomingSlack: o.incomingConnectionSlack,
      maxHalfOpen: o.maxHalfOpenPerTorrent,
      maxKnown: o.maxKnownPeersPerTorrent,
      maxPerAddress: o.maxConnectionsPerAddress,
    });
    // Every dial in progress listens on this signal (at most maxHalfOpen at once): more than
    // Node's default of 10 is expected, not a leak.
    setMaxListeners(o.maxHalfOpenPerTorrent + 1, this.#dials.signal);
    const extHost: ExtensionHost = {
      metainfo: this.#host.metainfo,
      addPeer: (h, p, source, hints) => this.addPeer(h, p, source, hints),
      isSeed: (key) => this.#host.engine.peerStats(key, this.#ctx.now())?.isSeed === true,
      peers: () => this.#peers.values(),
      supports: (key, name) => this.#registry.supports(key, name),
      isSelf: (h, p) => p === this.#ctx.listenPort() && isLocalAddress(h),
      holepunch: (h, p) => this.#punch(h, p),
      log: (address, reason) => this.record('holepunch', address, { reason }),
    };
    this.#registry = new ExtensionRegistry(extHost, [...BUILTIN_EXTENSIONS, ...(init.extensions ?? [])]);
    this.#inbox = {
      host: this.#host,
      ctx: this.#ctx,
      registry: this.#registry,
      isAttached: (peer) => this.#peers.has(peer.key),
    };
    const host = this.#host;
    this.webSeeds = new WebSeeds({
      ...host,
      get engine() {
        return host.engine;
      },
      record: (type, address, extra) => this.record(type, address, extra),
    });
    this.#stopBanListener = this.#ctx.pool.onBan((ban) => {
      for (const p of [...this.#peers.values()])
        if (p.conn.remoteAddress === ban.address) p.conn.close('banned');
    });
    this.#stopBlocklistListener = this.#ctx.pool.onBlocklist((isBlocked) => {
      for (const p of [...this.#peers.values()])
        if (isBlocked(p.conn.remoteAddress)) p.conn.close(BLOCKED_REASON);
    });
  }

  /** Attached peers. */
  get size(): number {
    return this.#peers.size;
  }

  get(key: PeerKey): LivePeer | undefined {
    return this.#peers.get(key);
  }

  has(key: PeerKey): boolean {
    return this.#peers.has(key);
  }

  values(): IterableIterator<LivePeer> {
    return this.#peers.values();
  }

  /**
   * The addresses this torrent knows (trackers, DHT, PEX, LSD, the user, incoming peers) with
   * their source and dial state; bounded by `maxKnownPeersPerTorrent`, PEX ones by
   * PEX_ADDRESS_SHARE of it.
   */
  knownPeers(): KnownPeerInfo[] {
    return this.#owner.knownAddresses().map((k) => ({
      host: k.host,
      port: k.port,
      source: k.source,
      state: k.state,
      failures: k.failures,
    }));
  }

  /** The torrent's pool owner (known addresses, limits). */
  get owner(): PoolOwner {
    return this.#owner;
  }

  /** Names of the active BEP 10 extensions. */
  get extensionNames(): string[] {
    return this.#registry.names;
  }

  /** Every attached peer with the engine's figures about it. */
  infos(now: number): TorrentPeerInfo[] {
    const out: TorrentPeerInfo[] = [];
    for (const p of this.#peers.values()) {
      const s = this.#host.engine.peerStats(p.key, now);
      if (s !== undefined)
        out.push({
          ...s,
          address: p.address,
          client: p.client,
          outgoing: p.conn.outgoing,
          transport: p.conn.transport,
          encrypted: p.conn.encrypted,
        });
    }
    return out;
  }

  /** Recent peer events, oldest first. */
  log(): PeerLogEntry[] {
    return this.#log.entries();
  }

  /** Adds to the peer log and publishes the entry. */
  record(
    type: PeerLogType,
    address: string,
    extra: Omit<PeerLogEntry, 'at' | 'type' | 'address'> = {},
  ): void {
    this.#host.onLog(this.#log.add({ type, address, ...extra }));
  }

  /**
   * Bans `address` for the session (every torrent: the pool closes its connections) with its
   * evidence, and says so in the peer log and a warning.
   */
  ban(address: string, reason: BanReason, evidence: string): void {
    if (this.webSeeds.ban(address, reason, evidence)) return; // a web seed's blame id: dropped
    const pool = this.#ctx.pool;
    if (pool.isBanned(address)) return;
    this.record('banned', address, { reason: `${reason}: ${evidence}` });
    this.#host.warn(`banned ${address}: ${evidence}`);
    pool.ban(address, `${this.#host.metainfo.name}: ${evidence}`);
  }

  /** Adds a peer address to try (trackers, DHT, PEX, LSD and the user all land here). */
  addPeer(host: string, port: number, source: PeerSource = 'user', hints?: AddressHints): void {
    if (this.#host.isClosed()) return;
    // Addresses from trackers and peers are refused silently; a user who names one hears why.
    if (source === 'user' && this.#ctx.pool.isBlocked(host))
      this.record('refused', `${host}:${port}`, { reason: BLOCKED_REASON });
    if (this.#owner.add(host, port, source, hints) && this.#host.isActive()) this.dial();
  }

  /** Dials known addresses within the limits. */
  dial(): void {
    this.webSeeds.tick();
    if (!this.#host.isActive()) return;
    const now = this.#ctx.now();
    for (const k of this.#owner.dialable(now)) {
      if (!this.#owner.dialStarted(k)) break;
      void this.#connect(k);
    }
  }

  /** Our reserved bits: BEP 10, BEP 6, DHT, and the v2 bit when the torrent has v2 metadata. */
  reserved(): Uint8Array {
    const m = this.#host.metainfo;
    return makeReserved({
      extended: true,
      fast: true,
      dht: this.#ctx.dht !== undefined && !m.isPrivate,
      v2: m.version !== 'v1',
    });
  }

  /** An incoming connection whose handshake named this torrent. False: refused (the caller closes). */
  acceptIncoming(conn: PeerConnection, h: Handshake): boolean {
    const admission = this.#canAttach(conn, h);
    if (admission === undefined) return false;
    // Answer with the hash the peer used (v1 or truncated v2 of a hybrid, BEP 52).
    conn.sendHandshake({ reserved: this.reserved(), infoHash: h.infoHash, peerId: this.#ctx.peerId });
    this.#attach(conn, h, admission);
    return true;
  }

  /**
   * A WebRTC data channel opened with a peer of this torrent's swarm (found through a WebSocket
   * tracker). The end that made the offer (`stream.outgoing`) sends its handshake first, the
   * other answers the one it reads, so two Shoal nodes never wait on each other, and WebTorrent
   * (which sends its handshake at once either way) is met both ways. No MSE: WebTorrent frames
   * the plain wire over the channel, and DTLS encrypts it already.
   */
  adoptWebRtc(stream: PeerStream): void {
    const host = this.#host;
    if (host.isClosed() || !host.isActive()) {
      stream.destroy();
      return;
    }
    let attached = false;
    const conn: PeerConnection = new PeerConnection({
      stream,
      encrypted: false,
      handshakeTimeoutMs: this.#ctx.options.handshakeTimeoutMs,
      handlers: {
        onHandshake: (h) => {
          const known = host.wireInfoHashes.some((x) => Buffer.compare(x, h.infoHash) === 0);
          if (!known) return false;
          if (!stream.outgoing) {
            attached = this.acceptIncoming(conn, h);
            return attached;
          }
          const admission = this.#canAttach(conn, h);
          if (admission === undefined) return false;
          attached = true;
          this.#attach(conn, h, admission);
          return true;
        },
        onMessages: () => {},
        onClose: (reason, error) => {
          if (!attached && reason !== 'handshake-rejected')
            this.record('refused', `webrtc ${stream.remoteAddress}:${stream.remotePort}`, {
              reason: describe(reason, error),
            });
        },
      },
    });
    if (stream.outgoing)
      conn.sendHandshake({
        reserved: this.reserved(),
        infoHash: host.wireInfoHash,
        peerId: this.#ctx.peerId,
      });
    stream.resume();
  }

  /** Housekeeping, about once a second: extension ticks, keep-alives, idle peers, dialling. */
  housekeep(now: number): void {
    this.#registry.tick(now);
    const t = performance.now();
    for (const p of this.#peers.values()) {
      if (t - p.conn.lastReceivedAt > PEER_IDLE_TIMEOUT_MS) p.conn.close('idle');
      else if (t - p.conn.lastSentAt > KEEP_ALIVE_INTERVAL_MS) p.conn.send(keepAlive);
    }
    this.dial();
  }

  /** Pauses or resumes reading every connection (disk / hashing back-pressure). */
  setReadingPaused(paused: boolean): void {
    for (const p of this.#peers.values()) {
      if (paused) p.conn.pauseReading();
      else p.conn.resumeReading();
    }
    this.webSeeds.readingChanged();
  }

  /** Closes every connection (the torrent stopped or failed). */
  closeAll(reason: string): void {
    this.webSeeds.detachAll();
    for (const p of [...this.#peers.values()]) p.conn.close(reason);
  }

  /** Closes every connection and leaves the pool. */
  close(reason: string): void {
    this.#dials.abort();
    this.closeAll(reason);
    this.webSeeds.close();
    this.#stopBanListener();
    this.#stopBlocklistListener();
    this.#owner.close();
  }

  async #connect(k: KnownAddress): Promise<void> {
    const host = this.#host;
    let opened: Awaited<ReturnType<SessionContext['connectPeer']>>;
    try {
      opened = await this.#ctx.connectPeer(
        k.host,
        k.port,
        { reserved: this.reserved(), infoHash: host.wireInfoHash, peerId: this.#ctx.peerId },
        k.hints,
        this.#dials.signal,
      );
    } catch (e) {
      this.#owner.dialEnded(k, false, this.#ctx.now());
      this.#registry.onDialFailed(
        { host: k.host, port: k.port, family: k.host.includes(':') ? 6 : 4 },
        k.hints,
        this.#ctx.now(),
      );
      // An address that could not be reached is routine; one that answered and refused us is news.
      if (e instanceof ShoalError && e.code !== ErrorCode.NetConnectFailed && !host.isClosed())
        this.record('refused', `${k.host}:${k.port}`, { reason: e.message });
      // The dial's slot is free: the next address is tried now, not at the next housekeeping
      // (a flood of dead addresses ahead of a live one would otherwise cost a second per
      // MAX_HALF_OPEN_PER_TORRENT of them).
      this.dial();
      return;
    }
    this.#owner.dialEnded(k, true, this.#ctx.now());
    this.dial();
    if (host.isClosed()) {
      opened.stream.destroy();
      return;
    }
    let attached = false;
    const conn: PeerConnection = new PeerConnection({
      stream: opened.stream,
      encrypted: opened.encrypted,
      handshakeTimeoutMs: this.#ctx.options.handshakeTimeoutMs,
      handlers: {
        onHandshake: (h) => {
          const known = host.wireInfoHashes.some((x) => Buffer.compare(x, h.infoHash) === 0);
          if (!known) return false;
          const admission = this.#canAttach(conn, h);
          if (admission === undefined) return false;
          attached = true;
          this.#attach(conn, h, admission);
          return true;
        },
        onMessages: () => {},
        onClose: (reason, error) => {
          // Only reached before attaching (attaching rebinds): the address counts as failed.
          if (!attached) {
            this.#owner.disconnected(k.host, k.port, true, this.#ctx.now());
            if (reason !== 'handshake-rejected')
              this.record('refused', `${k.host}:${k.port}`, { reason: describe(reason, error) });
          }
        },
      },
    });
    if (opened.encrypted) k.hints.encrypted = true;
    opened.stream.resume();
    conn.feed(opened.initial);
  }

  /** A BEP 55 `connect`: dials `host:port` over uTP now, unless a dial or connection to it exists. */
  #punch(host: string, port: number): void {
    this.#owner.add(host, port, 'pex', { punch: true });
    const k = this.#owner.get(host, port);
    if (k !== undefined && this.#host.isActive() && this.#owner.dialStarted(k)) void this.#connect(k);
  }

  /** The pool's admission for a handshake that named this torrent, or undefined (refused). */
  #canAttach(conn: PeerConnection, h: Handshake): Admission | undefined {
    const host = this.#host;
    if (!host.isActive()) return undefined;
    if (Buffer.compare(h.peerId, this.#ctx.peerId) === 0) return undefined; // ourselves
    // Both ends dialled each other (each found the other through the tracker): one connection
    // per peer is enough — two would take two unchoke slots and split its requests. Both ends
    // keep the one opened by the end with the larger peer id, so they agree without talking.
    // Same address too, so a stranger quoting a peer's id cannot get that peer dropped.
    let dup: LivePeer | undefined;
    for (const p of this.#peers.values()) {
      if (p.conn.remoteAddress === conn.remoteAddress && Buffer.compare(p.peerId, h.peerId) === 0) dup = p;
    }
    if (
      dup !== undefined &&
      !keepsNewConnection(this.#ctx.peerId, h.peerId, conn.outgoing, dup.conn.outgoing)
    )
      return undefined;
    // The duplicate's place is given back before asking the pool for one.
    dup?.conn.close('duplicate');
    const admission = this.#owner.admit(conn.remoteAddress, conn.remotePort, conn.outgoing);
    if (typeof admission === 'string') {
      if (admission === 'banned' || admission === 'address-full' || admission === 'blocked')
        this.record('refused', `${conn.remoteAddress}:${conn.remotePort}`, {
          reason: admission === 'blocked' ? BLOCKED_REASON : admission,
        });
      return undefined;
    }
    return admission;
  }

  #attach(conn: PeerConnection, h: Handshake, admission: Admission): void {
    const host = this.#host;
    const key: PeerKey = `${conn.remoteAddress}:${conn.remotePort}/${++this.#seq}`;
    const theirs = readReserved(h.reserved);
    const mine = readReserved(this.reserved());
    const peer: LivePeer = {
      key,
      conn,
      address: `${conn.remoteAddress}:${conn.remotePort}`,
      peerId: h.peerId,
      admission,
      // A WebRTC peer's address is its ICE candidate's: no port anyone can dial.
      listenPort: conn.outgoing && conn.transport !== 'webrtc' ? conn.remotePort : undefined,
      get remoteAddress() {
        return conn.remoteAddress;
      },
      get remotePort() {
        return conn.remotePort;
      },
      get outgoing() {
        return conn.outgoing;
      },
      get transport() {
        return conn.transport;
      },
      get encrypted() {
        return conn.encrypted;
      },
      sendExtended: (extId, payload) => conn.send({ type: 'extended', extId, payload }),
      close: (reason, error) => conn.close(reason, error),
    };
    const client = clientFromPeerId(h.peerId);
    if (client !== undefined) peer.client = client.version ? `${client.name} ${client.version}` : client.name;
    this.#peers.set(key, peer);
    if (host.isReadingPaused()) conn.pauseReading();
    conn.setPieceCount(host.metainfo.pieceCount);
    conn.rebind({
      onHandshake: () => false,
      onMessages: (msgs) => deliverMessages(this.#inbox, peer, msgs),
      onClose: (reason, error) => this.#onClosed(peer, reason, error),
      onBytesReceived: (n) => this.#host.throttleDown(n),
    });
    const ip = ipv4Bytes(conn.remoteAddress);
    const extended = theirs.extended && mine.extended;
    // BEP 6: the bitfield / have all / have none must follow the handshake immediately.
    host.run(
      host.engine.addPeer(
        key,
        {
          supportsFast: theirs.fast && mine.fast,
          supportsExtensions: extended,
          blameId: conn.remoteAddress,
          ...(ip ? { ip } : {}),
        },
        this.#ctx.now(),
      ),
    );
    if (extended) {
      conn.send({
        type: 'extended',
        extId: EXTENDED_HANDSHAKE_ID,
        payload: encodeExtendedHandshake({
          ...this.#registry.handshake(),
          client: CLIENT_NAME,
          port: this.#ctx.listenPort(),
          reqq: ADVERTISED_REQQ,
          ...(ip !== undefined ? { yourIp: ip } : {}),
          ...this.#ctx.network?.handshakeFields(conn.remoteAddress),
        }),
      });
    }
    if (theirs.dht && mine.dht && this.#ctx.dht !== undefined)
      conn.send({ type: 'port', port: this.#ctx.dht.port });
    // BEP 52: the reserved bit announces v2 on hybrid connections; a connection made with the
    // truncated v2 info-hash (libtorrent does not set the bit then) is v2 by definition.
    const v2Hash = host.metainfo.infoHashV2?.subarray(0, 20);
    const byV2Hash = v2Hash !== undefined && Buffer.compare(h.infoHash, v2Hash) === 0;
    if (mine.v2 && (theirs.v2 || byV2Hash)) peer.supportsV2 = true;
    host.onPeerAttached(peer);
    this.record('connected', peer.address, {
      ...(peer.client ? { client: peer.client } : {}),
      transport: conn.transport,
      encrypted: conn.encrypted,
    });
  }

  #onClosed(peer: LivePeer, reason: string, error?: Error): void {
    if (!this.#peers.delete(peer.key)) return;
    peer.admission.release();
    this.#registry.onPeerClosed(peer);
    const now = this.#ctx.now();
    if (peer.conn.outgoing)
      this.#owner.disconnected(peer.conn.remoteAddress, peer.conn.remotePort, false, now);
    if (!this.#host.isClosed()) this.#host.run(this.#host.engine.removePeer(peer.key, now));
    this.#host.onPeerDetached(peer);
    this.record('disconnected', peer.address, { reason: describe(reason, error) });
  }
}

/** A close reason with its error, in words. */
function describe(reason: string, error?: Error): string {
  return error === undefined ? reason : `${reason}: ${error.message}`;
}

export type { ExtensionPeer };
