/**
 * BEP 52 piece layers at run time: answering peers' hash requests from the layers we hold, and
 * fetching the layers we lack (a v2 torrent added from a magnet link carries only the info
 * dictionary, whose `pieces root`s cannot verify individual pieces).
 *
 * A fetched layer is trusted only when it hashes up to its file's `pieces root`
 * ({@link verifyHashes}); until then the file's pieces are not downloaded.
 */
import {
  HASH_BYTES,
  hashesForRequest,
  log2,
  type Metainfo,
  nextPow2,
  treeLayersFrom,
  verifyHashes,
} from '../metainfo/index.js';
import { toHex } from '../shared/hash.js';
import { BLOCK_BYTES } from '../shared/limits.js';

/** Hashes asked for per request (BEP 52: SHOULD NOT be more than 512). */
export const HASH_REQUEST_MAX_LENGTH = 512;

/** The fields of a hash request / hashes / hash reject message. */
export interface HashRequestFields {
  readonly piecesRoot: Uint8Array;
  readonly baseLayer: number;
  readonly index: number;
  readonly length: number;
  readonly proofLayers: number;
}

interface FileLayer {
  readonly fileIndex: number;
  readonly root: Uint8Array;
  /** Pieces of the file (hashes in its piece layer). */
  readonly pieces: number;
  /** The verified piece layer, when held. */
  layer: Uint8Array | undefined;
  /** Chunks of a layer being fetched: index → hashes. */
  readonly chunks: Map<number, Uint8Array[]>;
  /** Cached tree layers above the piece layer, to answer requests. */
  tree?: Uint8Array[][];
}

export class PieceLayers {
  readonly #byRoot = new Map<string, FileLayer>();
  readonly #pieceHeight: number;
  readonly #pieceLength: number;

  constructor(m: Metainfo) {
    this.#pieceLength = m.pieceLength;
    this.#pieceHeight = log2(m.pieceLength / BLOCK_BYTES);
    m.files.forEach((f, i) => {
      if (f.piecesRoot === undefined || f.length <= m.pieceLength) return;
      const hex = toHex(f.piecesRoot);
      this.#byRoot.set(hex, {
        fileIndex: i,
        root: f.piecesRoot,
        pieces: Math.ceil(f.length / m.pieceLength),
        layer: m.pieceLayers.get(hex),
        chunks: new Map(),
      });
    });
  }

  /** Files (by index) whose piece layer is still missing. */
  missingFiles(): number[] {
    return [...this.#byRoot.values()].filter((f) => f.layer === undefined).map((f) => f.fileIndex);
  }

  /** Every verified layer, by hex root (for resume records and .torrent files). */
  layers(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const [hex, f] of this.#byRoot) if (f.layer !== undefined) out.set(hex, f.layer);
    return out;
  }

  /** The requests that fetch the missing layers (whole layers, in chunks of up to 512). */
  requests(): HashRequestFields[] {
    const out: HashRequestFields[] = [];
    for (const f of this.#byRoot.values()) {
      if (f.layer !== undefined) continue;
      const width = nextPow2(f.pieces);
      const length = Math.min(HASH_REQUEST_MAX_LENGTH, width);
      const proofLayers = width > length ? log2(width) - 1 : 0;
      for (let index = 0; index < f.pieces; index += length) {
        if (f.chunks.has(index)) continue;
        out.push({ piecesRoot: f.root, baseLayer: this.#pieceHeight, index, length, proofLayers });
      }
    }
    return out;
  }

  /**
   * Takes a `hashes` reply. Returns the file index when it completed that file's layer,
   * `undefined` when it was useful but not final, and `false` when it did not verify.
   */
  onHashes(msg: HashRequestFields & { readonly hashes: Uint8Array }): number | undefined | false {
    const f = this.#byRoot.get(toHex(msg.piecesRoot));
    if (f === undefined || msg.baseLayer !== this.#pieceHeight || f.layer !== undefined) return undefined;
    const width = nextPow2(f.pieces);
    const base = verifyHashes(f.root, width, msg.index, msg.length, msg.hashes);
    if (base === undefined) return false;
    f.chunks.set(msg.index, base);
    const layer = new Uint8Array(f.pieces * HASH_BYTES);
    for (let i = 0; i < f.pieces; i++) {
      const chunkStart = Math.floor(i / msg.length) * msg.length;
      const h = f.chunks.get(chunkStart)?.[i - chunkStart];
      if (h === undefined) return undefined;
      layer.set(h, i * HASH_BYTES);
    }
    f.layer = layer;
    f.chunks.clear();
    return f.fileIndex;
  }

  /** Sets a layer known from elsewhere (a resume record); ignored unless it verifies. */
  restore(hex: string, layer: Uint8Array): boolean {
    const f = this.#byRoot.get(hex);
    if (f === undefined || f.layer !== undefined || layer.length !== f.pieces * HASH_BYTES) return false;
    const hashes = [];
    for (let i = 0; i < f.pieces; i++) hashes.push(layer.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
    const tree = treeLayersFrom(hashes, this.#pieceHeight);
    const root = tree.at(-1)?.[0];
    if (root === undefined || Buffer.compare(root, f.root) !== 0) return false;
    f.layer = layer;
    f.tree = tree;
    return true;
  }

  /** The `hashes` payload for a peer's request, or undefined to reject it. */
  answer(req: HashRequestFields): Uint8Array | undefined {
    const f = this.#byRoot.get(toHex(req.piecesRoot));
    if (f?.layer === undefined || req.baseLayer !== this.#pieceHeight) return undefined;
    if (req.length > HASH_REQUEST_MAX_LENGTH) return undefined;
    if (f.tree === undefined) {
      const hashes = [];
      for (let i = 0; i < f.pieces; i++) hashes.push(f.layer.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
      f.tree = treeLayersFrom(hashes, this.#pieceHeight);
    }
    const out = hashesForRequest(f.tree, req.index, req.length, req.proofLayers);
    return out === undefined ? undefined : Buffer.concat(out);
  }

  get pieceLength(): number {
    return this.#pieceLength;
  }

  /**
   * The BEP 52 request for the leaf (16 KiB block) hashes of one piece, and the hash they must
   * lead to (the piece-layer entry, or the file root for a file of one piece). Undefined when the
   * piece has a single block (its sender alone is to blame) or its hash is not known.
   */
  leafRequest(
    file: { readonly piecesRoot?: Uint8Array; readonly length: number },
    pieceInFile: number,
  ): { req: HashRequestFields; root: Uint8Array; blocks: number } | undefined {
    if (file.piecesRoot === undefined) return undefined;
    const perPiece = this.#pieceLength / BLOCK_BYTES;
    const bytes = Math.min(this.#pieceLength, file.length - pieceInFile * this.#pieceLength);
    const blocks = Math.ceil(bytes / BLOCK_BYTES);
    if (blocks < 2) return undefined;
    let root: Uint8Array | undefined;
    let length: number;
    if (file.length <= this.#pieceLength) {
      root = file.piecesRoot;
      length = nextPow2(blocks);
    } else {
      const layer = this.#byRoot.get(toHex(file.piecesRoot))?.layer;
      root = layer?.subarray(pieceInFile * HASH_BYTES, (pieceInFile + 1) * HASH_BYTES);
      length = perPiece;
    }
    if (root === undefined) return undefined;
    // Proof layers: none beyond the subtree the leaves span (we hold its root already).
    const req = {
      piecesRoot: file.piecesRoot,
      baseLayer: 0,
      index: pieceInFile * perPiece,
      length,
      proofLayers: log2(length) - 1,
    };
    return { req, root, blocks };
  }
}
