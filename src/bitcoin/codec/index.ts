export { bytesFromHex, bytesToHex, hashFromHex, hashToHex } from './hex.js';
export { ByteReader } from './reader.js';
export { ByteWriter, compactSizeLength } from './writer.js';
