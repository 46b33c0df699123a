export { base32Decode, base32Encode } from './base32.js';
export * from './create.js';
export * from './errors.js';
export { explainTorrentError } from './explain.js';
export { storagePath } from './file-tree.js';
export {
  buildMagnet,
  decodeMutableTorrentValue,
  encodeMutableTorrentValue,
  formatSelectOnly,
  magnetFromMetainfo,
  parseHostPort,
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
export {
  fileIndexOf,
  fileNumberOf,
  prioritiesByFileIndex,
  prioritiesByFileNumber,
  type UserFile,
  userFiles,
} from './user-files.js';
