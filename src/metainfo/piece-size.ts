/**
 * Piece length of a new torrent (BEP 3 `piece length`, BEP 52).
 *
 * The automatic rule is the one users know from Transmission's and qBittorrent's creators: the
 * smallest power of two between {@link AUTO_PIECE_MIN_BYTES} (16 KiB) and
 * {@link AUTO_PIECE_MAX_BYTES} (16 MiB) that gives the torrent at most
 * {@link AUTO_PIECE_MAX_COUNT} (2,000) pieces. Away from the two clamps a torrent therefore has
 * between 1,001 and 2,000 pieces: few enough that the v1 `pieces` string stays under 40 KB, many
 * enough that peers can trade pieces early. Examples: 100 MiB → 64 KiB (1,600 pieces),
 * 1 GiB → 1 MiB (1,024 pieces), 4 GiB → 4 MiB, 64 GiB and more → 16 MiB.
 */

import { ErrorCode } from '../shared/errors.js';
import { MAX_PIECE_BYTES, MIN_PIECE_BYTES } from '../shared/limits.js';
import { MetainfoError } from './errors.js';

/** Smallest piece length the automatic rule picks: one v2 block (BEP 52). */
export const AUTO_PIECE_MIN_BYTES = MIN_PIECE_BYTES;
/** Largest piece length the automatic rule picks; bigger torrents get more pieces instead. */
export const AUTO_PIECE_MAX_BYTES = 16 * 1024 * 1024;
/** The automatic rule picks the smallest piece length giving at most this many pieces. */
export const AUTO_PIECE_MAX_COUNT = 2000;

/**
 * The automatic piece length for a payload of `totalBytes` (padding not counted), by the rule in
 * the module header.
 */
export function autoPieceLength(totalBytes: number): number {
  let pieceLength = AUTO_PIECE_MIN_BYTES;
  while (pieceLength < AUTO_PIECE_MAX_BYTES && Math.ceil(totalBytes / pieceLength) > AUTO_PIECE_MAX_COUNT) {
    pieceLength *= 2;
  }
  return pieceLength;
}

/** True when `n` is a power of two in [MIN_PIECE_BYTES, MAX_PIECE_BYTES] (16 KiB – 256 MiB). */
export function isValidPieceLength(n: number): boolean {
  return (
    Number.isSafeInteger(n) && n >= MIN_PIECE_BYTES && n <= MAX_PIECE_BYTES && (n & (n - 1)) === 0 // n < 2^31
  );
}

/**
 * Throws a `MetainfoError` (`SHOAL_ERR_METAINFO_CREATE`, field `piece length`) unless `n` is a
 * power of two of at least 16 KiB (BEP 52 requires a whole number of 16 KiB blocks per piece)
 * and at most MAX_PIECE_BYTES, the largest piece Shoal accepts when parsing.
 */
export function assertPieceLength(n: number): void {
  if (!isValidPieceLength(n)) {
    throw new MetainfoError(
      ErrorCode.MetainfoCreate,
      `piece length must be a power of two ≥ 16 KiB and ≤ ${MAX_PIECE_BYTES / (1024 * 1024)} MiB, got ${n}`,
      'piece length',
    );
  }
}
