/**
 * `Session`: the public library API of a Shoal node. One session owns its transports (a TCP
 * listener; with uTP, one UDP socket on the same port shared by uTP, the DHT and UDP trackers:
 * session-transports.ts), one hash pool, one file-handle pool, the global rate limits and every
 * torrent; `close()` releases all of them.
 *
 * ```ts
 * const session = await Session.create({ downloadDir: './downloads', port: 6881 });
 * const torrent = await session.addTorrent(torrentFileBytes);
 * torrent.addPeer('127.0.0.1', 51413);
 * await torrent.next('done');
 * await session.close();
 * ```
 */
import { randomBytes } from 'node:crypto';
import {
  type DhtGetResult,
  type DhtGetTarget,
  type DhtPutRequest,
  type DhtPutResult,
  type DhtRuntime,
  type Lsd,
  UdpTrackerSocket,
} from '../discovery/index.js';
import { type Random, SeededRandom, TokenBucket } from '../engine/index.js';
import { type MagnetLink, type Metainfo, parseMagnet, parseTorrent } from '../metainfo/index.js';
import { type BlocklistSource, loadBlocklist } from '../net/blocklist-file.js';
import { InboundRouter } from '../net/inbound.js';
import type { BlocklistReport } from '../net/ip-blocklist.js';
import { BLOCKED_REASON, PeerPool } from '../net/peer-pool.js';
import type { PeerStream } from '../net/transport.js';
import { LazyWebRtc, webRtcInstalled } from '../net/webrtc-transport.js';
import type { PortMapper, PortMappingStatus } from '../portmap/index.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { toHex } from '../shared/hash.js';
import { CONNECT_TIMEOUT_MS, UTP_FALLBACK_CONNECT_TIMEOUT_MS } from '../shared/limits.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { makeDirectory } from '../storage/directory.js';
import { FilePool } from '../storage/file-pool.js';
import { HashPool, VERIFY_TASKS_PER_THREAD } from '../storage/hash-pool.js';
import { TorrentStorage } from '../storage/torrent-storage.js';
import { generatePeerId, type MsePolicy, mseReq2Hash } from '../wire/index.js';
import type { SessionContext } from './context.js';
import { anyFileExists, statfsFreeSpace } from './disk.js';
import { FeedError } from './feeds/errors.js';
import type { FollowOptions, PublishOptions } from './feeds/feed-types.js';
import { FeedFollower } from './feeds/follow.js';
import { type FeedPublication, publishFeed } from './feeds/publish.js';
import { MagnetFetches, type PendingMagnet } from './magnets.js';
import { type ExternalAddressChanged, NetworkStatus } from './network-status.js';
import { type ResolvedOptions, resolveOptions, type SessionOptions } from './options.js';
import { BtConnector } from './peers/connector.js';
import { type BitTorrentInboundInit, encryptedBitTorrent, plaintextBitTorrent } from './peers/inbound-bt.js';
import type { SeedLimits } from './seed-limits.js';
import { startDht, startLsd, startPortMapper } from './session-services.js';
import { SessionTransports } from './session-transports.js';
import { Torrent } from './torrent.js';
import { type QueueLimits, TorrentQueue } from './torrent-queue.js';
import type { TorrentOptions } from './torrent-types.js';
import { UploadGate } from './upload-gate.js';
import { WebSeedError } from './webseed/errors.js';
import { webSeedUrlProblem } from './webseed/http-rules.js';

export interface SessionEvents {
  'torrent:added': { readonly id: string; readonly name: string };
  'torrent:removed': { readonly id: string };
  /** A magnet was added; its metadata is being fetched. */
  'magnet:added': { readonly id: string; readonly name: string | undefined };
  /** A magnet's metadata fetch failed or was cancelled. */
  'magnet:failed': { readonly id: string; readonly error: Error };
  'torrent:finished': { readonly id: string; readonly name: string };
  /** A peer that dialled us was refused before anything was read (banned, blocklisted). */
  'peer:refused': { readonly address: string; readonly port: number; readonly reason: string };
  /** Something a user should know that does not stop the session (e.g. no multicast route). */
  warning: { readonly message: string };
  /** The session itself failed (e.g. the listener died). */
  error: { readonly error: Error };
  /** Port mapping on the router changed (with `portMapping`): method, external address, ports. */
  'portmap:changed': PortMappingStatus;
  /** Our external address (router, peers' `yourip`, DHT) or the TCP port peers dial changed. */
  'external-address:changed': ExternalAddressChanged;
}

export class Session extends TypedEmitter<SessionEvents> {
  readonly options: ResolvedOptions;
  readonly peerId: Uint8Array;
  readonly #hashPool: HashPool;
  readonly #filePool: FilePool;
  readonly #torrents = new Map<string, Torrent>();
  /** Wire info-hash (hex of 20 bytes) → torrent. */
  readonly #byWireHash = new Map<string, Torrent>();
  /** MSE: hex of HASH('req2', wire info-hash) → that info-hash (the responder's SKEY lookup). */
  readonly #byReq2 = new Map<string, Uint8Array>();
  #encryption: MsePolicy;
  #seedLimits: SeedLimits;
  readonly #queue: TorrentQueue;
  readonly #magnets: MagnetFetches;
  /** Engine randomness (picking, choking): fast, seeded from the CSPRNG. */
  readonly #random: Random = new SeededRandom(randomBytes(4).readUInt32BE(0));
  readonly #down: TokenBucket;
  readonly #up: TokenBucket;
  readonly #upGate: UploadGate;
  readonly #t0 = performance.now();
  readonly #net: SessionTransports;
  readonly #pool: PeerPool;
  readonly #inbound: InboundRouter;
  readonly #connector: BtConnector;
  #blocklistReport: BlocklistReport | undefined;
  #blocklistSeq = 0;
  #udpTracker: UdpTrackerSocket | undefined;
  #dht: DhtRuntime | undefined;
  #lsd: Lsd | undefined;
  #portMapper: PortMapper | undefined;
  readonly #network = new NetworkStatus({ now: () => this.now(), listenPort: () => this.#port });
  /** WebRTC, loaded on first use (see LazyWebRtc); undefined when turned off. */
  #webrtc: LazyWebRtc | undefined;
  #port = 0;
  #closed = false;
  readonly #ctx: SessionContext;

  private constructor(options: ResolvedOptions) {
    super();
    this.options = options;
    this.peerId = options.peerId ?? generatePeerId(randomBytes(12));
    this.#hashPool =
      options.hashPool ??
      new HashPool({
        threads: options.hashThreads,
        tasksPerThread: VERIFY_TASKS_PER_THREAD,
        storeOnThreads: !options.lowMemory,
      });
    this.#filePool = new FilePool();
    this.#webrtc = options.webrtc === undefined ? undefined : new LazyWebRtc(options.webrtc);
    this.#down = new TokenBucket(options.downloadRateLimit, undefined, 0);
    this.#up = new TokenBucket(options.uploadRateLimit, undefined, 0);
    this.#upGate = new UploadGate(this.#up, () => this.now());
    this.#pool = new PeerPool({ now: () => this.now(), maxConnections: options.maxConnections });
    // With a proxy, peers are dialled through it alone: no direct dial may leak our address.
    this.#net = new SessionTransports(options);
    this.#encryption = options.encryption;
    this.#seedLimits = { ratio: options.seedRatioLimit, idleMs: options.seedIdleLimitMs };
    this.#queue = new TorrentQueue({ downloads: options.maxActiveDownloads, seeds: options.maxActiveSeeds });
    this.#connector = new BtConnector({
      transports: (hints) => this.#net.forAddress(hints),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      fallbackConnectTimeoutMs: UTP_FALLBACK_CONNECT_TIMEOUT_MS,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      encryption: () => this.#encryption,
    });
    this.#inbound = new InboundRouter({ timeoutMs: options.handshakeTimeoutMs });
    const inbound: BitTorrentInboundInit = {
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      torrentFor: (infoHash) => this.#byWireHash.get(toHex(infoHash)),
      encryption: () => this.#encryption,
      findSkey: (req2) => this.#byReq2.get(toHex(req2)),
    };
    this.#inbound.register(plaintextBitTorrent(inbound));
    this.#inbound.register(encryptedBitTorrent(inbound), { fallback: true });
    this.#network.on('external-address:changed', (e) => this.emit('external-address:changed', e));
    const self = this;
    this.#ctx = {
      options,
      get dht() {
        return self.#dht;
      },
      get lsd() {
        return self.#lsd;
      },
      webrtc: async () => this.#webrtc?.get(),
      peerId: this.peerId,
      now: () => this.now(),
      listenPort: () => this.#network.port(), // the router's mapped port when there is one
      pool: this.#pool,
      network: this.#network,
      connectPeer: (host, port, handshake, hints, signal) =>
        this.#connector.connect(host, port, handshake, hints, signal),
      // Received bytes are already here: charge them (debt allowed) and pause reading until repaid.
      throttleDown: (n) => this.#down.charge(n, this.now()),
      // All `n` tokens or none, in arrival order (see UploadGate).
      acquireUp: (n, cancelled, priority) => this.#upGate.acquire(n, cancelled, priority),
      seedLimits: () => this.#seedLimits,
      openStorage: (metainfo, downloadDir) => this.#openStorage(metainfo, downloadDir),
      closeFile: (path) => this.#filePool.closeFile(path),
      freeSpace: options.freeSpace ?? statfsFreeSpace,
      udpTrackerSocket: () => {
        const udp = this.#net.udp;
        this.#udpTracker ??= new UdpTrackerSocket(
          options.proxy !== undefined ? { proxy: options.proxy } : udp !== undefined ? { socket4: udp } : {},
        );
        return this.#udpTracker;
      },
    };
    this.#magnets = new MagnetFetches({
      ctx: this.#ctx,
      emit: (event, payload) => this.emit(event, payload),
    });
  }

  /** Creates a session and starts listening (unless `listen: false`). */
  static async create(options: SessionOptions = {}): Promise<Session> {
    const s = new Session(resolveOptions(options));
    try {
      // Not mkdir({recursive}): it loops forever under /proc (makeDirectory fails once, with the cause).
      if (s.options.resumeDir !== undefined) await makeDirectory(s.options.resumeDir);
      if (s.options.blocklist !== undefined) await s.setBlocklist(s.options.blocklist);
      // Hashing ready before any peer: a piece must never wait for it to start.
      await s.#hashPool.warmUp();
      if (s.options.listen) await s.#listen();
      await s.#startDiscovery();
      s.#startPortMapping();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  async #startDiscovery(): Promise<void> {
    this.#dht = await startDht(this.options, this.#net.udp);
    if (this.#dht !== undefined) this.#network.watchDht(this.#dht);
    this.#lsd = await startLsd(this.options, this.#port, {
      warn: (message) => this.emit('warning', { message }),
      discovered: (p) => this.#byWireHash.get(toHex(p.infoHash))?.addPeer(p.host, p.port, 'lsd'),
    });
  }

  #startPortMapping(): void {
    const ports = { listen: this.#port, udp: this.#net.udp !== undefined, dht: this.#dht?.port ?? 0 };
    this.#portMapper = startPortMapper(this.options, ports, {
      changed: (s) => this.emit('portmap:changed', s),
      warn: (message) => this.emit('warning', { message }),
    });
    if (this.#portMapper === undefined) return;
    this.#network.watchMapper(this.#portMapper);
    this.#portMapper.start();
  }

  /** Port mapping status (method, external address, ports, recent errors); undefined when off. */
  portMapping(): PortMappingStatus | undefined {
    return this.#portMapper?.status();
  }

  /** Our external IPv4 (or IPv6) address if known: router's, else peers' `yourip`, else DHT's. */
  externalAddress(family: 4 | 6 = 4): string | undefined {
    return this.#network.address(family);
  }

  /** Our external address, its source and the port peers dial (see NetworkStatus). */
  get network(): Pick<NetworkStatus, 'port' | 'address' | 'source'> {
    return this.#network;
  }

  /** DHT figures (nodes, buckets, lookups), when the DHT runs. */
  dhtStats(): ReturnType<DhtRuntime['stats']> | undefined {
    return this.#dht?.stats();
  }

  /** The session's hash threads (torrent creation can share them: `createTorrent({hashPool})`). */
  get hashPool(): HashPool {
    return this.#hashPool;
  }

  /** The DHT's UDP port (0 when it does not run). */
  get dhtPort(): number {
    return this.#dht?.port ?? 0;
  }

  /**
   * Gets a BEP 44 item from the DHT: an immutable one by its 20-byte target, a mutable one by
   * public key and salt (verified; the highest seq found). Undefined when no node has it. Rejects
   * with `SHOAL_ERR_FEED_NO_DHT` when the session runs no DHT.
   */
  async dhtGet(
    target: DhtGetTarget,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<DhtGetResult | undefined> {
    return this.#needDht().get(target, options);
  }

  /** Puts a BEP 44 item into the DHT (see `DhtPutRequest`); rejects like {@link dhtGet}. */
  async dhtPut(
    request: DhtPutRequest,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<DhtPutResult> {
    return this.#needDht().put(request, options);
  }

  /**
   * Publishes a folder as the next version of a feed (BEP 46): creates its torrent, seeds it and
   * puts its info-hash under the key with the next seq; the item is put again until the
   * publication is closed. See `publishFeed`.
   */
  async publish(options: PublishOptions): Promise<FeedPublication> {
    this.#needDht();
    return publishFeed(this, options);
  }

  /**
   * Follows a feed into a folder: downloads its current version, then each newer one, fetching
   * only what changed and switching `<dir>/current` atomically. See `FeedFollower`.
   */
  async follow(options: FollowOptions): Promise<FeedFollower> {
    this.#needDht();
    return FeedFollower.open(this, options);
  }

  #needDht(): DhtRuntime {
    if (this.#closed) throw new ShoalError(ErrorCode.SessionClosed, 'session is closed', {});
    if (this.#dht === undefined) {
      throw new FeedError(
        ErrorCode.FeedNoDht,
        'this needs the DHT, and the session runs none (SessionOptions.dht)',
        {},
      );
    }
    return this.#dht;
  }

  /** Monotonic ms since the session started. */
  now(): number {
    return performance.now() - this.#t0;
  }

  /** The port we listen on, TCP and (with uTP) UDP (0 when not listening). */
  get port(): number {
    return this.#port;
  }

  /** Open peer connections across all torrents (attached or still handshaking). */
  get connectionCount(): number {
    let n = 0;
    for (const t of this.#net.all) n += t.openCount;
    return n;
  }

  /** The session's peer pool: every torrent's addresses and connections, and the bans. */
  get pool(): PeerPool {
    return this.#pool;
  }

  /** The encryption policy (MSE/PE) of new connections. */
  get encryption(): MsePolicy {
    return this.#encryption;
  }

  /**
   * Changes the encryption policy (MSE/PE) for connections made or accepted from now on:
   * `disabled`, `enabled` (accept both, dial plaintext, retry encrypted), `prefer` (dial
   * encrypted, fall back to plaintext) or `require` (encrypted only, both ways).
   */
  setEncryption(policy: MsePolicy): void {
    this.#encryption = policy;
  }

  /** The seed limits of torrents that set none of their own (0 = none). */
  get seedLimits(): Required<SeedLimits> {
    return { ratio: this.#seedLimits.ratio ?? 0, idleMs: this.#seedLimits.idleMs ?? 0 };
  }

  /** Changes the session's seed limits (ratio; idle time, ms; 0 = none). */
  setSeedLimits(limits: SeedLimits): void {
    this.#seedLimits = { ...this.#seedLimits, ...limits };
  }

  /** The queue limits: torrents downloading and seeding at once (0 = no limit). */
  get queueLimits(): QueueLimits {
    return this.#queue.limits;
  }

  /** Changes the queue limits; queued torrents start, or running ones wait, at once. */
  setQueueLimits(limits: Partial<QueueLimits>): void {
    this.#queue.setLimits(limits);
  }

  /** A torrent's place in the queue (0 first), or -1 when the session does not hold it. */
  queuePosition(id: string): number {
    const t = this.getTorrent(id);
    return t === undefined ? -1 : this.#queue.position(t);
  }

  /** Moves a torrent to `position` in the queue (0 first; clamped). */
  setQueuePosition(id: string, position: number): void {
    const t = this.getTorrent(id);
    if (t !== undefined) this.#queue.move(t, position);
  }

  /**
   * Loads an IP blocklist (a file or its text; `undefined` removes it) and puts it in force: its
   * addresses are no longer dialled nor accepted, and open connections to them close. Resolves
   * with what the parser found (malformed lines are skipped and counted, and a `warning` says
   * so); rejects with `SHOAL_ERR_NET_BLOCKLIST` when the list cannot be read or is past its
   * bounds, leaving the previous list in force.
   */
  async setBlocklist(source: BlocklistSource | undefined): Promise<BlocklistReport | undefined> {
    const seq = ++this.#blocklistSeq;
    if (source === undefined) {
      this.#pool.setBlocklist(undefined);
      this.#blocklistReport = undefined;
      return undefined;
    }
    const { list, report } = await loadBlocklist(source);
    // A later call won the race: its list stands.
    if (seq !== this.#blocklistSeq || this.#closed) return report;
    this.#pool.setBlocklist(list);
    this.#blocklistReport = report;
    if (report.malformed > 0) {
      const first = report.errors[0];
      this.emit('warning', {
        message: `blocklist: ${report.malformed} malformed line(s) skipped${first ? ` (line ${first.line}: ${first.reason})` : ''}`,
      });
    }
    return report;
  }

  /** What the blocklist in force holds (undefined when there is none). */
  get blocklist(): (BlocklistReport & { readonly rangesMerged: number }) | undefined {
    const list = this.#pool.blocklist;
    if (this.#blocklistReport === undefined || list === undefined) return undefined;
    return { ...this.#blocklistReport, rangesMerged: list.rangeCount };
  }

  /** Changes the global rate limits (bytes/s, 0 = unlimited). */
  setRateLimits(limits: { download?: number; upload?: number }): void {
    const now = this.now();
    if (limits.download !== undefined) this.#down.setRate(limits.download, undefined, now);
    if (limits.upload !== undefined) {
      this.#up.setRate(limits.upload, undefined, now);
      this.#upGate.kick();
    }
  }

  /**
   * Adds a torrent from .torrent bytes or a parsed metainfo, and starts it (resume data is
   * loaded, or data already on disk is verified). Resolves once the torrent is running.
   */
  async addTorrent(source: Uint8Array | Metainfo, options: TorrentOptions = {}): Promise<Torrent> {
    if (this.#closed) throw new ShoalError(ErrorCode.SessionClosed, 'session is closed', {});
    const metainfo = source instanceof Uint8Array ? parseTorrent(source) : source;
    const id = toHex(metainfo.infoHashV1 ?? metainfo.infoHashV2!);
    const existing = this.#torrents.get(id);
    if (existing !== undefined) return existing;
    for (const url of options.webSeeds ?? []) {
      const problem = webSeedUrlProblem(url);
      if (problem !== undefined)
        throw new WebSeedError(ErrorCode.WebSeedBadUrl, `web seed ${url.slice(0, 200)}: ${problem}`, { url });
    }
    const downloadDir = options.downloadDir ?? this.options.downloadDir;
    const incompleteDir = options.incompleteDir ?? this.options.incompleteDir;
    // An incomplete folder takes new downloads; data already in the download folder stays.
    const startIn =
      incompleteDir !== undefined && !(await anyFileExists(metainfo, downloadDir))
        ? incompleteDir
        : downloadDir;
    const storage = this.#openStorage(metainfo, startIn);
    const torrent = new Torrent(
      this.#ctx,
      metainfo,
      storage,
      this.#random,
      { ...options, downloadDir },
      this.options.extensions,
    );
    for (const url of options.webSeeds ?? []) torrent.addWebSeed(url);
    this.#torrents.set(id, torrent);
    for (const h of torrent.wireInfoHashes) {
      this.#byWireHash.set(toHex(h), torrent);
      this.#byReq2.set(toHex(mseReq2Hash(h)), h);
    }
    torrent.on('done', () => this.emit('torrent:finished', { id, name: torrent.name }));
    this.emit('torrent:added', { id, name: torrent.name });
    this.#queue.add(torrent);
    await torrent.start();
    return torrent;
  }

  /**
   * Adds a torrent from a magnet link: fetches the info dictionary from peers (BEP 9), checks
   * it against the info-hash, then adds the torrent. Peers come from the link's `x.pe`, from
   * {@link PendingMagnet.addPeer} and from the discovery sources. Resolves with the running
   * torrent; rejects if cancelled (`removeTorrent`, `close`) or aborted through `signal`.
   */
  async addMagnet(
    source: string | MagnetLink,
    options: TorrentOptions & { signal?: AbortSignal } = {},
  ): Promise<Torrent> {
    if (this.#closed) throw new ShoalError(ErrorCode.SessionClosed, 'session is closed', {});
    const link = typeof source === 'string' ? parseMagnet(source) : source;
    const existing = this.#torrents.get(toHex(link.infoHashV1 ?? link.infoHashV2!));
    if (existing !== undefined) return existing;
    const { signal, ...torrentOptions } = options;
    const { metainfo, peers } = await this.fetchMetadata(link, signal === undefined ? {} : { signal });
    const torrent = await this.addTorrent(metainfo, torrentOptions);
    for (const p of link.peers) torrent.addPeer(p.host, p.port);
    for (const p of peers) torrent.addPeer(p.host, p.port);
    return torrent;
  }

  /**
   * Fetches a magnet's info dictionary from peers (BEP 9) and checks it against the info-hash,
   * without adding the torrent: resolves with the metainfo (the link's trackers and web seeds,
   * no piece layers) and the peers that were found. Peers come as for {@link addMagnet}; rejects
   * if cancelled (`removeTorrent` of its id, `close`) or aborted through `signal`.
   */
  async fetchMetadata(
    source: string | MagnetLink,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<{ metainfo: Metainfo; peers: { host: string; port: number }[] }> {
    if (this.#closed) throw new ShoalError(ErrorCode.SessionClosed, 'session is closed', {});
    return this.#magnets.fetch(typeof source === 'string' ? parseMagnet(source) : source, options.signal);
  }

  /** Magnets whose metadata is still being fetched. */
  pendingMagnets(): PendingMagnet[] {
    return this.#magnets.pending();
  }

  getTorrent(id: string): Torrent | undefined {
    return this.#torrents.get(id.toLowerCase());
  }

  torrents(): Torrent[] {
    return [...this.#torrents.values()];
  }

  /** Stops a torrent and forgets it (its files stay on disk). */
  async removeTorrent(id: string): Promise<void> {
    this.#magnets.cancel(id.toLowerCase(), 'magnet removed');
    const t = this.#torrents.get(id.toLowerCase());
    if (t === undefined) return;
    this.#torrents.delete(t.id);
    this.#queue.remove(t);
    for (const h of t.wireInfoHashes) {
      this.#byWireHash.delete(toHex(h));
      this.#byReq2.delete(toHex(mseReq2Hash(h)));
    }
    await t.close();
    this.emit('torrent:removed', { id: t.id });
  }

  /**
   * Whether WebRTC is on: enabled, and its library installed. The library itself is loaded when a
   * torrent first has a `ws://` tracker.
   */
  get webrtcEnabled(): boolean {
    return this.options.webrtc !== undefined && webRtcInstalled();
  }

  /** Closes every torrent (saving resume data), the listener, sockets, threads and files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#magnets.cancelAll('session closed');
    const listenersClosed = this.#net.stopAccepting();
    await Promise.all([...this.#torrents.values()].map((t) => t.close()));
    this.#upGate.close();
    await listenersClosed;
    await this.#portMapper?.close();
    this.#webrtc?.close();
    await this.#udpTracker?.close();
    await this.#lsd?.close();
    await this.#dht?.close();
    await this.#net.close();
    await this.#filePool.close();
    if (this.options.hashPool === undefined) await this.#hashPool.destroy();
  }

  #openStorage(metainfo: Metainfo, downloadDir: string): TorrentStorage {
    return new TorrentStorage({ metainfo, downloadDir, files: this.#filePool, hashes: this.#hashPool });
  }

  async #listen(): Promise<void> {
    this.#port = await this.#net.listen(
      this.options.port,
      (s) => this.#onIncoming(s),
      (error) => this.emit('error', { error }),
    );
  }

  #onIncoming(stream: PeerStream): void {
    const address = stream.remoteAddress;
    const refusal = this.#pool.isBanned(address)
      ? 'banned'
      : this.#pool.isBlocked(address)
        ? BLOCKED_REASON
        : undefined;
    if (refusal !== undefined && !this.#closed)
      this.emit('peer:refused', { address, port: stream.remotePort, reason: refusal });
    if (
      this.#closed ||
      refusal !== undefined ||
      this.#pool.openConnections + this.#inbound.pendingCount >= this.options.maxConnections
    ) {
      stream.destroy();
      return;
    }
    this.#inbound.accept(stream);
  }
}
