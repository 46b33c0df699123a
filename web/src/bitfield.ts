/**
 * The pieces bitfield of `GET /api/v1/torrents/:id` (`pieces.bitfield`): base64 of the BEP 3
 * bitfield, in which bit 7 of byte 0 is piece 0.
 */

/** Decodes base64 to bytes (invalid input yields an empty array). */
export function decodeBase64(b64: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    return new Uint8Array(0);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** True when piece `index` is set in the BEP 3 bitfield. */
export function hasPiece(bits: Uint8Array, index: number): boolean {
  return ((bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0;
}

/** Number of set bits among the first `pieceCount` pieces. */
export function countPieces(bits: Uint8Array, pieceCount: number): number {
  let n = 0;
  for (let i = 0; i < pieceCount; i++) if (hasPiece(bits, i)) n++;
  return n;
}

/**
 * Share of pieces set in `[from, to)`, for drawing many pieces per pixel column.
 */
export function fractionSet(bits: Uint8Array, from: number, to: number): number {
  if (to <= from) return 0;
  let n = 0;
  for (let i = from; i < to; i++) if (hasPiece(bits, i)) n++;
  return n / (to - from);
}
