/**
 * Shoal's public API. The session is the product; the lower layers are exported for tools and
 * embedders that need them (parsing torrents, creating them, speaking the wire protocol).
 */
export * from './codec/index.js';
export * from './discovery/index.js';
export * from './metainfo/index.js';
export * from './net/index.js';
export type {
  MappedPort,
  PortMapperEvents,
  PortMappingMethod,
  PortMappingOptions,
  PortMappingStatus,
} from './portmap/index.js';
export * from './session/index.js';
export * from './shared/errors.js';
export { type CreatedTorrent, type CreateTorrentOptions, createTorrent, HashPool } from './storage/index.js';
export {
  parseWhitelist,
  startTracker,
  type TrackerServer,
  type TrackerServerOptions,
} from './tracker/index.js';
