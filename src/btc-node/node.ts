/**
 * DEV DOCS — `BtcNode`: a Bitcoin-protocol light node (BIP 157/158 client) on Shoal's connection
 * layer, with a watch-only wallet. The library API the CLI (`shoal btc`) and the daemon use.
 *
 * ```ts
 * const node = await BtcNode.open({ network: 'bitcoin-signet', dataDir: '/var/lib/shoal/btc' });
 * node.watch('tb1q…', { rescanFrom: 200_000 });
 * node.on('tx', (e) => console.log(e.txid, e.delta, e.confirmed));
 * node.start();
 * await node.synced();
 * console.log(node.balance());
 * await node.close();
 * ```
 *
 * Owns: the header chain and its file (`headers.dat`), the filter headers (`filter-headers.dat`),
 * the wallet (`wallet.json`), the known addresses (`peers.json`), every connection (on the shared
 * `PeerPool`), one timer. Data flow:
 *
 *   peer bytes → BtcPeer (frames, handshake, bounds) → #onMessage
 *     headers/inv ─► HeaderSync ─► HeaderChain ─► header file, `header`/`reorg` events
 *     cfcheckpt/cfheaders ─► FilterSync (cross-checked) ─► filter header file
 *     cfilter ─► FilterScanner ─► match watched scripts ─► BlockFetcher (block / cmpctblock +
 *       mempool + getblocktxn) ─► merkle root checked ─► Wallet (+ inclusion proofs) ─► `block`, `tx`
 *     inv/tx ─► Mempool ─► Wallet (unconfirmed) ─► `tx`
 *     getdata ─► Broadcaster (our transactions)
 *
 * `close()` stops the timer, closes every connection, flushes the files and saves the wallet.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  addressToScript,
  type Block,
  BtcError,
  type BtcMessage,
  blockHash,
  bytesToHex,
  type ChainParams,
  encodeHeader,
  type HeaderChain,
  hashToHex,
  headerHash,
  InvType,
  merkleProof,
  type Transaction,
  txid,
  verifyFilter,
} from '../bitcoin/index.js';
// The two modules it needs, not net/index.js: uTP, SOCKS5 and the blocklist loader are not
// loaded by a Bitcoin node (a few MB of resident memory).
import { PeerPool } from '../net/peer-pool.js';
import { TcpTransport } from '../net/tcp-transport.js';
import type { Transport } from '../net/transport.js';
import { ErrorCode } from '../shared/errors.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { AddrManager } from './addr-manager.js';
import { BlockFetcher } from './block-fetcher.js';
import { Broadcaster } from './broadcaster.js';
import { Connections } from './connections.js';
import type { BtcNodeEvents } from './events.js';
import { FilterHeaderStore } from './filter-header-store.js';
import { CfilterRequests, FilterScanner } from './filter-scan.js';
import { FilterSync, servesFilters } from './filter-sync.js';
import { HeaderStore } from './header-store.js';
import { HeaderSync } from './header-sync.js';
import { Mempool } from './mempool.js';
import {
  type BtcLogger,
  type BtcNodeOptions,
  type ResolvedBtcNodeOptions,
  resolveBtcNodeOptions,
} from './options.js';
import type { BtcPeer, PeerCloseReason } from './peer.js';
import { PeerRequests } from './requests.js';
import { type BtcNodeStatus, nodeStatus } from './status.js';
import { type TxDetails, txDetails } from './tx-details.js';
import { parseWif } from './wallet/descriptor.js';
import { type BuiltSpend, buildSpend } from './wallet/spend.js';
import type { Balance, HistoryEntry, Utxo, Wallet, WatchedItem } from './wallet/wallet.js';
import { loadWallet, WalletSaver } from './wallet/wallet-store.js';

/** Period of the node's timer (peer deadlines, dials), ms. */
const TICK_MS = 1000;

/** See the module notes. */
export class BtcNode extends TypedEmitter<BtcNodeEvents> {
  readonly options: ResolvedBtcNodeOptions;
  readonly params: ChainParams;
  readonly chain: HeaderChain;
  readonly wallet: Wallet;
  readonly pool: PeerPool;
  readonly mempool: Mempool;
  readonly addrman: AddrManager;
  readonly #headers: HeaderStore;
  readonly #filterHeaders: FilterHeaderStore;
  readonly #walletSaver: WalletSaver;
  readonly #transport: Transport;
  readonly #ownTransport: boolean;
  readonly #connections: Connections;
  readonly #requests = new PeerRequests();
  readonly #cfilters: CfilterRequests;
  readonly #headerSync: HeaderSync;
  readonly #filterSync: FilterSync;
  readonly #scanner: FilterScanner;
  readonly #blocks: BlockFetcher;
  readonly #broadcaster = new Broadcaster();
  readonly #log: BtcLogger | undefined;
  readonly #askedAddr = new WeakSet<BtcPeer>();
  #timer: NodeJS.Timeout | undefined;
  #synced = false;
  #closed = false;

  private constructor(
    options: ResolvedBtcNodeOptions,
    raw: BtcNodeOptions,
    parts: { chain: HeaderChain; headers: HeaderStore; filterHeaders: FilterHeaderStore; wallet: Wallet },
  ) {
    super();
    this.options = options;
    this.params = options.params;
    this.chain = parts.chain;
    this.wallet = parts.wallet;
    this.#headers = parts.headers;
    this.#filterHeaders = parts.filterHeaders;
    this.#walletSaver = new WalletSaver(join(options.dataDir, 'wallet.json'), parts.wallet);
    this.#log = raw.logger;
    const now = () => performance.now();
    this.pool = raw.pool ?? new PeerPool({ now, maxConnections: 128 });
    this.#ownTransport = raw.transport === undefined;
    this.#transport = raw.transport ?? new TcpTransport();
    this.mempool = new Mempool(now);
    this.addrman = new AddrManager({
      key: randomBytes(32),
      random: Math.random,
      nowS: () => Math.floor(Date.now() / 1000),
    });
    const readyPeers = () => this.#connections.ready();
    this.#connections = new Connections({
      options,
      pool: this.pool,
      transport: this.#transport,
      addrman: this.addrman,
      now,
      startHeight: () => this.chain.height,
      logger: raw.logger,
      handler: {
        ready: (p) => this.#onReady(p),
        message: (p, m) => this.#onMessage(p, m),
        closed: (p, r) => this.#onClosed(p, r),
      },
    });
    this.#cfilters = new CfilterRequests(this.#requests);
    this.#blocks = new BlockFetcher({
      requests: this.#requests,
      mempool: this.mempool,
      readyPeers,
      tipHeight: () => this.chain.height,
    });
    this.#headerSync = new HeaderSync({
      chain: this.chain,
      readyPeers,
      nowS: () => Math.floor(Date.now() / 1000),
      chainChanged: (r) => this.#chainChanged(r),
    });
    const log = (message: string) => this.#log?.info({ network: this.params.name }, message);
    this.#filterSync = new FilterSync({
      chain: this.chain,
      store: this.#filterHeaders,
      requests: this.#requests,
      blocks: this.#blocks,
      cfilters: this.#cfilters,
      readyPeers,
      extended: () => {
        this.#scanner.kick();
        this.#checkSynced();
      },
      log,
    });
    this.#scanner = new FilterScanner({
      chain: this.chain,
      store: this.#filterHeaders,
      wallet: this.wallet,
      blocks: this.#blocks,
      cfilters: this.#cfilters,
      filterPeers: () => this.#filterSync.filterPeers(),
      blockMatched: (block, height, hash, compact) => this.#blockMatched(block, height, hash, compact),
      progressed: () => {
        void this.#walletSaver.save();
        this.#checkSynced();
      },
      log,
    });
  }

  /** Opens the node's files in `options.dataDir` (created if missing); call {@link start} to connect. */
  static async open(options: BtcNodeOptions): Promise<BtcNode> {
    const o = resolveBtcNodeOptions(options);
    await mkdir(o.dataDir, { recursive: true });
    const {
      store: headers,
      chain,
      report,
    } = await HeaderStore.open(join(o.dataDir, 'headers.dat'), o.params);
    const filterHeaders = await FilterHeaderStore.open(
      join(o.dataDir, 'filter-headers.dat'),
      o.params,
      chain,
    );
    const wallet = await loadWallet(join(o.dataDir, 'wallet.json'), o.params);
    // A wallet scanned past what the files kept (a crash) scans those heights again.
    if (wallet.scannedHeight > filterHeaders.tipHeight) wallet.disconnectAbove(filterHeaders.tipHeight);
    if (report.truncatedBytes > 0)
      options.logger?.warn({ path: headers.path, bytes: report.truncatedBytes }, 'header file repaired');
    return new BtcNode(o, options, { chain, headers, filterHeaders, wallet });
  }

  /** Starts connecting (and listening, when asked). */
  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
    this.#tick();
  }

  /** True once headers, filter headers and the wallet scan reached every peer's tip. */
  get isSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once synced (at once when it is); rejects on `signal` abort or close. */
  async synced(signal?: AbortSignal): Promise<void> {
    while (!this.#synced) {
      if (this.#closed) throw new BtcError(ErrorCode.BtcClosed, 'the node closed before it synced');
      await this.next('synced', signal);
    }
  }

  /** Status for the CLI, the daemon and the dashboard. */
  status(): BtcNodeStatus {
    return nodeStatus({
      params: this.params,
      chain: this.chain,
      synced: this.#synced,
      headersCaughtUp: this.#headerSync.isCaughtUp(),
      bestKnownHeight: this.#headerSync.bestKnownHeight(),
      filterHeaderHeight: this.#filterHeaders.tipHeight,
      scannedHeight: this.wallet.scannedHeight,
      peers: this.#connections.all(),
      syncPeer: this.#headerSync.syncPeer,
      pool: this.pool,
      mempool: this.mempool,
      addrman: this.addrman,
      pendingBroadcasts: this.#broadcaster.pending(),
      blocks: this.#blocks.stats,
      scan: this.#scanner.stats,
      filterConflicts: this.#filterSync.conflictsResolved,
      wallet: this.wallet,
    });
  }

  /** The filter header at `height` once accepted (display hex). */
  filterHeaderAt(height: number): string | undefined {
    const h = this.#filterHeaders.at(height);
    return h === undefined ? undefined : hashToHex(h);
  }

  /** The best-chain block at `height`, fetched from a peer and checked against its header. */
  async fetchBlock(height: number): Promise<Block> {
    const hash = this.chain.hashAt(height);
    if (hash === undefined) throw new BtcError(ErrorCode.BtcNotFound, `no block at height ${height}`);
    return (await this.#blocks.get(hash, height)).block;
  }

  /**
   * The basic filter of the best-chain block at `height`, fetched from a filter peer and checked
   * against the filter header we accepted for that height.
   */
  async fetchFilter(height: number): Promise<Uint8Array> {
    const hash = this.chain.hashAt(height);
    const header = this.#filterHeaders.at(height);
    const peer = this.#filterSync.filterPeers()[0];
    if (hash === undefined || header === undefined || peer === undefined)
      throw new BtcError(
        ErrorCode.BtcNotFound,
        `no checked filter header or filter peer for height ${height}`,
      );
    const [filter] = await this.#cfilters.get(peer, height, [hash]);
    verifyFilter(filter!, height === 0 ? new Uint8Array(32) : this.#filterHeaders.at(height - 1)!, header);
    return filter!;
  }

  // ------------------------------------------------------------------ wallet

  /**
   * Watches an address or descriptor. `rescanFrom`: the height to scan from (its blocks below
   * the scan height are checked again). @default the next block (no history)
   */
  async watch(text: string, options: { label?: string; rescanFrom?: number } = {}): Promise<WatchedItem> {
    const item = this.wallet.watch(text, {
      ...(options.label !== undefined ? { label: options.label } : {}),
      rescanFrom: options.rescanFrom ?? this.chain.height + 1,
    });
    this.#synced = false;
    await this.#walletSaver.save();
    this.#scanner.restart();
    return item;
  }

  balance(): Balance {
    return this.wallet.balance(this.chain.height);
  }

  history(): HistoryEntry[] {
    return this.wallet.history(this.chain.height);
  }

  utxos(): Utxo[] {
    return this.wallet.utxos(this.chain.height);
  }

  /** A wallet transaction with its inclusion proof, checked against our header chain. */
  async transaction(id: string): Promise<TxDetails | undefined> {
    const rec = this.wallet.get(id);
    if (rec === undefined) return undefined;
    const headerAt = (height: number) =>
      height === 0 ? Promise.resolve(this.params.genesisHeader) : this.#headers.read(height);
    return txDetails(
      rec,
      this.history().find((h) => h.txid === id),
      headerAt,
    );
  }

  /**
   * Builds and signs a spend of the coins of `key` (WIF or 64 hex digits) to `to` (an address).
   * Refused on mainnet unless the node was opened with `allowMainnetSpends`.
   */
  createSpend(req: { key: string; to: string; amount: bigint; feeRate: number }): BuiltSpend {
    if (this.params.name === 'bitcoin' && !this.options.allowMainnetSpends) {
      throw new BtcError(
        ErrorCode.BtcMainnetRefused,
        'refusing to sign a mainnet spend (open the node with allowMainnetSpends, or pass --allow-mainnet)',
      );
    }
    return buildSpend({
      key: parseWif(req.key, this.params),
      to: addressToScript(req.to, this.params),
      amount: req.amount,
      feeRate: req.feeRate,
      utxos: this.utxos(),
    });
  }

  /**
   * Announces `tx` to every peer (`inv`, then `tx` on their `getdata`) until a block confirms it.
   * `fetched` resolves with the first peer that fetched it.
   */
  broadcast(tx: Transaction): { txid: string; fetched: Promise<string> } {
    this.mempool.add(tx);
    const rec = this.wallet.addUnconfirmed(tx, Math.floor(Date.now() / 1000));
    if (rec !== undefined) {
      this.#emitTx(rec.txid);
      void this.#walletSaver.save();
    }
    return this.#broadcaster.add(tx, this.#connections.ready());
  }

  // ------------------------------------------------------------------ life cycle

  /** Closes every connection, flushes the files, saves the wallet. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#connections.close();
    this.#requests.closeAll('node closing');
    if (this.#ownTransport) await this.#transport.close();
    await this.#walletSaver.save();
    await this.#headers.close();
    await this.#filterHeaders.close();
  }

  #tick(): void {
    if (this.#closed) return;
    this.#connections.tick();
    this.mempool.tick();
  }

  #onReady(peer: BtcPeer): void {
    this.#log?.debug(
      { peer: peer.endpoint, agent: peer.userAgent, height: peer.bestHeight },
      'bitcoin peer ready',
    );
    this.emit('peer:connected', { type: 'peer', endpoint: peer.endpoint, userAgent: peer.userAgent });
    if (peer.outgoing) {
      this.#askedAddr.add(peer);
      peer.send({ type: 'getaddr' });
    }
    this.#broadcaster.peerReady(peer);
    this.#headerSync.peerReady(peer);
    if (servesFilters(peer)) this.#filterSync.kick();
    this.#synced = false;
    // A peer that showed nothing we lack is caught up at once (see HeaderSync's probes).
    this.#checkSynced();
  }

  #onClosed(peer: BtcPeer, reason: PeerCloseReason): void {
    this.#log?.info({ peer: peer.endpoint, banned: reason.ban }, `bitcoin peer closed: ${reason.message}`);
    this.#requests.closed(peer, reason.message);
    this.#cfilters.peerClosed(peer);
    this.mempool.peerClosed(peer);
    this.#headerSync.peerClosed(peer);
    this.emit('peer:disconnected', {
      type: 'peer-closed',
      endpoint: peer.endpoint,
      reason: reason.message,
      banned: reason.ban,
    });
    if (!this.#closed) {
      this.#filterSync.kick();
      this.#scanner.kick();
      this.#checkSynced();
    }
  }

  #onMessage(peer: BtcPeer, m: BtcMessage): void {
    switch (m.type) {
      case 'headers':
        this.#headerSync.onHeaders(peer, m.headers);
        this.#checkSynced();
        return;
      case 'inv':
        for (const item of m.items)
          if (item.type === InvType.Block || item.type === InvType.WitnessBlock)
            this.#headerSync.blockAnnounced(peer, item.hash);
        if (this.options.relayTransactions) this.mempool.onInv(peer, m.items);
        return;
      case 'getdata':
        this.#broadcaster.onGetData(peer, m.items);
        return;
      case 'notfound':
        this.mempool.onNotFound(m.items);
        this.#blocks.onNotFound(
          peer,
          m.items
            .filter((i) => i.type !== InvType.Tx && i.type !== InvType.Wtx && i.type !== InvType.WitnessTx)
            .map((i) => i.hash),
        );
        return;
      case 'tx':
        this.#onTx(peer, m.tx);
        return;
      case 'block':
        this.#blocks.onBlock(peer, m.block, blockHash(m.block));
        return;
      case 'cmpctblock':
        this.#blocks.onCompactBlock(peer, m.compact, headerHash(encodeHeader(m.compact.header)));
        return;
      case 'blocktxn':
        this.#blocks.onBlockTxn(peer, m.blockHash, m.txs);
        return;
      case 'cfheaders':
        this.#requests.resolve(peer, `cfheaders:${bytesToHex(m.stopHash)}`, m);
        return;
      case 'cfcheckpt':
        this.#requests.resolve(peer, `cfcheckpt:${bytesToHex(m.stopHash)}`, m);
        return;
      case 'cfilter':
        this.#cfilters.onCfilter(peer, m.blockHash, m.filter, m.filterType);
        return;
      case 'addr':
      case 'addrv2':
        this.#connections.onAddrMessage(peer, m, this.#askedAddr.delete(peer));
        return;
      case 'getheaders':
        // A light node serves no headers; an empty answer says so without a stall.
        peer.send({ type: 'headers', headers: [] });
        return;
      default:
        return;
    }
  }

  #onTx(peer: BtcPeer, tx: Transaction): void {
    if (!this.mempool.onTx(peer, tx)) return;
    const rec = this.wallet.addUnconfirmed(tx, Math.floor(Date.now() / 1000));
    if (rec === undefined) return;
    this.#emitTx(rec.txid);
    void this.#walletSaver.save();
  }

  #chainChanged(r: {
    disconnected: readonly { height: number; hash: Uint8Array }[];
    connected: readonly { height: number; hash: Uint8Array; time: number }[];
  }): void {
    this.#headers.record(r as Parameters<HeaderStore['record']>[0]);
    this.#synced = false;
    if (r.disconnected.length > 0) {
      const forkHeight = Math.min(...r.disconnected.map((e) => e.height)) - 1;
      this.#filterHeaders.truncate(forkHeight + 1);
      const changed = this.wallet.disconnectAbove(forkHeight);
      this.emit('reorg', {
        type: 'reorg',
        forkHeight,
        disconnected: r.disconnected.map((e) => ({ height: e.height, hash: hashToHex(e.hash) })),
        connected: r.connected.map((e) => ({ height: e.height, hash: hashToHex(e.hash) })),
      });
      for (const rec of changed) if (this.wallet.get(rec.txid) !== undefined) this.#emitTx(rec.txid);
      void this.#walletSaver.save();
      this.#scanner.restart();
    }
    if (this.listenerCount('header') > 0) {
      for (const e of r.connected)
        this.emit('header', { type: 'header', height: e.height, hash: hashToHex(e.hash), time: e.time });
    }
    this.#filterSync.kick();
  }

  #blockMatched(block: Block, height: number, hash: Uint8Array, compact: boolean): void {
    const nowS = Math.floor(Date.now() / 1000);
    const ids = block.txs.map(txid);
    const walletTxids: string[] = [];
    const hashHex = hashToHex(hash);
    block.txs.forEach((tx, index) => {
      if (!this.wallet.isRelevant(tx) && this.wallet.get(hashToHex(ids[index]!)) === undefined) return;
      const rec = this.wallet.addConfirmed(
        tx,
        { height, blockHash: hashHex, index, time: block.header.time, proof: merkleProof(ids, index) },
        nowS,
      );
      if (rec !== undefined) walletTxids.push(rec.txid);
    });
    const internal = ids.map((i) => bytesToHex(i));
    this.mempool.removeMined(internal);
    this.#broadcaster.confirmed(internal);
    this.emit('block', {
      type: 'block',
      height,
      hash: hashHex,
      txCount: block.txs.length,
      walletTxids,
      compact,
    });
    for (const id of walletTxids) this.#emitTx(id);
    if (walletTxids.length > 0) void this.#walletSaver.save();
  }

  #emitTx(id: string): void {
    const rec = this.wallet.get(id);
    const h = this.history().find((e) => e.txid === id);
    if (rec === undefined || h === undefined) return;
    this.emit('tx', {
      type: 'tx',
      txid: id,
      confirmed: rec.height !== undefined,
      height: rec.height,
      delta: Number(h.delta),
    });
  }

  #checkSynced(): void {
    if (this.#closed) return;
    const hasFilterPeers = this.#filterSync.filterPeers().length > 0;
    const synced =
      this.#headerSync.isCaughtUp() &&
      (!hasFilterPeers || (this.#filterSync.isSynced() && this.#scanner.isSynced()));
    if (synced && !this.#synced) {
      this.#synced = true;
      this.emit('synced', {
        type: 'synced',
        height: this.chain.height,
        hash: hashToHex(this.chain.tip.hash),
      });
    } else if (!synced) this.#synced = false;
  }
}
