/**
 * The daemon layer: a long-running Shoal node with a state directory, an HTTP JSON API (with
 * OpenAPI document, Server-Sent Events, streaming and Prometheus metrics) and the web UI's files.
 * `shoal daemon` and `shoal add|list|pause|resume|remove` (the CLI) are thin users of it.
 */
export * from './api-types.js';
export * from './client.js';
export * from './daemon.js';
export { ApiError, DaemonError } from './errors.js';
export * from './options.js';
export { isTorrentId, type PersistedState, type TorrentRecord } from './state-store.js';
export { type AddOptions, canAddMagnet, type DaemonEvents, TorrentManager } from './torrent-manager.js';
