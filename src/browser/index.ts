/**
 * Shoal in a web page: the pure core (codec, metainfo, wire, engine) with WebRTC data channels,
 * WebSocket trackers (WebTorrent's protocol) and in-memory storage. Built by
 * `npm run build:browser` into `dist/shoal-browser/shoal.js` (an ES module).
 *
 * ```js
 * import { BrowserTorrent } from './shoal.js';
 * const t = BrowserTorrent.create(torrentBytes);            // download
 * t.on('done', () => console.log(t.files()));
 * const s = BrowserTorrent.create(torrentBytes, { data: [fileBytes] });  // seed
 * ```
 */
export { parseTorrent } from '../metainfo/parse.js';
export type { Metainfo, TorrentFile } from '../metainfo/types.js';
export { BrowserTorrent, type BrowserTorrentEvents, type BrowserTorrentOptions } from './browser-torrent.js';
export type { BrowserFile } from './piece-store.js';
export { BrowserRtc, RtcStream } from './rtc.js';
export { shaDigest } from './sha.js';
