/**
 * A browser torrent's in-memory storage: the whole piece space in one buffer (bounded by
 * {@link MAX_BROWSER_TORRENT_BYTES}), pieces checked with the synchronous SHA-1 (v1, hybrid) or
 * against their BEP 52 piece-layer hash (v2), and each file's bytes as a view.
 */
import { nextPow2, rootOfLayer } from '../metainfo/merkle.js';
import type { Metainfo } from '../metainfo/types.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { bytesEqual, nodeHasher, toHex } from '../shared/hash.js';
import { BLOCK_BYTES, MAX_BROWSER_TORRENT_BYTES } from '../shared/limits.js';
import { PieceMap } from '../storage/piece-map.js';

/** One file of a browser torrent, with its bytes (a view: copy it to keep it past `close`). */
export interface BrowserFile {
  /** Path below the torrent's folder, `/`-separated, the torrent's name first. */
  readonly path: string;
  readonly length: number;
  readonly bytes: Uint8Array;
}

export class PieceStore {
  readonly map: PieceMap;
  readonly #m: Metainfo;
  readonly #space: Uint8Array;

  constructor(m: Metainfo) {
    this.#m = m;
    this.map = new PieceMap(m);
    const end = m.files.reduce((e, f) => Math.max(e, f.offset + f.length), 0);
    if (end > MAX_BROWSER_TORRENT_BYTES)
      throw new ShoalError(
        ErrorCode.StorageNoSpace,
        `torrent of ${end} bytes; a page holds at most ${MAX_BROWSER_TORRENT_BYTES}`,
        {},
      );
    // v2 pieces are served up to whole blocks: room for the last one's zeros.
    this.#space = new Uint8Array(Math.ceil(end / BLOCK_BYTES) * BLOCK_BYTES);
  }

  /** Copies a received block into place. */
  write(piece: number, offset: number, data: Uint8Array): void {
    this.#space.set(data, piece * this.map.pieceLength + offset);
  }

  /** A view of `length` bytes at `offset` of `piece`. */
  read(piece: number, offset: number, length: number): Uint8Array {
    const at = piece * this.map.pieceLength + offset;
    return this.#space.subarray(at, at + length);
  }

  /** Places a file's contents (seeding from bytes the page has); `index` into the metainfo's files. */
  putFile(index: number, bytes: Uint8Array): void {
    const f = this.#m.files[index];
    if (f === undefined || f.length !== bytes.length) throw new RangeError(`file ${index}: wrong length`);
    this.#space.set(bytes, f.offset);
  }

  /** Whether piece `index` holds the bytes the torrent names. */
  verify(index: number): boolean {
    const m = this.#m;
    const size = this.map.pieceSize(index);
    const data = this.read(index, 0, size);
    if (m.pieces !== undefined) {
      return bytesEqual(nodeHasher.digest('sha1', data), m.pieces.subarray(index * 20, index * 20 + 20));
    }
    // v2 only: a piece lies inside one file; its hash is the root of its blocks' subtree.
    const start = index * m.pieceLength;
    const file = m.files[this.map.fileAt(start)];
    if (file?.piecesRoot === undefined) return false;
    const dataBytes = Math.min(m.pieceLength, file.offset + file.length - start);
    const leaves: Uint8Array[] = [];
    for (let at = 0; at < dataBytes; at += BLOCK_BYTES)
      leaves.push(nodeHasher.digest('sha256', data.subarray(at, Math.min(dataBytes, at + BLOCK_BYTES))));
    if (file.length <= m.pieceLength) {
      return bytesEqual(rootOfLayer(leaves, 0, nextPow2(leaves.length)), file.piecesRoot);
    }
    const layer = m.pieceLayers.get(toHex(file.piecesRoot));
    const k = (start - file.offset) / m.pieceLength;
    if (layer === undefined || (k + 1) * 32 > layer.length) return false;
    return bytesEqual(
      rootOfLayer(leaves, 0, m.pieceLength / BLOCK_BYTES),
      layer.subarray(k * 32, k * 32 + 32),
    );
  }

  /** Every non-padding file with its bytes. */
  files(): BrowserFile[] {
    return this.#m.files
      .filter((f) => !f.isPadding)
      .map((f) => ({
        path: [this.#m.name, ...f.path].join('/'),
        length: f.length,
        bytes: this.#space.subarray(f.offset, f.offset + f.length),
      }));
  }
}
