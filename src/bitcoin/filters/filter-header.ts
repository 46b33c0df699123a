/**
 * BIP 157 filter headers: each block's filter header commits to its filter and to the previous
 * filter header, so a chain of them, checked at the `cfcheckpt` checkpoints and across peers, tells
 * a light client whether the filters it is served are the real ones.
 *
 *   filter hash   = SHA-256d(serialized filter)
 *   filter header = SHA-256d(filter hash ‖ previous filter header)   (genesis: previous = 32 zero bytes)
 */
import { ErrorCode } from '../../shared/errors.js';
import { bytesEqual } from '../../shared/hash.js';
import { hashToHex } from '../codec/hex.js';
import { sha256d } from '../crypto/hashes.js';
import { BtcError } from '../errors.js';

/** Number of blocks between two `cfcheckpt` filter headers (BIP 157). */
export const CFCHECKPT_INTERVAL = 1000;

/** The filter hash of a serialized filter. */
export function filterHash(filter: Uint8Array): Uint8Array {
  return sha256d(filter);
}

/** The filter header of a block from its filter hash and the previous block's filter header. */
export function filterHeader(hash: Uint8Array, previousHeader: Uint8Array): Uint8Array {
  return sha256d(hash, previousHeader);
}

/** The filter headers a `cfheaders` message implies: one per filter hash, chained from `previousHeader`. */
export function chainFilterHeaders(
  previousHeader: Uint8Array,
  filterHashes: readonly Uint8Array[],
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = previousHeader;
  for (const h of filterHashes) {
    prev = filterHeader(h, prev);
    out.push(prev);
  }
  return out;
}

/**
 * Checks a served filter against the filter header the client holds for its block: throws
 * `BtcBadFilter` when SHA-256d(filter hash ‖ previous header) differs.
 */
export function verifyFilter(
  filter: Uint8Array,
  previousHeader: Uint8Array,
  expectedHeader: Uint8Array,
): void {
  const got = filterHeader(filterHash(filter), previousHeader);
  if (!bytesEqual(got, expectedHeader)) {
    throw new BtcError(
      ErrorCode.BtcBadFilter,
      `filter does not match its filter header ${hashToHex(expectedHeader)}`,
    );
  }
}
