/**
 * Engines for unit tests of the upload side: a complete torrent of `pieces` pieces of two blocks
 * each, with a fixed random seed and no BEP 6 allowed-fast set unless the options give one.
 */
import {
  SeededRandom,
  TorrentEngine,
  type TorrentEngineOptions,
  uniformLayout,
} from '../../src/engine/index.js';
import { BLOCK_BYTES } from '../../src/shared/limits.js';

/** A torrent engine of `pieces` two-block pieces, empty. */
export function twoBlockEngine(pieces: number, options: TorrentEngineOptions = {}): TorrentEngine {
  return new TorrentEngine({
    infoHash: new Uint8Array(20).fill(7),
    layout: { ...uniformLayout(pieces * 2 * BLOCK_BYTES, 2 * BLOCK_BYTES), pieceLength: 2 * BLOCK_BYTES },
    random: new SeededRandom(3),
    now: 0,
    options: { allowedFastSetSize: 0, ...options },
  });
}

/** The same, holding every piece (a seed). */
export function seedingEngine(pieces: number, options: TorrentEngineOptions = {}): TorrentEngine {
  const e = twoBlockEngine(pieces, options);
  e.setHave(
    Array.from({ length: pieces }, (_, i) => i),
    0,
  );
  return e;
}
