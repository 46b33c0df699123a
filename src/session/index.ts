export type { SessionContext } from './context.js';
export type {
  ExtensionFactory,
  ExtensionHost,
  ExtensionPeer,
  TorrentExtension,
} from './extensions/extension.js';
export { BUILTIN_EXTENSIONS } from './extensions/registry.js';
export { PEX_INTERVAL_MS, PEX_MAX_PEERS } from './extensions/ut-pex.js';
export type { ExternalAddressChoice, ExternalAddressSource } from './external-address.js';
export * from './feeds/index.js';
export {
  STREAM_CHUNK_BYTES,
  STREAM_MIN_WINDOW_PIECES,
  STREAM_READAHEAD_BYTES,
  type TorrentFileInfo,
  torrentFiles,
} from './file-stream.js';
export { MAGNET_DHT_RETRY_MS, type PendingMagnet } from './magnets.js';
export type { ExternalAddressChanged, NetworkStatus } from './network-status.js';
export * from './options.js';
export type { OpenedStream } from './peers/connector.js';
export { PeerConnection } from './peers/peer-connection.js';
export type { PeerLogEntry, PeerLogType } from './peers/peer-log.js';
export { CLIENT_NAME, keepsNewConnection } from './peers/torrent-peers.js';
export { blockDigests, verifyBacklogLimit } from './piece-writer.js';
export * from './session.js';
export * from './torrent.js';
export { DHT_ANNOUNCE_INTERVAL_MS, DHT_ANNOUNCE_RETRY_MS } from './torrent-discovery.js';
export * from './torrent-types.js';
export { WebSeedError, type WebSeedErrorDetails } from './webseed/errors.js';
export {
  backoffMs,
  bep17PieceUrl,
  bep19FileUrl,
  parseContentRange,
  parseRetryAfter,
  rangeAnswerProblem,
  type WebSeedProtocol,
  webSeedUrlProblem,
} from './webseed/http-rules.js';
export { fileRanges, jobShare, PendingBlocks } from './webseed/range-plan.js';
export type { WebSeedInfo, WebSeedState } from './webseed/web-seed.js';
