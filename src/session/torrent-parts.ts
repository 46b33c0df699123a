/**
 * How a {@link Torrent}'s parts are made and wired to each other: the connections
 * ({@link TorrentPeers}), the receive path ({@link PieceWriter}), BEP 52 hashes
 * ({@link V2Hashes}), the serve path ({@link PieceServer}) and discovery
 * ({@link TorrentDiscovery}). Each part sees its torrent only through the narrow host interface
 * it declares; this file fills those in from the torrent's inner view.
 */
import { type EngineAction, type Random, TorrentEngine } from '../engine/index.js';
import type { Metainfo } from '../metainfo/index.js';
import type { PeerSource } from '../net/peer-pool.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';
import type { SessionContext } from './context.js';
import type { ExtensionFactory } from './extensions/extension.js';
import { FileSelection } from './file-selection.js';
import { TorrentPeers } from './peers/torrent-peers.js';
import { PieceServer } from './piece-server.js';
import { PieceWriter } from './piece-writer.js';
import { TorrentDiscovery } from './torrent-discovery.js';
import type { TorrentLimits } from './torrent-limits.js';
import type { TorrentEvents } from './torrent-types.js';
import { V2Hashes } from './v2-hashes.js';

/** The parts of one torrent. */
export interface TorrentParts {
  readonly peers: TorrentPeers;
  readonly writer: PieceWriter;
  readonly hashes: V2Hashes;
  readonly server: PieceServer;
  readonly discovery: TorrentDiscovery;
  readonly selection: FileSelection;
}

/** What the parts need of their torrent (its private state, seen through getters). */
export interface TorrentInner {
  readonly ctx: SessionContext;
  readonly metainfo: Metainfo;
  readonly storage: TorrentStorage;
  readonly wireInfoHash: Uint8Array;
  readonly wireInfoHashes: readonly Uint8Array[];
  /** The current engine (a recheck replaces it). */
  readonly engine: TorrentEngine;
  /** The torrent's own rate limits. */
  readonly limits: TorrentLimits;
  /** The parts themselves, once made (parts call each other through it). */
  readonly parts: TorrentParts;
  isActive(): boolean;
  isClosed(): boolean;
  run(actions: EngineAction[]): void;
  fail(error: unknown): void;
  onVerified(index: number, ok: boolean): void;
  onLayersChanged(): void;
  addPeer(host: string, port: number, source: PeerSource): void;
  totals(): { uploaded: number; downloaded: number; left: number };
  emit<K extends keyof TorrentEvents & string>(event: K, payload: TorrentEvents[K]): void;
  /** The file priorities the torrent was added with. */
  readonly filePriorities: readonly number[] | undefined;
  isFinished(): boolean;
  finishedChanged(): void;
}

export function makeTorrentParts(t: TorrentInner, extensions: readonly ExtensionFactory[]): TorrentParts {
  const { ctx, metainfo } = t;
  const isClosed = () => t.isClosed();
  const run = (a: EngineAction[]) => t.run(a);
  const peers = new TorrentPeers({
    host: {
      ctx,
      metainfo,
      get engine() {
        return t.engine;
      },
      wireInfoHash: t.wireInfoHash,
      wireInfoHashes: t.wireInfoHashes,
      isActive: () => t.isActive(),
      isClosed,
      isReadingPaused: () => t.parts.writer.readingPaused,
      run,
      onHashMessage: (peer, msg) => t.parts.hashes.onMessage(peer, msg),
      onPeerAttached: (peer) => {
        if (t.parts.hashes.layers.missingFiles().length > 0) t.parts.hashes.requestLayers(peer);
      },
      onPeerDetached: (peer) => t.parts.hashes.onPeerClosed(peer),
      onLog: (entry) => t.emit('peer', entry),
      warn: (message) => t.emit('warning', { message }),
      throttleDown: (n) => t.limits.chargeDown(n),
    },
    extensions,
  });
  const writer = new PieceWriter(
    {
      get storage() {
        return t.storage;
      },
      get engine() {
        return t.engine;
      },
      now: () => ctx.now(),
      isClosed,
      run,
      fail: (e) => t.fail(e),
      onPieceFailed: (index, data, senders) => t.parts.hashes.startBlame(index, data, senders),
      onVerified: (index, ok) => t.onVerified(index, ok),
      setReadingPaused: (paused) => peers.setReadingPaused(paused),
    },
    metainfo.pieceLength,
  );
  const hashes = new V2Hashes({
    metainfo,
    get storage() {
      return t.storage;
    },
    now: () => ctx.now(),
    peers: () => peers.values(),
    has: (key) => peers.has(key),
    have: (index) => t.engine.have(index),
    banProven: (address, why) => peers.ban(address, 'bad-block', why),
    blameUndecided: () => {},
    onLayersChanged: () => t.onLayersChanged(),
  });
  const server = new PieceServer(
    {
      ctx,
      get storage() {
        return t.storage;
      },
      get engine() {
        return t.engine;
      },
      isClosed,
      run,
      connection: (key) => peers.get(key)?.conn,
      acquireUp: (bytes, cancelled) => t.limits.acquireUp(bytes, cancelled),
      warn: (message, error) => t.emit('warning', { message, error }),
    },
    metainfo.pieceLength,
  );
  const discovery = new TorrentDiscovery({
    ctx,
    metainfo,
    wireInfoHash: t.wireInfoHash,
    addPeer: (host, port, source) => t.addPeer(host, port, source),
    peerCount: () => peers.size,
    wantedPeers: () => Math.max(0, ctx.options.maxConnectionsPerTorrent - peers.size),
    adoptWebRtc: (stream) => peers.adoptWebRtc(stream),
    totals: () => t.totals(),
    warn: (message, error) => t.emit('warning', error === undefined ? { message } : { message, error }),
  });
  const selection = new FileSelection(
    {
      metainfo,
      get storage() {
        return t.storage;
      },
      get engine() {
        return t.engine;
      },
      now: () => ctx.now(),
      run,
      missingLayers: () => hashes.layers.missingFiles(),
      isFinished: () => t.isFinished(),
      finishedChanged: () => t.finishedChanged(),
      fail: (e) => t.fail(e),
    },
    t.filePriorities,
  );
  return { peers, writer, hashes, server, discovery, selection };
}

/** A torrent's engine over its storage's piece layout, with the session's engine options. */
export function makeEngine(
  ctx: SessionContext,
  storage: TorrentStorage,
  wireInfoHash: Uint8Array,
  random: Random,
  superSeed: boolean | undefined,
): TorrentEngine {
  return new TorrentEngine({
    infoHash: wireInfoHash,
    layout: storage.map,
    files: storage.metainfo.files,
    random,
    now: ctx.now(),
    options: superSeed === undefined ? ctx.options.engine : { ...ctx.options.engine, superSeed },
  });
}
