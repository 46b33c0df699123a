export { base32Decode, base32Encode } from './base32.js';
export * from './create.js';
export * from './errors.js';
export { storagePath } from './file-tree.js';
export {
  buildMagnet,
  decodeMutableTorrentValue,
  encodeMutableTorrentValue,
  formatSelectOnly,
  magnetFromMetainfo,
  parseMagnet,
  parseMutableMagnet,
  parsePeerAddress,
  parseSelectOnly,
} from './magnet.js';
export * from './merkle.js';
export { type ParseTorrentOptions, parseInfoDict, parseTorrent } from './parse.js';
export {
  assertSafePath,
  assertSafePathComponent,
  joinSafe,
  unsafePathComponentReason,
} from './path-safety.js';
export * from './piece-size.js';
export * from './torrent-file.js';
export * from './types.js';
